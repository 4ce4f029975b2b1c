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

/** The bounds of `FLY_POLL_INTERVAL_MS`, in milliseconds. */
const POLL_INTERVAL_BOUNDS = { min: 50, max: 60_000 } as const;

/**
 * How often the plugin polls while it waits (a machine's checks; the pause before a retry is a
 * multiple of it): `FLY_POLL_INTERVAL_MS`, default 1000, Fly's own pacing. The local cloud sets
 * it lower, as its checks report faster than Fly's (localcloud/stackEnv.ts says how much). A value
 * that is not a whole number within the bounds is refused with its name, value and the bounds,
 * rather than polling at a pace no one asked for.
 */
export function pollIntervalFromEnv(env: NodeJS.ProcessEnv = process.env): number {
    const raw = (env.FLY_POLL_INTERVAL_MS ?? "").trim();
    if (raw === "") return 1000;
    const n = Number(raw);
    const { min, max } = POLL_INTERVAL_BOUNDS;
    if (!/^\d+$/.test(raw) || n < min || n > max) {
        throw new Error(
            `FLY_POLL_INTERVAL_MS=${JSON.stringify(raw)}: allowed is a whole number of milliseconds from ${min} to ${max}`,
        );
    }
    return n;
}

/** How a FlyProvider talks to Fly and reports progress. */
export interface FlyProviderOptions extends Omit<FlyClientOptions, "log"> {
    /** How often a machine's checks are polled while waiting. Default: {@link pollIntervalFromEnv}. */
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
        const pollIntervalMs = opts.pollIntervalMs ?? pollIntervalFromEnv();
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
