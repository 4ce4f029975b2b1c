/**
 * Finds an Upstash Redis database made by hand (the console) by its name, through Upstash's
 * developer API (basic auth: the account's email and API key), for `npm run adopt`. Its password
 * and tokens are not kept.
 */
import { UPSTASH_API_URL } from "../../lib/facts/upstash";
import { callJson } from "./http";

export interface UpstashDatabaseFound {
    readonly databaseId: string;
    /** The Pulumi id the provider gives it (`upstash-database-<databaseId>`). */
    readonly id: string;
    readonly name: string;
    /** `global` for a global database. */
    readonly region: string;
    readonly primaryRegion: string;
    readonly readRegions: readonly string[];
    readonly endpoint: string;
    readonly port: number;
    readonly tls: boolean;
    readonly eviction: boolean;
    readonly budget: number;
}

export interface FindUpstashDatabaseArgs {
    /** The database's name, exactly. */
    readonly name: string;
    /** The Upstash account's email. */
    readonly email: string;
    /** A developer API key of that account (never shown). */
    readonly apiKey: string;
    /** @default "https://api.upstash.com" */
    readonly baseUrl?: string;
}

interface DatabaseJson {
    database_id: string;
    database_name: string;
    region: string;
    primary_region?: string;
    read_regions?: string[];
    endpoint: string;
    port: number;
    tls: boolean;
    eviction: boolean;
    budget?: number;
}

/** The database named `name`, or undefined; two of that name are an error. */
export async function findUpstashDatabase(args: FindUpstashDatabaseArgs): Promise<UpstashDatabaseFound | undefined> {
    const auth = Buffer.from(`${args.email}:${args.apiKey}`).toString("base64");
    const list = (await callJson<DatabaseJson[]>({
        service: "Upstash",
        baseUrl: args.baseUrl ?? UPSTASH_API_URL,
        path: "/v2/redis/databases",
        headers: { authorization: `Basic ${auth}` },
    }))!;
    const matches = list.filter((d) => d.database_name === args.name);
    if (matches.length === 0) return undefined;
    if (matches.length > 1) {
        throw new Error(
            `Upstash: ${matches.length} databases are named ${JSON.stringify(args.name)} (${matches.map((d) => d.database_id).join(", ")}); rename all but one`,
        );
    }
    const d = matches[0];
    return {
        databaseId: d.database_id,
        id: `upstash-database-${d.database_id}`,
        name: d.database_name,
        region: d.region,
        primaryRegion: d.primary_region ?? "",
        readRegions: [...(d.read_regions ?? [])].sort(),
        endpoint: d.endpoint,
        port: d.port,
        tls: d.tls,
        eviction: d.eviction,
        budget: d.budget ?? 0,
    };
}
