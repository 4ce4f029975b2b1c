/**
 * Recovery after an interrupted update (the engine killed in the middle of an `up`):
 *
 * 1. The stack stays locked by the dead process. Pulumi's file backend writes one lock per
 *    running operation, `.pulumi/locks/<org>/<project>/<stack>/<uuid>.json` holding
 *    `{pid, username, hostname, timestamp}` (pkg/backend/diy/lock.go), and removes it when the
 *    operation ends. `deadLocks` finds the ones whose process is gone from this host, and
 *    `refuseIfDeadLock` refuses the command with the one to run:
 *    `npm run pulumi -- cancel --stack <s>` (the project's `pulumi` in the stack's environment,
 *    so it reaches the local stack's backend inside `.local/`).
 * 2. The state keeps a pending create for each resource whose create was in flight. The next
 *    `up` re-creates it (the Fly provider adopts a machine of the same name, so nothing is
 *    duplicated), but the engine carries pending creates forward and warns on every run until
 *    they are cleared. `settlePendingCreates` clears them once the provider has confirmed each
 *    one, i.e. the resource is in the state with an id after a successful `up`.
 */
import { Deployment } from "@pulumi/pulumi/automation";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { checkpointHasPendingOperations, fileBackendDir } from "./backend";
import { describeChanges, PROJECT, ProjectStack, runOp, Streams } from "./workspace";

/** A lock file of Pulumi's file backend. */
export interface BackendLock {
    file: string;
    pid: number;
    username: string;
    hostname: string;
    timestamp: string;
}

/** The stack's lock files: under any organization dir for the project, or the legacy per-stack dir. */
export function stackLocks(backendDir: string, project: string, stack: string): BackendLock[] {
    const locks = path.join(backendDir, ".pulumi", "locks");
    const dirs = [path.join(locks, stack)];
    if (fs.existsSync(locks)) {
        for (const org of fs.readdirSync(locks)) dirs.push(path.join(locks, org, project, stack));
    }
    const out: BackendLock[] = [];
    for (const dir of dirs) {
        if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) continue;
        for (const f of fs.readdirSync(dir).filter((n) => n.endsWith(".json"))) {
            const file = path.join(dir, f);
            try {
                const lock = toLock(file, fs.readFileSync(file, "utf8"));
                if (lock) out.push(lock);
            } catch {
                // Removed between the listing and the read: the operation just ended.
            }
        }
    }
    return out;
}

/** True while a `pulumi` process runs under this pid on this host. */
/** A lock blob as the CLI writes it (`{pid, username, hostname, timestamp}`), or undefined for anything else. */
function toLock(where: string, text: string): BackendLock | undefined {
    let c: Partial<BackendLock>;
    try {
        c = JSON.parse(text) as Partial<BackendLock>;
    } catch {
        return undefined;
    }
    if (typeof c?.pid !== "number") return undefined;
    return {
        file: where,
        pid: c.pid,
        username: String(c.username ?? "?"),
        hostname: String(c.hostname ?? "?"),
        timestamp: String(c.timestamp ?? "?"),
    };
}

export function pulumiRunning(pid: number): boolean {
    try {
        // /proc tells a recycled pid (another program now) from the pulumi that wrote the lock.
        return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("pulumi");
    } catch {
        if (fs.existsSync("/proc/self")) return false;
    }
    try {
        process.kill(pid, 0);
        return true;
    } catch (e) {
        return (e as NodeJS.ErrnoException).code === "EPERM";
    }
}

/** The stack's locks written on this host by a process that is gone. Locks of other hosts are left alone. */
/**
 * The stack's locks in a self-managed backend the commands can read: a `file://` folder, or
 * Pulumi's PostgreSQL backend (`postgres://…`), which keeps the same blobs as rows of its table
 * (`pulumi_state` unless the URL says `?table=`), keyed by the same paths under the database's
 * name, each blob base64 in a JSON `data` field. Other backends
 * (Pulumi Cloud, object stores) have none the commands can read: an empty list.
 */
export async function backendLocks(env: NodeJS.ProcessEnv, project: string, stack: string): Promise<BackendLock[]> {
    const dir = fileBackendDir(env);
    if (dir) return stackLocks(dir, project, stack);
    const url = env.PULUMI_BACKEND_URL;
    if (!url?.startsWith("postgres://") && !url?.startsWith("postgresql://")) return [];
    const u = new URL(url);
    const table = u.searchParams.get("table") ?? "pulumi_state";
    u.searchParams.delete("table");
    const { Client } = await import("pg");
    const c = new Client({ connectionString: u.toString(), application_name: "fpsgame-infra-locks" });
    await c.connect();
    try {
        // Each blob is a row whose `data` is `{"data": "<the blob, base64>"}`.
        const rows = (
            await c.query<{ key: string; data: { data?: string } }>(
                `SELECT key, data FROM ${c.escapeIdentifier(table)} WHERE key LIKE '%.pulumi/locks/%'`,
            )
        ).rows;
        const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
        const mine = new RegExp(`\\.pulumi/locks/(?:[^/]+/${esc(project)}/)?${esc(stack)}/[^/]+\\.json$`);
        return rows
            .filter((r) => mine.test(r.key))
            .map((r) => toLock(`${table}:${r.key}`, Buffer.from(r.data?.data ?? "", "base64").toString("utf8")))
            .filter((l): l is BackendLock => l !== undefined);
    } finally {
        await c.end().catch(() => undefined);
    }
}

export async function deadLocks(env: NodeJS.ProcessEnv, project: string, stack: string): Promise<BackendLock[]> {
    return (await backendLocks(env, project, stack)).filter(
        (l) => l.hostname === os.hostname() && !pulumiRunning(l.pid),
    );
}

/** The command that clears a stack's locks. */
export function cancelCommand(stack: string): string {
    return `npm run pulumi -- cancel --stack ${stack}`;
}

/** The refusal for a stack locked by a dead process: what happened, and the command to run. */
export function deadLockMessage(stack: string, locks: BackendLock[]): string {
    const who = locks.map((l) => `pulumi (pid ${l.pid}, ${l.username}@${l.hostname}, since ${l.timestamp})`).join("; ");
    return (
        `stack "${stack}" is locked by an update that is no longer running: ${who} ended without releasing its lock ` +
        `(an interrupted update). Clear the lock with:\n\n    ${cancelCommand(stack)}\n\n` +
        `then run this command again: its up finishes what the interrupted update left ` +
        `(README: "When an update was interrupted").`
    );
}

/** Throws {@link deadLockMessage} when the stack is locked by a process that is gone. */
export async function refuseIfDeadLock(env: NodeJS.ProcessEnv, project: string, stack: string): Promise<void> {
    const locks = await deadLocks(env, project, stack);
    if (locks.length > 0) throw new Error(deadLockMessage(stack, locks));
}

interface StateResource {
    urn: string;
    id?: string;
    delete?: boolean;
}
interface PendingOperation {
    type: string;
    resource: { urn: string };
}

/** The pending creates in a stack's state, split by whether the state now holds the resource with an id. */
export function classifyPendingCreates(state: Deployment): { confirmed: string[]; unconfirmed: string[] } {
    const d = state.deployment as { resources?: StateResource[]; pending_operations?: PendingOperation[] };
    const present = new Set((d.resources ?? []).filter((r) => r.id && !r.delete).map((r) => r.urn));
    const creates = (d.pending_operations ?? []).filter((op) => op.type === "creating").map((op) => op.resource.urn);
    return {
        confirmed: creates.filter((u) => present.has(u)),
        unconfirmed: creates.filter((u) => !present.has(u)),
    };
}

/**
 * After a successful `up`: clears the state's pending creates once the provider has confirmed
 * every one of them (the resource is in the state with an id), so the engine's warning about
 * them stops. Returns the URNs cleared.
 *
 * How: `refresh --clear-pending-creates` (Automation API `clearPendingCreates`), targeted at
 * those resources, so the provider reads each one again as it clears. Not an export/import of
 * the state with the operations edited out: `LocalWorkspace.importStack` writes the state,
 * secrets decrypted, to a temporary file. `--clear-pending-creates` drops every pending create,
 * so it runs only when all are confirmed; an unconfirmed one (its resource is not in the state,
 * e.g. it was removed from the config since) may exist in the cloud with no state pointing at
 * it, and is left for the user to check, with the commands to resolve it.
 */
export async function settlePendingCreates(
    ps: ProjectStack,
    log: (line: string) => void,
    streams: Streams = {},
): Promise<string[]> {
    // The usual case, nothing pending, read from a local checkpoint without a `pulumi stack export`.
    if (checkpointHasPendingOperations(ps.env, PROJECT, ps.name) === false) return [];
    // In memory only: the export holds decrypted secrets, and nothing of it is printed.
    const { confirmed, unconfirmed } = classifyPendingCreates(await ps.workspace.exportStack(ps.name));
    if (confirmed.length === 0 && unconfirmed.length === 0) return [];
    if (unconfirmed.length > 0) {
        log(
            `\n${unconfirmed.length} create(s) interrupted by an earlier update are not in the state: ` +
                `${unconfirmed.join(", ")}. Check whether each exists in its cloud, then either ` +
                `npm run pulumi -- refresh --stack ${ps.name} (asks for each), or ` +
                `npm run pulumi -- refresh --import-pending-creates <urn> <id> --stack ${ps.name}.`,
        );
        return [];
    }
    log(`\nclearing ${confirmed.length} pending create(s) the provider has confirmed: ${confirmed.join(", ")}`);
    const r = await runOp((s) => ps.stack.refresh({ clearPendingCreates: true, target: confirmed, ...s }), streams);
    if (r.code !== 0) {
        throw new Error(
            `refresh --clear-pending-creates failed for stack ${ps.name}:\n${r.stderr.trim() || r.stdout.trim()}`,
        );
    }
    const changes = r.result?.summary.resourceChanges;
    log(`pending creates cleared (refresh of ${describeChanges(changes)})`);
    return confirmed;
}
