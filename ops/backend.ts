/**
 * Where Pulumi's file backend (`PULUMI_BACKEND_URL=file://<dir>`, the "DIY" backend) keeps a
 * stack: the layout of pkg/backend/diy, read directly where a `pulumi` run would only answer
 * the same question slower (each CLI start costs about 0.3 CPU s). Other backends have no files
 * to read: callers ask the CLI.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** The backend's directory when `env` points pulumi at a file backend, else undefined. */
export function fileBackendDir(env: NodeJS.ProcessEnv): string | undefined {
    const url = env.PULUMI_BACKEND_URL;
    if (!url?.startsWith("file://")) return undefined;
    const dir = url.slice("file://".length).replace(/^~(?=\/|$)/, os.homedir());
    return path.resolve(dir);
}

/**
 * The stack's checkpoint (its state file) in a file backend, or undefined when there is none:
 * `.pulumi/stacks/<project>/<stack>.json` (project-scoped, the layout a new backend gets), or the
 * legacy `.pulumi/stacks/<stack>.json`, each possibly gzipped (`PULUMI_SELF_MANAGED_STATE_GZIP`).
 * A removed stack keeps only its `.json.bak`, which does not count.
 */
export function stackCheckpoint(backendDir: string, project: string, stack: string): string | undefined {
    const stacks = path.join(backendDir, ".pulumi", "stacks");
    const bases = [path.join(stacks, project, stack), path.join(stacks, stack)];
    return bases.flatMap((b) => [`${b}.json`, `${b}.json.gz`]).find((f) => fs.existsSync(f));
}

/**
 * A stack's latest deployment as its checkpoint in a file backend records it (the `deployment` of
 * `pulumi stack export` without `--show-secrets`: secret values stay encrypted), or undefined when
 * there is no plain checkpoint to read (another backend, gzipped, unreadable, a stack never
 * updated), so the caller asks the CLI. The file is Pulumi's versioned checkpoint,
 * `{version, checkpoint: {latest: {resources, pending_operations, …}}}`; the engine writes it to
 * a temporary file and renames it, so a read never meets half a save.
 */
export function checkpointDeployment(
    env: NodeJS.ProcessEnv,
    project: string,
    stack: string,
): Record<string, unknown> | undefined {
    const dir = fileBackendDir(env);
    const file = dir === undefined ? undefined : stackCheckpoint(dir, project, stack);
    if (!file?.endsWith(".json")) return undefined;
    try {
        const doc = JSON.parse(fs.readFileSync(file, "utf8")) as {
            version?: number;
            checkpoint?: { latest?: Record<string, unknown> };
        };
        const latest = doc.checkpoint?.latest;
        if (typeof doc.version !== "number" || typeof latest !== "object" || latest === null) return undefined;
        return latest;
    } catch {
        return undefined;
    }
}

/**
 * The key that marks a special value (a secret, an asset, a resource reference) in the state: the
 * SDK's `specialSigKey` (@pulumi/pulumi/runtime/rpc.js, checked equal in tests/ops/commands.test.ts),
 * not imported from there because that module loads the SDK's runtime into every command.
 */
export const SPECIAL_VALUE_KEY = "4dabf18193072939515e22adb298388d";

/**
 * A stack's outputs as its checkpoint in a file backend records them (the root
 * `pulumi:pulumi:Stack` resource's outputs: what `pulumi stack output --json` prints), or
 * undefined when the CLI must answer: no plain checkpoint (see {@link checkpointDeployment}), no
 * root resource, or an output holding a special value (a secret, encrypted in the file; an asset;
 * a resource reference), which only the CLI turns into its value.
 */
export function checkpointOutputs(
    env: NodeJS.ProcessEnv,
    project: string,
    stack: string,
): Record<string, unknown> | undefined {
    const latest = checkpointDeployment(env, project, stack);
    const resources = latest?.resources as { type?: string; outputs?: Record<string, unknown> }[] | undefined;
    const root = resources?.find((r) => r.type === "pulumi:pulumi:Stack");
    if (!root) return undefined;
    const outputs = root.outputs ?? {};
    return JSON.stringify(outputs).includes(SPECIAL_VALUE_KEY) ? undefined : outputs;
}

/**
 * Whether a stack's checkpoint in a file backend records pending operations (operations an
 * interrupted update left in flight): false or true as the file says, undefined when there is no
 * plain checkpoint to read (see {@link checkpointDeployment}), so the caller asks the CLI.
 */
export function checkpointHasPendingOperations(
    env: NodeJS.ProcessEnv,
    project: string,
    stack: string,
): boolean | undefined {
    const latest = checkpointDeployment(env, project, stack);
    if (latest === undefined) return undefined;
    const pending = latest.pending_operations;
    return Array.isArray(pending) && pending.length > 0;
}
