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
export interface FlyProviderOptions extends Omit<FlyClientOptions, "log"> {
    /** How often a machine's checks are polled while waiting. Default 1000 ms. */
    pollIntervalMs?: number;
    /**
     * Progress lines (waiting for checks, adoption, retries, cleanup), with the URN of the resource
     * they are about ("" for the client's retries, which no one resource owns). The plugin sends
     * them to the engine (`main.ts`), which prints them under the resource. Default: stderr.
     */
    log?: (message: string, urn: string) => void;
    /** Resolves once the progress lines so far are delivered; awaited after every call. */
    flushLog?: () => Promise<void>;
}

/** The Fly provider: one module per resource type (`providers/plugin.ts`), one client per process. */
export class FlyProvider extends ResourceProvider<ProviderContext> {
    constructor(opts: FlyProviderOptions = {}) {
        const log = opts.log ?? ((m: string) => process.stderr.write(`fly: ${m}\n`));
        const client = new FlyClient({ ...opts, log: (m) => log(m, "") });
        const pollIntervalMs = opts.pollIntervalMs ?? 1000;
        const flush = opts.flushLog;
        super({
            version: FLY_PROVIDER_VERSION,
            displayName: "fly provider",
            modules: MODULES,
            context: (call): ProviderContext => ({ client, pollIntervalMs, log: (m) => log(m, call.urn) }),
            settle: flush ? () => flush() : undefined,
        });
    }
}
