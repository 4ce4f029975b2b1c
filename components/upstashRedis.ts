import * as pulumi from "@pulumi/pulumi";
import * as upstash from "@upstash/pulumi";

/** Arguments of {@link UpstashRedis}. */
export interface UpstashRedisArgs {
    /** The database name. */
    readonly databaseName: string;
    /** The primary region, near the API's primary Fly region. @example "us-west-1" */
    readonly primaryRegion: string;
    /** Read replicas, near the API's other regions. */
    readonly readRegions: readonly string[];
    /** Evict keys when memory is full instead of failing writes. Set explicitly. */
    readonly eviction: boolean;
    /** Monthly budget cap in USD. */
    readonly budgetUsd: number;
    /** Let Upstash raise the plan's limits automatically. */
    readonly autoScale: boolean;
}

/**
 * The game's Upstash Redis: one global database with a primary region and read regions,
 * eviction and budget set explicitly, TLS always on. Its `rediss://` URL is a secret.
 */
export class UpstashRedis extends pulumi.ComponentResource {
    /** The component's type token (also what `npm run adopt` imports it as). */
    static readonly TYPE = "fpsgame:upstash:Redis";

    public readonly database: upstash.RedisDatabase;
    /** `rediss://default:<password>@<endpoint>:<port>`. Secret. */
    public readonly url: pulumi.Output<string>;
    /** The endpoint host (no credentials). */
    public readonly endpoint: pulumi.Output<string>;

    constructor(name: string, args: UpstashRedisArgs, opts?: pulumi.ComponentResourceOptions) {
        super(UpstashRedis.TYPE, name, {}, opts);

        const database = new upstash.RedisDatabase(
            `${name}-database`,
            {
                databaseName: args.databaseName,
                region: "global",
                primaryRegion: args.primaryRegion,
                readRegions: [...args.readRegions],
                eviction: args.eviction,
                budget: args.budgetUsd,
                autoScale: args.autoScale,
                tls: true,
            },
            { parent: this, additionalSecretOutputs: ["password", "restToken", "readOnlyRestToken"] },
        );

        this.database = database;
        this.endpoint = database.endpoint;
        this.url = pulumi.secret(
            pulumi
                .all([database.endpoint, database.port, database.password])
                .apply(([endpoint, port, password]) => redisUrl(endpoint, port, password)),
        );
        this.registerOutputs({ endpoint: this.endpoint });
    }
}

/** Upstash authenticates as the `default` user; TLS is always on, hence `rediss://`. */
export function redisUrl(endpoint: string, port: number, password: string): string {
    return `rediss://default:${encodeURIComponent(password)}@${endpoint}:${port}`;
}
