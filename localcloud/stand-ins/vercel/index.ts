/**
 * Stand-in for the `vercel` 5.4.1 resource plugin (@pulumiverse/vercel): records projects, env
 * vars, domains and deployments under `$LOCALCLOUD_STATE_DIR/vercel`. Started by the engine
 * through the launcher that `localcloud/stand-ins/install.ts` writes.
 */
import { main } from "@pulumi/pulumi/provider";
import { makeProvider } from "../common/provider";
import { handlers } from "./resources";

export const VERSION = "5.4.1";

export const provider = makeProvider({ version: VERSION, handlers });

if (require.main === module) {
    main(provider, process.argv.slice(2)).catch((e: unknown) => {
        console.error(e instanceof Error ? e.message : String(e));
        process.exit(1);
    });
}
