/**
 * Builds a `@pulumi/pulumi/provider` Provider out of per-type handlers: `check` and `diff` come
 * from each handler's declared fields (plus optional hooks), `create`/`read`/`update`/`delete`
 * get unwrapped inputs and return plain outputs, whose secret properties are wrapped here.
 */
import type * as pulumiProvider from "@pulumi/pulumi/provider";
import { checkFields, CheckOutcome, diffFields, Fields } from "./schema";
import { parseUrn, Props, stripUndefined, unwrapProps, wrapSecrets } from "./values";

export interface Ctx {
    readonly urn: string;
    readonly type: string;
    /** The Pulumi resource name (the URN's last part). */
    readonly name: string;
}

export interface Handler {
    readonly fields: Fields;
    /** Outputs that the real provider marks secret. */
    readonly secretOutputs: readonly string[];
    /** Extra validation after the field checks; gets raw inputs (may hold unknowns and secret wrappers). */
    validate?(inputs: Props, failures: pulumiProvider.CheckFailure[]): void;
    /** Extra replace rules (e.g. "true → false forces a new resource"); gets unwrapped olds and raw news. */
    extraReplaces?(olds: Props, news: Props): string[];
    create(ctx: Ctx, inputs: Props): Promise<{ id: string; outs: Props }>;
    /** The current outputs, or undefined when the object no longer exists. */
    read(id: string, ctx: Ctx, state: Props): Promise<Props | undefined>;
    update(id: string, ctx: Ctx, olds: Props, news: Props): Promise<Props>;
    delete(id: string, ctx: Ctx, state: Props): Promise<void>;
}

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

function handlerFor(handlers: Readonly<Record<string, Handler>>, urn: string): { h: Handler; ctx: Ctx } {
    const { type, name } = parseUrn(urn);
    const h = handlers[type];
    if (!h) {
        throw new Error(
            `the local cloud's stand-in does not implement ${type} (it implements ${Object.keys(handlers).join(", ")})`,
        );
    }
    return { h, ctx: { urn, type, name } };
}

/** Check for one handler (exported for unit tests). */
export function runCheck(h: Handler, ctx: Ctx, olds: Props, news: Props): CheckOutcome {
    const outcome = checkFields(h.fields, ctx.name, olds ?? {}, news ?? {});
    h.validate?.(outcome.inputs, outcome.failures);
    return outcome;
}

/** Diff for one handler (exported for unit tests). */
export function runDiff(h: Handler, olds: Props, news: Props): pulumiProvider.DiffResult {
    const { changed, replaces } = diffFields(h.fields, olds ?? {}, news ?? {});
    const extra = h.extraReplaces?.(unwrapProps(olds), news ?? {}) ?? [];
    for (const k of extra) {
        if (!replaces.includes(k)) replaces.push(k);
        if (!changed.includes(k)) changed.push(k);
    }
    return { changes: changed.length > 0, replaces };
}

export function finishOutputs(h: Handler, outs: Props): Props {
    return stripUndefined(wrapSecrets(outs, h.secretOutputs));
}

export function makeProvider(opts: ProviderOptions): pulumiProvider.Provider {
    const { handlers } = opts;
    return {
        version: opts.version,

        async check(urn, olds, news) {
            const { h, ctx } = handlerFor(handlers, urn);
            const { inputs, failures } = runCheck(h, ctx, olds as Props, news as Props);
            return { inputs, failures };
        },

        async diff(_id, urn, olds, news) {
            const { h } = handlerFor(handlers, urn);
            return runDiff(h, olds as Props, news as Props);
        },

        async create(urn, inputs) {
            const { h, ctx } = handlerFor(handlers, urn);
            const { id, outs } = await h.create(ctx, unwrapProps(inputs as Props));
            return { id, outs: finishOutputs(h, outs) };
        },

        async read(id, urn, props) {
            const { h, ctx } = handlerFor(handlers, urn);
            const outs = await h.read(id, ctx, unwrapProps(props as Props));
            if (outs === undefined) return { id: "", props: {} };
            return { id, props: finishOutputs(h, outs) };
        },

        async update(id, urn, olds, news) {
            const { h, ctx } = handlerFor(handlers, urn);
            const outs = await h.update(id, ctx, unwrapProps(olds as Props), unwrapProps(news as Props));
            return { outs: finishOutputs(h, outs) };
        },

        async delete(id, urn, props) {
            const { h, ctx } = handlerFor(handlers, urn);
            await h.delete(id, ctx, unwrapProps(props as Props));
        },

        parameterizeArgs: opts.parameterizeArgs,
        parameterizeValue: opts.parameterizeValue,

        async invoke(token, inputs) {
            if (!opts.invoke) throw new Error(`the local cloud's stand-in does not implement the function ${token}`);
            return opts.invoke(token, unwrapProps(inputs as Props));
        },
    };
}
