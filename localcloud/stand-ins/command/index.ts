/**
 * Stand-in for the `command` 1.2.1 resource plugin (@pulumi/command's `local.Command` and
 * `local.run`): runs local commands as the real Go provider does (see resources.ts and run.ts),
 * for when localcloud/toolchain/toolchain.sh cannot build the real binary (the Go module proxy refuses
 * github.com/pulumi/pulumi-command/provider). Started by the engine, in the project directory,
 * through the launcher that `localcloud/stand-ins/install.ts` writes.
 */
import { main } from "@pulumi/pulumi/provider";
import { engineAddress, engineStatusLog } from "../../../providers/engineLog";
import { makeCommandProvider, VERSION } from "./resources";

export { VERSION };

/** Without an engine to log to (tests); the plugin's own instance logs output lines to the engine. */
export const provider = makeCommandProvider();

if (require.main === module) {
    const args = process.argv.slice(2);
    main(makeCommandProvider({ log: engineStatusLog(engineAddress(args)) }), args).catch((e: unknown) => {
        console.error(e instanceof Error ? e.message : String(e));
        process.exit(1);
    });
}
