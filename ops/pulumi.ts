/**
 * Runs the `pulumi` CLI for a stack, in that stack's environment (see env.ts), from the
 * repository root. Output streams to the terminal unless captured.
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { REPO_ROOT, stackEnv } from "./env";

export const POLICY_DIR = path.join(REPO_ROOT, "policies");

/** The policy pack's config for a stack: `policies/config/<stack>.json`, else none. */
export function policyArgs(stack: string, configStack = stack): string[] {
    const cfg = path.join(POLICY_DIR, "config", `${configStack}.json`);
    if (!fs.existsSync(cfg)) {
        throw new Error(
            `no policy config for stack "${configStack}" (expected ${path.relative(REPO_ROOT, cfg)}); ` +
                `add one, or run with --no-policy for a deliberate exception`,
        );
    }
    return ["--policy-pack", POLICY_DIR, "--policy-pack-config", cfg];
}

/** Installs the policy pack's own dependencies the first time (it has its own package.json). */
export function ensurePolicyPack(log: (l: string) => void): void {
    if (fs.existsSync(path.join(POLICY_DIR, "node_modules", "@pulumi", "policy"))) return;
    log("installing the policy pack's dependencies (policies/package-lock.json)");
    const r = spawnSync("npm", ["ci", "--no-audit", "--no-fund", "--ignore-scripts"], {
        cwd: POLICY_DIR,
        stdio: "inherit",
    });
    if (r.status !== 0) throw new Error("npm ci in policies/ failed");
}

export interface RunResult {
    code: number;
    stdout: string;
    stderr: string;
}

export interface PulumiOpts {
    capture?: boolean;
    env?: NodeJS.ProcessEnv;
    /** Written to pulumi's stdin (e.g. a secret for `config set`, which never belongs in argv). */
    input?: string;
    /** For commands that take no `--stack` (e.g. `stack ls`); the stack still picks the environment. */
    noStack?: boolean;
}

/** Runs `pulumi <args> --stack <stack>` and resolves with its exit code (output streamed). */
export function pulumi(stack: string, args: string[], opts: PulumiOpts = {}): Promise<RunResult> {
    const env = opts.env ?? stackEnv(stack);
    return new Promise((resolve, reject) => {
        const child = spawn("pulumi", opts.noStack ? args : [...args, "--stack", stack], {
            cwd: REPO_ROOT,
            env,
            stdio: [
                opts.input !== undefined ? "pipe" : "inherit",
                opts.capture ? "pipe" : "inherit",
                opts.capture ? "pipe" : "inherit",
            ],
        });
        if (opts.input !== undefined) child.stdin?.end(opts.input);
        let stdout = "";
        let stderr = "";
        child.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
        child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
        child.on("error", reject);
        child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
    });
}

/** Like {@link pulumi}, but a non-zero exit is an error carrying the command and its stderr. */
export async function pulumiOk(stack: string, args: string[], opts: PulumiOpts = {}): Promise<RunResult> {
    const r = await pulumi(stack, args, opts);
    if (r.code !== 0) {
        throw new Error(
            `pulumi ${args.join(" ")} --stack ${stack} exited with ${r.code}${r.stderr ? `:\n${r.stderr.trim()}` : ""}`,
        );
    }
    return r;
}

/** Selects the stack, creating it (with the backend's default secrets provider) if it is new. */
export async function ensureStack(stack: string, env?: NodeJS.ProcessEnv): Promise<boolean> {
    const e = env ?? stackEnv(stack);
    const ls = (await pulumiOk(stack, ["stack", "ls", "--json"], { capture: true, env: e, noStack: true })).stdout;
    const exists = (JSON.parse(ls || "[]") as { name: string }[]).some(
        (s) => s.name === stack || s.name.endsWith(`/${stack}`),
    );
    if (!exists) await pulumiOk(stack, ["stack", "init"], { capture: true, env: e });
    return !exists;
}

export interface HistoryEntry {
    version: number;
    kind: string;
    result: string;
    startTime: string;
    endTime?: string;
    resourceChanges?: Record<string, number>;
}

/** The stack's update history, newest first. */
export async function history(stack: string, env?: NodeJS.ProcessEnv): Promise<HistoryEntry[]> {
    const r = await pulumiOk(stack, ["stack", "history", "--json", "--show-secrets=false"], { capture: true, env });
    return JSON.parse(r.stdout || "[]") as HistoryEntry[];
}

/** "2 created, 1 updated, 14 unchanged" from an entry's resource changes. */
export function describeChanges(changes: Record<string, number> = {}): string {
    const words: Record<string, string> = {
        create: "created",
        update: "updated",
        delete: "deleted",
        replace: "replaced",
        same: "unchanged",
    };
    const parts = Object.entries(changes)
        .filter(([, n]) => n > 0)
        .map(([k, n]) => `${n} ${words[k] ?? k}`);
    return parts.length ? parts.join(", ") : "no resources";
}
