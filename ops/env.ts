/**
 * The environment `pulumi` runs in, per stack.
 *
 * A stack whose file says `fpsgame-infra:localCloud: true` (the `local` stack, and the
 * throwaway stacks of the end-to-end tests) gets the offline environment: an isolated
 * PULUMI_HOME with the stand-in plugins, a file backend under `.local/`, the demo passphrase,
 * and the Fly emulator's URL and token (its CLI is the toolchain's, see workspace.ts). Every
 * other stack gets the user's own Pulumi login and credentials untouched; if FLY_API_TOKEN is
 * unset, the stack's encrypted `flyApiToken` is decrypted into the engine's environment when
 * the stack is opened (workspace.ts).
 */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";

export const REPO_ROOT = path.resolve(__dirname, "..");

/**
 * The seam to the offline wing (`localcloud/`): loaded on demand, only for a stack marked
 * `fpsgame-infra:localCloud: true` (or a real stack on a machine with no `pulumi` of its own,
 * for the toolchain's CLI), so a real stack's commands otherwise never run any of its code.
 */
export function localCloud(): typeof import("../localcloud") {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require("../localcloud") as typeof import("../localcloud");
}

/** Where a stack's file is: `Pulumi.<stack>.yaml` beside the program's `Pulumi.yaml` (this checkout's by default). */
export function stackFilePath(stack: string, dir = REPO_ROOT): string {
    return path.join(dir, `Pulumi.${stack}.yaml`);
}

/** Reads `Pulumi.<stack>.yaml`; a missing file is a clear error naming the stacks that exist. */
export function readStackFile(stack: string): Record<string, unknown> {
    const file = stackFilePath(stack);
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

/** The environment for `pulumi` on a real stack: the user's own, with this clone's Node 22 first on PATH. */
export function realStackEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
    return { ...env, PATH: [path.join(REPO_ROOT, "node_modules", ".bin"), env.PATH].filter(Boolean).join(":") };
}

/** The environment for `pulumi` on this stack. */
export function stackEnv(stack: string, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
    return isLocalStack(stack) ? localCloud().localStackEnv(env) : realStackEnv(env);
}
