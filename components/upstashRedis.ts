import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as upstash from "@upstash/pulumi";
import { ROTATE_SCRIPT } from "./neonDatabase";

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
    /**
     * Password rotations so far. Above 0, the component resets the database's password through
     * Upstash's API, and again each time the number changes; `url` then carries the new
     * password, and the old one stops working. 0: the password the database was created with,
     * and no reset command at all. @default 0
     */
    readonly passwordRotation: number;
    /** Upstash account email and API key (secret) the reset calls the API with; required when rotating. */
    readonly api?: { readonly email: string; readonly apiKey: pulumi.Input<string> };
}

/**
 * The game's Upstash Redis: one global database with a primary region and read regions,
 * eviction and budget set explicitly, TLS always on. Its `rediss://` URL is a secret.
 */
export class UpstashRedis extends pulumi.ComponentResource {
    /** The component's type token (also what `npm run adopt` imports it as). */
    static readonly TYPE = "fpsgame:upstash:Redis";

    public readonly database: upstash.RedisDatabase;
    /** The password reset, when `passwordRotation` is above 0; its stdout (secret) is the password. */
    public readonly passwordRotation?: command.local.Command;
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

        const rotation = createPasswordRotation(this, database);
        const password = rotation === undefined ? database.password : rotation.stdout;

        this.database = database;
        this.passwordRotation = rotation;
        this.endpoint = database.endpoint;
        this.url = pulumi.secret(
            pulumi
                .all([database.endpoint, database.port, password])
                .apply(([endpoint, port, pw]) => redisUrl(endpoint, port, pw)),
        );
        this.registerOutputs({ endpoint: this.endpoint });

        /** The reset, as in NeonDatabase (the same reasons: no provider input, replace on the number). */
        function createPasswordRotation(
            parent: UpstashRedis,
            db: upstash.RedisDatabase,
        ): command.local.Command | undefined {
            if (args.passwordRotation === 0) return undefined;
            if (args.api === undefined) {
                throw new pulumi.RunError(
                    `${name}: a password rotation of the Upstash database needs the account email and API key (upstash:email, upstash:apiKey)`,
                );
            }
            return new command.local.Command(
                `${name}-password-rotation`,
                {
                    create: `${ROTATE_SCRIPT} upstash`,
                    update: `${ROTATE_SCRIPT} keep`,
                    environment: {
                        UPSTASH_EMAIL: args.api.email,
                        UPSTASH_API_KEY: pulumi.secret(args.api.apiKey),
                        UPSTASH_DATABASE_ID: db.databaseId,
                    },
                    triggers: [args.passwordRotation, db.databaseId],
                    // The output is the password: never streamed to the engine's log.
                    logging: command.local.Logging.None,
                },
                { parent, additionalSecretOutputs: ["stdout"] },
            );
        }
    }
}

/** Upstash authenticates as the `default` user; TLS is always on, hence `rediss://`. */
export function redisUrl(endpoint: string, port: number, password: string): string {
    return `rediss://default:${encodeURIComponent(password)}@${endpoint}:${port}`;
}
