/**
 * Entry point of the `pulumi-resource-fly` plugin (launched by `../bin/pulumi-resource-fly`).
 * `main` binds a gRPC server on 127.0.0.1:0 and prints its port on stdout for the engine,
 * so nothing else in the provider may write to stdout. Progress lines go to the engine's log
 * under the resource they are about, so `pulumi up` shows them (a plugin's stderr reaches only
 * the engine's verbose log).
 */
import { main } from "@pulumi/pulumi/provider";
import { engineAddress, engineStatusLog, StatusLog } from "../../engineLog";
import { FlyProvider } from "./provider";

const args = process.argv.slice(2);
const address = engineAddress(args);
const toEngine = engineStatusLog(address, { ephemeral: false });
/** One ordered log per resource. */
const logs = new Map<string, StatusLog>();

function newProvider(): FlyProvider {
    return new FlyProvider(
        address
            ? {
                  log: (message, urn) => {
                      if (!logs.has(urn)) logs.set(urn, toEngine(urn));
                      logs.get(urn)!.line(message);
                  },
                  flushLog: async () => {
                      await Promise.all([...logs.values()].map((l) => l.flush()));
                  },
              }
            : {},
    );
}

function fail(e: unknown): never {
    process.stderr.write(`pulumi-resource-fly: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
}

let provider: FlyProvider;
try {
    // Settings from the environment (FLY_POLL_INTERVAL_MS) are checked here: a bad one stops the
    // plugin with its one-line reason before the engine connects.
    provider = newProvider();
} catch (e) {
    fail(e);
}
main(provider, args).catch(fail);
