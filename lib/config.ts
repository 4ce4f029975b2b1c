/**
 * The stack configuration, parsed once into a typed object.
 *
 * Every key lives under the project's namespace (`fpsgame-infra:`) in `Pulumi.<stack>.yaml`
 * and is described in `Pulumi.yaml`. `parseStackConfig` validates all of it before any
 * resource is registered and reports every problem at once, each naming the key, the value
 * (shortened when long, never for a credential) and what is allowed, so a bad edit fails the
 * preview instead of half-applying:
 * - every field of every section is checked, and a wrong type in one field hides nothing else;
 * - fields that constrain each other are checked against each other whenever those fields are
 *   valid, even when another field of the same section is not;
 * - unknown keys are reported at every level, with a suggestion when one is close;
 * - a credential in the plain `api.env` is refused, with the secure key to use instead.
 * The limits of the clouds come from `lib/facts/`, which the Fly provider checks with too.
 */
import leven from "leven";
import { z } from "zod";
import { credentialProblems } from "./credentials";
import { parseGoDuration } from "./facts/durations";
import {
    FLY_CPU_COUNTS,
    FLY_CPU_KINDS,
    FLY_REGIONS,
    flyMemoryRangeMb,
    isFlyCpuCount,
    isFlyMemory,
    isFlyRegion,
} from "./facts/fly";
import { NEON_CU, NEON_REGIONS } from "./facts/neon";
import { hasCredentialsInUrl, isSecretEnvKey, SECRET_ENV_KEY_RULE } from "./facts/secrets";
import { UPSTASH_REGIONS } from "./facts/upstash";
import { PUBLIC_ENV_PREFIXES } from "./facts/vercel";
import { FORBIDDEN_REVIEW_BASES, MAX_PULL_REQUEST, reviewPullRequest } from "./review";

/** The config namespace: the project name in `Pulumi.yaml`. */
export const CONFIG_NAMESPACE = "fpsgame-infra";

/**
 * Every key the project knows under its namespace; any other is reported. `Pulumi.yaml` declares
 * each of them but the {@link OPTIONAL_SECTIONS}, which it describes in a comment.
 */
export const CONFIG_KEYS = [
    "api",
    "frontend",
    "database",
    "redis",
    "jwtSecret",
    "flyApiToken",
    "localCloud",
    "review",
] as const;

/** Values longer than this (as JSON) are shortened in messages. */
export const MAX_SHOWN_VALUE_CHARS = 60;

// registry/repository:tag, registry/repository@sha256:<64 hex>, or both.
const IMAGE_REF =
    /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::\d+)?(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;
const DNS_NAME = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const ENV_KEY = /^[A-Z_][A-Z0-9_]*$/;
const SQL_IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

const listOf = (allowed: readonly (string | number)[]) => allowed.join(", ");

// Field builders: each gives its type error the same words as its format error, so a value of the
// wrong type is told what is allowed, never zod's "expected string, received number".
const text = (allowed: string) => z.string(allowed).min(1, allowed);
const pattern = (re: RegExp, allowed: string) => z.string(allowed).regex(re, allowed);
const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
    z.enum(values, `must be one of ${listOf(values)}`);
const flag = () => z.boolean("must be true or false");
const int = (min: number, max: number) => {
    const allowed = `must be a whole number from ${min} to ${max}`;
    return z.number(allowed).int(allowed).min(min, allowed).max(max, allowed);
};
const DURATION_ALLOWED = "must be a Go duration above zero, such as 15s, 1.5s, 500ms or 1m30s";
const duration = () => z.string(DURATION_ALLOWED).refine((v) => (parseGoDuration(v) ?? 0) > 0, DURATION_ALLOWED);
const envKey = () => pattern(ENV_KEY, "must be an UPPER_SNAKE_CASE name");
const urlPath = () => z.string("must be a path starting with /").startsWith("/", "must be a path starting with /");
// A counter, not a date: each raise is one rotation, the diff reads `1 -> 2`, two rotations on
// one day stay two, and no time zone or format can make two values mean the same.
const ROTATION_ALLOWED =
    "must be a whole number from 0 (no rotation yet) to 1000000; raise it by one to issue a new password";
const rotationCounter = () =>
    z.number(ROTATION_ALLOWED).int(ROTATION_ALLOWED).min(0, ROTATION_ALLOWED).max(1_000_000, ROTATION_ALLOWED);
const gitRef = () =>
    pattern(
        /^(?!-)(?!.*\.\.)[A-Za-z0-9._/-]{1,255}$/,
        "must be a git commit SHA or branch name (letters, digits, '.', '_', '/', '-'; no '..')",
    );
const cu = () => {
    const allowed = `must be a number of compute units from ${NEON_CU.min} to ${NEON_CU.max}`;
    return z.number(allowed).min(NEON_CU.min, allowed).max(NEON_CU.max, allowed);
};

const FLY_REGION_ALLOWED = `must be a Fly region: ${listOf(FLY_REGIONS)}`;
const UPSTASH_REGION_ALLOWED = `must be an Upstash region: ${listOf(UPSTASH_REGIONS)}`;

const apiSchema = z.strictObject({
    /** The Fly app name (global across Fly). */
    appName: pattern(/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/, "must be 3–63 lowercase letters, digits or dashes"),
    /** The Fly organization slug. */
    org: text("must be a Fly organization slug, not empty").default("personal"),
    /** The API image: `registry/repo:tag`, `registry/repo@sha256:…`, or both. */
    image: pattern(IMAGE_REF, "must be an image reference like registry.fly.io/fpsgame-api:v1.2.3 or …@sha256:<64 hex>")
        // A bare name would deploy whatever `latest` is at the time.
        .refine(
            (s) => /:[^/]+$/.test(s) || s.includes("@sha256:"),
            "must carry a tag (:v1.2.3) or a digest (@sha256:…)",
        ),
    /** The region Fly treats as primary (min_machines_running applies there); must be in `regions`. */
    primaryRegion: z.string(FLY_REGION_ALLOWED).refine(isFlyRegion, FLY_REGION_ALLOWED),
    /** Fly region code -> number of machines created there. Autostart wakes stopped ones as load rises. */
    regions: z.record(z.string(), int(1, 20), "must map Fly region codes to machine counts, like {sjc: 3, iad: 3}"),
    autoscale: z
        .strictObject({
            /** Machines kept running when idle. */
            minMachinesRunning: int(0, 20).default(1),
            autostop: oneOf(["off", "stop", "suspend"]).default("stop"),
            autostart: flag().default(true),
        })
        .default({ minMachinesRunning: 1, autostop: "stop", autostart: true }),
    vm: z.strictObject({
        cpuKind: oneOf(FLY_CPU_KINDS).default("shared"),
        cpus: int(1, Math.max(...Object.values(FLY_CPU_COUNTS).flat())),
        memoryMb: z.number("must be a whole number of MB").int("must be a whole number of MB"),
    }),
    /** The port the API listens on inside the machine. */
    internalPort: int(1, 65535).default(8080),
    /** WebSocket-friendly concurrency: counted in connections. */
    concurrency: z
        .strictObject({ softLimit: int(1, 100000), hardLimit: int(1, 100000) })
        .default({ softLimit: 200, hardLimit: 250 }),
    paths: z
        .strictObject({
            health: urlPath().default("/healthz"),
            ready: urlPath().default("/readyz"),
            metrics: urlPath().default("/metrics"),
            websocket: urlPath().default("/ws"),
        })
        .default({ health: "/healthz", ready: "/readyz", metrics: "/metrics", websocket: "/ws" }),
    checks: z
        .strictObject({
            interval: duration().default("15s"),
            timeout: duration().default("2s"),
            gracePeriod: duration().default("10s"),
            /** How long a create or update waits for the machine's checks to pass. */
            waitTimeoutSeconds: int(10, 1800).default(300),
        })
        .default({ interval: "15s", timeout: "2s", gracePeriod: "10s", waitTimeoutSeconds: 300 }),
    /** Rolling updates: how many machines change at once. */
    rollout: z
        .strictObject({
            maxParallel: int(1, 100).optional(),
            fraction: z
                .number("must be a number above 0 and at most 1")
                .gt(0, "must be a number above 0 and at most 1")
                .max(1, "must be a number above 0 and at most 1")
                .optional(),
        })
        .default({}),
    /** Plain, non-secret environment for the API. */
    env: z
        .record(
            envKey(),
            z.string("must be a string (quote numbers and booleans)"),
            "must map env var names to strings",
        )
        .default({}),
    /** A custom domain: gets a certificate and becomes the public API URL. */
    customDomain: pattern(DNS_NAME, "must be a DNS name like api.example.com").optional(),
});

const frontendSchema = z.strictObject({
    /** The Vercel project name. */
    projectName: pattern(
        /^[a-z0-9][a-z0-9._-]{0,99}$/,
        "must be lowercase letters, digits, dots, dashes or underscores",
    ),
    /** The Vercel framework preset, e.g. `vite` or `nextjs`. */
    framework: text("must be a Vercel framework preset such as vite or nextjs").default("vite"),
    gitRepository: z.strictObject({
        type: oneOf(["github", "gitlab", "bitbucket"]).default("github"),
        repo: pattern(/^[\w.-]+\/[\w.-]+$/, "must be owner/name"),
        productionBranch: text("must be a branch name, not empty").default("main"),
    }),
    /**
     * The git ref Vercel builds the production deployment from: a commit SHA (pinned: a rollback
     * of the stack redeploys exactly that commit) or a branch (follows the branch at each
     * build). Changing it is a frontend deploy; restoring an older entry is a frontend rollback.
     * Defaults to `gitRepository.productionBranch`.
     */
    ref: gitRef().optional(),
    /** The production domain, e.g. play.example.com. */
    domain: pattern(DNS_NAME, "must be a DNS name like play.example.com").optional(),
    /** Env var names the frontend reads the API's URLs from. */
    apiUrlEnvKey: envKey().default("VITE_API_URL"),
    wsUrlEnvKey: envKey().default("VITE_WS_URL"),
    /** Vercel targets that get the API URLs. */
    envTargets: z
        .array(oneOf(["production", "preview", "development"]), "must be a list of production, preview, development")
        .min(1, "must name at least one of production, preview, development")
        .default(["production", "preview"]),
});

const databaseSchema = z.strictObject({
    projectName: text("must be a Neon project name, not empty"),
    regionId: z
        .string(`must be a Neon region: ${listOf(NEON_REGIONS)}`)
        .refine(
            (v) => (NEON_REGIONS as readonly string[]).includes(v),
            `must be a Neon region: ${listOf(NEON_REGIONS)}`,
        ),
    pgVersion: z
        .union(
            [z.literal(14), z.literal(15), z.literal(16), z.literal(17), z.literal(18)],
            "must be one of 14, 15, 16, 17, 18",
        )
        .default(16),
    /** Point-in-time recovery window. Neon caps it at 30 days. */
    historyRetentionDays: int(0, 30).default(7),
    autoscaling: z.strictObject({ minCu: cu(), maxCu: cu() }).default({ minCu: 0.25, maxCu: 1 }),
    /** Idle seconds before compute suspends (0 = Neon's default, -1 = never). */
    suspendTimeoutSeconds: z
        .number("must be -1 (never), 0 (Neon's default) or a whole number of seconds up to 604800")
        .int("must be -1 (never), 0 (Neon's default) or a whole number of seconds up to 604800")
        .min(-1, "must be -1 (never), 0 (Neon's default) or a whole number of seconds up to 604800")
        .max(604800, "must be -1 (never), 0 (Neon's default) or a whole number of seconds up to 604800")
        .default(0),
    databaseName: pattern(SQL_IDENTIFIER, "must be a lowercase SQL identifier").default("fpsgame"),
    ownerRole: pattern(SQL_IDENTIFIER, "must be a lowercase SQL identifier").default("fpsgame_owner"),
    /** Refuse deletion of the database project (`protect`). On in prod. */
    protect: flag().default(true),
    /** Migration version to hold the schema at: `latest`, or a number to roll back to. */
    migrateTo: z
        .union([z.literal("latest"), z.number().int().min(0)], 'must be "latest" or a migration number (0 or more)')
        .default("latest"),
    /**
     * Let a move down drop a table holding rows or a column holding values. Off: the migration
     * runner refuses such a move with nothing changed. Set it for the one update that needs it.
     */
    allowDataLoss: flag().default(false),
    /**
     * Password rotations of the owner role so far. Raising it makes the next `up` reset the
     * role's password on Neon (with `neon:apiKey`) and roll the API's machines onto the new
     * DATABASE_URL; the old password stops working. 0 (the default): never rotated, the
     * password the project was created with.
     */
    passwordRotation: rotationCounter().default(0),
});

const redisSchema = z.strictObject({
    databaseName: text("must be an Upstash database name, not empty"),
    primaryRegion: z
        .string(UPSTASH_REGION_ALLOWED)
        .refine((v) => (UPSTASH_REGIONS as readonly string[]).includes(v), UPSTASH_REGION_ALLOWED),
    readRegions: z
        .array(
            z
                .string(UPSTASH_REGION_ALLOWED)
                .refine((v) => (UPSTASH_REGIONS as readonly string[]).includes(v), UPSTASH_REGION_ALLOWED),
            "must be a list of Upstash regions",
        )
        .refine((rs) => new Set(rs).size === rs.length, "must not name a region twice")
        .default([]),
    /** Evict keys when memory is full (game sessions are cache-like) instead of failing writes. */
    eviction: flag(),
    /** Monthly budget cap in USD; Upstash throttles the database when it is reached. */
    budgetUsd: int(1, 100000),
    autoScale: flag().default(false),
    /**
     * Password rotations of the database so far. Raising it makes the next `up` reset the
     * password on Upstash (with `upstash:email` and `upstash:apiKey`) and roll the API's machines
     * onto the new REDIS_URL; the old password stops working. 0 (the default): never rotated.
     */
    passwordRotation: rotationCounter().default(0),
});

/**
 * A review stack's own part (see lib/review.ts, which writes it): the pull request it belongs to
 * and the stack it is derived from. Present only in a `pr-<n>` stack's file.
 */
const reviewSchema = z.strictObject({
    pullRequest: int(1, MAX_PULL_REQUEST),
    baseStack: pattern(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, "must be a stack name").refine(
        (s) => !FORBIDDEN_REVIEW_BASES.includes(s),
        `must not be ${FORBIDDEN_REVIEW_BASES.join(" or ")}: a review stack never copies or points at its resources`,
    ),
    /** The pull request's head branch: the Vercel preview env vars are scoped to it. */
    gitBranch: gitRef(),
    /** The head commit the preview deployment builds. @default gitBranch */
    ref: gitRef().optional(),
});

/** The plain (non-secret) part of the stack config, as written in `Pulumi.<stack>.yaml`. */
export type ApiConfig = z.infer<typeof apiSchema>;
export type FrontendConfig = z.infer<typeof frontendSchema>;
export type DatabaseConfig = z.infer<typeof databaseSchema>;
export type RedisConfig = z.infer<typeof redisSchema>;
export type ReviewConfig = z.infer<typeof reviewSchema>;

// ------------------------------------------------------------------------------------------------
// Checks across fields. Each runs when the fields it compares are valid, whatever else in the
// section is wrong, so fixing one problem never uncovers another that was there all along.

/** One problem found by a cross-field check: where, what, and (unless secret) the value shown. */
interface CrossProblem {
    path: (string | number)[];
    message: string;
    /** The value to show; omitted for credentials, which are never printed. */
    input?: unknown;
    secret?: boolean;
}

/** A cross-field check of one section: gets the section's values and whether a field is valid. */
type CrossCheck<T> = (v: T, valid: (...paths: string[]) => boolean) => CrossProblem[];

const apiChecks: CrossCheck<ApiConfig> = (api, valid) => {
    const out: CrossProblem[] = [];
    const regions = isPlainObject(api.regions) ? api.regions : undefined;
    if (regions !== undefined) {
        for (const region of Object.keys(regions).filter((r) => !isFlyRegion(r))) {
            out.push({
                path: ["regions", region],
                message: `"${region}" is not a Fly region; allowed: ${listOf(FLY_REGIONS)}`,
                input: regions[region],
            });
        }
        if (Object.keys(regions).length === 0) {
            out.push({ path: ["regions"], message: "must name at least one region, like {sjc: 3}", input: regions });
        }
        if (valid("primaryRegion") && Object.keys(regions).length > 0 && !(api.primaryRegion in regions)) {
            out.push({
                path: ["primaryRegion"],
                message: `must be one of the configured regions (${Object.keys(regions).join(", ")})`,
                input: api.primaryRegion,
            });
        }
        // Compare against the counts that are themselves valid; the others are reported already.
        const counts = Object.entries(regions)
            .filter(([region]) => valid(`regions.${region}`))
            .sort((a, b) => a[1] - b[1]);
        if (valid("autoscale.minMachinesRunning") && counts.length > 0) {
            const [region, count] = counts[0];
            if (api.autoscale.minMachinesRunning > count) {
                out.push({
                    path: ["autoscale", "minMachinesRunning"],
                    message: `must be at most the smallest region's machine count (${region} has ${count})`,
                    input: api.autoscale.minMachinesRunning,
                });
            }
        }
    }
    if (valid("vm.cpuKind", "vm.cpus")) {
        const { cpuKind, cpus, memoryMb } = api.vm;
        if (!isFlyCpuCount(cpuKind, cpus)) {
            out.push({
                path: ["vm", "cpus"],
                message: `must be one of ${listOf(FLY_CPU_COUNTS[cpuKind])} for ${cpuKind} CPUs`,
                input: cpus,
            });
        } else if (valid("vm.memoryMb") && !isFlyMemory(cpuKind, cpus, memoryMb)) {
            const { min, max } = flyMemoryRangeMb(cpuKind, cpus);
            out.push({
                path: ["vm", "memoryMb"],
                message: `is not allowed for ${cpus} ${cpuKind} CPU(s); allowed: a multiple of 256 from ${min} to ${max} MB`,
                input: memoryMb,
            });
        }
    }
    if (valid("concurrency.softLimit", "concurrency.hardLimit")) {
        const { softLimit, hardLimit } = api.concurrency;
        if (softLimit > hardLimit) {
            out.push({
                path: ["concurrency", "softLimit"],
                message: `must not exceed hardLimit (${hardLimit})`,
                input: softLimit,
            });
        }
    }
    if (valid("checks.interval", "checks.timeout")) {
        const { interval, timeout } = api.checks;
        if ((parseGoDuration(timeout) ?? 0) >= (parseGoDuration(interval) ?? 0)) {
            out.push({
                path: ["checks", "timeout"],
                message: `must be shorter than interval (${interval}), or one check would still run when the next starts`,
                input: timeout,
            });
        }
    }
    if (valid("checks.gracePeriod", "checks.waitTimeoutSeconds")) {
        const { gracePeriod, waitTimeoutSeconds } = api.checks;
        if ((parseGoDuration(gracePeriod) ?? 0) >= waitTimeoutSeconds * 1e9) {
            out.push({
                path: ["checks", "gracePeriod"],
                message:
                    `must be shorter than waitTimeoutSeconds (${waitTimeoutSeconds}), or no machine could pass ` +
                    `its first check before the deploy stops waiting`,
                input: gracePeriod,
            });
        }
    }
    if (valid("rollout.maxParallel", "rollout.fraction")) {
        if (api.rollout.maxParallel !== undefined && api.rollout.fraction !== undefined) {
            out.push({ path: ["rollout"], message: "set maxParallel or fraction, not both", input: api.rollout });
        }
    }
    const pathKeys = ["health", "ready", "metrics", "websocket"] as const;
    pathKeys.forEach((key, i) => {
        const earlier = pathKeys.slice(0, i).find((k) => valid(`paths.${k}`) && api.paths[k] === api.paths[key]);
        if (earlier !== undefined && valid(`paths.${key}`)) {
            out.push({ path: ["paths", key], message: `must differ from paths.${earlier}`, input: api.paths[key] });
        }
    });
    if (isPlainObject(api.env)) {
        for (const [key, value] of Object.entries(api.env)) {
            if (isSecretEnvKey(key)) {
                out.push({ path: ["env", key], message: plainEnvCredential(key), secret: true });
            } else if (typeof value === "string" && hasCredentialsInUrl(value)) {
                out.push({
                    path: ["env", key],
                    message:
                        "must not embed a password in a URL: plain env is stored and shown in clear text; " +
                        "pass it to the API as a secret from a secure config key (`pulumi config set --secret <key>`), as jwtSecret is",
                    secret: true,
                });
            }
        }
    }
    return out;
};

/** Where a credential found in `api.env` belongs instead. */
function plainEnvCredential(key: string): string {
    const why = `is a credential (${SECRET_ENV_KEY_RULE}) and plain env is stored and shown in clear text`;
    switch (key.toUpperCase()) {
        case "JWT_SECRET":
            return `${why}: remove it and set the secure key ${CONFIG_NAMESPACE}:jwtSecret instead (\`pulumi config set --secret jwtSecret\`); the program passes it to the API as the Fly secret JWT_SECRET`;
        case "DATABASE_URL":
            return `${why}: remove it; the program sets DATABASE_URL as a Fly secret from the Neon database (\`${CONFIG_NAMESPACE}:database\`)`;
        case "REDIS_URL":
            return `${why}: remove it; the program sets REDIS_URL as a Fly secret from the Upstash database (\`${CONFIG_NAMESPACE}:redis\`)`;
        default:
            return `${why}: keep it in a secure config key (\`pulumi config set --secret <key>\`) that the program passes to the API as a Fly secret, as it does ${CONFIG_NAMESPACE}:jwtSecret`;
    }
}

const frontendChecks: CrossCheck<FrontendConfig> = (f, valid) => {
    const out: CrossProblem[] = [];
    if (valid("apiUrlEnvKey", "wsUrlEnvKey") && f.apiUrlEnvKey === f.wsUrlEnvKey) {
        out.push({
            path: ["wsUrlEnvKey"],
            message: "must differ from apiUrlEnvKey, or the API URL would be overwritten by the WebSocket URL",
            input: f.wsUrlEnvKey,
        });
    }
    const prefix = valid("framework") ? PUBLIC_ENV_PREFIXES[f.framework] : undefined;
    for (const key of ["apiUrlEnvKey", "wsUrlEnvKey"] as const) {
        if (prefix !== undefined && valid(key) && !f[key].startsWith(prefix)) {
            out.push({
                path: [key],
                message: `must start with ${prefix}, or ${f.framework} (the framework) keeps it out of the browser bundle`,
                input: f[key],
            });
        }
    }
    return out;
};

const databaseChecks: CrossCheck<DatabaseConfig> = (db, valid) => {
    const out: CrossProblem[] = [];
    if (valid("autoscaling.minCu", "autoscaling.maxCu")) {
        const { minCu, maxCu } = db.autoscaling;
        if (maxCu < minCu) {
            out.push({ path: ["autoscaling", "maxCu"], message: `must not be below minCu (${minCu})`, input: maxCu });
        } else if (maxCu - minCu > NEON_CU.maxAutoscalingRange) {
            out.push({
                path: ["autoscaling", "maxCu"],
                message: `must be at most ${NEON_CU.maxAutoscalingRange} CU above minCu (${minCu}): Neon's widest autoscaling range`,
                input: maxCu,
            });
        }
    }
    return out;
};

const redisChecks: CrossCheck<RedisConfig> = (r, valid) => {
    if (valid("primaryRegion", "readRegions") && r.readRegions.includes(r.primaryRegion)) {
        return [
            {
                path: ["readRegions"],
                message: `must not include the primary region ${r.primaryRegion}`,
                input: r.readRegions,
            },
        ];
    }
    return [];
};

const noChecks: CrossCheck<unknown> = () => [];

const sections = {
    api: { schema: apiSchema, checks: apiChecks },
    frontend: { schema: frontendSchema, checks: frontendChecks },
    database: { schema: databaseSchema, checks: databaseChecks },
    redis: { schema: redisSchema, checks: redisChecks },
    review: { schema: reviewSchema, checks: noChecks },
} as const;
type Section = keyof typeof sections;
/**
 * Sections a stack may leave out: `review` is only a review stack's. They are the keys
 * `Pulumi.yaml` does not declare (only describes in a comment): Pulumi refuses every stack that
 * lacks a declared key with no default, and an object key can have none.
 */
export const OPTIONAL_SECTIONS: readonly Section[] = ["review"];

/** The validated stack config. Secrets are whatever secret wrapper the caller passed in. */
export interface StackConfig<S> {
    api: ApiConfig;
    frontend: FrontendConfig;
    database: DatabaseConfig;
    redis: RedisConfig;
    /** Set only on a review stack (`pr-<n>`): its pull request and base stack. */
    review?: ReviewConfig;
    /**
     * `neonApiKey` and `upstashApiKey` (with `upstashEmail`) are the providers' credentials,
     * present when the stack sets them; the password resets call the APIs with them.
     */
    secrets: { jwtSecret: S; neonApiKey?: S; upstashApiKey?: S };
    upstashEmail?: string;
}

/** Raw values as read from config: plain objects, plus secrets (already wrapped by the caller). */
export interface RawStackConfig<S> {
    api?: unknown;
    frontend?: unknown;
    database?: unknown;
    redis?: unknown;
    review?: unknown;
    /** The stack's name: a review stack must be named `pr-<its pull request>`. Not checked when omitted. */
    stack?: string;
    jwtSecret?: S;
    /** `neon:apiKey`, `upstash:apiKey` (secrets) and `upstash:email`: needed when a password is rotated. */
    neonApiKey?: S;
    upstashApiKey?: S;
    upstashEmail?: string;
    /**
     * Every key set under the project's namespace in the stack (without the `fpsgame-infra:`
     * prefix), so that unknown ones are reported. Not checked when omitted.
     */
    keys?: readonly string[];
    /**
     * For a real (not local-cloud) stack: its name and the decrypted values of its secure keys,
     * checked against the committed placeholder and a minimum strength (`lib/credentials.ts`);
     * compared only, never kept or printed. Not checked when omitted.
     */
    credentials?: { readonly stack: string; readonly values: Readonly<Record<string, string | undefined>> };
}

/** Thrown when the stack config is invalid; `problems` holds one line per problem. */
export class StackConfigError extends Error {
    constructor(public readonly problems: string[]) {
        super(
            `Invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
                problems.map((p) => `  - ${p}`).join("\n") +
                `\nFix the values in Pulumi.<stack>.yaml (or with \`pulumi config set --path <key> <value>\`); nothing was deployed.`,
        );
        this.name = "StackConfigError";
    }
}

/**
 * Validates the raw config, fills defaults, and returns the typed config. Throws one
 * `StackConfigError` listing every problem.
 */
export function parseStackConfig<S>(raw: RawStackConfig<S>): StackConfig<S> {
    const problems: string[] = [];
    for (const key of raw.keys ?? []) {
        if (!(CONFIG_KEYS as readonly string[]).includes(key)) {
            problems.push(
                `${CONFIG_NAMESPACE}:${key}: unknown key${didYouMean(key, CONFIG_KEYS, `${CONFIG_NAMESPACE}:`)}; the project's keys are: ${CONFIG_KEYS.join(", ")}`,
            );
        }
    }
    const parsed: Partial<Record<Section, unknown>> = {};
    for (const key of Object.keys(sections) as Section[]) {
        const value = raw[key];
        if (value === undefined && OPTIONAL_SECTIONS.includes(key)) continue;
        if (value === undefined) {
            problems.push(`${CONFIG_NAMESPACE}:${key}: missing; it is required (see Pulumi.yaml for its fields)`);
            continue;
        }
        const result = validateSection(key, value);
        if (result.problems.length === 0) {
            parsed[key] = result.data;
        }
        problems.push(...result.problems);
    }
    if (raw.jwtSecret === undefined) {
        problems.push(
            `${CONFIG_NAMESPACE}:jwtSecret: missing; it is required as a secret: \`pulumi config set --secret jwtSecret <value>\``,
        );
    }
    problems.push(...rotationProblems(raw, parsed as { database?: DatabaseConfig; redis?: RedisConfig }));
    problems.push(...reviewProblems(raw, parsed.review as ReviewConfig | undefined));
    if (raw.credentials !== undefined) {
        problems.push(...credentialProblems(raw.credentials.values, raw.credentials.stack));
    }
    if (problems.length > 0) {
        throw new StackConfigError([...new Set(problems)]);
    }
    return {
        api: parsed.api as ApiConfig,
        frontend: parsed.frontend as FrontendConfig,
        database: parsed.database as DatabaseConfig,
        redis: parsed.redis as RedisConfig,
        ...(parsed.review !== undefined ? { review: parsed.review as ReviewConfig } : {}),
        secrets: {
            jwtSecret: raw.jwtSecret as S,
            ...(raw.neonApiKey !== undefined ? { neonApiKey: raw.neonApiKey } : {}),
            ...(raw.upstashApiKey !== undefined ? { upstashApiKey: raw.upstashApiKey } : {}),
        },
        ...(raw.upstashEmail !== undefined ? { upstashEmail: raw.upstashEmail } : {}),
    };
}

/**
 * A rotation needs the API credentials it resets the password with; a missing one is reported
 * at preview, with the command that sets it, rather than by the reset in the middle of an up.
 */
function rotationProblems<S>(
    raw: RawStackConfig<S>,
    parsed: { database?: DatabaseConfig; redis?: RedisConfig },
): string[] {
    const problems: string[] = [];
    const needs = (key: string, rotation: number, missing: string[], api: string) => {
        if (rotation > 0 && missing.length > 0) {
            problems.push(
                `${CONFIG_NAMESPACE}:${key}.passwordRotation = ${rotation}: the reset calls ${api} with ${missing.join(" and ")}, which the stack does not set: ${missing
                    .map((k) =>
                        k.endsWith(":email")
                            ? `\`pulumi config set ${k} <account email>\``
                            : `\`pulumi config set --secret ${k}\``,
                    )
                    .join(", ")}`,
            );
        }
    };
    if (parsed.database !== undefined) {
        needs(
            "database",
            parsed.database.passwordRotation,
            raw.neonApiKey === undefined ? ["neon:apiKey"] : [],
            "Neon's API",
        );
    }
    if (parsed.redis !== undefined) {
        const missing = [
            ...(raw.upstashEmail === undefined || raw.upstashEmail === "" ? ["upstash:email"] : []),
            ...(raw.upstashApiKey === undefined ? ["upstash:apiKey"] : []),
        ];
        needs("redis", parsed.redis.passwordRotation, missing, "Upstash's API");
    }
    return problems;
}

/**
 * A review stack is named after its pull request (the commands find it by that name), and it
 * reads its database's connection string from Neon's API, with `neon:apiKey`; a stack named like
 * one without the section is not one, and is refused rather than deployed as a full stack.
 */
function reviewProblems<S>(raw: RawStackConfig<S>, review: ReviewConfig | undefined): string[] {
    const problems: string[] = [];
    const pr = raw.stack === undefined ? undefined : reviewPullRequest(raw.stack);
    if (review !== undefined && raw.stack !== undefined && pr !== review.pullRequest) {
        problems.push(
            `${CONFIG_NAMESPACE}:review.pullRequest = ${review.pullRequest}: the stack is named ${raw.stack}; a review stack is named pr-${review.pullRequest} (npm run review writes its file)`,
        );
    }
    if (review === undefined && pr !== undefined && raw.review === undefined) {
        problems.push(
            `${CONFIG_NAMESPACE}:review: missing; ${raw.stack} is named like a review stack, whose file npm run review -- up --pr ${pr} writes`,
        );
    }
    if (review !== undefined && raw.neonApiKey === undefined) {
        problems.push(
            `${CONFIG_NAMESPACE}:review: a review stack reads its branch's connection string from Neon's API with neon:apiKey, which the stack does not set: \`pulumi config set --secret neon:apiKey\``,
        );
    }
    return problems;
}

/** Parses one section: its fields, then every cross-field check whose fields are valid. */
function validateSection(section: Section, value: unknown): { data: unknown; problems: string[] } {
    const { schema, checks } = sections[section];
    const checked = (schema as z.ZodType).superRefine(
        (v, ctx) => {
            const issues = ctx.issues.filter((i) => i.code !== "unrecognized_keys");
            const valid = (...paths: string[]) =>
                paths.every((p) => {
                    const target = p.split(".");
                    return !issues.some((i) => {
                        const at = (i.path ?? []).map(String);
                        const n = Math.min(at.length, target.length);
                        return at.slice(0, n).every((s, k) => s === target[k]);
                    });
                });
            for (const problem of (checks as unknown as CrossCheck<unknown>)(v, valid)) {
                ctx.addIssue({
                    code: "custom",
                    path: problem.path,
                    message: problem.message,
                    input: problem.input,
                    params: { secret: problem.secret === true },
                });
            }
        },
        // Run even when fields failed: each check asks `valid` about the fields it compares.
        { when: (payload) => isPlainObject(payload.value) },
    );
    const result = checked.safeParse(value, { error: inOurWords, reportInput: true });
    if (result.success) {
        return { data: result.data, problems: [] };
    }
    return { data: undefined, problems: result.error.issues.flatMap((issue) => describeIssue(section, value, issue)) };
}

/**
 * The message of an issue no field gave its own words to: what is allowed, never zod's default
 * ("Invalid input: expected string, received number").
 */
function inOurWords(issue: z.core.$ZodRawIssue): string {
    switch (issue.code) {
        case "invalid_type":
            return `must be ${TYPE_WORDS[issue.expected] ?? `a ${issue.expected}`}`;
        case "too_small":
            return `must be at least ${String(issue.minimum)}`;
        case "too_big":
            return `must be at most ${String(issue.maximum)}`;
        case "invalid_value":
            return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
        case "not_multiple_of":
            return `must be a multiple of ${String(issue.divisor)}`;
        default:
            return "is not an allowed value (see Pulumi.yaml for this key)";
    }
}

const TYPE_WORDS: Record<string, string> = {
    string: "a string",
    number: "a number",
    int: "a whole number",
    boolean: "true or false",
    object: "a mapping of keys to values",
    record: "a mapping of keys to values",
    array: "a list",
};

function describeIssue(section: string, root: unknown, issue: z.core.$ZodIssue): string[] {
    const key = configKey(section, issue.path);
    if (issue.code === "unrecognized_keys") {
        const known = Object.keys(knownKeysAt(section, issue.path));
        return issue.keys.map(
            (k) =>
                `${configKey(section, [...issue.path, k])}: unknown key${didYouMean(k, known)}; allowed keys here: ${known.join(", ")}`,
        );
    }
    let message = issue.message;
    if (issue.code === "invalid_type" && issue.expected === "object") {
        // A section or nested object given as something else: list what it holds.
        const known = Object.keys(knownKeysAt(section, issue.path));
        if (known.length > 0) message = `must be a mapping with the keys: ${known.join(", ")}`;
    }
    const value = valueAt(root, issue.path);
    if (value === undefined && issue.code === "custom" && issue.input !== undefined) {
        // A cross-field check tripped over a default the stack file does not spell out.
        return [`${key} = ${shown(issue.input)} (the default): ${message}`];
    }
    if (value === undefined) {
        return [`${key}: missing; it is required and ${message}`];
    }
    const envName =
        section === "api" && issue.path.length === 2 && issue.path[0] === "env" ? String(issue.path[1]) : "";
    if ((issue.code === "custom" && issue.params?.secret === true) || isSecretEnvKey(envName)) {
        return [`${key}: ${message}`]; // the value is a credential: never printed
    }
    return [`${key} = ${shown(value)}: ${message}`];
}

/** `fpsgame-infra:redis.readRegions[0]`: the key as `pulumi config set --path` takes it. */
function configKey(section: string, path: PropertyKey[]): string {
    const tail = path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("");
    return `${CONFIG_NAMESPACE}:${section}${tail}`;
}

/** A value as JSON, shortened past {@link MAX_SHOWN_VALUE_CHARS} characters with its full length. */
export function shown(value: unknown): string {
    // A URL with a password is a credential wherever it was typed: show that it is one, not what it is.
    const json =
        JSON.stringify(value, (_k, v: unknown) =>
            typeof v === "string" && hasCredentialsInUrl(v) ? "<a URL with a password, not shown>" : v,
        ) ?? String(value);
    if (json.length <= MAX_SHOWN_VALUE_CHARS) return json;
    return `${json.slice(0, MAX_SHOWN_VALUE_CHARS)}… (${json.length} characters)`;
}

/** ` (did you mean X?)` when one of `known` is within a couple of edits of `key`, else "". */
function didYouMean(key: string, known: readonly string[], prefix = ""): string {
    const best = known.map((k) => ({ k, d: leven(key.toLowerCase(), k.toLowerCase()) })).sort((a, b) => a.d - b.d)[0];
    if (best === undefined) return "";
    // One edit for short keys, two (a swapped pair of letters) or a third of the length for longer ones.
    const limit = best.k.length <= 3 ? 1 : Math.max(2, Math.floor(best.k.length / 3));
    return best.d <= limit ? ` (did you mean ${prefix}${best.k}?)` : "";
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

function valueAt(root: unknown, path: PropertyKey[]): unknown {
    let v: unknown = root;
    for (const p of path) {
        if (v === null || typeof v !== "object") return undefined;
        v = (v as Record<PropertyKey, unknown>)[p];
    }
    return v;
}

function knownKeysAt(section: string, path: PropertyKey[]): Record<string, unknown> {
    let schema: z.ZodType = sections[section as Section].schema;
    for (const p of [...path]) {
        schema = unwrap(schema);
        const shape = (schema as unknown as { shape?: Record<string, z.ZodType> }).shape;
        if (!shape || !(String(p) in shape)) return {};
        schema = shape[String(p)];
    }
    schema = unwrap(schema);
    return (schema as unknown as { shape?: Record<string, unknown> }).shape ?? {};
}

function unwrap(schema: z.ZodType): z.ZodType {
    // Peel defaults, optionals and refinements down to the object schema that has a shape.
    let s = schema as unknown as { shape?: unknown; def?: { innerType?: z.ZodType; in?: z.ZodType } };
    for (let i = 0; i < 5 && !s.shape; i++) {
        const inner = s.def?.innerType ?? s.def?.in;
        if (!inner) break;
        s = inner as unknown as typeof s;
    }
    return s as unknown as z.ZodType;
}
