import * as pulumi from "@pulumi/pulumi";
import * as neon from "@sst-provider/neon";

/** Arguments of {@link NeonDatabase}. */
export interface NeonDatabaseArgs {
    /** The Neon project name. */
    readonly projectName: string;
    /** The Neon region, e.g. `aws-us-west-2`. */
    readonly regionId: string;
    /** The PostgreSQL major version. @default 16 */
    readonly pgVersion: number;
    /** Point-in-time recovery window, in days (Neon keeps history this long). @default 7 */
    readonly historyRetentionDays: number;
    /** Compute autoscaling limits, in compute units. */
    readonly autoscaling: { readonly minCu: number; readonly maxCu: number };
    /** Idle seconds before compute suspends (0 = Neon's default, -1 = never). */
    readonly suspendTimeoutSeconds: number;
    /** The application database. @default "fpsgame" */
    readonly databaseName: string;
    /** The role that owns it. @default "fpsgame_owner" */
    readonly ownerRole: string;
    /** Refuse to delete the project (`protect`). On in prod. */
    readonly protect: boolean;
}

/**
 * The game's Neon PostgreSQL: a project whose default branch holds the `fpsgame` database
 * and its owner role, with PITR history and autoscaling compute. Its connection string
 * always requires TLS and is only ever exposed as a secret.
 */
export class NeonDatabase extends pulumi.ComponentResource {
    /** The component's type token (also what `npm run adopt` imports it as). */
    static readonly TYPE = "fpsgame:neon:Database";

    public readonly project: neon.Project;
    /** `postgresql://…?sslmode=require`. Secret. */
    public readonly connectionUri: pulumi.Output<string>;
    /** The database host (no credentials). */
    public readonly host: pulumi.Output<string>;
    public readonly databaseName: pulumi.Output<string>;

    constructor(name: string, args: NeonDatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
        super(NeonDatabase.TYPE, name, {}, opts);

        const project = new neon.Project(
            `${name}-project`,
            {
                name: args.projectName,
                regionId: args.regionId,
                pgVersion: args.pgVersion,
                historyRetentionSeconds: args.historyRetentionDays * 86400,
                defaultEndpointSettings: {
                    autoscalingLimitMinCu: args.autoscaling.minCu,
                    autoscalingLimitMaxCu: args.autoscaling.maxCu,
                    suspendTimeoutSeconds: args.suspendTimeoutSeconds,
                },
                branch: { name: "main", roleName: args.ownerRole, databaseName: args.databaseName },
            },
            // The provider does not mark connectionUri secret in every version; the engine must.
            {
                parent: this,
                protect: args.protect,
                additionalSecretOutputs: ["connectionUri", "connectionUriPooler", "databasePassword"],
            },
        );

        this.project = project;
        this.connectionUri = pulumi.secret(project.connectionUri.apply(requireSsl));
        this.host = project.databaseHost;
        this.databaseName = project.databaseName;
        this.registerOutputs({ host: this.host, databaseName: this.databaseName });
    }
}

/** Returns the connection string with `sslmode=require`, whatever it carried before. */
export function requireSsl(uri: string): string {
    const url = new URL(uri);
    url.searchParams.set("sslmode", "require");
    return url.toString();
}
