/**
 * The one way this project writes a Pulumi resource provider plugin: one `ResourceModule` per
 * resource type, each taking the engine's raw values (secret wrappers and unknowns as the engine
 * sends them) and returning the engine's results, and a `ResourceProvider` that dispatches each
 * call by the type token in its URN. The Fly plugin (`providers/fly/provider/`) is written this
 * way, and so are the local cloud's stand-ins, which import this file (never the other way).
 */
import type * as provider from "@pulumi/pulumi/provider";

/** The resource a call is about, from its URN. */
export interface ResourceCall {
    readonly urn: string;
    /** The type token, e.g. `fly:index:Machine`. */
    readonly type: string;
    /** The Pulumi resource name (the URN's last part). */
    readonly name: string;
}

/**
 * One resource type of a plugin. `C` is what each operation gets besides the engine's values:
 * the plugin's shared state (an API client) and/or the call itself.
 */
export interface ResourceModule<C> {
    check(olds: unknown, news: unknown, ctx: C): provider.CheckResult | Promise<provider.CheckResult>;
    diff(olds: unknown, news: unknown, ctx: C): provider.DiffResult | Promise<provider.DiffResult>;
    create(ctx: C, inputs: unknown): Promise<provider.CreateResult>;
    /** `{ id: "", props: {} }` when the object no longer exists. */
    read(ctx: C, id: string, props: unknown): Promise<provider.ReadResult>;
    update(ctx: C, id: string, olds: unknown, news: unknown): Promise<provider.UpdateResult>;
    delete(ctx: C, id: string, props: unknown): Promise<void>;
}

/** How a `ResourceProvider` is built. */
export interface ResourceProviderOptions<C> {
    readonly version: string;
    /** Names the plugin in errors, e.g. "fly provider". */
    readonly displayName: string;
    /** The implementation of each type token. */
    readonly modules: Readonly<Record<string, ResourceModule<C>>>;
    /** The context handed to the module's operations for one call. */
    readonly context: (call: ResourceCall) => C;
    /** Runs after each call, failed or not (e.g. to deliver the call's progress messages first). */
    readonly settle?: (ctx: C) => Promise<void>;
}

/**
 * Splits `urn:pulumi:<stack>::<project>::<parent$...$type>::<name>` into the type token and the
 * name; a string that is not a URN is taken as a bare type token.
 */
export function parseUrn(urn: string): ResourceCall {
    const parts = urn.split("::");
    if (parts.length < 4) {
        return { urn, type: urn, name: "" };
    }
    const qualified = parts[2];
    return { urn, type: qualified.split("$").pop() ?? qualified, name: parts.slice(3).join("::") };
}

/** A `@pulumi/pulumi/provider` Provider that dispatches each resource call to its type's module. */
export class ResourceProvider<C> implements provider.Provider {
    readonly version: string;

    constructor(private readonly opts: ResourceProviderOptions<C>) {
        this.version = opts.version;
    }

    async check(urn: string, olds: unknown, news: unknown): Promise<provider.CheckResult> {
        const { m, ctx } = this.moduleFor(urn);
        try {
            return await m.check(olds, news, ctx);
        } finally {
            await this.opts.settle?.(ctx);
        }
    }

    async diff(_id: string, urn: string, olds: unknown, news: unknown): Promise<provider.DiffResult> {
        const { m, ctx } = this.moduleFor(urn);
        try {
            return await m.diff(olds, news, ctx);
        } finally {
            await this.opts.settle?.(ctx);
        }
    }

    async create(urn: string, inputs: unknown): Promise<provider.CreateResult> {
        const { m, ctx } = this.moduleFor(urn);
        try {
            return await m.create(ctx, inputs);
        } finally {
            await this.opts.settle?.(ctx);
        }
    }

    async read(id: string, urn: string, props?: unknown): Promise<provider.ReadResult> {
        const { m, ctx } = this.moduleFor(urn);
        try {
            return await m.read(ctx, id, props ?? {});
        } finally {
            await this.opts.settle?.(ctx);
        }
    }

    async update(id: string, urn: string, olds: unknown, news: unknown): Promise<provider.UpdateResult> {
        const { m, ctx } = this.moduleFor(urn);
        try {
            return await m.update(ctx, id, olds, news);
        } finally {
            await this.opts.settle?.(ctx);
        }
    }

    async delete(id: string, urn: string, props: unknown): Promise<void> {
        const { m, ctx } = this.moduleFor(urn);
        try {
            return await m.delete(ctx, id, props);
        } finally {
            await this.opts.settle?.(ctx);
        }
    }

    private moduleFor(urn: string): { m: ResourceModule<C>; ctx: C } {
        const call = parseUrn(urn);
        const m = this.opts.modules[call.type];
        if (!m) {
            const known = Object.keys(this.opts.modules).join(", ");
            throw new Error(`the ${this.opts.displayName} has no resource type "${call.type}" (it has ${known})`);
        }
        return { m, ctx: this.opts.context(call) };
    }
}
