/**
 * Policies for Neon Postgres: point-in-time recovery window, protection of stateful resources,
 * SSL on the connection string the API uses, and a sane autoscaling range.
 */
import { ResourceValidationPolicy, secretString, Types, unwrapSecret, validateTypes } from "./common";

/** Neon's history retention when `historyRetentionSeconds` is not set (https://neon.com/docs/introduction/branching#restore-window). */
export const NEON_DEFAULT_HISTORY_RETENTION_SECONDS = 86400;

/** Config of {@link neonHistoryRetention}. */
export interface NeonHistoryRetentionConfig {
    /** The shortest point-in-time recovery window allowed, in seconds. @default 604800 (7 days) */
    minHistoryRetentionSeconds?: number;
}

/** Checks whether a Neon project keeps at least `minHistoryRetentionSeconds` of history. */
export const neonHistoryRetention: ResourceValidationPolicy = {
    name: "neon-history-retention",
    description:
        "Checks whether every Neon project keeps at least `minHistoryRetentionSeconds` of history " +
        "(`historyRetentionSeconds`; Neon keeps 86400 when unset): that window is how far back " +
        "Point-in-Time Recovery can restore after data loss or a bad migration (runbook: Disaster Recovery > " +
        "Data Loss, Neon Point-in-Time Recovery; Maintenance > Backup Procedures).",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            // Neon caps the window at 30 days (2592000 s).
            minHistoryRetentionSeconds: { type: "integer", minimum: 0, maximum: 2592000, default: 604800 },
        },
    },
    validateResource: validateTypes(Types.neonProject, (props, args, reportViolation) => {
        const { minHistoryRetentionSeconds } = args.getConfig<Required<NeonHistoryRetentionConfig>>();
        const value = props.historyRetentionSeconds;
        const effective = typeof value === "number" ? value : NEON_DEFAULT_HISTORY_RETENTION_SECONDS;
        if (effective < minHistoryRetentionSeconds) {
            const shown =
                typeof value === "number"
                    ? `historyRetentionSeconds is ${value}`
                    : `historyRetentionSeconds is not set, so Neon keeps ${NEON_DEFAULT_HISTORY_RETENTION_SECONDS}`;
            reportViolation(
                `Neon project ${args.name} must keep at least ${minHistoryRetentionSeconds} seconds of history for point-in-time recovery (${shown}).`,
            );
        }
    }),
};

/** The resource types that hold data a delete would lose. */
export const DEFAULT_STATEFUL_TYPES: string[] = [Types.neonProject, Types.neonBranch, Types.neonDatabase];

/** Config of {@link neonProtectStateful}. */
export interface NeonProtectStatefulConfig {
    /** Whether stateful resources must be protected. @default true */
    requireProtect?: boolean;
    /** Type tokens of the stateful resources. @default Neon projects, branches and databases */
    statefulTypes?: string[];
    /**
     * Branch name prefixes of disposable copies (the pre-migration restore points), which the
     * engine must be free to replace. @default ["restore-point-"]
     */
    disposableBranchPrefixes?: string[];
}

/** The prefix of the restore-point branches (a copy of lib/facts/neon.ts's, held equal by a test). */
export const DEFAULT_DISPOSABLE_BRANCH_PREFIXES: string[] = ["restore-point-"];

/** Checks whether every stateful resource is protected against deletion. */
export const neonProtectStateful: ResourceValidationPolicy = {
    name: "neon-protect-stateful",
    description:
        "Checks whether every stateful resource (Neon projects, branches and databases by default, " +
        "`statefulTypes`) sets `protect` when `requireProtect` is on: deleting one deletes the players' data " +
        "and its point-in-time history with it, and a protected resource makes `pulumi destroy` or a " +
        "replacing change fail instead (runbook: Disaster Recovery > Data Loss; Maintenance > Backup Procedures). " +
        "Branches named as restore points (`disposableBranchPrefixes`) are copies the next migration replaces, and are exempt.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            requireProtect: { type: "boolean", default: true },
            statefulTypes: { type: "array", items: { type: "string", minLength: 1 }, default: DEFAULT_STATEFUL_TYPES },
            disposableBranchPrefixes: {
                type: "array",
                items: { type: "string", minLength: 1 },
                default: DEFAULT_DISPOSABLE_BRANCH_PREFIXES,
            },
        },
    },
    validateResource: (args, reportViolation) => {
        const { requireProtect, statefulTypes, disposableBranchPrefixes } =
            args.getConfig<Required<NeonProtectStatefulConfig>>();
        if (!statefulTypes.includes(args.type)) {
            args.notApplicable(`Policy only applies to the stateful types ${statefulTypes.join(", ")}`);
        }
        const branchName = typeof args.props.name === "string" ? args.props.name : "";
        if (args.type === Types.neonBranch && disposableBranchPrefixes.some((p) => branchName.startsWith(p))) {
            // A restore point is a copy that the next migration replaces: protecting it would fail that update.
            args.notApplicable(`Branch ${branchName} is a restore point (a disposable copy), not the data itself`);
        }
        if (requireProtect && args.opts.protect !== true) {
            reportViolation(`Stateful resource ${args.name} (${args.type}) must set protect: true.`);
        }
    },
};

/** Config of {@link neonConnectionSsl}. */
export interface NeonConnectionSslConfig {
    /** Secret names that hold a Postgres connection string. @default ["DATABASE_URL"] */
    connectionStringKeys?: string[];
    /** `sslmode` values that count as requiring SSL. @default ["require", "verify-ca", "verify-full"] */
    allowedSslModes?: string[];
}

/** The `sslmode` of a connection string: URL query (`?sslmode=require`) or libpq key/value form. */
export function sslMode(connectionString: string): string | undefined {
    const match = /(?:^|[?&\s])sslmode=([^&\s#]+)/i.exec(connectionString);
    return match ? decodeURIComponent(match[1]).toLowerCase() : undefined;
}

/** Checks whether the API's Postgres connection string requires SSL. */
export const neonConnectionSsl: ResourceValidationPolicy = {
    name: "neon-connection-ssl",
    description:
        "Checks whether the Postgres connection string the API gets (`DATABASE_URL` in `fly:index:AppSecrets`) " +
        "requires SSL (`sslmode=require`, or `verify-ca`/`verify-full`): Neon refuses clear-text connections, " +
        "and the runbook's fix for SSL errors is this parameter (runbook: Incident Response > Database " +
        "Connection Errors, verify `?sslmode=require` in DATABASE_URL). The value is a secret: the policy SDK " +
        "hands it over in plain text, and a `{4dabf…: 1b47…, value}` or `Secret` wrapper is unwrapped too; " +
        "the value is never printed.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            connectionStringKeys: { type: "array", items: { type: "string", minLength: 1 }, default: ["DATABASE_URL"] },
            allowedSslModes: {
                type: "array",
                items: { type: "string", enum: ["require", "verify-ca", "verify-full"] },
                minItems: 1,
                default: ["require", "verify-ca", "verify-full"],
            },
        },
    },
    validateResource: validateTypes(Types.flyAppSecrets, (props, args, reportViolation) => {
        const { connectionStringKeys, allowedSslModes } = args.getConfig<Required<NeonConnectionSslConfig>>();
        const values = unwrapSecret(props.values);
        if (values === null || typeof values !== "object") {
            return;
        }
        for (const key of connectionStringKeys) {
            if (!(key in values)) {
                continue;
            }
            const url = secretString((values as Record<string, unknown>)[key]);
            const mode = url === undefined ? undefined : sslMode(url);
            if (mode === undefined || !allowedSslModes.includes(mode)) {
                reportViolation(`${key} in ${args.name} must require SSL: set sslmode=require in its query string.`);
            }
        }
    }),
};

/** Checks whether Neon autoscaling's maximum is at or above its minimum. */
export const neonAutoscalingRange: ResourceValidationPolicy = {
    name: "neon-autoscaling-range",
    description:
        "Checks whether Neon autoscaling's maximum compute (`autoscalingLimitMaxCu`) is at or above its " +
        "minimum (`autoscalingLimitMinCu`), on a project's default endpoint settings and on endpoints: Neon " +
        "rejects an inverted range, so the update would fail halfway, and the range is what lets compute grow " +
        "under load (runbook: Scaling > Database Scaling, Neon auto-scales compute).",
    enforcementLevel: "mandatory",
    validateResource: validateTypes([Types.neonProject, Types.neonEndpoint], (props, args, reportViolation) => {
        const settings = (args.type === Types.neonProject ? (props.defaultEndpointSettings ?? {}) : props) as {
            autoscalingLimitMinCu?: number;
            autoscalingLimitMaxCu?: number;
        };
        const min = settings.autoscalingLimitMinCu;
        const max = settings.autoscalingLimitMaxCu;
        if (typeof min === "number" && typeof max === "number" && max < min) {
            const kind = args.type === Types.neonProject ? "Neon project" : "Neon endpoint";
            reportViolation(
                `${kind} ${args.name} must set autoscalingLimitMaxCu (${max}) at or above autoscalingLimitMinCu (${min}).`,
            );
        }
    }),
};
