import * as pulumi from "@pulumi/pulumi";
import * as vercel from "@pulumiverse/vercel";
import { envVarResourceName } from "./vercelFrontend";

/** Arguments of {@link VercelPreview}. */
export interface VercelPreviewArgs {
    /** The Vercel project the preview belongs to: the base stack's. */
    readonly projectId: pulumi.Input<string>;
    /** The pull request's head branch: the env vars apply to its preview deployments only. */
    readonly gitBranch: string;
    /** The git ref (commit SHA or branch) the preview deployment builds. */
    readonly ref: string;
    /** Env var name -> value (the review API's URLs). */
    readonly env: Readonly<Record<string, pulumi.Input<string>>>;
}

/**
 * A review stack's frontend: on the base stack's Vercel project, one `preview` env var per key
 * scoped to the pull request's branch (so Vercel's own preview builds of that branch point at
 * the review API too, and no other branch's do), and a preview deployment of the branch's head
 * built with them. Nothing here touches the project's production target, and everything goes
 * with the stack: the deployment is deleted on destroy (`deleteOnDestroy`), which Vercel would
 * otherwise keep.
 */
export class VercelPreview extends pulumi.ComponentResource {
    static readonly TYPE = "fpsgame:vercel:Preview";

    public readonly envVars: Record<string, vercel.ProjectEnvironmentVariable>;
    public readonly deployment: vercel.Deployment;
    /** `https://<the preview deployment's host>`. */
    public readonly url: pulumi.Output<string>;
    public readonly ref: string;

    constructor(name: string, args: VercelPreviewArgs, opts?: pulumi.ComponentResourceOptions) {
        super(VercelPreview.TYPE, name, {}, opts);

        const envVars: Record<string, vercel.ProjectEnvironmentVariable> = {};
        for (const [key, value] of Object.entries(args.env)) {
            envVars[key] = new vercel.ProjectEnvironmentVariable(
                envVarResourceName(name, key, "preview"),
                {
                    projectId: args.projectId,
                    key,
                    value,
                    sensitive: false,
                    targets: ["preview"],
                    gitBranch: args.gitBranch,
                },
                // As in VercelFrontend: Vercel rejects a second variable with the same key, target and branch.
                { parent: this, deleteBeforeReplace: true },
            );
        }
        const deployment = new vercel.Deployment(
            `${name}-deployment`,
            {
                projectId: args.projectId,
                ref: args.ref,
                production: false,
                environment: { ...args.env },
                deleteOnDestroy: true,
            },
            { parent: this, dependsOn: Object.values(envVars) },
        );

        this.envVars = envVars;
        this.deployment = deployment;
        this.ref = args.ref;
        this.url = deployment.url.apply((u) => (u.startsWith("https://") ? u : `https://${u}`));
        this.registerOutputs({ url: this.url, ref: args.ref });
    }
}
