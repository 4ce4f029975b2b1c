/**
 * The Fly resource provider: dispatches each engine call by type token (`providers/plugin.ts`) to
 * the module of that resource (`app.ts`, `secrets.ts`, `machine/`, `ip.ts`, `certificate.ts`).
 *
 * Credentials come from the plugin's environment (`FLY_API_TOKEN`, `FLY_API_URL`), read on
 * every request: the server in `@pulumi/pulumi/provider` ignores provider configuration.
 */
import { parseUrn, ResourceProvider } from "../../plugin";
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
    return parseUrn(urn).type;
}

/** How a FlyProvider talks to Fly and reports progress. */
export interface FlyProviderOptions extends FlyClientOptions {
    /** How often a machine's checks are polled while waiting. Default 1000 ms. */
    pollIntervalMs?: number;
    /** Progress lines (adoption, retries, cleanup). Default: stderr, which the engine logs. */
    log?: (message: string) => void;
}

/** The Fly provider: one module per resource type (`providers/plugin.ts`), one client per process. */
export class FlyProvider extends ResourceProvider<ProviderContext> {
    constructor(opts: FlyProviderOptions = {}) {
        const log = opts.log ?? ((m: string) => process.stderr.write(`fly: ${m}\n`));
        const ctx: ProviderContext = {
            client: new FlyClient({ ...opts, log }),
            pollIntervalMs: opts.pollIntervalMs ?? 1000,
            log,
        };
        super({ version: FLY_PROVIDER_VERSION, displayName: "fly provider", modules: MODULES, context: () => ctx });
    }
}
