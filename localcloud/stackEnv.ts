/**
 * The environment `pulumi` runs in for a local-cloud stack (one whose file says
 * `fpsgame-infra:localCloud: true`): the toolchain's `pulumi` on PATH, an isolated PULUMI_HOME
 * with the stand-in plugins, a file backend under `.local/`, the demo passphrase, and the Fly
 * emulator's URL and token. The product's commands reach this module only through the seam in
 * `ops/env.ts`, and only for such stacks.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { localcloudEnv, localcloudPaths, localPgUrl, readSecret, repoRoot } from "./services/env";
import { portFile } from "./services/ports";
import { GET_MACHINE_LIMIT } from "./fly-emulator/ratelimit";
import { API_PREFIXES } from "./stand-ins/common/http";

export const REPO_ROOT = repoRoot();

/**
 * The local stack's passphrase. A demo value, documented in the README: it protects only
 * the local cloud's throwaway credentials, never a real one.
 */
export const LOCAL_PASSPHRASE = "fpsgame-local-demo";

/** The toolchain script: builds the Pulumi CLI and the language host once, prints their path. */
export const TOOLCHAIN_SCRIPT = path.join(REPO_ROOT, "localcloud", "toolchain", "toolchain.sh");

/** Where a local stack's file backend keeps its state (git-ignored). */
export function localBackendDir(): string {
    const dir = path.join(localcloudPaths().dir, "backend");
    fs.mkdirSync(dir, { recursive: true });
    return dir;
}

/** The role and database of the local cloud's PostgreSQL state backend (`LOCALCLOUD_BACKEND=postgres`). */
export const PG_BACKEND = {
    role: "localcloud_backend",
    database: "pulumi_backend",
    secret: "pg-backend-password",
} as const;

/**
 * The state backend local stacks use: `LOCALCLOUD_BACKEND=file` (the default: `.local/backend/`)
 * or `postgres` (Pulumi's PostgreSQL backend on the local cloud's PostgreSQL, as CI would use a
 * shared one). The URL of the latter holds a password: never print it.
 */
export function localBackendUrl(env: NodeJS.ProcessEnv = process.env): string {
    const kind = (env.LOCALCLOUD_BACKEND ?? "").trim() || "file";
    if (kind === "file") return `file://${localBackendDir()}`;
    if (kind !== "postgres") {
        throw new Error(
            `LOCALCLOUD_BACKEND is ${JSON.stringify(kind)}: allowed are "file" (the default) and "postgres"`,
        );
    }
    return localPgUrl(PG_BACKEND.role, readSecret(PG_BACKEND.secret, localcloudPaths(env)), PG_BACKEND.database, env);
}

/** The Fly emulator's port, token file and state dir. */
export function flyEmulatorPaths(): {
    dir: string;
    tokenFile: string;
    portFile: string;
    pidFile: string;
    logFile: string;
} {
    const dir = path.join(localcloudPaths().dir, "fly");
    return {
        dir,
        tokenFile: path.join(dir, "token"),
        portFile: path.join(dir, "port"),
        pidFile: path.join(dir, "emulator.pid"),
        logFile: path.join(dir, "emulator.log"),
    };
}

/** The toolchain's bin dirs, building it the first time (progress goes to stderr). */
let toolchainBin: string | undefined;

export function toolchainPath(): string {
    // An explicit toolchain (e.g. a developer's own build) skips the toolchain script.
    if (process.env.FPSGAME_TOOLCHAIN_PATH) return process.env.FPSGAME_TOOLCHAIN_PATH;
    // Once per process: every pulumi call needs the path, the script's summary is needed once.
    if (toolchainBin !== undefined) return toolchainBin;
    const out = execFileSync(TOOLCHAIN_SCRIPT, ["--print-path"], {
        stdio: ["ignore", "pipe", "inherit"],
        encoding: "utf8",
    });
    toolchainBin = out.trim();
    return toolchainBin;
}

/** PATH with the toolchain and this clone's Node 22 first. */
export function basePath(env: NodeJS.ProcessEnv = process.env): string {
    return [toolchainPath(), path.join(REPO_ROOT, "node_modules", ".bin"), env.PATH ?? ""].filter(Boolean).join(":");
}

/** The environment for `pulumi` on a local-cloud stack. */
export function localStackEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
    const fly = flyEmulatorPaths();
    const out: NodeJS.ProcessEnv = {
        ...env,
        ...localcloudEnv(env),
        PATH: basePath(env),
        PULUMI_BACKEND_URL: localBackendUrl(env),
        PULUMI_CONFIG_PASSPHRASE: LOCAL_PASSPHRASE,
        PULUMI_CONFIG_PASSPHRASE_FILE: undefined,
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true",
    };
    // The services' HTTP APIs the commands call outside Pulumi (undo-migration, discovery,
    // password resets): the local cloud's API stand-ins, one server, a prefix per service.
    delete out.NEON_API_URL;
    delete out.UPSTASH_API_URL;
    delete out.VERCEL_API_URL;
    const apiPort = portFile("neon", env);
    if (fs.existsSync(apiPort)) {
        const base = `http://127.0.0.1:${fs.readFileSync(apiPort, "utf8").trim()}`;
        out.NEON_API_URL = `${base}${API_PREFIXES.neon}`;
        out.UPSTASH_API_URL = `${base}${API_PREFIXES.upstash}`;
        out.VERCEL_API_URL = `${base}${API_PREFIXES.vercel}`;
    }
    // Never let the user's real Fly credentials reach a local stack: the emulator's, or none.
    delete out.FLY_API_URL;
    delete out.FLY_API_TOKEN;
    // The emulator runs Fly's check timing at 1/20 (LOCAL_CLOUD_TIME_FACTOR): polling at Fly's
    // pace (1 s) would make each machine's rollout wait for the poll rather than for its checks.
    // One poll per token of Fly's Get Machine rate (5 req/s: 200 ms) keeps one waiting machine
    // within it, which the emulator enforces.
    out.FLY_POLL_INTERVAL_MS = String(1000 / GET_MACHINE_LIMIT.perSecond);
    if (fs.existsSync(fly.portFile) && fs.existsSync(fly.tokenFile)) {
        out.FLY_API_URL = `http://127.0.0.1:${fs.readFileSync(fly.portFile, "utf8").trim()}`;
        out.FLY_API_TOKEN = fs.readFileSync(fly.tokenFile, "utf8").trim();
    }
    return out;
}

/**
 * Where a URL of a local-cloud stack is reached: `https://<app>.fly.dev/<path>` (or a custom
 * domain certified on the app) is served by the Fly emulator's edge on its own port, with the
 * original hostname in `Host`. Any other URL is returned as it is.
 */
export function localEdgeResolve(url: string): { url: string; host?: string } {
    const u = new URL(url);
    if (u.hostname === "127.0.0.1" || u.hostname === "localhost") return { url };
    const port = fs.readFileSync(flyEmulatorPaths().portFile, "utf8").trim();
    return { url: `http://127.0.0.1:${port}${u.pathname}${u.search}`, host: u.host };
}
