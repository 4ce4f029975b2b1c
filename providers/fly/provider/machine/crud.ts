/** The diff and the operations (create, read, update, delete) of `fly:index:Machine`. */
import { CreateResult, DiffResult, ReadResult, UpdateResult } from "@pulumi/pulumi/provider";
import { MachineInputs } from "../../types";
import { FlyApiError, FlyMachine, FlyMachineConfig, isCapacityError, isNotFound, isTransient } from "../client";
import { asObject, compact, diffInputs, diffResult, pick, ProviderContext, sleep } from "../common";
import { deepEqual, isObject, JsonObject } from "../values";
import { DEFAULT_WAIT_TIMEOUT_SECONDS, expectedCheckCount, waitHealthy } from "./wait";
import {
    COMPUTED_KEYS,
    inputsFromMachine,
    MACHINE_INPUT_KEYS,
    machineInputs,
    machineOutputs,
    managedView,
    toMachineConfig,
} from "./wire";

/** Fly cannot change these on a machine, so a change replaces it. */
export const MACHINE_REPLACE_KEYS = ["app", "region", "name"] as const;

/** app/region/name replace the machine; any other input change is an in-place update. */
export function diffMachine(olds: unknown, news: unknown): DiffResult {
    const { changed, replaces } = diffInputs(olds, news, MACHINE_INPUT_KEYS, MACHINE_REPLACE_KEYS);
    // The replacement reuses the name only when `name` is unchanged; names are unique in an
    // app and a create adopts a machine by name, so the old machine must go first.
    const sameName = !replaces.includes("name");
    return diffResult(changed, replaces, replaces.length > 0 && sameName);
}

const LIVE = (m: FlyMachine): boolean => !["destroyed", "destroying"].includes(m.state);

async function findByName(ctx: ProviderContext, app: string, name: string): Promise<FlyMachine | undefined> {
    const all = await ctx.client.listMachines(app);
    return all.find((m) => m.name === name && LIVE(m));
}

/** How many times a capacity refusal is tried again before the operation fails (Fly's capacity often frees up within seconds). */
export const CAPACITY_RETRIES = 2;

/** `shared-cpu-1x, 512 MB`: the guest, as a capacity message names it. */
function guestLabel(config: FlyMachineConfig): string {
    const g = config.guest;
    return g ? `${g.cpu_kind}-cpu-${g.cpus}x, ${g.memory_mb} MB` : "its guest size";
}

/**
 * The error for a capacity refusal that outlasted the retries: which machine, which region,
 * what Fly said, and what the operator can do.
 */
export function capacityError(
    op: "create" | "update",
    m: MachineInputs,
    config: FlyMachineConfig,
    e: FlyApiError,
    attempts: number,
): Error {
    const done =
        op === "create"
            ? "nothing was created for it"
            : "the machine keeps its previous config and keeps serving; the rollout stops here";
    return new Error(
        `Fly: region "${m.region}" has no capacity for machine "${m.name}" in app "${m.app}" (${guestLabel(config)}), ` +
            `refused ${attempts} time(s) (${e.message}); ${done}. ` +
            `To go on: run the up again later, or move this region's machines to another region in api.regions, ` +
            `or choose a smaller api.vm.`,
    );
}

/** Runs `attempt`, trying again after a capacity refusal, up to CAPACITY_RETRIES times, with a growing pause. */
async function withCapacityRetries<T>(
    ctx: ProviderContext,
    op: "create" | "update",
    m: MachineInputs,
    config: FlyMachineConfig,
    attempt: () => Promise<T>,
): Promise<T> {
    for (let n = 1; ; n++) {
        try {
            return await attempt();
        } catch (e) {
            if (!isCapacityError(e)) {
                throw e;
            }
            if (n > CAPACITY_RETRIES) {
                throw capacityError(op, m, config, e, n);
            }
            const pause = ctx.pollIntervalMs * 2 ** n;
            ctx.log(
                `no capacity in region "${m.region}" for the ${op} of machine "${m.name}" (${e.flyError ?? e.message}); trying again in ${pause / 1000}s`,
            );
            await sleep(pause);
        }
    }
}

/**
 * POSTs the machine. A transient failure (network, 5xx) may still have created it, so
 * before each retry the app is listed: a machine of this name means the create went
 * through. This is what makes the create safe to retry without an orphan.
 */
async function createByName(ctx: ProviderContext, m: MachineInputs, config: FlyMachineConfig): Promise<FlyMachine> {
    const maxAttempts = 4;
    for (let attempt = 1; ; attempt++) {
        try {
            return await withCapacityRetries(ctx, "create", m, config, () =>
                ctx.client.createMachine(m.app, {
                    name: m.name,
                    region: m.region,
                    config,
                    min_secrets_version: m.minSecretsVersion,
                }),
            );
        } catch (e) {
            // A name conflict on a retry: the earlier attempt did create the machine. (A capacity
            // refusal never gets here: withCapacityRetries turned it into its own error.)
            if (attempt > 1 && e instanceof FlyApiError && (e.status === 409 || e.flyStatus === "name_taken")) {
                const found = await findByName(ctx, m.app, m.name);
                if (found) {
                    return found;
                }
            }
            if (!isTransient(e) || attempt >= maxAttempts) {
                throw e;
            }
            await sleep(ctx.pollIntervalMs * 2 ** attempt);
            const found = await findByName(ctx, m.app, m.name);
            if (found) {
                ctx.log(`machine "${m.name}" in app "${m.app}" was created despite the error; using it`);
                return found;
            }
            ctx.log(`retrying the create of machine "${m.name}" in app "${m.app}" (${(e as Error).message})`);
        }
    }
}

/** Lease, full-config update, wait for started and passing checks, release. */
async function updateWithLease(
    ctx: ProviderContext,
    id: string,
    m: MachineInputs,
    config: FlyMachineConfig,
): Promise<FlyMachine> {
    const timeout = m.waitTimeoutSeconds ?? DEFAULT_WAIT_TIMEOUT_SECONDS;
    const lease = await ctx.client.acquireLease(m.app, id, m.name, timeout + 30);
    try {
        // A host that cannot re-reserve the machine's resources refuses the update with 409
        // (no `status`); that is capacity, never a name clash or a lease.
        const updated = await withCapacityRetries(ctx, "update", m, config, () =>
            ctx.client.updateMachine(
                m.app,
                id,
                m.name,
                { config, min_secrets_version: m.minSecretsVersion },
                lease.nonce,
            ),
        );
        return await waitHealthy(ctx, m.app, id, m.name, updated.instance_id, expectedCheckCount(config), timeout);
    } finally {
        try {
            await ctx.client.releaseLease(m.app, id, m.name, lease.nonce);
        } catch (e) {
            // The lease expires on its own (ttl); do not hide the real outcome behind this.
            if (!isNotFound(e)) {
                ctx.log(`could not release the lease on machine "${m.name}" (${id}): ${(e as Error).message}`);
            }
        }
    }
}

/** Adopts a live machine of the same name, else creates one; returns once it is healthy. */
export async function createMachine(ctx: ProviderContext, raw: unknown): Promise<CreateResult> {
    const m = machineInputs(raw);
    const config = toMachineConfig(m);
    const timeout = m.waitTimeoutSeconds ?? DEFAULT_WAIT_TIMEOUT_SECONDS;

    const existing = await findByName(ctx, m.app, m.name);
    if (existing) {
        if (existing.region !== m.region) {
            throw new Error(
                `Fly: app "${m.app}" already has a machine named "${m.name}" (${existing.id}) in region "${existing.region}", not "${m.region}": destroy it or choose another name`,
            );
        }
        ctx.log(`adopting existing machine "${m.name}" (${existing.id}) in app "${m.app}"`);
        const machine = await updateWithLease(ctx, existing.id, m, config);
        return { id: machine.id, outs: machineOutputs(raw, machine) };
    }

    const created = await createByName(ctx, m, config);
    try {
        const machine = await waitHealthy(
            ctx,
            m.app,
            created.id,
            m.name,
            created.instance_id,
            expectedCheckCount(config),
            timeout,
        );
        return { id: machine.id, outs: machineOutputs(raw, machine) };
    } catch (e) {
        const reason = (e as Error).message;
        try {
            await ctx.client.destroyMachine(m.app, created.id, m.name, undefined);
        } catch (d) {
            if (!isNotFound(d)) {
                throw new Error(
                    `${reason}; destroying the machine failed too (${(d as Error).message}), so it is left in the app and the next create adopts it by name`,
                );
            }
        }
        throw new Error(`${reason}; the machine was destroyed, so the failed create left nothing behind`);
    }
}

/** Reads the machine back from Fly; an `<app>/<machine id>` id imports it. */
export async function readMachine(ctx: ProviderContext, id: string, props: unknown): Promise<ReadResult> {
    const p = asObject(props);
    let app = typeof p.app === "string" ? p.app : undefined;
    let machineId = id;
    // `pulumi import fly:index:Machine <name> <app>/<machine id>`
    if (app === undefined && id.includes("/")) {
        [app, machineId] = id.split("/", 2);
    }
    if (app === undefined) {
        throw new Error(`Fly: cannot read machine "${id}": its app is unknown; import it as "<app>/<machine id>"`);
    }
    let machine: FlyMachine;
    try {
        machine = await ctx.client.getMachine(app, machineId, typeof p.name === "string" ? p.name : undefined);
    } catch (e) {
        if (isNotFound(e)) {
            return { id: "", props: {} };
        }
        throw e;
    }
    if (!LIVE(machine)) {
        return { id: "", props: {} };
    }
    const prior = machineInputs(props);
    const hasPrior = typeof p.image === "string" && isObject(p.guest);
    // Keep the recorded inputs (with their secret wrappers) when Fly's config still means the
    // same; otherwise report what Fly has, so the next update puts the desired config back.
    const same =
        hasPrior &&
        machine.region === prior.region &&
        machine.name === prior.name &&
        deepEqual(managedView(machine.config), managedView(toMachineConfig(prior)));
    const inputs: JsonObject = same
        ? pick(props, MACHINE_INPUT_KEYS)
        : (inputsFromMachine(machine, app, hasPrior ? prior : {}) as unknown as JsonObject);
    return {
        id: machine.id,
        props: compact({
            ...inputs,
            machineId: machine.id,
            instanceId: machine.instance_id,
            state: machine.state,
            privateIp: machine.private_ip ?? "",
        }),
        inputs,
    };
}

/** Sends the new config under a lease and waits until the machine serves again. */
export async function updateMachine(
    ctx: ProviderContext,
    id: string,
    olds: unknown,
    news: unknown,
): Promise<UpdateResult> {
    const o = machineInputs(olds);
    const n = machineInputs(news);
    const config = toMachineConfig(n);
    // Only the wait timeout changed: nothing to send, and no reason to restart the machine.
    if (deepEqual(toMachineConfig(o), config) && o.minSecretsVersion === n.minSecretsVersion) {
        const oldOuts = asObject(olds);
        return { outs: compact({ ...pick(news, MACHINE_INPUT_KEYS), ...pick(oldOuts, COMPUTED_KEYS) }) };
    }
    const machine = await updateWithLease(ctx, id, n, config);
    return { outs: machineOutputs(news, machine) };
}

/** Destroys the machine under a lease; a machine already gone is not an error. */
export async function deleteMachine(ctx: ProviderContext, id: string, props: unknown): Promise<void> {
    const p = machineInputs(props);
    let nonce: string | undefined;
    try {
        nonce = (await ctx.client.acquireLease(p.app, id, p.name, 60)).nonce;
    } catch (e) {
        if (isNotFound(e)) {
            return; // already gone
        }
        throw e;
    }
    try {
        await ctx.client.destroyMachine(p.app, id, p.name, nonce);
    } catch (e) {
        if (isNotFound(e)) {
            return;
        }
        await ctx.client.releaseLease(p.app, id, p.name, nonce).catch(() => undefined);
        throw e;
    }
}
