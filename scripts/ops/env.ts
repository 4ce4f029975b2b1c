/**
 * The environment `pulumi` runs in, per stack.
 *
 * A stack whose file says `fpsgame-infra:localCloud: true` (the `local` stack, and the
 * throwaway stacks of the end-to-end tests) gets the offline environment: the toolchain's
 * `pulumi` on PATH, an isolated PULUMI_HOME with the stand-in plugins, a file backend under
 * `.local/`, the demo passphrase, and the Fly emulator's URL and token. Every other stack
 * gets the user's own Pulumi login and credentials untouched; only PATH gains the toolchain
 * (when no `pulumi` is installed) and, if FLY_API_TOKEN is unset, the stack's encrypted
 * `flyApiToken` is decrypted into it for the engine.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { localcloudEnv, localcloudPaths } from "../../localcloud/services/env";

export const REPO_ROOT = path.resolve(__dirname, "..", "..");

/**
 * The local stack's passphrase. A demo value, documented in the README: it protects only
 * the local cloud's throwaway credentials, never a real one.
 */
export const LOCAL_PASSPHRASE = "fpsgame-local-demo";

/** Where a local stack's file backend keeps its state (git-ignored). */
export function localBackendDir(): string {
    const dir = path.join(localcloudPaths().dir, "backend");
    fs.mkdirSync(dir, { recursive: true });
    return dir;
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

/** Reads `Pulumi.<stack>.yaml`; a missing file is a clear error naming the stacks that exist. */
export function readStackFile(stack: string): Record<string, unknown> {
    const file = path.join(REPO_ROOT, `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(file)) {
        const known = fs
            .readdirSync(REPO_ROOT)
            .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
            .filter((s): s is string => !!s);
        throw new Error(`stack "${stack}" has no Pulumi.${stack}.yaml; stacks here: ${known.join(", ")}`);
    }
    const doc = parse(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> } | null;
    return doc?.config ?? {};
}

/** True when the stack runs against the offline local cloud. */
export function isLocalStack(stack: string): boolean {
    // Pulumi writes config values back as strings ("true"), whatever was typed.
    return String(readStackFile(stack)["fpsgame-infra:localCloud"]) === "true";
}

/** The toolchain's bin dirs, building it the first time (progress goes to stderr). */
let toolchainBin: string | undefined;

export function toolchainPath(): string {
    // An explicit toolchain (e.g. a developer's own build) skips tools/toolchain.sh.
    if (process.env.FPSGAME_TOOLCHAIN_PATH) return process.env.FPSGAME_TOOLCHAIN_PATH;
    // Once per process: every pulumi call needs the path, the script's summary is needed once.
    if (toolchainBin !== undefined) return toolchainBin;
    const out = execFileSync(path.join(REPO_ROOT, "tools", "toolchain.sh"), ["--print-path"], {
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
        PULUMI_BACKEND_URL: `file://${localBackendDir()}`,
        PULUMI_CONFIG_PASSPHRASE: LOCAL_PASSPHRASE,
        PULUMI_CONFIG_PASSPHRASE_FILE: undefined,
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true",
    };
    // Never let the user's real Fly credentials reach a local stack: the emulator's, or none.
    delete out.FLY_API_URL;
    delete out.FLY_API_TOKEN;
    if (fs.existsSync(fly.portFile) && fs.existsSync(fly.tokenFile)) {
        out.FLY_API_URL = `http://127.0.0.1:${fs.readFileSync(fly.portFile, "utf8").trim()}`;
        out.FLY_API_TOKEN = fs.readFileSync(fly.tokenFile, "utf8").trim();
    }
    return out;
}

/**
 * The environment for `pulumi` on a real stack: the user's own, plus the toolchain on PATH
 * if no `pulumi` is installed, plus FLY_API_TOKEN from the stack's encrypted config when the
 * variable is not already set (the value goes into the child's environment only).
 */
export function realStackEnv(stack: string, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
    const out: NodeJS.ProcessEnv = { ...env };
    const hasPulumi = (env.PATH ?? "").split(":").some((d) => d && fs.existsSync(path.join(d, "pulumi")));
    out.PATH = hasPulumi ? [path.join(REPO_ROOT, "node_modules", ".bin"), env.PATH].join(":") : basePath(env);
    if (!out.FLY_API_TOKEN && readStackFile(stack)["fpsgame-infra:flyApiToken"] !== undefined) {
        out.FLY_API_TOKEN = execFileSync("pulumi", ["config", "get", "fpsgame-infra:flyApiToken", "--stack", stack], {
            cwd: REPO_ROOT,
            env: out,
            stdio: ["ignore", "pipe", "inherit"],
            encoding: "utf8",
        }).trim();
    }
    return out;
}

/** The environment for `pulumi` on this stack. */
export function stackEnv(stack: string, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
    return isLocalStack(stack) ? localStackEnv(env) : realStackEnv(stack, env);
}
