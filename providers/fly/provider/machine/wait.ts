/** Waiting for a `fly:index:Machine` to run the wanted instance with every service check passing. */
import { FlyApiError, FlyMachine, FlyMachineConfig, MAX_WAIT_SECONDS } from "../client";
import { ProviderContext, sleep } from "../common";

/** Default for `waitTimeoutSeconds`. */
export const DEFAULT_WAIT_TIMEOUT_SECONDS = 120;

/** The number of service checks the machine must report as passing. */
export function expectedCheckCount(config: FlyMachineConfig): number {
    return (config.services ?? []).reduce((n, s) => n + (s.checks?.length ?? 0), 0);
}

/** A machine that did not start or whose checks did not pass in time. */
export class MachineNotHealthyError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "MachineNotHealthyError";
    }
}

const TERMINAL_STATES = ["destroyed", "destroying", "failed", "replaced", "migrated"];

function machineLabel(app: string, name: string, id: string): string {
    return `machine "${name}" (${id}) in app "${app}"`;
}

/** Fly answers a wait that ran out its timeout with 408 (`machine failed to reach desired state, ...`). */
function isWaitTimeout(e: unknown): boolean {
    return e instanceof FlyApiError && e.status === 408;
}

/**
 * Waits until the machine runs `instanceId` in state `started` and all its service checks
 * pass, or throws a MachineNotHealthyError once `timeoutSeconds` have passed.
 */
export async function waitHealthy(
    ctx: ProviderContext,
    app: string,
    id: string,
    name: string,
    instanceId: string,
    expectedChecks: number,
    timeoutSeconds: number,
): Promise<FlyMachine> {
    const deadline = Date.now() + timeoutSeconds * 1000;
    const label = machineLabel(app, name, id);
    // 1. started: one wait is capped at MAX_WAIT_SECONDS, so a longer timeout is a loop of capped waits.
    for (;;) {
        const remaining = (deadline - Date.now()) / 1000;
        if (remaining <= 0) {
            const m = await ctx.client.getMachine(app, id, name).catch(() => undefined);
            throw new MachineNotHealthyError(
                `Fly: ${label} did not reach state "started" within ${timeoutSeconds}s (state: ${m?.state ?? "unknown"})`,
            );
        }
        try {
            await ctx.client.waitMachine(app, id, name, "started", Math.min(MAX_WAIT_SECONDS, remaining), instanceId);
            break;
        } catch (e) {
            if (!isWaitTimeout(e)) {
                throw e;
            }
        }
    }
    // 2. checks passing
    let last: FlyMachine | undefined;
    for (;;) {
        last = await ctx.client.getMachine(app, id, name);
        if (TERMINAL_STATES.includes(last.state) || last.state === "stopped") {
            throw new MachineNotHealthyError(`Fly: ${label} is "${last.state}" instead of "started"`);
        }
        const checks = last.checks ?? [];
        if (
            last.state === "started" &&
            (last.instance_id === instanceId || !instanceId) &&
            checks.length >= expectedChecks &&
            checks.every((k) => k.status === "passing")
        ) {
            return last;
        }
        if (Date.now() >= deadline) {
            const failing = checks.filter((k) => k.status !== "passing");
            const detail = failing.length
                ? failing.map((k) => `${k.name} is ${k.status}${k.output ? ` (${k.output})` : ""}`).join(", ")
                : `${checks.length} of ${expectedChecks} checks reported`;
            throw new MachineNotHealthyError(
                `Fly: ${label} did not pass its health checks within ${timeoutSeconds}s: ${detail}`,
            );
        }
        await sleep(Math.min(ctx.pollIntervalMs, Math.max(0, deadline - Date.now())));
    }
}
