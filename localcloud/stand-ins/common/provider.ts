/**
 * The stand-ins' way to write a resource module (`providers/plugin.ts`, the one shape of every
 * provider plugin in this project) from a declarative `Handler`: `check` and `diff` come from the
 * handler's declared fields (plus optional hooks), `create`/`read`/`update`/`delete` get
 * unwrapped inputs and return plain outputs, whose secret properties are wrapped here. A stand-in
 * that must see the engine's raw values (the command stand-in) writes its module directly.
 */
import type * as pulumiProvider from "@pulumi/pulumi/provider";
import { ResourceCall, ResourceModule, ResourceProvider } from "../../../providers/plugin";
import { checkFields, CheckOutcome, diffFields, Fields } from "./schema";
import { Props, stripUndefined, unwrapProps, wrapSecrets } from "./values";

/** The resource a call is about (its URN, type token and name). */
export type Ctx = ResourceCall;

/** A resource type described by its fields, with CRUD on unwrapped values. */
export interface Handler {
    readonly fields: Fields;
    /** Outputs that the real provider marks secret. */
    readonly secretOutputs: readonly string[];
    /**
     * Extra validation after the field checks; gets raw inputs (may hold unknowns and secret
     * wrappers) and the old inputs (an import checks the inputs it read against themselves).
     */
    validate?(inputs: Props, failures: pulumiProvider.CheckFailure[], olds: Props): void;
    /** Extra replace rules (e.g. "true → false forces a new resource"); gets unwrapped olds and raw news. */
    extraReplaces?(olds: Props, news: Props): string[];
    create(ctx: Ctx, inputs: Props): Promise<{ id: string; outs: Props }>;
    /**
     * The current outputs, or undefined when the object no longer exists. On an import the id is
     * the one the user typed (e.g. `<projectId>/<envId>`) and `state` is empty; an `id` output
     * names the object's canonical id, which the engine then records.
     */
    read(ctx: Ctx, id: string, state: Props): Promise<Props | undefined>;
    /**
     * The resource's inputs rebuilt from the stand-in's record, in the shape the program passes
     * them, for an import (`pulumi import` needs them: without, the engine says the provider
     * "does not support importing resources"). `id` is the canonical id, `outs` what read returned.
     * Types the real provider cannot import leave it out.
     */
    importInputs?(ctx: Ctx, id: string, outs: Props): Promise<Props>;
    update(ctx: Ctx, id: string, olds: Props, news: Props): Promise<Props>;
    delete(ctx: Ctx, id: string, state: Props): Promise<void>;
}

/** The declarative part of a handler: what check and diff need. */
export type Rules = Pick<Handler, "fields" | "validate" | "extraReplaces">;

/** A stand-in plugin: its version, its handlers by type token, and the optional extras. */
export interface ProviderOptions {
    readonly version: string;
    readonly handlers: Readonly<Record<string, Handler>>;
    readonly parameterizeArgs?: (args: string[]) => Promise<pulumiProvider.ParameterizeResult>;
    readonly parameterizeValue?: (
        name: string,
        version: string,
        value: string,
    ) => Promise<pulumiProvider.ParameterizeResult>;
    readonly invoke?: (token: string, inputs: Props) => Promise<pulumiProvider.InvokeResult>;
}

/** Check for one handler. */
export function runCheck(h: Rules, ctx: Ctx, olds: Props, news: Props): CheckOutcome {
    const outcome = checkFields(h.fields, ctx.name, olds ?? {}, news ?? {});
    h.validate?.(outcome.inputs, outcome.failures, olds ?? {});
    return outcome;
}

/** Diff for one handler. */
export function runDiff(h: Rules, olds: Props, news: Props): pulumiProvider.DiffResult {
    const { changed, replaces } = diffFields(h.fields, olds ?? {}, news ?? {});
    const extra = h.extraReplaces?.(unwrapProps(olds), news ?? {}) ?? [];
    for (const k of extra) {
        if (!replaces.includes(k)) replaces.push(k);
        if (!changed.includes(k)) changed.push(k);
    }
    return { changes: changed.length > 0, replaces };
}

function finishOutputs(h: Handler, outs: Props): Props {
    return stripUndefined(wrapSecrets(outs, h.secretOutputs));
}

/** The resource module of a handler. */
export function handlerModule(h: Handler): ResourceModule<Ctx> {
    return {
        check(olds, news, ctx) {
            const { inputs, failures } = runCheck(h, ctx, olds as Props, news as Props);
            return { inputs, failures };
        },
        diff: (olds, news) => runDiff(h, olds as Props, news as Props),
        async create(ctx, inputs) {
            const { id, outs } = await h.create(ctx, unwrapProps(inputs as Props));
            return { id, outs: finishOutputs(h, outs) };
        },
        async read(ctx, id, props) {
            const state = unwrapProps(props as Props);
            const outs = await h.read(ctx, id, state);
            if (outs === undefined) return { id: "", props: {} };
            const canonical = typeof outs.id === "string" && outs.id !== "" ? outs.id : id;
            // Only an import reads with no state at all. A refresh keeps the inputs the engine
            // already holds (the program's), so it returns none.
            if (!h.importInputs || Object.keys(state).length > 0) {
                return { id: canonical, props: finishOutputs(h, outs) };
            }
            const inputs = await h.importInputs(ctx, canonical, outs);
            return { id: canonical, props: finishOutputs(h, outs), inputs: finishOutputs(h, inputs) };
        },
        async update(ctx, id, olds, news) {
            const outs = await h.update(ctx, id, unwrapProps(olds as Props), unwrapProps(news as Props));
            return { outs: finishOutputs(h, outs) };
        },
        delete: (ctx, id, props) => h.delete(ctx, id, unwrapProps(props as Props)),
    };
}

/** A stand-in's name in errors. */
export const STAND_IN = "local cloud's stand-in";

/** The provider of a stand-in plugin: its handlers' modules, plus parameterization and functions. */
export function makeProvider(opts: ProviderOptions): pulumiProvider.Provider {
    const modules: Record<string, ResourceModule<Ctx>> = {};
    for (const [type, h] of Object.entries(opts.handlers)) modules[type] = handlerModule(h);
    const provider = new ResourceProvider<Ctx>({
        version: opts.version,
        displayName: STAND_IN,
        modules,
        context: (call) => call,
    });
    const invoke = opts.invoke;
    return Object.assign(provider, {
        parameterizeArgs: opts.parameterizeArgs,
        parameterizeValue: opts.parameterizeValue,
        async invoke(token: string, inputs: unknown): Promise<pulumiProvider.InvokeResult> {
            if (!invoke) throw new Error(`the ${STAND_IN} does not implement the function ${token}`);
            return invoke(token, unwrapProps(inputs as Props));
        },
    });
}
