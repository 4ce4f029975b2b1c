/** Waiting for a `fly:index:Machine` to run the wanted instance with every service check passing. */
import { FlyApiError, FlyCheckStatus, FlyMachine, FlyMachineConfig, MAX_WAIT_SECONDS } from "../client";
import { ProviderContext, sleep } from "../common";

/** Default for `waitTimeoutSeconds`. */
export const DEFAULT_WAIT_TIMEOUT_SECONDS = 120;

/**
 * The number of checks the machine must report as passing: its service checks and its top-level
 * `checks`, as flyctl counts them (`WaitForHealthchecksToPass`).
 */
export function expectedCheckCount(config: FlyMachineConfig): number {
    const service = (config.services ?? []).reduce((n, s) => n + (s.checks?.length ?? 0), 0);
    const top = config.checks;
    const topLevel = top !== null && typeof top === "object" ? Object.keys(top).length : 0;
    return service + topLevel;
}

/** Checks Fly's API adds "for compatibility with older flyctl versions"; fly-go drops them too (`RemoveCompatChecks`). */
const COMPAT_CHECK_PREFIX = "bg_deployments_compat";

/** The machine's own check results, without Fly's compatibility entries. */
export function ownChecks(m: FlyMachine): FlyCheckStatus[] {
    return (m.checks ?? []).filter((k) => !k.name.startsWith(COMPAT_CHECK_PREFIX));
}

/**
 * One line on the checks' progress: `1/2 passing; servicecheck-01-http-8080 critical (...)`.
 * A freshly started machine has no results yet (Fly's `checks` is empty until its grace
 * period and a first interval have passed), which is not a failure.
 */
export function checksProgress(checks: FlyCheckStatus[], expected: number): string {
    const passing = checks.filter((k) => k.status === "passing").length;
    const total = Math.max(expected, checks.length);
    const others = checks
        .filter((k) => k.status !== "passing")
        .map((k) => `${k.name} ${k.status}${k.output ? ` (${k.output.slice(0, 120)})` : ""}`);
    const waiting = total - checks.length;
    const parts = [`${passing}/${total} passing`];
    if (others.length) parts.push(others.join(", "));
    if (waiting > 0) parts.push(`${waiting} with no result yet`);
    return parts.join("; ");
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
 * Waits until the machine runs `instanceId` in state `started` and all its checks pass, or
 * throws a MachineNotHealthyError once `timeoutSeconds` have passed. As on Fly (and as flyctl
 * does), a failing check does not end the wait early: a check may still pass within the
 * timeout. Each change in the checks' progress is logged, so the `up` shows what it waits for.
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
    let reported = "";
    for (;;) {
        last = await ctx.client.getMachine(app, id, name);
        if (TERMINAL_STATES.includes(last.state) || last.state === "stopped") {
            throw new MachineNotHealthyError(`Fly: ${label} is "${last.state}" instead of "started"`);
        }
        const checks = ownChecks(last);
        if (
            last.state === "started" &&
            (last.instance_id === instanceId || !instanceId) &&
            checks.length >= expectedChecks &&
            checks.every((k) => k.status === "passing")
        ) {
            if (expectedChecks > 0 && reported !== "") {
                ctx.log(`${label}: health checks ${checksProgress(checks, expectedChecks)}`);
            }
            return last;
        }
        const progress = checksProgress(checks, expectedChecks);
        if (Date.now() >= deadline) {
            throw new MachineNotHealthyError(
                `Fly: ${label} did not pass its health checks within ${timeoutSeconds}s: ${progress}`,
            );
        }
        if (progress !== reported) {
            ctx.log(`${label}: waiting for health checks: ${progress}`);
            reported = progress;
        }
        await sleep(Math.min(ctx.pollIntervalMs, Math.max(0, deadline - Date.now())));
    }
}
