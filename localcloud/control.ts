/**
 * Starts, checks and stops the local cloud: the toolchain (real Pulumi CLI, language host,
 * command provider), PostgreSQL and Redis, the Fly emulator, and the stand-in plugins in
 * the isolated PULUMI_HOME. Every step is idempotent: a second start reuses what runs.
 */
import { execFileSync, spawn } from "child_process";
import { createHash, randomBytes } from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as path from "path";
import { choosePort, explicitPort, portFile as portFileOf, portFree, rememberedPort } from "./services/ports";
import { localcloudPaths, pgAdminUrl, redisAdminUrl, redisAnswers } from "./services/env";
import { findPulumi, install } from "./stand-ins/install";
import { scramVerifier } from "./stand-ins/neon/pg";
import { flyEmulatorPaths, localStackEnv, PG_BACKEND, REPO_ROOT, toolchainPath } from "./stackEnv";

const SERVICES = path.join(REPO_ROOT, "localcloud", "services", "services.sh");
/** Preloaded into the Node.js processes started here: runs their TypeScript from cached JavaScript. */
const REGISTER = path.join(REPO_ROOT, "lib", "register.js");

export type Log = (line: string) => void;

function step(log: Log, n: number, total: number, what: string): void {
    log(`[local cloud ${n}/${total}] ${what}`);
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): void {
    // Its progress goes to our stderr, as every command's progress does: stdout is for results
    // (`npm run rollback -- --json` prints JSON there and nothing else).
    execFileSync(cmd, args, { stdio: ["ignore", 2, "inherit"], env, cwd: REPO_ROOT });
}

/** How much faster than Fly the local cloud's health checks report (see the emulator's README). */
export const LOCAL_CLOUD_TIME_FACTOR = 0.05;

/** What the command line of each background server of ours contains. */
// The API server's marker also matches the Neon-only server that `stand-ins/neon/api.ts` was
// before it became one service of `stand-ins/api.ts`, so an old one is still stopped on restart.
const MARKERS = { fly: "fly-emulator", neon: "localcloud/stand-ins/" } as const;

/** The pid in `pidFile` if that process is ours: a stale pid file (after a reboot) may name another process. */
function runningPid(pidFile: string, marker: string): number | undefined {
    try {
        const pid = Number(fs.readFileSync(pidFile, "utf8"));
        return pid > 0 && fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(marker) ? pid : undefined;
    } catch {
        return undefined;
    }
}

/** Stops the server of `pidFile` if it runs, and removes the file. Returns the pid stopped. */
function stopServer(pidFile: string, marker: string): number | undefined {
    const pid = runningPid(pidFile, marker);
    if (pid !== undefined) process.kill(pid, "SIGTERM");
    fs.rmSync(pidFile, { force: true });
    return pid;
}

/** The token the Fly emulator accepts: generated once, mode 600, never printed. */
function flyToken(): string {
    const { dir, tokenFile } = flyEmulatorPaths();
    fs.mkdirSync(dir, { recursive: true });
    if (!fs.existsSync(tokenFile)) {
        fs.writeFileSync(tokenFile, `fm2_local_${randomBytes(24).toString("hex")}\n`, { mode: 0o600 });
    }
    return fs.readFileSync(tokenFile, "utf8").trim();
}

/**
 * What the emulator runs: a hash of its sources and the options it is started with. A running
 * emulator of another build (the sources changed since it started) is restarted, so a changed
 * source never keeps serving from an old process; its state is on disk and carries over.
 */
function emulatorBuild(args: readonly string[]): string {
    const dir = path.join(REPO_ROOT, "localcloud", "fly-emulator");
    const h = createHash("sha256").update(args.join(" "));
    for (const f of fs
        .readdirSync(dir)
        .filter((n) => n.endsWith(".ts"))
        .sort()) {
        h.update(f).update(fs.readFileSync(path.join(dir, f)));
    }
    return h.digest("hex").slice(0, 16);
}

/** The options the local cloud starts the emulator with (besides its port and state dir). */
const EMULATOR_OPTIONS = [
    // Checks at 1/20 of Fly's timing (a 10 s grace period is 0.5 s), so a rollout waits for
    // them as on Fly without making every test wait as long; and Fly's rate limits.
    "--time-factor",
    String(LOCAL_CLOUD_TIME_FACTOR),
    "--rate-limits",
] as const;

/**
 * A GET to one of our servers on loopback: its status and body, or undefined when nothing
 * answers within `timeoutMs`. Through node:http rather than fetch, whose first call costs every
 * command about 0.06 CPU s more (loading undici), for the two probes each local command makes.
 */
function probe(
    port: number,
    path: string,
    headers: Record<string, string>,
    timeoutMs = 1000,
): Promise<{ status: number; body: string } | undefined> {
    return new Promise((resolve) => {
        const req = http.get({ host: "127.0.0.1", port, path, headers, timeout: timeoutMs }, (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (c: string) => (body += c));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
            res.on("error", () => resolve(undefined));
        });
        req.on("timeout", () => req.destroy());
        req.on("error", () => resolve(undefined));
    });
}

async function flyResponds(port: number, token: string): Promise<boolean> {
    const res = await probe(port, "/v1/apps?org_slug=probe", { Authorization: `Bearer ${token}` });
    return res?.status === 200;
}

/** Starts the Fly emulator in the background unless it already answers. Returns its URL. */
export async function startFlyEmulator(log: Log): Promise<string> {
    const paths = flyEmulatorPaths();
    const token = flyToken();
    const build = emulatorBuild(EMULATOR_OPTIONS);
    const buildFile = path.join(paths.dir, "build");
    const current = explicitPort("fly") ?? rememberedPort("fly");
    if (current !== undefined && (await flyResponds(current, token))) {
        const running = fs.existsSync(buildFile) ? fs.readFileSync(buildFile, "utf8").trim() : "";
        if (running === build) {
            log(`fly emulator already running on http://127.0.0.1:${current}`);
            return `http://127.0.0.1:${current}`;
        }
        log(
            `fly emulator on port ${current} run an older build of localcloud/fly-emulator: restarting it (its state is kept)`,
        );
        stopFlyEmulator(log);
        for (let i = 0; i < 50 && (await flyResponds(current, token)); i++)
            await new Promise((r) => setTimeout(r, 100));
    }
    // Not running: FLY_EMULATOR_PORT, else the remembered port, else a new free one. Clients
    // read the port from its file, so a remembered port another process took is replaced.
    const choice = await choosePort("fly", { whenTaken: "move" });
    const port = choice.port;
    if (choice.replaced !== undefined) {
        log(`fly emulator: 127.0.0.1:${choice.replaced} is in use by another process, moving to ${port}`);
    }
    if (choice.source === "explicit" && !(await portFree(port))) {
        throw new Error(
            `FLY_EMULATOR_PORT=${port}: 127.0.0.1:${port} is in use by another process; unset it or choose a free port`,
        );
    }
    fs.mkdirSync(path.join(paths.dir, "state"), { recursive: true });
    const out = fs.openSync(paths.logFile, "a");
    // The token goes through the environment, not argv, so `ps` does not show it.
    const child = spawn(
        process.execPath,
        [
            "--require",
            REGISTER,
            path.join(REPO_ROOT, "localcloud", "fly-emulator", "main.ts"),
            "--port",
            String(port),
            "--state-dir",
            path.join(paths.dir, "state"),
            ...EMULATOR_OPTIONS,
        ],
        {
            cwd: REPO_ROOT,
            detached: true,
            stdio: ["ignore", out, out],
            env: { ...process.env, FLY_EMULATOR_TOKEN: token },
        },
    );
    child.unref();
    fs.writeFileSync(paths.pidFile, `${child.pid}\n`);
    fs.writeFileSync(buildFile, `${build}\n`);
    fs.writeFileSync(paths.portFile, `${port}\n`);
    for (let i = 0; i < 100; i++) {
        if (await flyResponds(port, token)) {
            log(
                `fly emulator started on http://127.0.0.1:${port} (pid ${child.pid}, log ${path.relative(REPO_ROOT, paths.logFile)})`,
            );
            return `http://127.0.0.1:${port}`;
        }
        if (child.exitCode !== null) break;
        await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`the Fly emulator did not start on port ${port}; see ${paths.logFile}`);
}

export function stopFlyEmulator(log: Log): void {
    const pid = stopServer(flyEmulatorPaths().pidFile, MARKERS.fly);
    log(pid === undefined ? "fly emulator: not running" : `fly emulator stopped (pid ${pid})`);
}

/** The API stand-ins' files (in `neon-api/`, the directory of the Neon-only server it was): `$LOCALCLOUD_DIR/neon-api/{port,api.pid,build,api.log}`. */
function neonApiPaths(): { dir: string; portFile: string; pidFile: string; buildFile: string; logFile: string } {
    const portFile = portFileOf("neon");
    const dir = path.dirname(portFile);
    return {
        dir,
        portFile,
        pidFile: path.join(dir, "api.pid"),
        buildFile: path.join(dir, "build"),
        logFile: path.join(dir, "api.log"),
    };
}

/** A hash of the sources the API stand-ins run (restarted when they change, like the emulator). */
function neonApiBuild(): string {
    const root = path.join(REPO_ROOT, "localcloud", "stand-ins");
    const h = createHash("sha256");
    const files = [
        "api.ts",
        ...["common", "neon", "upstash", "vercel"].flatMap((d) =>
            fs
                .readdirSync(path.join(root, d))
                .filter((f) => f.endsWith(".ts"))
                .sort()
                .map((f) => `${d}/${f}`),
        ),
    ];
    for (const f of files) h.update(f).update(fs.readFileSync(path.join(root, f)));
    return h.digest("hex").slice(0, 16);
}

async function neonApiResponds(port: number): Promise<boolean> {
    const res = await probe(port, "/api/v2/projects/probe/branches", { Authorization: "Bearer probe" });
    if (res?.status !== 404) return false;
    try {
        return (JSON.parse(res.body) as { message?: string }).message === "project not found";
    } catch {
        return false;
    }
}

/** Starts the API stand-ins (one server, `stand-ins/api.ts`) in the background unless the current build answers. */
export async function startNeonApi(log: Log): Promise<void> {
    const paths = neonApiPaths();
    const build = neonApiBuild();
    const current = explicitPort("neon") ?? rememberedPort("neon");
    if (current !== undefined && (await neonApiResponds(current))) {
        const running = fs.existsSync(paths.buildFile) ? fs.readFileSync(paths.buildFile, "utf8").trim() : "";
        if (running === build)
            return log(`API stand-ins (neon, upstash, vercel) already running on http://127.0.0.1:${current}`);
        log(`API stand-ins (neon, upstash, vercel) on port ${current} run an older build: restarting it`);
        stopNeonApi(log);
        for (let i = 0; i < 50 && (await neonApiResponds(current)); i++) await new Promise((r) => setTimeout(r, 100));
    }
    const { port } = await choosePort("neon", { whenTaken: "move" });
    fs.mkdirSync(paths.dir, { recursive: true });
    const out = fs.openSync(paths.logFile, "a");
    const child = spawn(
        process.execPath,
        ["--require", REGISTER, path.join(REPO_ROOT, "localcloud", "stand-ins", "api.ts"), "--port", String(port)],
        { cwd: REPO_ROOT, detached: true, stdio: ["ignore", out, out], env: localStackEnv() },
    );
    child.unref();
    fs.writeFileSync(paths.pidFile, `${child.pid}\n`);
    fs.writeFileSync(paths.buildFile, `${build}\n`);
    for (let i = 0; i < 100; i++) {
        if (await neonApiResponds(port)) {
            return log(`API stand-ins (neon, upstash, vercel) started on http://127.0.0.1:${port} (pid ${child.pid})`);
        }
        if (child.exitCode !== null) break;
        await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`the API stand-ins did not start on port ${port}; see ${paths.logFile}`);
}

export function stopNeonApi(log: Log): void {
    const pid = stopServer(neonApiPaths().pidFile, MARKERS.neon);
    if (pid !== undefined) log(`API stand-ins (neon, upstash, vercel) stopped (pid ${pid})`);
}

/**
 * The PostgreSQL state backend's role and database (`LOCALCLOUD_BACKEND=postgres`): made once,
 * the role's password generated into the local cloud's secrets (mode 600) and given to
 * PostgreSQL as a SCRAM verifier, so the plaintext never reaches the server or its logs.
 */
async function ensurePostgresBackend(log: Log, admin?: PgClient): Promise<void> {
    const paths = localcloudPaths();
    const file = path.join(paths.secretsDir, PG_BACKEND.secret);
    const generated = !fs.existsSync(file);
    if (generated) {
        fs.mkdirSync(paths.secretsDir, { recursive: true, mode: 0o700 });
        fs.writeFileSync(file, `${randomBytes(30).toString("base64url")}\n`, { mode: 0o600 });
    }
    const password = fs.readFileSync(file, "utf8").trim();
    // `admin` is servicesAnswer's login, already connected.
    const c = admin ?? (await adminClient());
    if (!admin) await c.connect();
    try {
        const role = c.escapeIdentifier(PG_BACKEND.role);
        const exists = (await c.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [PG_BACKEND.role])).rowCount;
        // The password is set when the role is made or the secret is new, not on every start.
        if (!exists || generated) {
            const verifier = c.escapeLiteral(scramVerifier(password));
            await c.query(`${exists ? "ALTER" : "CREATE"} ROLE ${role} LOGIN PASSWORD ${verifier}`);
        }
        if (!(await c.query("SELECT 1 FROM pg_database WHERE datname = $1", [PG_BACKEND.database])).rowCount) {
            await c.query(`CREATE DATABASE ${c.escapeIdentifier(PG_BACKEND.database)} OWNER ${role}`);
            log(`PostgreSQL state backend: database ${PG_BACKEND.database} for LOCALCLOUD_BACKEND=postgres`);
        }
    } finally {
        await c.end();
    }
}

type PgClient = import("pg").Client;

/** A client (not yet connected) for the local PostgreSQL's admin login. */
async function adminClient(timeoutMs?: number): Promise<PgClient> {
    const { Client } = await import("pg");
    return new Client({ connectionString: pgAdminUrl(), connectionTimeoutMillis: timeoutMs });
}

/**
 * True when the local PostgreSQL and Redis both answer their admin logins, over verified TLS, on
 * the clone's ports. Then a command need not run `services.sh install` and `start` (about 0.8 CPU
 * s of forks each time: package queries, certificate checks, runuser), which every local command
 * did and an e2e run did hundreds of times. Anything else (not started yet, a stopped server, a
 * timeout under load) is false and leaves it to the scripts, which start what is missing.
 * The PostgreSQL login that answered is kept for the state backend's check (`admin`), so a
 * command logs in once.
 */
async function servicesAnswer(): Promise<{ admin: PgClient } | undefined> {
    const timeoutMs = 3000;
    let pg: PgClient, redisUrl: string;
    try {
        pg = await adminClient(timeoutMs);
        redisUrl = redisAdminUrl();
    } catch {
        return undefined; // no port or password yet: never started in this clone
    }
    try {
        const [p, r] = await Promise.all([
            pg.connect().then(() => pg.query("SELECT 1 AS ok")),
            redisAnswers(redisUrl, timeoutMs),
        ]);
        if (p.rows[0]?.ok === 1 && r) return { admin: pg };
    } catch {
        /* below */
    }
    await pg.end().catch(() => {});
    return undefined;
}

/** Everything a local stack needs, ready. Prints one line per step. */
export async function ensureLocalCloud(log: Log): Promise<void> {
    const started = Date.now();
    const total = 4;
    step(log, 1, total, "toolchain: Pulumi CLI, Node.js language host, command provider (first build takes minutes)");
    toolchainPath();
    step(log, 2, total, "PostgreSQL and Redis on loopback");
    const answered = await servicesAnswer();
    if (answered) {
        log("PostgreSQL and Redis already answer on loopback");
    } else {
        run(SERVICES, ["install"]);
        run(SERVICES, ["start"]);
    }
    await ensurePostgresBackend(log, answered?.admin);
    step(log, 3, total, "Fly Machines API emulator and the API stand-ins (neon, upstash, vercel)");
    await startFlyEmulator(log);
    await startNeonApi(log);
    step(
        log,
        4,
        total,
        "stand-in provider plugins (vercel, upstash, neon) and the command provider in the isolated PULUMI_HOME",
    );
    // In this process: a Node process of its own cost every command about 0.2 CPU s to find the
    // plugins installed. The same inputs as that process had: the local stack's PATH and PULUMI_HOME.
    const env = localStackEnv();
    try {
        install({
            pulumi: findPulumi(undefined, env.PATH),
            pulumiHome: env.PULUMI_HOME,
            log: (l) => log(`[localcloud providers] ${l}`),
        });
    } catch (e) {
        throw new Error(`[localcloud providers] ${(e as Error).message}`);
    }
    log(`local cloud ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

export function stopLocalCloud(log: Log): void {
    stopFlyEmulator(log);
    stopNeonApi(log);
    run(SERVICES, ["stop"]);
}

export function localCloudStatus(log: Log): number {
    const report = (label: string, files: { pidFile: string; portFile: string }, marker: string) => {
        const pid = runningPid(files.pidFile, marker);
        const port = fs.existsSync(files.portFile) ? fs.readFileSync(files.portFile, "utf8").trim() : "?";
        log(`${label}: ${pid !== undefined ? `running (pid ${pid}, port ${port})` : "stopped"}`);
        return pid !== undefined;
    };
    const fly = report("fly emulator", flyEmulatorPaths(), MARKERS.fly);
    report("API stand-ins (neon, upstash, vercel)", neonApiPaths(), MARKERS.neon);
    try {
        run(SERVICES, ["status"]);
        return fly ? 0 : 1;
    } catch {
        return 1;
    }
}
