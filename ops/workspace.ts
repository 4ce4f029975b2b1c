/**
 * The project's stacks on the Automation API (`@pulumi/pulumi/automation`): a `LocalWorkspace`
 * on the repository root (so `Pulumi.yaml` and the `Pulumi.<stack>.yaml` files are the ones
 * used), in the stack's environment (see env.ts), on the right `pulumi`:
 *
 * - a local-cloud stack runs on the toolchain's CLI (`localcloud/toolchain/toolchain.sh`);
 * - a real stack runs on the user's installed `pulumi`, else on the toolchain's.
 *
 * Stack operations (preview, up, refresh, destroy, config, history, export) use the typed
 * Automation API. `runPulumi` is the one way to run any other `pulumi` command in a stack's
 * environment on the same CLI: `npm run pulumi -- <args> --stack <s>`, and a secret's
 * `config set` through stdin (see `setSecretConfig`).
 */
import {
    CommandError,
    EngineEvent,
    LocalWorkspace,
    OpMap,
    OutputMap,
    PulumiCommand,
    Stack,
    StackSummary,
    UpOptions,
    Workspace,
} from "@pulumi/pulumi/automation";
import { spawn } from "child_process";
import * as path from "path";
import * as semver from "semver";
import { parseArgs } from "util";
import { checkpointOutputs, fileBackendDir, stackCheckpoint } from "./backend";
import { isLocalStack, localCloud, readStackFile, REPO_ROOT, stackEnv } from "./env";

/** The project's config namespace (`name` in Pulumi.yaml). */
export const PROJECT = "fpsgame-infra";

const commands = new Map<string, Promise<PulumiCommand>>();

/**
 * The CLI's version when its install root says it: the toolchain builds each CLI into
 * `pulumi-v<version>/` and checks there that the binary reports that version
 * (localcloud/toolchain/toolchain.sh). Undefined for any other root (a CLI reused from PATH, an
 * explicit FPSGAME_TOOLCHAIN_PATH).
 */
export function versionOfToolchainRoot(root: string): semver.SemVer | undefined {
    const m = /(?:^|\/)pulumi-v(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)$/.exec(root);
    return m ? (semver.parse(m[1]) ?? undefined) : undefined;
}

/**
 * A PulumiCommand for `root/bin/pulumi` at a known version. `PulumiCommand.get()` always runs
 * `pulumi version` to learn it (about 0.1 CPU s), in every process that opens a stack: the e2e
 * suite's hundreds of commands did. Its constructor `(command, version)` is private only to
 * TypeScript; tests/ops/commands.test.ts checks that what this builds equals what `get()` builds.
 */
export function commandAtVersion(root: string, version: semver.SemVer): PulumiCommand {
    const Ctor = PulumiCommand as unknown as new (command: string, version: semver.SemVer) => PulumiCommand;
    return new Ctor(path.resolve(root, "bin", "pulumi"), version);
}

/** The toolchain's CLI (built on first use; progress on stderr). */
function toolchainCommand(): Promise<PulumiCommand> {
    if (!commands.has("toolchain")) {
        // toolchainPath() is the toolchain's bin dir; PulumiCommand wants the dir above `bin/pulumi`.
        const root = path.dirname(localCloud().toolchainPath());
        const known = versionOfToolchainRoot(root);
        commands.set(
            "toolchain",
            known
                ? Promise.resolve(commandAtVersion(root, known))
                : PulumiCommand.get({ root, skipVersionCheck: true }),
        );
    }
    return commands.get("toolchain")!;
}

/**
 * The `pulumi` a stack runs on: the toolchain's for a local-cloud stack; for a real stack the
 * user's installed one (found on PATH), else the toolchain's. The version check is skipped: the
 * toolchain's CLI is newer than this SDK's minimum, and a user's CLI is theirs to choose.
 */
export function pulumiCommandFor(stack: string): Promise<PulumiCommand> {
    if (isLocalStack(stack)) return toolchainCommand();
    if (!commands.has("installed")) {
        commands.set(
            "installed",
            PulumiCommand.get({ skipVersionCheck: true }).catch(() => toolchainCommand()),
        );
    }
    return commands.get("installed")!;
}

/**
 * `envVars` for a workspace from a full environment. PulumiCommand starts its child from this
 * process's environment and lays `envVars` over it, so a variable the stack's environment leaves
 * out on purpose (the user's FLY_API_TOKEN for a local stack) is laid over as `undefined`, which
 * Node's spawn drops: the child gets exactly `env`.
 */
export function workspaceEnv(env: NodeJS.ProcessEnv, parent: NodeJS.ProcessEnv = process.env): Record<string, string> {
    const out: Record<string, string | undefined> = {};
    for (const key of Object.keys(parent)) out[key] = undefined;
    for (const [key, value] of Object.entries(env)) out[key] = value;
    return out as Record<string, string>;
}

/**
 * The workspace seen by `Stack.select`, minus its side effect: `LocalWorkspace.selectStack` runs
 * `pulumi stack select`, which would change the user's current stack for a bare `pulumi` (a
 * preview of prod must not leave prod selected). Every operation names its stack with `--stack`
 * anyway, so selecting is only a check that the stack exists.
 */
function withoutSelecting(ws: LocalWorkspace, known: boolean, listed?: StackSummary[]): Workspace {
    return new Proxy(ws, {
        get(target, prop) {
            if (prop !== "selectStack") return Reflect.get(target, prop) as unknown;
            return async (name: string): Promise<void> => {
                // Its checkpoint is there, or `ensure` has just listed it: a `pulumi stack ls` would only repeat it.
                if (known || listed?.some((s) => isNamed(s, name))) return;
                const stacks = await listStacks(target);
                if (!stacks.some((s) => isNamed(s, name))) {
                    throw new Error(
                        `stack "${name}" does not exist in this backend; stacks: ${stacks.map((s) => s.name).join(", ") || "none"}`,
                    );
                }
            };
        },
    });
}

/**
 * `pulumi stack ls`, retried on the file backend's read races. Listing walks the backend's stacks
 * folder and reads every checkpoint and the `.attrs` file beside it, while the backend's storage
 * library (gocloud's fileblob) saves a checkpoint in two ways that a concurrent list can trip on:
 * - it rewrites `.attrs` in place, truncate then write: read in that moment it is empty, and the
 *   list fails with a bare `error: EOF`;
 * - it writes the checkpoint's backup to `<name>.json.bak.<random>.tmp` and renames it: a walk
 *   that read the folder before the rename and stats the file after it fails with
 *   `list bucket: blob (code=NotFound): lstat <…>.tmp: no such file or directory`.
 * Either comes from another process saving any stack of the same backend, and the save takes
 * milliseconds, so a second list finds it done; any other failure is thrown at once.
 */
export async function listStacks(ws: Pick<Workspace, "listStacks">, delayMs = 100): Promise<StackSummary[]> {
    const attempts = 5;
    for (let attempt = 1; ; attempt++) {
        try {
            return await ws.listStacks();
        } catch (err) {
            if (attempt === attempts || !isBackendReadRace(err)) throw err;
            await new Promise((r) => setTimeout(r, delayMs * attempt));
        }
    }
}

/** The CLI's failures when it read a backend another process was saving to (see {@link listStacks}). */
export function isBackendReadRace(err: unknown): boolean {
    return (
        err instanceof CommandError &&
        (/^error: EOF$/m.test(err.message) ||
            /^error: list bucket: blob \(code=NotFound\): lstat \S+\.tmp: no such file or directory$/m.test(
                err.message,
            ))
    );
}

/** True when `env`'s backend is a file backend that holds the stack's checkpoint. */
function hasCheckpoint(env: NodeJS.ProcessEnv, name: string): boolean {
    const dir = fileBackendDir(env);
    return dir !== undefined && stackCheckpoint(dir, PROJECT, name) !== undefined;
}

function isNamed(s: StackSummary, name: string): boolean {
    return s.name === name || s.name.endsWith(`/${name}`);
}

/** A stack opened on the Automation API, with the workspace and CLI it runs on. */
export interface ProjectStack {
    readonly name: string;
    readonly stack: Stack;
    readonly workspace: LocalWorkspace;
    readonly command: PulumiCommand;
    /** The full environment its `pulumi` runs in. */
    readonly env: NodeJS.ProcessEnv;
    /** True when `open` created it. */
    readonly created: boolean;
}

/** How {@link openStack} finds the stack, and in which environment. */
export interface OpenOptions {
    /** `select` (default): it must exist; `create`: it must not; `ensure`: create it if it is missing. */
    mode?: "select" | "create" | "ensure";
    /** The environment (default: the stack's, see env.ts). */
    env?: NodeJS.ProcessEnv;
    /** The program's folder (default: this checkout); a rollback runs an older commit's worktree. */
    workDir?: string;
}

/**
 * Opens a stack of this project. For a real stack whose FLY_API_TOKEN is unset, the stack's
 * encrypted `flyApiToken` is decrypted into the engine's environment only (never argv, never
 * printed).
 */
export async function openStack(name: string, opts: OpenOptions = {}): Promise<ProjectStack> {
    const env = { ...(opts.env ?? stackEnv(name)) };
    const command = await pulumiCommandFor(name);
    const workspace = await LocalWorkspace.create({
        workDir: opts.workDir ?? REPO_ROOT,
        pulumiCommand: command,
        envVars: workspaceEnv(env),
    });
    const mode = opts.mode ?? "select";
    // In a file backend (every local stack) the checkpoint is the stack: `pulumi stack init`
    // writes it and `pulumi stack rm` leaves only its `.bak`, so the file answers "does it exist"
    // without a `pulumi stack ls`. In another backend the CLI decides.
    const known = mode !== "create" && hasCheckpoint(env, name);
    const inFiles = fileBackendDir(env) !== undefined;
    const listed = mode === "ensure" && !known && !inFiles ? await listStacks(workspace) : undefined;
    const missing = mode === "ensure" && !known && (inFiles || !listed?.some((s) => isNamed(s, name)));
    const created = mode === "create" || missing;
    const stack = created
        ? await Stack.create(name, workspace)
        : await Stack.select(name, withoutSelecting(workspace, known, listed));
    if (!isLocalStack(name) && !env.FLY_API_TOKEN && readStackFile(name)[`${PROJECT}:flyApiToken`] !== undefined) {
        env.FLY_API_TOKEN = (await stack.getConfig(`${PROJECT}:flyApiToken`)).value;
        workspace.envVars.FLY_API_TOKEN = env.FLY_API_TOKEN;
    }
    return { name, stack, workspace, command, env, created };
}

/** What an operation printed, and whether it succeeded. */
export interface OpOutput {
    /** 0 when the operation succeeded, else 1 (the Automation API reports failure, not the CLI's exit code). */
    code: number;
    stdout: string;
    stderr: string;
}

/** Where an operation's output goes as it runs (the terminal for the commands), besides being kept. */
export interface Streams {
    onOutput?: (chunk: string) => void;
    onError?: (chunk: string) => void;
}

/**
 * Runs an Automation API operation, keeping its output (and passing it on to `streams` as it
 * comes). A failed operation resolves with code 1 rather than throwing; anything else throws.
 */
export async function runOp<T>(
    op: (streams: Required<Streams>) => Promise<T>,
    streams: Streams = {},
): Promise<OpOutput & { result?: T }> {
    let stdout = "";
    let stderr = "";
    const keep: Required<Streams> = {
        onOutput: (c) => {
            stdout += c;
            streams.onOutput?.(c);
        },
        onError: (c) => {
            stderr += c;
            streams.onError?.(c);
        },
    };
    try {
        const result = await op(keep);
        return { code: 0, stdout, stderr, result };
    } catch (e) {
        if (e instanceof CommandError) return { code: 1, stdout, stderr };
        throw e;
    }
}

/** What an update did. */
export interface UpDone {
    /** The engine's count of steps by kind (its summary event: what the history entry records). */
    resourceChanges: OpMap;
    /** The stack's outputs after the update, read on first use. */
    outputs(): Promise<OutputMap>;
}

/**
 * `stack.up`, without what the Automation API reads back after every update: `pulumi stack
 * output` twice (the outputs, masked and in plain text) and `pulumi stack history` (the summary),
 * three CLI starts, about 1 CPU s, whose answers most callers never use. The counts come from
 * the engine's own summary event instead, and the outputs are read only when asked for.
 *
 * The update itself is the Automation API's: `Stack.prototype.up` runs on a view of `stack` (its
 * prototype) whose `outputs` and `info` answer nothing; both are only the read-back (a newer SDK
 * that read back differently would just read back again).
 */
export async function upStack(stack: Stack, opts: UpOptions = {}): Promise<UpDone> {
    let changes: OpMap | undefined;
    const onEvent = (e: EngineEvent) => {
        if (e.summaryEvent) changes = e.summaryEvent.resourceChanges;
        opts.onEvent?.(e);
    };
    const noReadBack = Object.create(stack, {
        outputs: { value: async () => ({}) },
        info: { value: async () => undefined },
    }) as Stack;
    await noReadBack.up({ ...opts, onEvent });
    let outputs: Promise<OutputMap> | undefined;
    return {
        // An engine that sent no summary (none known) leaves the history to say it.
        resourceChanges: changes ?? (await stack.info())?.resourceChanges ?? {},
        outputs: () => (outputs ??= stackOutputs(stack)),
    };
}

/**
 * The stack's outputs, as `Stack.outputs()` gives them: read from its checkpoint when it is in a
 * file backend and no output is a secret (none of the program's is), else from the CLI, which
 * `Stack.outputs()` runs twice (`pulumi stack output --json`, then with `--show-secrets`).
 */
export async function stackOutputs(stack: Stack): Promise<OutputMap> {
    const plain = checkpointOutputs({ ...process.env, ...stack.workspace.envVars }, PROJECT, stack.name);
    if (plain === undefined) return stack.outputs();
    return Object.fromEntries(Object.entries(plain).map(([k, value]) => [k, { value, secret: false }]));
}

/** Streams to this process's terminal, in colour when it is one. */
export function terminalStreams(): Streams & { color: "always" | "never" } {
    return {
        onOutput: (c) => process.stdout.write(c),
        onError: (c) => process.stderr.write(c),
        color: process.stdout.isTTY ? "always" : "never",
    };
}

/** The flags of `pulumi preview` / `pulumi up` that the commands pass on, typed. */
export interface OpFlags {
    target?: string[];
    replace?: string[];
    exclude?: string[];
    targetDependents?: boolean;
    excludeDependents?: boolean;
    refresh?: boolean;
    parallel?: number;
    message?: string;
    expectNoChanges?: boolean;
}

const FLAG_HELP =
    "--target <urn>, --replace <urn>, --exclude <urn>, --target-dependents, --exclude-dependents, --refresh, --parallel <n>, --message <text>, --expect-no-changes";

/**
 * Parses the extra arguments of `npm run preview|up -- --stack <s> …` into typed options. An
 * unknown argument is an error naming it, what is allowed, and the way to run anything else.
 */
export function parseOpFlags(command: "preview" | "up", stack: string, args: string[]): OpFlags {
    let values;
    try {
        ({ values } = parseArgs({
            args,
            strict: true,
            allowPositionals: false,
            options: {
                target: { type: "string", multiple: true },
                replace: { type: "string", multiple: true },
                exclude: { type: "string", multiple: true },
                "target-dependents": { type: "boolean" },
                "exclude-dependents": { type: "boolean" },
                refresh: { type: "boolean" },
                parallel: { type: "string" },
                message: { type: "string" },
                "expect-no-changes": { type: "boolean" },
            },
        }));
    } catch (e) {
        throw new Error(
            `npm run ${command}: ${(e as Error).message.split("\n")[0]}. Allowed after --stack: ${FLAG_HELP}. ` +
                `Anything else: npm run pulumi -- ${command} <args> --stack ${stack}`,
        );
    }
    const parallel = values.parallel === undefined ? undefined : Number(values.parallel);
    if (parallel !== undefined && !(Number.isInteger(parallel) && parallel > 0)) {
        throw new Error(
            `npm run ${command}: --parallel "${values.parallel}" is not allowed; use a whole number of at least 1`,
        );
    }
    return {
        target: values.target,
        replace: values.replace,
        exclude: values.exclude,
        targetDependents: values["target-dependents"],
        excludeDependents: values["exclude-dependents"],
        refresh: values.refresh,
        parallel,
        message: values.message,
        expectNoChanges: values["expect-no-changes"],
    };
}

/** "2 created, 1 updated, 14 unchanged" from an operation's change counts. */
export function describeChanges(changes: OpMap = {}): string {
    const words: Record<string, string> = {
        create: "created",
        update: "updated",
        delete: "deleted",
        replace: "replaced",
        same: "unchanged",
    };
    const parts = Object.entries(changes)
        .filter(([, n]) => (n ?? 0) > 0)
        .map(([k, n]) => `${n} ${words[k] ?? k}`);
    return parts.length ? parts.join(", ") : "no resources";
}

/** True when the counts hold anything but unchanged resources. */
export function hasChanges(changes: OpMap = {}): boolean {
    return Object.entries(changes).some(([k, n]) => k !== "same" && (n ?? 0) > 0);
}

/** How {@link runPulumi} connects pulumi's stdio. */
export interface RunOptions {
    /** Keep stdout/stderr instead of passing them to the terminal. */
    capture?: boolean;
    /** Written to pulumi's stdin (a secret for `config set`, which never belongs in argv). */
    input?: string;
}

/**
 * Runs `pulumi <args>` for a stack on the stack's CLI and in its environment, from the repository
 * root. `args` are passed as given: they must name the stack (`--stack <s>`) where the command
 * takes one. Resolves with the exit code; output goes to the terminal unless captured.
 */
export async function runPulumi(
    stack: string,
    args: string[],
    opts: RunOptions = {},
    env?: NodeJS.ProcessEnv,
): Promise<OpOutput> {
    const command = await pulumiCommandFor(stack);
    const e = { ...(env ?? stackEnv(stack)) };
    // As PulumiCommand does: the CLI's own dir first, for its language host.
    if (path.isAbsolute(command.command)) e.PATH = [path.dirname(command.command), e.PATH].filter(Boolean).join(":");
    return new Promise((resolve, reject) => {
        const child = spawn(command.command, args, {
            cwd: REPO_ROOT,
            env: e,
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
        child.on("close", (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
    });
}

/**
 * Sets a secret config value by path. Not `Stack.setConfig(…, { secret: true })`: the Automation
 * API passes the value in argv (`pulumi config set <key> --secret --non-interactive -- <value>`,
 * see LocalWorkspace.setConfig in @pulumi/pulumi 3.270), where `ps` shows it to every user of the
 * machine. `pulumi config set` reads the value from stdin when none is given.
 */
export async function setSecretConfig(
    ps: ProjectStack,
    key: string,
    value: string,
    opts: { path?: boolean } = {},
): Promise<void> {
    const args = [
        "config",
        "set",
        ...(opts.path ? ["--path"] : []),
        key,
        "--secret",
        "--non-interactive",
        "--stack",
        ps.name,
    ];
    const r = await runPulumi(ps.name, args, { capture: true, input: value }, ps.env);
    if (r.code !== 0) {
        throw new Error(
            `pulumi config set --secret ${key} --stack ${ps.name} failed (${r.code}): ${r.stderr.split(value).join("[secret]").trim()}`,
        );
    }
}

/**
 * A value the commands read from the stack's config, else from the environment variable a user
 * may set instead (`neon:apiKey` or `NEON_API_KEY`); `undefined` when neither is set. Secrets are
 * decrypted into memory only.
 */
export async function configOrEnv(ps: ProjectStack, key: string, envName?: string): Promise<string | undefined> {
    const v = (await ps.stack.getConfig(key).catch(() => undefined))?.value;
    return v ?? (envName ? ps.env[envName] : undefined);
}
