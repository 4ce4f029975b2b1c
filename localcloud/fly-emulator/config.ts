/**
 * Machine config handling of the Fly emulator: validation of the parts Fly validates (image,
 * guest size, services, checks, durations) and normalisation to what Fly sends back (Go
 * duration strings, `autostop` as a bool for off/stop, a default guest). Everything else in
 * the config is kept verbatim, since an update replaces the whole config anyway.
 */
import type { CheckStatus, JsonObject, MachineState } from "./types";
import {
    ApiError,
    badRequest,
    isImageReference,
    isPlainObject,
    normalizeDuration,
    parseGoDuration,
    rfc3339,
} from "./util";

export interface Guest {
    cpu_kind: "shared" | "performance";
    cpus: number;
    memory_mb: number;
}

// The emulator plays Fly, so it keeps its own copy of Fly's guest limits instead of importing
// lib/facts/fly.ts; localcloud/tests/fly-emulator-facts.test.ts holds the two equal.
const SHARED_CPUS = [1, 2, 4, 6, 8];
const PERFORMANCE_CPUS = [1, 2, 4, 6, 8, 10, 12, 14, 16];

/** fly-go `MachinePresets` (CPU presets only; GPU presets are not emulated). */
export function guestPreset(size: string): Guest | undefined {
    const shared = /^shared-cpu-(\d+)x$/.exec(size);
    if (shared && SHARED_CPUS.includes(Number(shared[1]))) {
        const cpus = Number(shared[1]);
        return { cpu_kind: "shared", cpus, memory_mb: 256 * cpus };
    }
    const perf = /^performance-(\d+)x$/.exec(size);
    if (perf && PERFORMANCE_CPUS.includes(Number(perf[1]))) {
        const cpus = Number(perf[1]);
        return { cpu_kind: "performance", cpus, memory_mb: 2048 * cpus };
    }
    return undefined;
}

function validateGuest(raw: unknown): Guest {
    if (!isPlainObject(raw)) throw badRequest("invalid config.guest: must be an object");
    const kind = raw.cpu_kind ?? "shared";
    if (kind !== "shared" && kind !== "performance") {
        throw badRequest(`invalid config.guest.cpu_kind: ${JSON.stringify(kind)} (allowed: shared, performance)`);
    }
    const cpus = raw.cpus ?? 1;
    const allowedCpus = kind === "shared" ? SHARED_CPUS : PERFORMANCE_CPUS;
    if (typeof cpus !== "number" || !allowedCpus.includes(cpus)) {
        throw badRequest(
            `invalid config.guest.cpus: ${JSON.stringify(cpus)} (allowed for ${kind}: ${allowedCpus.join(", ")})`,
        );
    }
    const perCpu = kind === "shared" ? { min: 256, max: 2048 } : { min: 2048, max: 8192 };
    const memory = raw.memory_mb ?? perCpu.min * cpus;
    if (typeof memory !== "number" || !Number.isInteger(memory)) {
        throw badRequest(`invalid config.guest.memory_mb: ${JSON.stringify(memory)} is not an integer`);
    }
    const preset = `${kind === "shared" ? "shared-cpu" : "performance"}-${cpus}x`;
    if (memory < perCpu.min * cpus) {
        throw badRequest(`invalid config.guest.memory_mb, minimum required ${perCpu.min * cpus} MiB for ${preset}`);
    }
    if (memory > perCpu.max * cpus) {
        throw badRequest(`invalid config.guest.memory_mb, maximum allowed ${perCpu.max * cpus} MiB for ${preset}`);
    }
    if (memory % 256 !== 0) {
        throw badRequest(`invalid config.guest.memory_mb: ${memory} is not a multiple of 256`);
    }
    return { ...raw, cpu_kind: kind, cpus, memory_mb: memory };
}

function stringMap(raw: unknown, field: string): void {
    if (raw === undefined || raw === null) return;
    if (!isPlainObject(raw) || Object.values(raw).some((v) => typeof v !== "string")) {
        throw badRequest(`invalid ${field}: must be an object of strings`);
    }
}

function normalizeCheck(raw: unknown, field: string): JsonObject {
    if (!isPlainObject(raw)) throw badRequest(`invalid ${field}: must be an object`);
    const check: JsonObject = { ...raw };
    if (check.type !== undefined && check.type !== "tcp" && check.type !== "http") {
        throw badRequest(`invalid ${field}.type: ${JSON.stringify(check.type)} (allowed: tcp, http)`);
    }
    if (check.port !== undefined && !isPort(check.port)) {
        throw badRequest(`invalid ${field}.port: ${JSON.stringify(check.port)}`);
    }
    for (const key of ["interval", "timeout", "grace_period"]) {
        if (check[key] !== undefined && check[key] !== null)
            check[key] = normalizeDuration(check[key], `${field}.${key}`);
    }
    return check;
}

function isPort(value: unknown): value is number {
    return typeof value === "number" && Number.isInteger(value) && value >= 1 && value <= 65535;
}

function normalizeService(raw: unknown, field: string): JsonObject {
    if (!isPlainObject(raw)) throw badRequest(`invalid ${field}: must be an object`);
    const service: JsonObject = { ...raw };
    if (service.protocol !== "tcp" && service.protocol !== "udp") {
        throw badRequest(`invalid ${field}.protocol: ${JSON.stringify(service.protocol)} (allowed: tcp, udp)`);
    }
    if (!isPort(service.internal_port)) {
        throw badRequest(`invalid ${field}.internal_port: ${JSON.stringify(service.internal_port)}`);
    }
    if (service.ports !== undefined && !Array.isArray(service.ports))
        throw badRequest(`invalid ${field}.ports: must be an array`);
    // fly-go marshals autostop as a bool for off/stop and as the string "suspend".
    const autostop = service.autostop;
    if (autostop === "off") service.autostop = false;
    else if (autostop === "stop") service.autostop = true;
    else if (
        autostop !== undefined &&
        autostop !== null &&
        autostop !== true &&
        autostop !== false &&
        autostop !== "suspend"
    ) {
        throw badRequest(
            `invalid ${field}.autostop: ${JSON.stringify(autostop)} (allowed: off, stop, suspend, true, false)`,
        );
    }
    if (service.concurrency !== undefined && service.concurrency !== null) {
        const c = service.concurrency;
        if (!isPlainObject(c) || (c.type !== undefined && c.type !== "connections" && c.type !== "requests")) {
            throw badRequest(`invalid ${field}.concurrency: type must be connections or requests`);
        }
    }
    if (service.checks !== undefined && service.checks !== null) {
        if (!Array.isArray(service.checks)) throw badRequest(`invalid ${field}.checks: must be an array`);
        service.checks = service.checks.map((c, i) => normalizeCheck(c, `${field}.checks[${i}]`));
    }
    return service;
}

/**
 * Validates a `MachineConfig` from a create or update body and returns the config as Fly
 * would store and return it. Throws `ApiError` 400 naming the offending field (422 for an image
 * that is not an image reference).
 */
export function normalizeConfig(raw: unknown): JsonObject {
    if (!isPlainObject(raw)) throw badRequest("invalid config: a machine config object is required");
    const config = JSON.parse(JSON.stringify(raw)) as JsonObject;
    if (typeof config.image !== "string" || config.image.trim() === "") {
        throw badRequest("invalid config.image: an image must be specified");
    }
    if (!isImageReference(config.image)) {
        // 422, as for an unknown region: Fly refuses an image it cannot resolve at create and
        // update, with a status it does not publish.
        throw new ApiError(
            422,
            `invalid config.image ${JSON.stringify(config.image)}: not an image reference ([registry/]repository[:tag][@sha256:<64 hex>], repository in lowercase)`,
        );
    }
    if (config.guest !== undefined && config.guest !== null) {
        config.guest = validateGuest(config.guest);
    } else if (typeof config.size === "string" && config.size !== "") {
        const preset = guestPreset(config.size);
        if (!preset) throw badRequest(`invalid config.size: unknown preset ${JSON.stringify(config.size)}`);
        config.guest = preset;
    } else {
        config.guest = { cpu_kind: "shared", cpus: 1, memory_mb: 256 };
    }
    stringMap(config.env, "config.env");
    stringMap(config.metadata, "config.metadata");
    if (config.services !== undefined && config.services !== null) {
        if (!Array.isArray(config.services)) throw badRequest("invalid config.services: must be an array");
        config.services = config.services.map((s, i) => normalizeService(s, `config.services[${i}]`));
    }
    if (config.checks !== undefined && config.checks !== null) {
        if (!isPlainObject(config.checks))
            throw badRequest("invalid config.checks: must be an object keyed by check name");
        const checks: JsonObject = {};
        for (const [name, check] of Object.entries(config.checks))
            checks[name] = normalizeCheck(check, `config.checks.${name}`);
        config.checks = checks;
    }
    if (
        isPlainObject(config.stop_config) &&
        config.stop_config.timeout !== undefined &&
        config.stop_config.timeout !== null
    ) {
        config.stop_config = {
            ...config.stop_config,
            timeout: normalizeDuration(config.stop_config.timeout, "config.stop_config.timeout"),
        };
    }
    if (isPlainObject(config.restart) && config.restart.policy !== undefined) {
        if (!["no", "always", "on-failure"].includes(String(config.restart.policy))) {
            throw badRequest(
                `invalid config.restart.policy: ${JSON.stringify(config.restart.policy)} (allowed: no, always, on-failure)`,
            );
        }
    }
    if (config.schedule !== undefined && config.schedule !== null && config.schedule !== "") {
        if (!["hourly", "daily", "weekly", "monthly"].includes(String(config.schedule))) {
            throw badRequest(
                `invalid config.schedule: ${JSON.stringify(config.schedule)} (allowed: hourly, daily, weekly, monthly)`,
            );
        }
    }
    return config;
}

/** A check a machine's config declares: its name in `Machine.checks` and its timing. */
export interface DeclaredCheck {
    name: string;
    /** `grace_period` as Fly applies it: 0, or clamped to 1 s .. 1 min. */
    graceMs: number;
    /** `interval` as Fly applies it, clamped to 1 s .. 1 min. */
    intervalMs: number;
}

/** What the emulator assumes when a check sets no `interval` (Fly publishes no default for the Machines API). */
export const DEFAULT_CHECK_INTERVAL_MS = 15_000;
const MIN_CHECK_MS = 1_000;
const MAX_CHECK_MS = 60_000;

/**
 * A check duration as the platform applies it: flyctl warns that service-check intervals and
 * timeouts under 1 s "will be raised to 1 second" and over 1 min "lowered to 1 minute"; a grace
 * period may be 0.
 */
function clampCheckMs(value: unknown, fallbackMs: number, zeroAllowed: boolean): number {
    const ns = typeof value === "string" ? parseGoDuration(value) : undefined;
    const ms = ns === undefined ? fallbackMs : ns / 1e6;
    if (ms === 0 && zeroAllowed) return 0;
    return Math.min(MAX_CHECK_MS, Math.max(MIN_CHECK_MS, ms));
}

function declaredCheck(name: string, check: JsonObject): DeclaredCheck {
    return {
        name,
        graceMs: clampCheckMs(check.grace_period, 0, true),
        intervalMs: clampCheckMs(check.interval, DEFAULT_CHECK_INTERVAL_MS, false),
    };
}

/** The checks a machine's config declares, named as Fly names them in the `Machine.checks` array. */
export function declaredChecks(config: JsonObject): DeclaredCheck[] {
    const checks: DeclaredCheck[] = [];
    let index = 0;
    const services = Array.isArray(config.services) ? config.services : [];
    for (const service of services) {
        if (!isPlainObject(service) || !Array.isArray(service.checks)) continue;
        for (const check of service.checks) {
            if (!isPlainObject(check)) continue;
            const type = typeof check.type === "string" ? check.type : "tcp";
            const port = isPort(check.port) ? check.port : service.internal_port;
            checks.push(declaredCheck(`servicecheck-${String(index).padStart(2, "0")}-${type}-${String(port)}`, check));
            index++;
        }
    }
    if (isPlainObject(config.checks)) {
        for (const [name, check] of Object.entries(config.checks)) {
            checks.push(declaredCheck(name, isPlainObject(check) ? check : {}));
        }
    }
    return checks;
}

/** One entry of a machine's `checks` array. */
export interface CheckResult {
    name: string;
    status: CheckStatus;
    output: string;
    updated_at: string;
}

/**
 * The check results a machine shows. Nothing is probed, but the timing follows Fly's: a freshly
 * started instance has no results (`checks` is empty, as flyctl's `WaitForHealthchecksToPass`
 * expects), each check reports for the first time once its grace period and one interval have
 * passed since the instance started (both multiplied by `timeFactor`), and then shows `passing`,
 * or the status a `checks` fault rule forces. A machine that is not running reports `critical`.
 */
export function checkResults(
    config: JsonObject,
    state: MachineState,
    startedAtMs: number,
    opts: { now: number; timeFactor: number; forced: CheckStatus | undefined },
): CheckResult[] {
    const declared = declaredChecks(config);
    if (state === "starting" || state === "updating" || state === "restarting" || state === "created") return [];
    if (state !== "started") {
        const at = rfc3339(opts.now);
        return declared.map((c) => ({
            name: c.name,
            status: "critical",
            output: "the machine is not running",
            updated_at: at,
        }));
    }
    const results: CheckResult[] = [];
    for (const c of declared) {
        const firstResultAt = startedAtMs + (c.graceMs + c.intervalMs) * opts.timeFactor;
        if (opts.now < firstResultAt) continue;
        const status = opts.forced ?? "passing";
        results.push({
            name: c.name,
            status,
            output: status === "passing" ? "Success" : `check reports ${status} (injected by the fly emulator)`,
            updated_at: rfc3339(firstResultAt),
        });
    }
    return results;
}
