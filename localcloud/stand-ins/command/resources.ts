/**
 * The command stand-in's `command:local:Command` resource and `command:local:run` function, after
 * pulumi-command 1.2.1 (provider/pkg/provider/local/commandController.go, runController.go):
 *
 * - Create runs `create` (nothing when absent); the id is the resource name + 8 hex digits.
 * - Update runs `update`, or `create` when there is no `update`, with the previous stdout/stderr
 *   in PULUMI_COMMAND_STDOUT/STDERR; with neither, the old stdout/stderr are kept.
 * - Delete runs the `delete` of the state (nothing when absent), with the state's settings.
 * - Read returns the state unchanged. Diff: any changed input is an update, except `triggers`,
 *   which replaces (the SDK also sets `replaceOnChanges: ["triggers[*]"]`). Check adds no defaults.
 * - Outputs: the inputs echoed and `stdout`/`stderr`.
 *
 * Secrets: the common provider wrapper hands handlers unwrapped values and wraps named outputs
 * only, which would lose a secret nested in `environment`. So check and diff come from the common
 * wrapper (field rules below), while create/read/update/delete/invoke take the engine's raw values:
 * inputs are echoed with their secret wrappers (a secret `environment.DATABASE_URL` stays secret
 * in the state, as with the real provider), and, beyond the real provider, `stdout`/`stderr` are
 * wrapped as secrets when they contain a secret input value, and secret values are masked in
 * logged lines and error messages.
 */
import type * as pulumiProvider from "@pulumi/pulumi/provider";
import { hex } from "../common/ids";
import { ResourceModule, ResourceProvider } from "../../../providers/plugin";
import { Ctx, Rules, runCheck, runDiff } from "../common/provider";
import { bool, checkFields, Fields, obj, str, strList } from "../common/schema";
import {
    containsUnknown,
    isAbsent,
    isSecret,
    Props,
    secret,
    stripUndefined,
    UNKNOWN,
    unwrap,
    unwrapProps,
} from "../common/values";
import { NO_LOG, StatusLogFactory } from "../../../providers/engineLog";
import { killRunning, Logging, LOGGING_VALUES, runCommand, RunSpec } from "./run";

export const VERSION = "1.2.1";
export const TOKEN = "command:local:Command";
export const RUN_TOKEN = "command:local:run";

/** BaseInputs of pulumi-command's local package (all optional, no defaults in the schema). */
export const BASE_FIELDS: Fields = {
    stdin: { type: "string" },
    logging: { type: "string", enum: LOGGING_VALUES },
    interpreter: { type: "stringList" },
    dir: { type: "string" },
    environment: { type: "object" },
    assetPaths: { type: "stringList" },
    archivePaths: { type: "stringList" },
    addPreviousOutputInEnv: { type: "boolean" },
};

/** CommandInputs: common.ResourceInputs (triggers is `provider:"replaceOnChanges"`) + BaseInputs. */
export const fields: Fields = {
    triggers: { type: "any", replace: true },
    create: { type: "string" },
    update: { type: "string" },
    delete: { type: "string" },
    ...BASE_FIELDS,
};

/** RunInputs of the `command:local:run` function. */
export const RUN_FIELDS: Fields = { command: { type: "string", required: true }, ...BASE_FIELDS };

/** Extra checks of the base inputs (raw values: unknowns and secret wrappers allowed). */
export function validateBase(inputs: Props, failures: pulumiProvider.CheckFailure[]): void {
    const env = unwrap(inputs.environment);
    if (typeof env === "object" && env !== null && !Array.isArray(env)) {
        for (const [k, v] of Object.entries(env)) {
            if (typeof v !== "string") {
                failures.push({
                    property: "environment",
                    reason: `environment.${k}: expected a string, got ${v === null ? "null" : typeof v}`,
                });
            }
        }
    }
    for (const k of ["assetPaths", "archivePaths"]) {
        const v = unwrap(inputs[k]);
        if (Array.isArray(v) && v.length > 0) {
            failures.push({
                property: k,
                reason:
                    `${k} is not supported by the local cloud's command stand-in (no assets or archives are ` +
                    `collected after the command); remove it, or install the real pulumi-resource-command 1.2.1`,
            });
        }
    }
}

/** Every string held (at any depth) inside a secret wrapper. */
export function secretStrings(v: unknown, inside = false, acc: string[] = []): string[] {
    if (isSecret(v)) return secretStrings(v.value, true, acc);
    if (typeof v === "string") {
        if (inside && v !== "" && v !== UNKNOWN) acc.push(v);
    } else if (Array.isArray(v)) {
        for (const x of v) secretStrings(x, inside, acc);
    } else if (typeof v === "object" && v !== null) {
        for (const x of Object.values(v)) secretStrings(x, inside, acc);
    }
    return acc;
}

/** An output text, wrapped as a secret when it contains a secret input value. */
function outputText(text: string, secrets: readonly string[]): unknown {
    return secrets.some((s) => text.includes(s)) ? secret(text) : text;
}

/** The declared inputs of a raw property bag, as they are (secret wrappers kept). */
function echo(raw: Props, spec: Fields): Props {
    const out: Props = {};
    for (const k of Object.keys(spec)) {
        if (!isAbsent(raw[k])) out[k] = raw[k];
    }
    return out;
}

export interface CommandProviderOptions {
    /** Where logged output lines go (default: discarded). */
    readonly log?: StatusLogFactory;
    /** The provider's working directory for relative `dir`s (default process.cwd() at each run). */
    readonly cwd?: string;
    /** The environment commands inherit (default process.env at each run). */
    readonly env?: NodeJS.ProcessEnv;
}

/** The raw-value operations of the Command resource and the run function. */
function operations(opts: CommandProviderOptions) {
    const logFactory = opts.log ?? NO_LOG;

    async function execute(
        urn: string,
        command: string,
        settings: Props,
        secrets: readonly string[],
        previous?: { stdout?: string; stderr?: string },
    ): Promise<{ stdout: string; stderr: string }> {
        const env = obj(settings, "environment") ?? {};
        const environment: Record<string, string> = {};
        for (const [k, v] of Object.entries(env)) if (typeof v === "string") environment[k] = v;
        const log = logFactory(urn);
        const spec: RunSpec = {
            command,
            interpreter: strList(settings, "interpreter"),
            dir: str(settings, "dir"),
            environment,
            stdin: str(settings, "stdin"),
            logging: str(settings, "logging") as Logging | undefined,
            addPreviousOutputInEnv: bool(settings, "addPreviousOutputInEnv"),
            previous,
            secrets,
            log: (line) => log.line(line),
            baseEnv: opts.env,
            cwd: opts.cwd,
        };
        try {
            return await runCommand(spec);
        } finally {
            await log.flush();
        }
    }

    function previousOf(state: Props): { stdout?: string; stderr?: string } {
        return { stdout: str(state, "stdout"), stderr: str(state, "stderr") };
    }

    return {
        async create(ctx: Ctx, raw: Props): Promise<pulumiProvider.CreateResult> {
            const inputs = unwrapProps(raw);
            const secrets = secretStrings(raw);
            const id = `${ctx.name}${hex(4)}`;
            const cmd = str(inputs, "create");
            const res = cmd === undefined ? { stdout: "", stderr: "" } : await execute(ctx.urn, cmd, inputs, secrets);
            const outs = {
                ...echo(raw, fields),
                stdout: outputText(res.stdout, secrets),
                stderr: outputText(res.stderr, secrets),
            };
            return { id, outs: stripUndefined(outs) };
        },

        async read(_ctx: Ctx, id: string, raw: Props): Promise<pulumiProvider.ReadResult> {
            return { id, props: raw ?? {}, inputs: echo(raw ?? {}, fields) };
        },

        async update(ctx: Ctx, _id: string, rawOlds: Props, rawNews: Props): Promise<pulumiProvider.UpdateResult> {
            const olds = unwrapProps(rawOlds);
            const news = unwrapProps(rawNews);
            const secrets = [...secretStrings(rawNews), ...secretStrings(rawOlds)];
            const cmd = str(news, "update") ?? str(news, "create");
            let stdout: unknown = rawOlds.stdout ?? "";
            let stderr: unknown = rawOlds.stderr ?? "";
            if (cmd !== undefined) {
                const res = await execute(ctx.urn, cmd, news, secrets, previousOf(olds));
                stdout = outputText(res.stdout, secrets);
                stderr = outputText(res.stderr, secrets);
            }
            return { outs: stripUndefined({ ...echo(rawNews, fields), stdout, stderr }) };
        },

        async delete(ctx: Ctx, _id: string, raw: Props): Promise<void> {
            const props = unwrapProps(raw);
            const cmd = str(props, "delete");
            if (cmd === undefined) return;
            await execute(ctx.urn, cmd, props, secretStrings(raw), previousOf(props));
        },

        async invoke(token: string, raw: Props): Promise<pulumiProvider.InvokeResult> {
            if (token !== RUN_TOKEN) {
                throw new Error(`the local cloud's command stand-in does not implement the function ${token}`);
            }
            const { inputs, failures } = checkFields(RUN_FIELDS, "", {}, raw ?? {});
            validateBase(inputs, failures);
            if (failures.length > 0) return { failures };
            if (containsUnknown(inputs)) {
                throw new Error(`${RUN_TOKEN}: cannot run a command whose inputs are not known yet`);
            }
            const plain = unwrapProps(inputs);
            const secrets = secretStrings(inputs);
            const res = await execute("", str(plain, "command") ?? "", plain, secrets);
            const outputs = {
                ...echo(inputs, RUN_FIELDS),
                stdout: outputText(res.stdout, secrets),
                stderr: outputText(res.stderr, secrets),
            };
            return { outputs: stripUndefined(outputs) };
        },
    };
}

/** The field rules of the Command resource, for check and diff. */
const RULES: Rules = {
    fields,
    validate(inputs: Props, failures: pulumiProvider.CheckFailure[]) {
        const t = unwrap(inputs.triggers);
        if (!isAbsent(t) && !containsUnknown(t) && !Array.isArray(t)) {
            failures.push({ property: "triggers", reason: "triggers: expected a list" });
        }
        validateBase(inputs, failures);
    },
};

/** The Command resource: check and diff from the field rules, the rest on raw values (see the module comment). */
export function commandModule(opts: CommandProviderOptions = {}): ResourceModule<Ctx> {
    const ops = operations(opts);
    return {
        check(olds, news, ctx) {
            const { inputs, failures } = runCheck(RULES, ctx, olds as Props, news as Props);
            return { inputs, failures };
        },
        diff: (olds, news) => runDiff(RULES, olds as Props, news as Props),
        create: (ctx, inputs) => ops.create(ctx, inputs as Props),
        read: (ctx, id, props) => ops.read(ctx, id, (props ?? {}) as Props),
        update: (ctx, id, olds, news) => ops.update(ctx, id, olds as Props, news as Props),
        delete: (ctx, id, props) => ops.delete(ctx, id, props as Props),
    };
}

/** The provider: the Command resource, the run function, and Cancel, which kills running commands. */
export function makeCommandProvider(opts: CommandProviderOptions = {}): pulumiProvider.Provider {
    const ops = operations(opts);
    const provider = new ResourceProvider<Ctx>({
        version: VERSION,
        displayName: "local cloud's command stand-in",
        modules: { [TOKEN]: commandModule(opts) },
        context: (call) => call,
    });
    return Object.assign(provider, {
        invoke: (token: string, inputs: unknown) => ops.invoke(token, inputs as Props),
        cancel: async () => killRunning(),
    });
}
