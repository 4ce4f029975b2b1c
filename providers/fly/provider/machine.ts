/**
 * `fly:index:Machine`: one Fly Machine.
 *
 * - create: adopt a live machine of the same name in the app (update it to the desired
 *   config), else POST it; then wait until it has started and every service check passes.
 *   A machine this create made that never gets healthy is destroyed before the error is
 *   thrown, so a failed create leaves nothing behind; if that destroy fails too, the next
 *   create adopts the machine by name.
 * - update: lease, POST the full config with the lease nonce and `min_secrets_version`,
 *   wait for the new instance to start and its checks to pass, release the lease. The update
 *   returns only once the machine serves again, so the program's `dependsOn` batches
 *   (`components/flyApiApp.ts`, `rollout.maxParallel`) make a rolling update.
 * - delete: lease, `DELETE ?kill=true`, tolerating 404.
 */
import { CheckResult, CreateResult, DiffResult, ReadResult, UpdateResult } from "@pulumi/pulumi/provider";
import {
    FLY_CPU_COUNTS,
    FLY_CPU_KINDS,
    FLY_MEMORY_STEP_MB,
    flyMemoryRangeMb,
    isFlyMemory,
} from "../../../lib/facts/fly";
import { MachineInputs, MachineOutputs, Service, ServiceCheck, CpuKind } from "../types";
import {
    FlyApiError,
    FlyMachine,
    FlyMachineConfig,
    FlyService,
    FlyServiceCheck,
    isNotFound,
    isTransient,
} from "./client";
import { asObject, compact, diffInputs, diffResult, pick, ProviderContext, ResourceModule, sleep } from "./common";
import { APP_NAME_ALLOWED, APP_NAME_RE, Checker, REGION_ALLOWED, REGION_RE } from "./validate";
import {
    deepEqual,
    formatGoDuration,
    isObject,
    isSecret,
    isUnknown,
    JsonObject,
    parseGoDuration,
    unwrapSecrets,
} from "./values";

/** Default for `waitTimeoutSeconds`. */
export const DEFAULT_WAIT_TIMEOUT_SECONDS = 120;

/** The input properties of a Machine, in the order they are diffed. */
export const MACHINE_INPUT_KEYS = [
    "app",
    "region",
    "name",
    "image",
    "guest",
    "env",
    "services",
    "metrics",
    "metadata",
    "restartPolicy",
    "minSecretsVersion",
    "waitTimeoutSeconds",
] as const;
/** Fly cannot change these on a machine, so a change replaces it. */
export const MACHINE_REPLACE_KEYS = ["app", "region", "name"] as const;

const COMPUTED_KEYS = ["machineId", "instanceId", "state", "privateIp"] as const;

/** Metadata the provider always sets; a user may not set these keys. */
export const MANAGED_METADATA: Readonly<Record<string, string>> = {
    fly_platform_version: "v2",
    fly_process_group: "app",
    managed_by: "pulumi",
};

const HANDLERS = ["http", "tls", "tcp", "proxy_proto", "pg_tls", "edge_http"];
const ENV_KEY_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MACHINE_NAME_RE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

// ---------------------------------------------------------------------------------------------
// check

/** Validates Machine inputs. Unknown values (preview) are skipped. */
export function checkMachine(_olds: unknown, news: unknown): CheckResult {
    const c = new Checker();
    const n = asObject(news);
    c.pattern(n, "app", "app", APP_NAME_RE, APP_NAME_ALLOWED, 'the Fly app name, e.g. "fpsgame-api"');
    c.pattern(n, "region", "region", REGION_RE, REGION_ALLOWED, 'a Fly region code, e.g. "iad"');
    c.pattern(
        n,
        "name",
        "name",
        MACHINE_NAME_RE,
        "1 to 63 lowercase letters, digits and dashes, starting and ending with a letter or digit",
        'a name unique in the app, e.g. "fpsgame-api-iad-1"',
    );
    c.string(n, "image", "image", 'a container image reference, e.g. "registry.fly.io/fpsgame-api:v1"');
    checkGuest(c, c.object(n, "guest", "guest", "{ cpuKind, cpus, memoryMb }"));
    c.stringMap(
        n,
        "env",
        "env",
        ENV_KEY_RE,
        "environment variable names (letters, digits and _, not starting with a digit)",
        "a map of plain environment variables ({} for none)",
    );
    const services = c.array(n, "services", "services", "a list of services ([] for none)");
    services?.forEach((s, i) => checkService(c, s, `services[${i}]`));
    const metrics = c.object(n, "metrics", "metrics");
    if (metrics !== undefined) {
        c.integer(metrics, "port", "metrics.port", 1, 65535, "the port serving metrics");
        c.pattern(
            metrics,
            "path",
            "metrics.path",
            /^\//,
            'a path starting with "/"',
            'the metrics path, e.g. "/metrics"',
        );
    }
    const metadata = c.object(n, "metadata", "metadata");
    if (metadata !== undefined) {
        for (const k of Object.keys(metadata)) {
            if (k in MANAGED_METADATA) {
                c.fail(`metadata.${k}`, `left unset: the provider sets metadata.${k} itself`, metadata[k]);
            } else {
                c.string(metadata, k, `metadata.${k}`);
            }
        }
    }
    c.oneOf(n, "restartPolicy", "restartPolicy", ["no", "always", "on-failure"] as const);
    c.integer(n, "minSecretsVersion", "minSecretsVersion", 0, Number.MAX_SAFE_INTEGER);
    c.integer(n, "waitTimeoutSeconds", "waitTimeoutSeconds", 1, 3600);
    return c.failures.length ? { inputs: news, failures: c.failures } : { inputs: news };
}

function checkGuest(c: Checker, g: JsonObject | undefined): void {
    if (g === undefined) {
        return;
    }
    const kind = c.oneOf(g, "cpuKind", "guest.cpuKind", FLY_CPU_KINDS, '"shared" or "performance"');
    const cpusRaw = c.get(g, "cpus", "guest.cpus", "the number of CPUs");
    let cpus: number | undefined;
    if (cpusRaw !== undefined && kind !== undefined) {
        const allowed = FLY_CPU_COUNTS[kind];
        if (typeof cpusRaw !== "number" || !allowed.includes(cpusRaw)) {
            c.fail("guest.cpus", `one of ${allowed.join(", ")} for ${kind} CPUs`, cpusRaw);
        } else {
            cpus = cpusRaw;
        }
    }
    const mem = c.get(g, "memoryMb", "guest.memoryMb", "the memory in MB, a multiple of 256");
    if (mem === undefined) {
        return;
    }
    if (kind === undefined || cpus === undefined) {
        if (typeof mem !== "number" || !Number.isInteger(mem) || mem <= 0 || mem % FLY_MEMORY_STEP_MB !== 0) {
            c.fail("guest.memoryMb", "a multiple of 256 MB", mem);
        }
        return;
    }
    const { min, max } = flyMemoryRangeMb(kind, cpus);
    if (typeof mem !== "number" || !isFlyMemory(kind, cpus, mem)) {
        const cpuText = `${cpus} ${kind} CPU${cpus === 1 ? "" : "s"}`;
        c.fail("guest.memoryMb", `a multiple of 256 from ${min} to ${max} MB for ${cpuText}`, mem);
    }
}

function checkService(c: Checker, raw: unknown, path: string): void {
    const s = isSecret(raw) ? raw.value : raw;
    if (isUnknown(s)) {
        return;
    }
    if (!isObject(s)) {
        c.fail(path, "an object", s);
        return;
    }
    const protocol = c.oneOf(s, "protocol", `${path}.protocol`, ["tcp", "udp"] as const, '"tcp" or "udp"');
    c.integer(s, "internalPort", `${path}.internalPort`, 1, 65535, "the port the app listens on inside the machine");
    const ports = c.array(s, "ports", `${path}.ports`, "a list of public ports");
    ports?.forEach((p, j) => {
        const pp = `${path}.ports[${j}]`;
        if (isUnknown(p)) {
            return;
        }
        if (!isObject(p)) {
            c.fail(pp, "an object", p);
            return;
        }
        c.integer(p, "port", `${pp}.port`, 1, 65535, "the public port");
        const handlers = c.array(
            p,
            "handlers",
            `${pp}.handlers`,
            'a list of handlers, e.g. ["tls", "http"] ([] for raw TCP/UDP)',
        );
        handlers?.forEach((h, k) => {
            if (!isUnknown(h) && (typeof h !== "string" || !HANDLERS.includes(h))) {
                c.fail(`${pp}.handlers[${k}]`, `one of ${HANDLERS.map((x) => JSON.stringify(x)).join(", ")}`, h);
            }
        });
        if (protocol === "udp" && handlers !== undefined && handlers.length > 0) {
            c.fail(`${pp}.handlers`, "empty for a UDP service", handlers);
        }
        c.boolean(p, "forceHttps", `${pp}.forceHttps`);
    });
    c.oneOf(s, "autostop", `${path}.autostop`, ["off", "stop", "suspend"] as const, '"off", "stop" or "suspend"');
    c.boolean(s, "autostart", `${path}.autostart`, "true or false");
    c.integer(
        s,
        "minMachinesRunning",
        `${path}.minMachinesRunning`,
        0,
        1000,
        "the number of machines kept running (0 allows scaling to zero)",
    );
    const conc = c.object(s, "concurrency", `${path}.concurrency`, "{ type, softLimit, hardLimit }");
    if (conc !== undefined) {
        const cp = `${path}.concurrency`;
        c.oneOf(conc, "type", `${cp}.type`, ["connections", "requests"] as const, '"connections" or "requests"');
        const soft = c.integer(
            conc,
            "softLimit",
            `${cp}.softLimit`,
            1,
            1_000_000,
            "the load at which Fly Proxy prefers other machines",
        );
        const hard = c.integer(
            conc,
            "hardLimit",
            `${cp}.hardLimit`,
            1,
            1_000_000,
            "the load at which Fly Proxy stops routing to the machine",
        );
        if (soft !== undefined && hard !== undefined && hard < soft) {
            c.fail(`${cp}.hardLimit`, `at least softLimit (${soft})`, hard);
        }
    }
    const checks = c.array(s, "checks", `${path}.checks`, "a list of health checks ([] for none)");
    checks?.forEach((k, j) => checkServiceCheck(c, k, `${path}.checks[${j}]`));
}

function checkServiceCheck(c: Checker, value: unknown, path: string): void {
    const raw = isSecret(value) ? value.value : value;
    if (isUnknown(raw)) {
        return;
    }
    if (!isObject(raw)) {
        c.fail(path, "an object", raw);
        return;
    }
    const type = c.oneOf(raw, "type", `${path}.type`, ["http", "tcp"] as const, '"http" or "tcp"');
    c.integer(raw, "port", `${path}.port`, 1, 65535);
    if (type === "http") {
        c.pattern(
            raw,
            "path",
            `${path}.path`,
            /^\//,
            'a path starting with "/"',
            'the HTTP path to probe, e.g. "/healthz"',
        );
        c.oneOf(raw, "method", `${path}.method`, ["GET", "HEAD", "POST", "PUT", "OPTIONS"] as const);
        c.oneOf(raw, "protocol", `${path}.protocol`, ["http", "https"] as const);
    }
    for (const [key, required] of [
        ["interval", true],
        ["timeout", true],
        ["gracePeriod", false],
    ] as const) {
        const v = c.get(raw, key, `${path}.${key}`, required ? 'a Go duration string, e.g. "15s"' : undefined);
        if (v !== undefined && (typeof v !== "string" || parseGoDuration(v) === undefined)) {
            c.fail(`${path}.${key}`, 'a Go duration string such as "15s", "500ms" or "1m30s"', v);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// diff

/** app/region/name replace the machine; any other input change is an in-place update. */
export function diffMachine(olds: unknown, news: unknown): DiffResult {
    const { changed, replaces } = diffInputs(olds, news, MACHINE_INPUT_KEYS, MACHINE_REPLACE_KEYS);
    // The replacement reuses the name only when `name` is unchanged; names are unique in an
    // app and a create adopts a machine by name, so the old machine must go first.
    const sameName = !replaces.includes("name");
    return diffResult(changed, replaces, replaces.length > 0 && sameName);
}

// ---------------------------------------------------------------------------------------------
// translation to and from the wire config

/** The plain (secret-unwrapped) inputs, as validated by `check`. */
export function machineInputs(raw: unknown): MachineInputs {
    const o = asObject(unwrapSecrets(raw));
    const inputs: JsonObject = {};
    for (const k of MACHINE_INPUT_KEYS) {
        if (o[k] !== undefined && o[k] !== null) {
            inputs[k] = o[k];
        }
    }
    const m = inputs as unknown as MachineInputs;
    return { ...m, env: m.env ?? {}, services: m.services ?? [] };
}

function serviceCheckToWire(k: ServiceCheck): FlyServiceCheck {
    return compact({
        type: k.type,
        port: k.port,
        method: k.method,
        path: k.path,
        protocol: k.protocol,
        interval: k.interval,
        timeout: k.timeout,
        grace_period: k.gracePeriod,
    });
}

function serviceToWire(s: Service): FlyService {
    return compact({
        protocol: s.protocol,
        internal_port: s.internalPort,
        ports: s.ports.map((p) => compact({ port: p.port, handlers: p.handlers, force_https: p.forceHttps })),
        autostop: s.autostop,
        autostart: s.autostart,
        min_machines_running: s.minMachinesRunning,
        concurrency: {
            type: s.concurrency.type,
            soft_limit: s.concurrency.softLimit,
            hard_limit: s.concurrency.hardLimit,
        },
        checks: (s.checks ?? []).map(serviceCheckToWire),
    });
}

/**
 * The Fly `MachineConfig` for the inputs. Secrets never appear here: they are app secrets
 * (`AppSecrets`) that Fly injects at create and update, gated by `min_secrets_version`.
 */
export function toMachineConfig(m: MachineInputs): FlyMachineConfig {
    return compact({
        image: m.image,
        guest: { cpu_kind: m.guest.cpuKind, cpus: m.guest.cpus, memory_mb: m.guest.memoryMb },
        env: { ...m.env },
        services: m.services.map(serviceToWire),
        metrics: m.metrics ? { port: m.metrics.port, path: m.metrics.path } : undefined,
        metadata: { ...(m.metadata ?? {}), ...MANAGED_METADATA },
        restart: m.restartPolicy ? { policy: m.restartPolicy } : undefined,
    });
}

function autostopFromWire(v: unknown): "off" | "stop" | "suspend" | undefined {
    if (v === false) return "off";
    if (v === true) return "stop";
    if (v === "off" || v === "stop" || v === "suspend") return v;
    return undefined;
}

function durationFromWire(v: unknown): string | undefined {
    if (typeof v === "string") {
        return v;
    }
    const ns = parseGoDuration(v);
    return ns === undefined ? undefined : formatGoDuration(ns);
}

/**
 * The part of a wire config the provider manages, normalized so that two configs that mean
 * the same compare equal (Fly answers `autostop` as a boolean, durations as strings or
 * nanoseconds, and fills in defaults such as a check's port).
 */
export function managedView(c: FlyMachineConfig | undefined): JsonObject {
    const cfg = c ?? ({ image: "" } as FlyMachineConfig);
    return compact({
        image: cfg.image,
        guest: cfg.guest
            ? { cpu_kind: cfg.guest.cpu_kind, cpus: cfg.guest.cpus, memory_mb: cfg.guest.memory_mb }
            : undefined,
        env: cfg.env ?? {},
        services: (cfg.services ?? []).map((s) =>
            compact({
                protocol: s.protocol,
                internal_port: s.internal_port,
                ports: (s.ports ?? []).map((p) =>
                    compact({ port: p.port, handlers: p.handlers ?? [], force_https: p.force_https === true }),
                ),
                autostop: autostopFromWire(s.autostop),
                autostart: s.autostart === true,
                min_machines_running: s.min_machines_running ?? 0,
                concurrency: s.concurrency
                    ? compact({
                          type: s.concurrency.type ?? "connections",
                          soft_limit: s.concurrency.soft_limit,
                          hard_limit: s.concurrency.hard_limit,
                      })
                    : undefined,
                checks: (s.checks ?? []).map((k) =>
                    compact({
                        type: k.type,
                        port: k.port ?? s.internal_port,
                        method: k.type === "http" ? (k.method ?? "GET").toUpperCase() : undefined,
                        path: k.path,
                        protocol: k.type === "http" ? (k.protocol ?? "http") : undefined,
                        interval: parseGoDuration(k.interval),
                        timeout: parseGoDuration(k.timeout),
                        grace_period: parseGoDuration(k.grace_period),
                    }),
                ),
            }),
        ),
        metrics: cfg.metrics ? { port: cfg.metrics.port, path: cfg.metrics.path } : undefined,
        metadata: cfg.metadata ?? {},
        restart: cfg.restart?.policy,
    });
}

/** Translates a machine read from Fly back to input properties (for refresh after drift). */
export function inputsFromMachine(machine: FlyMachine, app: string, prior: Partial<MachineInputs>): MachineInputs {
    const cfg: FlyMachineConfig = machine.config ?? { image: "" };
    const userMetadata: Record<string, string> = {};
    for (const [k, v] of Object.entries(cfg.metadata ?? {})) {
        if (!(k in MANAGED_METADATA) && !(k.startsWith("fly_") && !(prior.metadata && k in prior.metadata))) {
            userMetadata[k] = v;
        }
    }
    const services: Service[] = (cfg.services ?? []).map((s) =>
        compact({
            protocol: s.protocol as Service["protocol"],
            internalPort: s.internal_port,
            ports: (s.ports ?? []).map((p) =>
                compact({ port: p.port ?? 0, handlers: p.handlers ?? [], forceHttps: p.force_https }),
            ),
            autostop: autostopFromWire(s.autostop) ?? "off",
            autostart: s.autostart === true,
            minMachinesRunning: s.min_machines_running ?? 0,
            concurrency: {
                type: (s.concurrency?.type ?? "connections") as Service["concurrency"]["type"],
                softLimit: s.concurrency?.soft_limit ?? 0,
                hardLimit: s.concurrency?.hard_limit ?? 0,
            },
            checks: (s.checks ?? []).map((k) =>
                compact({
                    type: k.type as ServiceCheck["type"],
                    port: k.port,
                    method: k.method,
                    path: k.path,
                    protocol: k.protocol as ServiceCheck["protocol"],
                    interval: durationFromWire(k.interval) ?? "",
                    timeout: durationFromWire(k.timeout) ?? "",
                    gracePeriod: durationFromWire(k.grace_period),
                }),
            ),
        }),
    );
    return compact({
        app,
        region: machine.region,
        name: machine.name,
        image: cfg.image,
        guest: {
            cpuKind: (cfg.guest?.cpu_kind ?? "shared") as CpuKind,
            cpus: cfg.guest?.cpus ?? 1,
            memoryMb: cfg.guest?.memory_mb ?? 256,
        },
        env: cfg.env ?? {},
        services,
        metrics: cfg.metrics ? { port: cfg.metrics.port, path: cfg.metrics.path } : undefined,
        metadata: Object.keys(userMetadata).length || prior.metadata !== undefined ? userMetadata : undefined,
        restartPolicy:
            prior.restartPolicy !== undefined || cfg.restart?.policy !== undefined
                ? (cfg.restart?.policy as MachineInputs["restartPolicy"])
                : undefined,
        minSecretsVersion: prior.minSecretsVersion,
        waitTimeoutSeconds: prior.waitTimeoutSeconds,
    });
}

/** The number of service checks the machine must report as passing. */
export function expectedCheckCount(config: FlyMachineConfig): number {
    return (config.services ?? []).reduce((n, s) => n + (s.checks?.length ?? 0), 0);
}

function outputs(rawInputs: unknown, machine: FlyMachine): JsonObject {
    const computed: Pick<MachineOutputs, "machineId" | "instanceId" | "state" | "privateIp"> = {
        machineId: machine.id,
        instanceId: machine.instance_id,
        state: machine.state,
        privateIp: machine.private_ip ?? "",
    };
    // The raw inputs keep their secret wrappers (an env value passed as a secret stays one).
    return compact({ ...pick(rawInputs, MACHINE_INPUT_KEYS), ...computed });
}

// ---------------------------------------------------------------------------------------------
// waiting

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

function isWaitTimeout(e: unknown): boolean {
    return e instanceof FlyApiError && (e.status === 408 || e.flyStatus === "deadline_exceeded");
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
    // 1. started
    for (;;) {
        const remaining = (deadline - Date.now()) / 1000;
        if (remaining <= 0) {
            const m = await ctx.client.getMachine(app, id, name).catch(() => undefined);
            throw new MachineNotHealthyError(
                `Fly: ${label} did not reach state "started" within ${timeoutSeconds}s (state: ${m?.state ?? "unknown"})`,
            );
        }
        try {
            await ctx.client.waitMachine(app, id, name, "started", Math.min(60, remaining), instanceId);
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

// ---------------------------------------------------------------------------------------------
// operations

const LIVE = (m: FlyMachine): boolean => !["destroyed", "destroying"].includes(m.state);

async function findByName(ctx: ProviderContext, app: string, name: string): Promise<FlyMachine | undefined> {
    const all = await ctx.client.listMachines(app);
    return all.find((m) => m.name === name && LIVE(m));
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
            return await ctx.client.createMachine(m.app, {
                name: m.name,
                region: m.region,
                config,
                min_secrets_version: m.minSecretsVersion,
            });
        } catch (e) {
            // A name conflict on a retry: the earlier attempt did create the machine.
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
        const updated = await ctx.client.updateMachine(
            m.app,
            id,
            m.name,
            { config, min_secrets_version: m.minSecretsVersion },
            lease.nonce,
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

async function createMachine(ctx: ProviderContext, raw: unknown): Promise<CreateResult> {
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
        return { id: machine.id, outs: outputs(raw, machine) };
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
        return { id: machine.id, outs: outputs(raw, machine) };
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

async function readMachine(ctx: ProviderContext, id: string, props: unknown): Promise<ReadResult> {
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

async function updateMachine(ctx: ProviderContext, id: string, olds: unknown, news: unknown): Promise<UpdateResult> {
    const o = machineInputs(olds);
    const n = machineInputs(news);
    const config = toMachineConfig(n);
    // Only the wait timeout changed: nothing to send, and no reason to restart the machine.
    if (deepEqual(toMachineConfig(o), config) && o.minSecretsVersion === n.minSecretsVersion) {
        const oldOuts = asObject(olds);
        return { outs: compact({ ...pick(news, MACHINE_INPUT_KEYS), ...pick(oldOuts, COMPUTED_KEYS) }) };
    }
    const machine = await updateWithLease(ctx, id, n, config);
    return { outs: outputs(news, machine) };
}

async function deleteMachine(ctx: ProviderContext, id: string, props: unknown): Promise<void> {
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

export const machine: ResourceModule = {
    check: checkMachine,
    diff: diffMachine,
    create: createMachine,
    read: readMachine,
    update: updateMachine,
    delete: deleteMachine,
};
