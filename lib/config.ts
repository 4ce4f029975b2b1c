/**
 * The stack configuration, parsed once into a typed object.
 *
 * Every key lives under the project's namespace (`fpsgame-infra:`) in `Pulumi.<stack>.yaml`
 * and is described in `Pulumi.yaml`. `parseStackConfig` validates all of it before any
 * resource is registered and reports every problem at once, each naming the key, the value
 * and what is allowed, so a bad edit fails the preview instead of half-applying.
 */
import { z } from "zod";
import { parseGoDuration } from "./facts/durations";
import { FLY_CPU_COUNTS, FLY_CPU_KINDS, FLY_REGIONS, flyMemoryRangeMb, isFlyCpuCount, isFlyMemory } from "./facts/fly";
import { NEON_REGIONS } from "./facts/neon";
import { UPSTASH_REGIONS } from "./facts/upstash";

/** The config namespace: the project name in `Pulumi.yaml`. */
export const CONFIG_NAMESPACE = "fpsgame-infra";

const DURATION_ALLOWED = "must be a Go duration such as 15s, 1.5s, 500ms or 1m30s";
const duration = () =>
    z.string(DURATION_ALLOWED).refine((v) => (parseGoDuration(v) ?? -1) > 0, DURATION_ALLOWED);
// registry/repository:tag, registry/repository@sha256:<64 hex>, or both.
const IMAGE_REF =
    /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::\d+)?(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;
const DNS_NAME = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const ENV_KEY = /^[A-Z_][A-Z0-9_]*$/;

const oneOf = (allowed: readonly string[]) => (v: string) => allowed.includes(v);
const listOf = (allowed: readonly string[]) => allowed.join(", ");
const int = (min: number, max: number) =>
    z
        .number()
        .int(`must be a whole number from ${min} to ${max}`)
        .min(min, `must be from ${min} to ${max}`)
        .max(max, `must be from ${min} to ${max}`);

const apiSchema = z
    .strictObject({
        /** The Fly app name (global across Fly). */
        appName: z
            .string()
            .regex(/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/, "must be 3–63 lowercase letters, digits or dashes"),
        /** The Fly organization slug. */
        org: z.string().min(1, "must not be empty").default("personal"),
        /** The API image: `registry/repo:tag`, `registry/repo@sha256:…`, or both. */
        image: z
            .string()
            .regex(IMAGE_REF, "must be an image reference like registry.fly.io/fpsgame-api:v1.2.3 or …@sha256:<64 hex>")
            .refine(
                (s) => /:[^/]+$/.test(s) || s.includes("@sha256:"),
                "must carry a tag (:v1.2.3) or a digest (@sha256:…)",
            ),
        /** The region Fly treats as primary (min_machines_running applies there); must be in `regions`. */
        primaryRegion: z.string().refine(oneOf(FLY_REGIONS), `must be a Fly region: ${listOf(FLY_REGIONS)}`),
        /** Fly region code -> number of machines created there. Autostart wakes stopped ones as load rises. */
        regions: z.record(z.string(), int(1, 20)),
        autoscale: z
            .strictObject({
                /** Machines kept running when idle. */
                minMachinesRunning: int(0, 20).default(1),
                autostop: z.enum(["off", "stop", "suspend"], "must be one of off, stop, suspend").default("stop"),
                autostart: z.boolean("must be true or false").default(true),
            })
            .default({ minMachinesRunning: 1, autostop: "stop", autostart: true }),
        vm: z.strictObject({
            cpuKind: z.enum(FLY_CPU_KINDS, "must be shared or performance").default("shared"),
            cpus: z.number("must be a whole number of CPUs").int("must be a whole number of CPUs"),
            memoryMb: z.number().int("must be a whole number of MB"),
        }),
        /** The port the API listens on inside the machine. */
        internalPort: int(1, 65535).default(8080),
        /** WebSocket-friendly concurrency: counted in connections. */
        concurrency: z
            .strictObject({ softLimit: int(1, 100000), hardLimit: int(1, 100000) })
            .default({ softLimit: 200, hardLimit: 250 }),
        paths: z
            .strictObject({
                health: z.string().startsWith("/", "must start with /").default("/healthz"),
                ready: z.string().startsWith("/", "must start with /").default("/readyz"),
                metrics: z.string().startsWith("/", "must start with /").default("/metrics"),
                websocket: z.string().startsWith("/", "must start with /").default("/ws"),
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
                    .number()
                    .gt(0, "must be above 0 and at most 1")
                    .max(1, "must be above 0 and at most 1")
                    .optional(),
            })
            .refine(
                (r) => !(r.maxParallel !== undefined && r.fraction !== undefined),
                "set maxParallel or fraction, not both",
            )
            .default({}),
        /** Plain, non-secret environment for the API. */
        env: z.record(z.string().regex(ENV_KEY, "must be an UPPER_SNAKE_CASE name"), z.string()).default({}),
        /** A custom domain: gets a certificate and becomes the public API URL. */
        customDomain: z.string().regex(DNS_NAME, "must be a DNS name like api.example.com").optional(),
    })
    .superRefine((api, ctx) => {
        for (const region of Object.keys(api.regions)) {
            if (!oneOf(FLY_REGIONS)(region)) {
                ctx.addIssue({
                    code: "custom",
                    path: ["regions", region],
                    message: `"${region}" is not a Fly region; allowed: ${listOf(FLY_REGIONS)}`,
                    input: region,
                });
            }
        }
        if (Object.keys(api.regions).length === 0) {
            ctx.addIssue({
                code: "custom",
                path: ["regions"],
                message: "must name at least one region",
                input: api.regions,
            });
        }
        if (!(api.primaryRegion in api.regions)) {
            ctx.addIssue({
                code: "custom",
                path: ["primaryRegion"],
                message: `must be one of the configured regions (${Object.keys(api.regions).join(", ")})`,
                input: api.primaryRegion,
            });
        }
        const counts = Object.entries(api.regions)
            .filter(([, n]) => n >= 1) // a count below 1 is already reported
            .sort((a, b) => a[1] - b[1]);
        if (counts.length > 0 && api.autoscale.minMachinesRunning > counts[0][1]) {
            const [region, count] = counts[0];
            ctx.addIssue({
                code: "custom",
                path: ["autoscale", "minMachinesRunning"],
                message: `must be at most the smallest region's machine count (${region} has ${count})`,
                input: api.autoscale.minMachinesRunning,
            });
        }
        const { cpuKind, cpus, memoryMb } = api.vm;
        if (!isFlyCpuCount(cpuKind, cpus)) {
            ctx.addIssue({
                code: "custom",
                path: ["vm", "cpus"],
                message: `must be one of ${FLY_CPU_COUNTS[cpuKind].join(", ")} for ${cpuKind} CPUs`,
                input: cpus,
            });
        } else if (!isFlyMemory(cpuKind, cpus, memoryMb)) {
            const { min, max } = flyMemoryRangeMb(cpuKind, cpus);
            ctx.addIssue({
                code: "custom",
                path: ["vm", "memoryMb"],
                message: `is not allowed for ${cpus} ${cpuKind} CPU(s); allowed: a multiple of 256 from ${min} to ${max} MB`,
                input: memoryMb,
            });
        }
        if (api.concurrency.softLimit > api.concurrency.hardLimit) {
            ctx.addIssue({
                code: "custom",
                path: ["concurrency", "softLimit"],
                message: `must not exceed hardLimit (${api.concurrency.hardLimit})`,
                input: api.concurrency.softLimit,
            });
        }
    });

const frontendSchema = z
    .strictObject({
        /** The Vercel project name. */
        projectName: z
            .string()
            .regex(/^[a-z0-9][a-z0-9._-]{0,99}$/, "must be lowercase letters, digits, dots, dashes or underscores"),
        framework: z.string().default("vite"),
        gitRepository: z.strictObject({
            type: z.enum(["github", "gitlab", "bitbucket"], "must be github, gitlab or bitbucket").default("github"),
            repo: z.string().regex(/^[\w.-]+\/[\w.-]+$/, "must be owner/name"),
            productionBranch: z.string().min(1).default("main"),
        }),
        /** The production domain, e.g. play.example.com. */
        domain: z.string().regex(DNS_NAME, "must be a DNS name like play.example.com").optional(),
        /** Env var names the frontend reads the API's URLs from. */
        apiUrlEnvKey: z.string().regex(ENV_KEY, "must be an UPPER_SNAKE_CASE name").default("VITE_API_URL"),
        wsUrlEnvKey: z.string().regex(ENV_KEY, "must be an UPPER_SNAKE_CASE name").default("VITE_WS_URL"),
        /** Vercel targets that get the API URLs. */
        envTargets: z
            .array(z.enum(["production", "preview", "development"], "must be production, preview or development"))
            .min(1, "must name at least one target")
            .default(["production", "preview"]),
    })
    .refine((f) => f.apiUrlEnvKey !== f.wsUrlEnvKey, {
        path: ["wsUrlEnvKey"],
        message: "must differ from apiUrlEnvKey, or the API URL would be overwritten by the WebSocket URL",
    });

const databaseSchema = z
    .strictObject({
        projectName: z.string().min(1, "must not be empty"),
        regionId: z.string().refine(oneOf(NEON_REGIONS), `must be a Neon region: ${listOf(NEON_REGIONS)}`),
        pgVersion: z
            .union(
                [z.literal(14), z.literal(15), z.literal(16), z.literal(17), z.literal(18)],
                "must be one of 14, 15, 16, 17, 18",
            )
            .default(16),
        /** Point-in-time recovery window. Neon caps it at 30 days. */
        historyRetentionDays: int(0, 30).default(7),
        autoscaling: z
            .strictObject({
                minCu: z.number().min(0.25, "must be at least 0.25").max(56, "must be at most 56"),
                maxCu: z.number().min(0.25, "must be at least 0.25").max(56, "must be at most 56"),
            })
            .default({ minCu: 0.25, maxCu: 1 }),
        /** Idle seconds before compute suspends (0 = Neon's default, -1 = never). */
        suspendTimeoutSeconds: z
            .number()
            .int()
            .min(-1, "must be -1, 0 or up to 604800")
            .max(604800, "must be -1, 0 or up to 604800")
            .default(0),
        databaseName: z
            .string()
            .regex(/^[a-z_][a-z0-9_]{0,62}$/, "must be a lowercase SQL identifier")
            .default("fpsgame"),
        ownerRole: z
            .string()
            .regex(/^[a-z_][a-z0-9_]{0,62}$/, "must be a lowercase SQL identifier")
            .default("fpsgame_owner"),
        /** Refuse deletion of the database project (`protect`). On in prod. */
        protect: z.boolean("must be true or false").default(true),
        /** Migration version to hold the schema at: `latest`, or a number to roll back to. */
        migrateTo: z
            .union([z.literal("latest"), z.number().int().min(0)], 'must be "latest" or a migration number')
            .default("latest"),
    })
    .superRefine((db, ctx) => {
        if (db.autoscaling.maxCu < db.autoscaling.minCu) {
            ctx.addIssue({
                code: "custom",
                path: ["autoscaling", "maxCu"],
                message: `must not be below minCu (${db.autoscaling.minCu})`,
                input: db.autoscaling.maxCu,
            });
        }
    });

const redisSchema = z
    .strictObject({
        databaseName: z.string().min(1, "must not be empty"),
        primaryRegion: z
            .string()
            .refine(oneOf(UPSTASH_REGIONS), `must be an Upstash region: ${listOf(UPSTASH_REGIONS)}`),
        readRegions: z
            .array(z.string().refine(oneOf(UPSTASH_REGIONS), `must be an Upstash region: ${listOf(UPSTASH_REGIONS)}`))
            .default([]),
        /** Evict keys when memory is full (game sessions are cache-like) instead of failing writes. */
        eviction: z.boolean("must be true or false"),
        /** Monthly budget cap in USD; Upstash throttles the database when it is reached. */
        budgetUsd: int(1, 100000),
        autoScale: z.boolean("must be true or false").default(false),
    })
    .superRefine((r, ctx) => {
        if (r.readRegions.includes(r.primaryRegion)) {
            ctx.addIssue({
                code: "custom",
                path: ["readRegions"],
                message: `must not include the primary region ${r.primaryRegion}`,
                input: r.readRegions,
            });
        }
    });

/** The plain (non-secret) part of the stack config, as written in `Pulumi.<stack>.yaml`. */
export type ApiConfig = z.infer<typeof apiSchema>;
export type FrontendConfig = z.infer<typeof frontendSchema>;
export type DatabaseConfig = z.infer<typeof databaseSchema>;
export type RedisConfig = z.infer<typeof redisSchema>;

/** The validated stack config. Secrets are whatever secret wrapper the caller passed in. */
export interface StackConfig<S> {
    api: ApiConfig;
    frontend: FrontendConfig;
    database: DatabaseConfig;
    redis: RedisConfig;
    secrets: { jwtSecret: S };
}

/** Raw values as read from config: plain objects, plus secrets (already wrapped by the caller). */
export interface RawStackConfig<S> {
    api?: unknown;
    frontend?: unknown;
    database?: unknown;
    redis?: unknown;
    jwtSecret?: S;
}

const sections = { api: apiSchema, frontend: frontendSchema, database: databaseSchema, redis: redisSchema } as const;

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
    const parsed: Partial<Record<keyof typeof sections, unknown>> = {};
    for (const [key, schema] of Object.entries(sections) as [keyof typeof sections, z.ZodType][]) {
        const value = raw[key];
        if (value === undefined) {
            problems.push(`${CONFIG_NAMESPACE}:${key}: missing; it is required (see Pulumi.yaml for its fields)`);
            continue;
        }
        const result = schema.safeParse(value);
        if (result.success) {
            parsed[key] = result.data;
        } else {
            for (const issue of result.error.issues) {
                problems.push(...describeIssue(key, value, issue));
            }
        }
    }
    if (raw.jwtSecret === undefined) {
        problems.push(
            `${CONFIG_NAMESPACE}:jwtSecret: missing; it is required as a secret: \`pulumi config set --secret jwtSecret <value>\``,
        );
    }
    if (problems.length > 0) {
        throw new StackConfigError(problems);
    }
    return {
        api: parsed.api as ApiConfig,
        frontend: parsed.frontend as FrontendConfig,
        database: parsed.database as DatabaseConfig,
        redis: parsed.redis as RedisConfig,
        secrets: { jwtSecret: raw.jwtSecret as S },
    };
}

function describeIssue(section: string, root: unknown, issue: z.core.$ZodIssue): string[] {
    const path = [section, ...issue.path.map(String)];
    if (issue.code === "unrecognized_keys") {
        const known = Object.keys(knownKeysAt(section, issue.path));
        return issue.keys.map(
            (k) => `${CONFIG_NAMESPACE}:${[...path, k].join(".")}: unknown key; allowed keys here: ${known.join(", ")}`,
        );
    }
    const value = valueAt(root, issue.path);
    const shown = value === undefined ? "missing" : `${JSON.stringify(value)}`;
    // zod's own type messages read "Invalid input: expected number, received string"; ours say what is allowed.
    return [`${CONFIG_NAMESPACE}:${path.join(".")} = ${shown}: ${issue.message}`];
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
    let schema: z.ZodType = sections[section as keyof typeof sections];
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
