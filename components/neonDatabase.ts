import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as neon from "@sst-provider/neon";
import { NEON_DATABASE_TYPE, withPassword } from "../lib/connection";

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
    /**
     * Password rotations of `ownerRole` so far. Above 0, the component resets the role's
     * password through Neon's API, and again each time the number changes; `connectionUri`
     * then carries the new password, and the old one stops working. 0: the password the project
     * was created with, and no reset command at all. @default 0
     */
    readonly passwordRotation: number;
    /** Neon API key the reset calls the API with. Secret; required when `passwordRotation` is above 0. */
    readonly apiKey?: pulumi.Input<string>;
}

/**
 * The game's Neon PostgreSQL: a project whose default branch holds the `fpsgame` database
 * and its owner role, with PITR history and autoscaling compute. Its connection string
 * always requires TLS and is only ever exposed as a secret.
 */
export class NeonDatabase extends pulumi.ComponentResource {
    /** The component's type token (also what `npm run adopt` imports it as). */
    static readonly TYPE = NEON_DATABASE_TYPE;

    public readonly project: neon.Project;
    /** The password reset, when `passwordRotation` is above 0; its stdout (secret) is the password. */
    public readonly passwordRotation?: command.local.Command;
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

        const rotation = createPasswordRotation(this, project);
        const uri =
            rotation === undefined
                ? project.connectionUri
                : pulumi
                      .all([project.connectionUri, rotation.stdout])
                      .apply(([u, password]) => withPassword(u, password));

        this.project = project;
        this.passwordRotation = rotation;
        this.connectionUri = pulumi.secret(uri.apply(requireSsl));
        this.host = project.databaseHost;
        this.databaseName = project.databaseName;
        this.registerOutputs({ host: this.host, databaseName: this.databaseName });

        /**
         * The reset, as a command rather than a provider input (the provider has none). Its
         * triggers are the rotation number and what it resets (project, branch, role), so a new
         * number, or a new project, replaces it and so runs the reset once; until then the
         * password it printed stays in the state, encrypted. A changed API key alone is an
         * update, which prints the same password again (`keep`) instead of issuing another.
         * When the reset fails, the engine keeps the previous command and its password, so
         * nothing downstream (the migrations, the Fly secrets, the machines) changes.
         */
        function createPasswordRotation(parent: NeonDatabase, p: neon.Project): command.local.Command | undefined {
            if (args.passwordRotation === 0) return undefined;
            if (args.apiKey === undefined) {
                throw new pulumi.RunError(
                    `${name}: a password rotation of the Neon database needs its API key (neon:apiKey)`,
                );
            }
            return new command.local.Command(
                `${name}-password-rotation`,
                {
                    create: `${ROTATE_SCRIPT} neon`,
                    update: `${ROTATE_SCRIPT} keep`,
                    environment: {
                        NEON_API_KEY: pulumi.secret(args.apiKey),
                        NEON_PROJECT_ID: p.id,
                        NEON_BRANCH_ID: p.defaultBranchId,
                        NEON_ROLE_NAME: args.ownerRole,
                    },
                    triggers: [args.passwordRotation, p.id, p.defaultBranchId, args.ownerRole],
                    // The output is the password: never streamed to the engine's log.
                    logging: command.local.Logging.None,
                },
                // The provider does not know stdout is a password; the engine must encrypt it.
                { parent, additionalSecretOutputs: ["stdout"] },
            );
        }
    }
}

/**
 * The command that issues a new password (ops/rotate-password.ts). A relative path: the engine
 * starts the command provider in the project folder, and an absolute one would make every
 * clone look like a change.
 */
export const ROTATE_SCRIPT = "node --require ./lib/register.js ops/rotate-password.ts";

/** Returns the connection string with `sslmode=require`, whatever it carried before. */
export function requireSsl(uri: string): string {
    const url = new URL(uri);
    url.searchParams.set("sslmode", "require");
    return url.toString();
}
