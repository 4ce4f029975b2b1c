/**
 * End-to-end harness: throwaway stacks of the real program on the real Pulumi engine,
 * against the local cloud. Each test file gets its own stack (`e2e-<name>`), a copy of
 * `Pulumi.local.yaml` with names of its own so files never collide, and removes it after.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { localBackendDir, localStackEnv, REPO_ROOT } from "../../localcloud/stackEnv";
import { Client } from "pg";
import { localcloudPaths, pgAdminUrl } from "../../localcloud/services/env";
import { ThrowawayStack } from "../../localcloud/throwawayStack";
import { clientConnectionString } from "../../migrations/runner";
import { backendLocks } from "../../ops/recovery";
import { HistoryEntry, historyEntries as listHistory } from "../../ops/rollback";
import { PROJECT } from "../../ops/workspace";
import { databaseUrl } from "../../ops/runbook";

export { REPO_ROOT };

/** A throwaway stack named `e2e-<suffix>`, of this checkout's program or of a variant of it. */
export class E2EStack extends ThrowawayStack {
    constructor(suffix: string, workDir?: string, env?: NodeJS.ProcessEnv) {
        super(suffix, "e2e", workDir, env);
    }

    /** Where the file backend keeps this stack's locks: one file per running update. */
    get lockDir(): string {
        return path.join(localBackendDir(), ".pulumi", "locks", "organization", PROJECT, this.name);
    }

    /**
     * Resolves once an update holds this stack's lock, as the commands read locks
     * (`backendLocks`, any backend of the stack's environment), or throws after `timeoutMs`.
     */
    async lockTaken(timeoutMs = 30_000): Promise<void> {
        for (const end = Date.now() + timeoutMs; Date.now() < end;) {
            if ((await backendLocks(this.env, PROJECT, this.name)).length > 0) return;
            await new Promise((r) => setTimeout(r, 50));
        }
        throw new Error(`no update took the lock of ${this.name} within ${timeoutMs} ms`);
    }

    /** A query on the stack's database, through the API's own connection string (TLS, verified). */
    async sql<R extends Record<string, unknown> = Record<string, unknown>>(
        text: string,
        params: unknown[] = [],
    ): Promise<R[]> {
        const url = clientConnectionString(await databaseUrl(await this.stack()), localcloudPaths().caFile);
        const c = new Client({ connectionString: url });
        await c.connect();
        try {
            return (await c.query<R>(text, params)).rows;
        } finally {
            await c.end();
        }
    }
}

/**
 * A variant of this checkout's program with files of its own (say, a migration that is not in
 * `migrations/`), so one test file can change the program without the others seeing it:
 * `.local/e2e-programs/<name>/` holds links to the checkout's folders and files, and real copies
 * of `index.ts` and `migrations/` (the program finds its migrations beside its own `index.ts`),
 * plus `files` (paths relative to the program). Returns the folder.
 */
export function programVariant(name: string, files: Record<string, string>): string {
    const dir = path.join(REPO_ROOT, ".local", "e2e-programs", name);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    const copied = new Set(["index.ts", "migrations"]);
    for (const entry of fs.readdirSync(REPO_ROOT)) {
        if (entry === ".git" || entry === ".local" || /^Pulumi\..+\.yaml$/.test(entry)) continue;
        const from = path.join(REPO_ROOT, entry);
        if (copied.has(entry)) fs.cpSync(from, path.join(dir, entry), { recursive: true });
        else fs.symlinkSync(from, path.join(dir, entry));
    }
    for (const [rel, text] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
        fs.writeFileSync(path.join(dir, rel), text);
    }
    return dir;
}

/** Generous: an `up` of the whole stack on two cores takes tens of seconds. */
export const E2E_TIMEOUT_MS = 15 * 60 * 1000;

/** Fly emulator admin calls (faults) with the local token. */
export async function flyAdmin(method: string, pathName: string, body?: unknown): Promise<unknown> {
    const env = localStackEnv();
    const res = await fetch(`${env.FLY_API_URL}${pathName}`, {
        method,
        headers: { Authorization: `Bearer ${env.FLY_API_TOKEN}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return text ? JSON.parse(text) : undefined;
}

/** The secrets of an app as the Fly emulator holds them (it keeps the values; Fly would not show them). */
export async function flySecretValues(app: string): Promise<Record<string, string>> {
    return ((await flyAdmin("GET", `/__emulator/secret-values/${app}`)) as { values: Record<string, string> }).values;
}

/** What a command printed, and its exit code. */
export interface CommandResult {
    code: number;
    stdout: string;
    stderr: string;
}

/**
 * Runs one of the project's commands as an operator does (`npm run <name> -- --stack <stack>
 * <args>`, with no terminal), asynchronously, so the test process keeps serving its own sockets.
 */
export function runCommand(
    name: string,
    stack: string,
    args: string[],
    env: NodeJS.ProcessEnv = process.env,
    /** Written to the command's stdin (e.g. a secret `pulumi config set` reads there); none when absent. */
    input?: string,
): Promise<CommandResult> {
    return runCli([name, "--stack", stack, ...args], env, input);
}

/** `npm run <args[0]> -- <args…>` (ops/cli.ts), as {@link runCommand}, for commands without `--stack` (`review up …`). */
export function runCli(args: string[], env: NodeJS.ProcessEnv = process.env, input?: string): Promise<CommandResult> {
    const child = spawn(process.execPath, ["--require", "./lib/register.js", "ops/cli.ts", ...args], {
        cwd: REPO_ROOT,
        stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
        env,
    });
    if (input !== undefined) child.stdin!.end(input);
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
    return new Promise((resolve) => child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr })));
}

/** One `/v1` request in the Fly emulator's log. */
export interface LoggedRequest {
    seq: number;
    method: string;
    path: string;
    status: number;
    at: string;
}

/**
 * The emulator's requests after `since` (a `seq`; 0 for all it keeps). The log is shared by the
 * e2e files running side by side, so tests read from a mark and never clear it.
 */
export async function flyRequestsSince(since: number): Promise<LoggedRequest[]> {
    return (await flyAdmin("GET", `/__emulator/requests?since=${since}`)) as LoggedRequest[];
}

/**
 * The stack's history as `npm run rollback -- --list --json` prints it (every entry, newest
 * first, with the command's own ids): the command's own functions (ops/rollback.ts), run here
 * rather than through a command start of its own (0.9 CPU s each); rollback.test.ts checks
 * that the command prints the same.
 */
export async function historyEntries(stack: ThrowawayStack): Promise<HistoryEntry[]> {
    return listHistory(await stack.stack());
}

/** The seq of the newest request in the emulator's log: a mark for {@link flyRequestsSince}. */
export async function flyRequestMark(): Promise<number> {
    const all = await flyRequestsSince(0);
    return all.length ? all[all.length - 1].seq : 0;
}

/** The pids of `pid`'s descendants, from /proc (children first found by their parent pid). */
function descendants(pid: number): number[] {
    const parentOf = new Map<number, number>();
    for (const entry of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) continue;
        try {
            // /proc/<pid>/stat: "pid (comm) state ppid …"; comm may hold spaces and parentheses.
            const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
            parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
        } catch {
            // Exited while we listed.
        }
    }
    const out: number[] = [];
    const queue = [pid];
    while (queue.length) {
        const p = queue.shift()!;
        for (const [child, parent] of parentOf) {
            if (parent === p) {
                out.push(child);
                queue.push(child);
            }
        }
    }
    return out;
}

function signal(pids: number[], sig: NodeJS.Signals): void {
    for (const p of pids) {
        try {
            process.kill(p, sig);
        } catch {
            // Already gone.
        }
    }
}

/**
 * SIGKILLs a process and every descendant, as a crash or an OOM kill would. Not a process group:
 * pulumi starts each plugin in a group of its own. Everything is stopped first, so nothing can
 * start a new child between the listing and the kill.
 */
export function killTree(pid: number): number[] {
    const first = [pid, ...descendants(pid)];
    signal(first, "SIGSTOP");
    const all = [...new Set([...first, ...descendants(pid)])];
    signal(all, "SIGKILL");
    return all;
}

/** The pids still running (a zombie, killed but not yet reaped, counts as gone). */
export function running(pids: number[]): number[] {
    return pids.filter((p) => {
        try {
            const stat = fs.readFileSync(`/proc/${p}/stat`, "utf8");
            return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
        } catch {
            return false;
        }
    });
}

/** The local PostgreSQL's databases of a Neon branch (`<branchId>.<db>`) and roles of a project (`<projectId>.<role>`). */
export async function pgNames(branchId: string, projectId = ""): Promise<{ databases: string[]; roles: string[] }> {
    const c = new Client({ connectionString: clientConnectionString(pgAdminUrl()) });
    await c.connect();
    try {
        const d = await c.query<{ datname: string }>("SELECT datname FROM pg_database WHERE starts_with(datname, $1)", [
            `${branchId}.`,
        ]);
        const r = projectId
            ? await c.query<{ rolname: string }>("SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1)", [
                  `${projectId}.`,
              ])
            : { rows: [] };
        return { databases: d.rows.map((x) => x.datname), roles: r.rows.map((x) => x.rolname) };
    } finally {
        await c.end();
    }
}

/** Whether something listens on the loopback port (a Redis instance of the Upstash stand-in). */
export function portOpen(port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const s = net.connect({ host: "127.0.0.1", port }, () => {
            s.destroy();
            resolve(true);
        });
        s.on("error", () => resolve(false));
    });
}

/** Files of the Vercel stand-in's records that mention `text` (a project id, a git branch). */
export function vercelRecords(text: string): string[] {
    const dir = path.join(localcloudPaths().stateDir, "vercel");
    if (!fs.existsSync(dir)) return [];
    const out: string[] = [];
    const walk = (d: string) => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
            const p = path.join(d, e.name);
            if (e.isDirectory()) walk(p);
            else if (fs.readFileSync(p, "utf8").includes(text)) out.push(p);
        }
    };
    walk(dir);
    return out;
}
