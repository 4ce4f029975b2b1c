/**
 * Entry point of the `pulumi-resource-fly` plugin (launched by `../bin/pulumi-resource-fly`).
 * `main` binds a gRPC server on 127.0.0.1:0 and prints its port on stdout for the engine,
 * so nothing else in the provider may write to stdout.
 */
import { main } from "@pulumi/pulumi/provider";
import { FlyProvider } from "./provider";

main(new FlyProvider(), process.argv.slice(2)).catch((e: unknown) => {
    process.stderr.write(`pulumi-resource-fly: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
});
