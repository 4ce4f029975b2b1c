import * as pulumi from "@pulumi/pulumi";
import * as vercel from "@pulumiverse/vercel";

/** A Vercel target an env var applies to. */
export type VercelTarget = "production" | "preview" | "development";

/** Arguments of {@link VercelFrontend}. */
export interface VercelFrontendArgs {
    /** The Vercel project name. @example "fpsgame-web" */
    readonly projectName: string;
    /** The framework preset. @default "vite" */
    readonly framework: string;
    /** The Git repository Vercel builds from, and its production branch. */
    readonly gitRepository: {
        readonly type: "github" | "gitlab" | "bitbucket";
        /** `owner/name`. */
        readonly repo: string;
        /** @default "main" */
        readonly productionBranch: string;
    };
    /**
     * The git ref (commit SHA or branch) the production deployment is built from.
     * @default gitRepository.productionBranch
     */
    readonly ref?: string;
    /** The production domain, e.g. `play.example.com`. */
    readonly domain?: string;
    /** Env var name -> value. Values that are secret outputs are stored as `sensitive`. */
    readonly env: Readonly<Record<string, pulumi.Input<string>>>;
    /** Names in `env` whose values are secret: marked `sensitive` on Vercel. */
    readonly sensitiveKeys?: readonly string[];
    /** Targets that get every env var, one Vercel variable per key and target. */
    readonly envTargets: readonly VercelTarget[];
}

/**
 * The game's frontend on Vercel: the project (framework, Git repository, production branch),
 * one env var per key and target (the API's `https://` and `wss://` URLs), the production
 * domain, and the production deployment of `ref`.
 *
 * The deployment is declared (rather than left to Vercel's git integration) so the frontend is
 * in the stack's history like the backend: a change of `ref` deploys, and restoring an older
 * entry redeploys that entry's ref. Vercel bakes env vars into a build, so the deployment also
 * carries them: a change to an API URL builds a new deployment instead of leaving the old
 * bundle pointing at the old URL.
 */
export class VercelFrontend extends pulumi.ComponentResource {
    /** The component's type token (also what `npm run adopt` imports it as). */
    static readonly TYPE = "fpsgame:vercel:Frontend";

    public readonly project: vercel.Project;
    /** `https://<domain>` or the project's `<name>.vercel.app` URL. */
    public readonly url: pulumi.Output<string>;
    /** The env vars, keyed `<KEY>-<target>`. */
    public readonly envVars: Record<string, vercel.ProjectEnvironmentVariable>;
    /** The production deployment of `ref`. */
    public readonly deployment: vercel.Deployment;
    /** The ref the production deployment is built from. */
    public readonly ref: string;

    constructor(name: string, args: VercelFrontendArgs, opts?: pulumi.ComponentResourceOptions) {
        super(VercelFrontend.TYPE, name, {}, opts);

        const project = createProject(this);
        const envVars = createEnvVars(this, project);
        const domain = args.domain
            ? new vercel.ProjectDomain(
                  `${name}-domain`,
                  { projectId: project.id, domain: args.domain },
                  { parent: this },
              )
            : undefined;
        const ref = args.ref ?? args.gitRepository.productionBranch;
        const deployment = new vercel.Deployment(
            `${name}-deployment`,
            {
                projectId: project.id,
                ref,
                production: true,
                // Every input of a deployment replaces it: a new ref or env value is a new build.
                environment: deploymentEnv(),
            },
            // After the variables and the domain, so the build sees them and takes the domain.
            { parent: this, dependsOn: [...Object.values(envVars), ...(domain ? [domain] : [])] },
        );

        this.project = project;
        this.envVars = envVars;
        this.deployment = deployment;
        this.ref = ref;
        this.url = pulumi.output(`https://${args.domain ?? `${args.projectName}.vercel.app`}`);
        this.registerOutputs({ url: this.url, deploymentUrl: deployment.url, ref });

        function deploymentEnv(): pulumi.Input<Record<string, pulumi.Input<string>>> {
            const env: Record<string, pulumi.Input<string>> = {};
            for (const [key, value] of Object.entries(args.env)) {
                env[key] = args.sensitiveKeys?.includes(key) ? pulumi.secret(value) : value;
            }
            return env;
        }

        function createProject(parent: VercelFrontend): vercel.Project {
            return new vercel.Project(
                `${name}-project`,
                {
                    name: args.projectName,
                    framework: args.framework,
                    gitRepository: {
                        type: args.gitRepository.type,
                        repo: args.gitRepository.repo,
                        productionBranch: args.gitRepository.productionBranch,
                    },
                },
                { parent },
            );
        }

        function createEnvVars(
            parent: VercelFrontend,
            p: vercel.Project,
        ): Record<string, vercel.ProjectEnvironmentVariable> {
            const vars: Record<string, vercel.ProjectEnvironmentVariable> = {};
            for (const [key, value] of Object.entries(args.env)) {
                const sensitive = args.sensitiveKeys?.includes(key) ?? false;
                for (const target of args.envTargets) {
                    // Vercel rejects a second variable with the same key and target, so the default
                    // create-before-delete replacement fails with a conflict ("env var already
                    // exists"); deleting first makes a replace (a key or `sensitive` change) work.
                    vars[`${key}-${target}`] = new vercel.ProjectEnvironmentVariable(
                        envVarResourceName(name, key, target),
                        {
                            projectId: p.id,
                            key,
                            value: sensitive ? pulumi.secret(value) : value,
                            // Vercel forbids sensitive variables that target development.
                            sensitive: sensitive && target !== "development",
                            targets: [target],
                        },
                        { parent, deleteBeforeReplace: true },
                    );
                }
            }
            return vars;
        }
    }
}

/** The logical name of the env var `key` for `target`: `<name>-env-vite-api-url-production`. */
export function envVarResourceName(name: string, key: string, target: string): string {
    return `${name}-env-${key.toLowerCase().replace(/_/g, "-")}-${target}`;
}
