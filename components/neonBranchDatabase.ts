import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as neon from "@sst-provider/neon";
import { requireSsl } from "./neonDatabase";

/** Arguments of {@link NeonBranchDatabase}. */
export interface NeonBranchDatabaseArgs {
    /** The Neon project the branch is made in: the base stack's. */
    readonly projectId: pulumi.Input<string>;
    /** The branch it copies: the base stack's default branch. */
    readonly parentBranchId: pulumi.Input<string>;
    /** The branch's name, e.g. `pr-12`. */
    readonly branchName: string;
    /** The application database, inherited from the parent. @default "fpsgame" */
    readonly databaseName: string;
    /** The role that owns it, inherited from the parent with its password. @default "fpsgame_owner" */
    readonly ownerRole: string;
    /** The branch compute's size, in compute units (min and max). */
    readonly autoscaling: { readonly minCu: number; readonly maxCu: number };
    /** Idle seconds before the branch compute suspends (0 = Neon's default, -1 = never). */
    readonly suspendTimeoutSeconds: number;
    /** Neon API key the connection string is read with. Secret. */
    readonly apiKey: pulumi.Input<string>;
}

/**
 * A Neon branch of another stack's database, for a review stack: a copy-on-write copy of the
 * parent branch (its schema, its rows, its roles with their passwords) with a compute endpoint
 * of its own. Changing it (a migration of the pull request) never touches the parent; deleting
 * it deletes the copy alone.
 *
 * Its connection string comes from Neon's API (`GET /projects/{id}/connection_uri` for the
 * branch, its endpoint, the database and the role): the provider outputs none for a branch, and
 * the API is the one place that knows how the branch is reached. It is only ever a secret.
 */
export class NeonBranchDatabase extends pulumi.ComponentResource {
    static readonly TYPE = "fpsgame:neon:BranchDatabase";

    public readonly branch: neon.Branch;
    public readonly endpoint: neon.Endpoint;
    /** `postgresql://…?sslmode=require` of the branch. Secret. */
    public readonly connectionUri: pulumi.Output<string>;
    /** The branch endpoint's host (no credentials). */
    public readonly host: pulumi.Output<string>;
    public readonly projectId: pulumi.Output<string>;
    public readonly branchId: pulumi.Output<string>;

    constructor(name: string, args: NeonBranchDatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
        super(NeonBranchDatabase.TYPE, name, {}, opts);

        const branch = new neon.Branch(
            `${name}-branch`,
            { projectId: args.projectId, parentId: args.parentBranchId, name: args.branchName },
            { parent: this },
        );
        const endpoint = new neon.Endpoint(
            `${name}-endpoint`,
            {
                projectId: branch.projectId,
                branchId: branch.id,
                type: "read_write",
                autoscalingLimitMinCu: args.autoscaling.minCu,
                autoscalingLimitMaxCu: args.autoscaling.maxCu,
                suspendTimeoutSeconds: args.suspendTimeoutSeconds,
            },
            { parent: this },
        );
        // Read again whenever what it names changes: a new branch or endpoint is a new URI.
        const uri = new command.local.Command(
            `${name}-connection-uri`,
            {
                create: CONNECTION_URI_SCRIPT,
                environment: {
                    NEON_API_KEY: pulumi.secret(args.apiKey),
                    NEON_PROJECT_ID: branch.projectId,
                    NEON_BRANCH_ID: branch.id,
                    NEON_ENDPOINT_ID: endpoint.id,
                    NEON_DATABASE_NAME: args.databaseName,
                    NEON_ROLE_NAME: args.ownerRole,
                },
                triggers: [branch.id, endpoint.id, args.databaseName, args.ownerRole],
                // The output holds the password: never streamed to the engine's log.
                logging: command.local.Logging.None,
            },
            { parent: this, additionalSecretOutputs: ["stdout"] },
        );

        this.branch = branch;
        this.endpoint = endpoint;
        this.connectionUri = pulumi.secret(uri.stdout.apply((u) => requireSsl(u.trim())));
        this.host = endpoint.host;
        this.projectId = branch.projectId;
        this.branchId = branch.id;
        this.registerOutputs({ host: this.host, branchId: this.branchId });
    }
}

/**
 * The command that prints the branch's connection string (ops/neon-connection-uri.ts). A
 * relative path, as `ROTATE_SCRIPT`'s: the engine starts the command provider in the project
 * folder, and an absolute one would make every clone look like a change.
 */
export const CONNECTION_URI_SCRIPT = "node --require ./lib/register.js ops/neon-connection-uri.ts";
