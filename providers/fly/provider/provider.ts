/**
 * The Fly resource provider: dispatches each engine call by type token to the module of
 * that resource (`app.ts`, `secrets.ts`, `machine/`, `ip.ts`, `certificate.ts`).
 *
 * Credentials come from the plugin's environment (`FLY_API_TOKEN`, `FLY_API_URL`), read on
 * every request: the server in `@pulumi/pulumi/provider` ignores provider configuration.
 */
import * as provider from "@pulumi/pulumi/provider";
import { FLY_PROVIDER_VERSION, FlyTypes } from "../types";
import { app } from "./app";
import { certificate } from "./certificate";
import { FlyClient, FlyClientOptions } from "./client";
import { ProviderContext, ResourceModule } from "./common";
import { ip } from "./ip";
import { machine } from "./machine";
import { secrets } from "./secrets";

const MODULES: Record<string, ResourceModule> = {
    [FlyTypes.App]: app,
    [FlyTypes.AppSecrets]: secrets,
    [FlyTypes.Machine]: machine,
    [FlyTypes.IpAddress]: ip,
    [FlyTypes.Certificate]: certificate,
};

/** The type token in a URN `urn:pulumi:<stack>::<project>::<parent$...$type>::<name>`. */
export function typeOfUrn(urn: string): string {
    const parts = urn.split("::");
    const qualified = parts.length >= 4 ? parts[2] : urn;
    return qualified.split("$").pop() ?? qualified;
}

export interface FlyProviderOptions extends FlyClientOptions {
    /** How often a machine's checks are polled while waiting. Default 1000 ms. */
    pollIntervalMs?: number;
    /** Progress lines (adoption, retries, cleanup). Default: stderr, which the engine logs. */
    log?: (message: string) => void;
}

export class FlyProvider implements provider.Provider {
    readonly version = FLY_PROVIDER_VERSION;
    private readonly ctx: ProviderContext;

    constructor(opts: FlyProviderOptions = {}) {
        this.ctx = {
            client: new FlyClient(opts),
            pollIntervalMs: opts.pollIntervalMs ?? 1000,
            log: opts.log ?? ((m) => process.stderr.write(`fly: ${m}\n`)),
        };
    }

    private module(urn: string): ResourceModule {
        const type = typeOfUrn(urn);
        const m = MODULES[type];
        if (!m) {
            throw new Error(
                `the fly provider has no resource type "${type}" (it has ${Object.keys(MODULES).join(", ")})`,
            );
        }
        return m;
    }

    async check(urn: string, olds: unknown, news: unknown): Promise<provider.CheckResult> {
        return this.module(urn).check(olds, news);
    }

    async diff(_id: string, urn: string, olds: unknown, news: unknown): Promise<provider.DiffResult> {
        return this.module(urn).diff(olds, news);
    }

    async create(urn: string, inputs: unknown): Promise<provider.CreateResult> {
        return this.module(urn).create(this.ctx, inputs);
    }

    async read(id: string, urn: string, props?: unknown): Promise<provider.ReadResult> {
        return this.module(urn).read(this.ctx, id, props ?? {});
    }

    async update(id: string, urn: string, olds: unknown, news: unknown): Promise<provider.UpdateResult> {
        return this.module(urn).update(this.ctx, id, olds, news);
    }

    async delete(id: string, urn: string, props: unknown): Promise<void> {
        return this.module(urn).delete(this.ctx, id, props);
    }
}
