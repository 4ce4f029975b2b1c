/**
 * Stand-in for the `upstash` 0.5.0 resource plugin (@upstash/pulumi): each RedisDatabase is a
 * real Redis server of the local cloud. Started by the engine through the launcher that
 * `localcloud/stand-ins/install.ts` writes.
 */
import { main } from "@pulumi/pulumi/provider";
import { makeProvider } from "../common/provider";
import { handlers } from "./resources";

export const VERSION = "0.5.0";

export const provider = makeProvider({ version: VERSION, handlers });

if (require.main === module) {
    main(provider, process.argv.slice(2)).catch((e: unknown) => {
        console.error(e instanceof Error ? e.message : String(e));
        process.exit(1);
    });
}
