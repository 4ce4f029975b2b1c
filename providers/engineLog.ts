/**
 * A provider plugin's messages to the engine, about the resource an operation is on: the engine's
 * `Log` RPC with the resource's URN, as pulumi-go-provider's `Logger` sends them.
 * `@pulumi/pulumi/provider`'s server offers providers no logger (and a plugin's stderr reaches
 * only the engine's verbose log), so this keeps its own client of the engine service at the
 * address the engine passes as the plugin's first argument.
 *
 * - ephemeral (`InfoStatus`): shown in the progress display's Info column while the operation
 *   runs, not in the final output. The local cloud's command stand-in reports each output line so.
 * - not ephemeral (`Info`): printed under the resource and kept in the update's diagnostics. The
 *   Fly provider reports its progress so (waiting for checks, retries, a pending certificate).
 */
import * as grpc from "@grpc/grpc-js";
import { EngineClient } from "@pulumi/pulumi/proto/engine_grpc_pb";
import { LogRequest, LogSeverity } from "@pulumi/pulumi/proto/engine_pb";

/** One operation's log: `line` queues a message in order, `flush` resolves once all were sent. */
export interface StatusLog {
    line(msg: string): void;
    flush(): Promise<void>;
}

/** Makes the log of one operation on a resource (urn "" for an invoke). */
export type StatusLogFactory = (urn: string) => StatusLog;

/** Discards everything (no engine, e.g. in unit tests). */
export const NO_LOG: StatusLogFactory = () => ({ line: () => undefined, flush: async () => undefined });

/**
 * The engine's address among a plugin's arguments, as `@pulumi/pulumi/provider`'s parseArgs reads
 * it: the first argument that is not `--logtostderr`, `-v=N` or `--tracing <endpoint>`.
 */
export function engineAddress(args: readonly string[]): string | undefined {
    for (let i = 0; i < args.length; i++) {
        const a = args[i];
        if (a === "--logtostderr" || a.startsWith("-v=")) continue;
        if (a === "--tracing") {
            i += 1;
            continue;
        }
        return a;
    }
    return undefined;
}

/**
 * Sends lines to the engine at `address` (none: discard), ephemeral unless told otherwise.
 * Delivery failures are ignored.
 */
export function engineStatusLog(address: string | undefined, opts: { ephemeral?: boolean } = {}): StatusLogFactory {
    if (!address) return NO_LOG;
    const ephemeral = opts.ephemeral ?? true;
    let client: EngineClient | undefined;
    const send = (urn: string, msg: string) =>
        new Promise<void>((resolve) => {
            client ??= new EngineClient(address, grpc.credentials.createInsecure());
            const req = new LogRequest();
            req.setSeverity(LogSeverity.INFO);
            req.setMessage(msg);
            req.setUrn(urn);
            req.setEphemeral(ephemeral);
            client.log(req, new grpc.Metadata(), { deadline: Date.now() + 10_000 }, () => resolve());
        });
    return (urn) => {
        let chain = Promise.resolve();
        return {
            line(msg: string) {
                chain = chain.then(() => send(urn, msg));
            },
            flush: () => chain,
        };
    };
}
