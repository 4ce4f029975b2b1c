/**
 * Policies for the Vercel frontend: production deploys from `main`, secrets marked sensitive,
 * and the API URLs the browser uses are `https://`/`wss://`.
 *
 * Env vars reach Vercel three ways, and the env-var policies read all three:
 * `ProjectEnvironmentVariable` (one per resource), `ProjectEnvironmentVariables.variables[]`
 * and a project's inline `environments[]`.
 */
import {
    isSecretKey,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    secretKeyPatternsSchema,
    secretString,
    Types,
    validateTypes,
} from "./common";

/** One Vercel env var, whichever resource declared it. */
interface EnvVarProps {
    key?: string;
    value?: unknown;
    sensitive?: boolean;
    targets?: string[];
}

const ENV_VAR_TYPES = [Types.vercelEnvVar, Types.vercelEnvVars, Types.vercelProject];

/** The env vars a resource declares. */
function envVarsOf(props: Record<string, unknown>, args: ResourceValidationArgs): EnvVarProps[] {
    switch (args.type) {
        case Types.vercelEnvVar:
            return [props as EnvVarProps];
        case Types.vercelEnvVars:
            return (props.variables as EnvVarProps[] | undefined) ?? [];
        default:
            return (props.environments as EnvVarProps[] | undefined) ?? [];
    }
}

/** Config of {@link vercelProductionBranch}. */
export interface VercelProductionBranchConfig {
    /** The branch production deploys from. @default "main" */
    productionBranch?: string;
}

/** Checks whether a Vercel project deploys production from `productionBranch`. */
export const vercelProductionBranch: ResourceValidationPolicy = {
    name: "vercel-production-branch",
    description:
        "Checks whether every Vercel project deploys production from `productionBranch` (`main`): the " +
        "standard deployment is a merge to `main`, and rollbacks and promotions assume production follows " +
        "it (runbook: Deployments > Standard Deployment, trigger: push to main; Rollbacks > Frontend Rollback).",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            productionBranch: { type: "string", minLength: 1, default: "main" },
        },
    },
    validateResource: validateTypes(Types.vercelProject, (props, args, reportViolation) => {
        const { productionBranch } = args.getConfig<Required<VercelProductionBranchConfig>>();
        const git = props.gitRepository as { productionBranch?: string } | undefined;
        const branch = git?.productionBranch;
        if (branch !== productionBranch) {
            reportViolation(
                `Vercel project ${args.name} must deploy production from branch ${productionBranch} ` +
                    `(gitRepository.productionBranch is ${branch ?? "not set"}).`,
            );
        }
    }),
};

/** Config of {@link vercelSensitiveSecrets}. */
export interface VercelSensitiveSecretsConfig {
    /** Regular expressions for env var names that hold credentials. */
    secretKeyPatterns?: string[];
}

/** Vercel refuses `sensitive` on variables that target only `development` (https://vercel.com/docs/environment-variables/sensitive-environment-variables). */
function developmentOnly(v: EnvVarProps): boolean {
    return Array.isArray(v.targets) && v.targets.length > 0 && v.targets.every((t) => t === "development");
}

/** Checks whether env vars with credential-like names are marked sensitive. */
export const vercelSensitiveSecrets: ResourceValidationPolicy = {
    name: "vercel-sensitive-secrets",
    description:
        "Checks whether every Vercel env var named like a credential (`*_SECRET`, `*_TOKEN`, `*_KEY`, " +
        "`*PASSWORD*`, `DATABASE_URL`, `REDIS_URL`) is marked `sensitive`, so its value cannot be read back " +
        "from the dashboard or API. Variables that target only `development` are exempt: Vercel refuses " +
        "`sensitive` there (runbook: Maintenance > Updating Secrets; Monitoring Checklist, review security scan results).",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            secretKeyPatterns: secretKeyPatternsSchema,
        },
    },
    validateResource: validateTypes(ENV_VAR_TYPES, (props, args, reportViolation) => {
        const { secretKeyPatterns } = args.getConfig<Required<VercelSensitiveSecretsConfig>>();
        for (const v of envVarsOf(props, args)) {
            if (
                typeof v.key === "string" &&
                isSecretKey(v.key, secretKeyPatterns) &&
                v.sensitive !== true &&
                !developmentOnly(v)
            ) {
                reportViolation(`Vercel env var ${v.key} in ${args.name} must be marked sensitive.`);
            }
        }
    }),
};

/** Config of {@link vercelSecureUrls}. */
export interface VercelSecureUrlsConfig {
    /** Hosts that may be reached over `http://`/`ws://` (local development). @default [] */
    allowedInsecureHosts?: string[];
}

const INSECURE_SCHEME = /^(http|ws):\/\//i;

/** The host of a URL, or undefined when it does not parse. */
function hostOf(url: string): string | undefined {
    try {
        return new URL(url).hostname;
    } catch {
        return undefined;
    }
}

/** Checks whether env var values that are URLs use `https://` or `wss://`. */
export const vercelSecureUrls: ResourceValidationPolicy = {
    name: "vercel-secure-urls",
    description:
        "Checks whether every Vercel env var value that is a URL uses `https://` or `wss://` (a value starting " +
        "`http://` or `ws://` is a violation, except for `allowedInsecureHosts`): the game is served over " +
        "HTTPS, browsers block mixed content, and `ws://` would carry session tokens in clear text " +
        "(runbook: Incident Response > WebSocket Disconnections, `wscat -c wss://...`; Maintenance > Certificate Management).",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            allowedInsecureHosts: { type: "array", items: { type: "string", minLength: 1 }, default: [] },
        },
    },
    validateResource: validateTypes(ENV_VAR_TYPES, (props, args, reportViolation) => {
        const { allowedInsecureHosts } = args.getConfig<Required<VercelSecureUrlsConfig>>();
        for (const v of envVarsOf(props, args)) {
            const value = secretString(v.value);
            const scheme = value === undefined ? undefined : INSECURE_SCHEME.exec(value)?.[1].toLowerCase();
            if (value === undefined || scheme === undefined) {
                continue;
            }
            const host = hostOf(value);
            if (host !== undefined && allowedInsecureHosts.includes(host)) {
                continue;
            }
            const secure = scheme === "http" ? "https://" : "wss://";
            reportViolation(`Vercel env var ${v.key} in ${args.name} must use ${secure}, not ${scheme}://.`);
        }
    }),
};
