/**
 * Bad stack config is refused before any resource exists, with an error that names the key,
 * the value and what is allowed, and every problem is reported at once.
 */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import {
    CONFIG_KEYS,
    CONFIG_NAMESPACE,
    OPTIONAL_SECTIONS,
    parseStackConfig,
    RawStackConfig,
    StackConfigError,
} from "../../lib/config";
import { FLY_REGIONS } from "../../lib/facts/fly";
import { UPSTASH_REGIONS } from "../../lib/facts/upstash";
import { readStackConfig, REPO_ROOT, runProgram } from "../helpers/mockProgram";

type Raw = RawStackConfig<string> & {
    api: Record<string, unknown>;
    redis: Record<string, unknown>;
    database: Record<string, unknown>;
    frontend: Record<string, unknown>;
};

/** The prod stack file's values, as the program reads them. */
function prodConfig(): Raw {
    const { config } = readStackConfig("prod");
    return {
        api: JSON.parse(config["fpsgame-infra:api"]),
        frontend: JSON.parse(config["fpsgame-infra:frontend"]),
        database: JSON.parse(config["fpsgame-infra:database"]),
        redis: JSON.parse(config["fpsgame-infra:redis"]),
        jwtSecret: "s",
    };
}

function problemsOf(raw: Raw): string[] {
    try {
        parseStackConfig(raw);
    } catch (e) {
        if (e instanceof StackConfigError) return e.problems;
        throw e;
    }
    return [];
}

test("the prod file parses, with defaults filled in", () => {
    const cfg = parseStackConfig(prodConfig());
    expect(cfg.api.regions).toEqual({ sjc: 3, iad: 3 });
    expect(cfg.api.paths).toEqual({ health: "/healthz", ready: "/readyz", metrics: "/metrics", websocket: "/ws" });
    expect(cfg.api.checks.waitTimeoutSeconds).toBe(300);
    expect(cfg.database.migrateTo).toBe("latest");
    // No rotation key: no rotation ever done, so an existing stack's preview shows no change.
    expect(cfg.database.passwordRotation).toBe(0);
    expect(cfg.redis.passwordRotation).toBe(0);
    expect(cfg.frontend.envTargets).toEqual(["production", "preview"]);
});

const flyRegions = FLY_REGIONS.join(", ");
const apiKeys =
    "appName, org, image, primaryRegion, regions, autoscale, vm, internalPort, concurrency, paths, checks, rollout, env, customDomain";
const projectKeys = "api, frontend, database, redis, jwtSecret, flyApiToken, localCloud, review";
const credentialRule =
    "names ending in _SECRET, _TOKEN or _KEY, containing PASSWORD, and DATABASE_URL and REDIS_URL hold credentials";
const cases: [string, (c: Raw) => void, string | string[]][] = [
    [
        "a region Fly does not have",
        (c) => (c.api.regions = { sjc: 3, xyz: 2 }),
        `fpsgame-infra:api.regions.xyz = 2: "xyz" is not a Fly region; allowed: ${flyRegions}`,
    ],
    [
        "a machine count above 20",
        (c) => (c.api.regions = { sjc: 21, iad: 3 }),
        "fpsgame-infra:api.regions.sjc = 21: must be a whole number from 1 to 20",
    ],
    [
        "a machine count of 0",
        (c) => (c.api.regions = { sjc: 0, iad: 3 }),
        "fpsgame-infra:api.regions.sjc = 0: must be a whole number from 1 to 20",
    ],
    [
        "minMachinesRunning above the smallest region",
        (c) => (c.api.autoscale = { minMachinesRunning: 4 }),
        "fpsgame-infra:api.autoscale.minMachinesRunning = 4: must be at most the smallest region's machine count (sjc has 3)",
    ],
    [
        "memory the CPU kind does not allow",
        (c) => (c.api.vm = { cpuKind: "shared", cpus: 2, memoryMb: 8192 }),
        "fpsgame-infra:api.vm.memoryMb = 8192: is not allowed for 2 shared CPU(s); allowed: a multiple of 256 from 512 to 4096 MB",
    ],
    [
        "performance memory below 2048 MB per CPU",
        (c) => (c.api.vm = { cpuKind: "performance", cpus: 1, memoryMb: 1024 }),
        "fpsgame-infra:api.vm.memoryMb = 1024: is not allowed for 1 performance CPU(s); allowed: a multiple of 256 from 2048 to 8192 MB",
    ],
    [
        "a CPU count Fly does not offer",
        (c) => (c.api.vm = { cpuKind: "shared", cpus: 3, memoryMb: 768 }),
        "fpsgame-infra:api.vm.cpus = 3: must be one of 1, 2, 4, 6, 8 for shared CPUs",
    ],
    [
        "an image without tag or digest",
        (c) => (c.api.image = "registry.fly.io/fpsgame-api"),
        'fpsgame-infra:api.image = "registry.fly.io/fpsgame-api": must carry a tag (:v1.2.3) or a digest (@sha256:…)',
    ],
    [
        "a malformed image reference",
        (c) => (c.api.image = "Registry.fly.io/fpsgame api:latest"),
        'fpsgame-infra:api.image = "Registry.fly.io/fpsgame api:latest": must be an image reference like registry.fly.io/fpsgame-api:v1.2.3 or …@sha256:<64 hex>',
    ],
    [
        "a primary region outside the regions",
        (c) => (c.api.primaryRegion = "ams"),
        'fpsgame-infra:api.primaryRegion = "ams": must be one of the configured regions (sjc, iad)',
    ],
    [
        "soft limit above hard limit",
        (c) => (c.api.concurrency = { softLimit: 300, hardLimit: 250 }),
        "fpsgame-infra:api.concurrency.softLimit = 300: must not exceed hardLimit (250)",
    ],
    [
        "a typo in a key",
        (c) => (c.api.regoins = { sjc: 1 }),
        "fpsgame-infra:api.regoins: unknown key (did you mean regions?); allowed keys here: appName, org, image, primaryRegion, regions, autoscale, vm, internalPort, concurrency, paths, checks, rollout, env, customDomain",
    ],
    [
        "an Upstash primary region outside its list",
        (c) => (c.redis.primaryRegion = "us-central-1"),
        `fpsgame-infra:redis.primaryRegion = "us-central-1": must be an Upstash region: ${UPSTASH_REGIONS.join(", ")}`,
    ],
    [
        "an Upstash read region equal to the primary",
        (c) => (c.redis.readRegions = ["us-west-1"]),
        'fpsgame-infra:redis.readRegions = ["us-west-1"]: must not include the primary region us-west-1',
    ],
    [
        "eviction given as a string",
        (c) => (c.redis.eviction = "yes"),
        'fpsgame-infra:redis.eviction = "yes": must be true or false',
    ],
    [
        "Neon autoscaling max below min",
        (c) => (c.database.autoscaling = { minCu: 2, maxCu: 1 }),
        "fpsgame-infra:database.autoscaling.maxCu = 1: must not be below minCu (2)",
    ],
    [
        "history retention beyond Neon's 30 days",
        (c) => (c.database.historyRetentionDays = 45),
        "fpsgame-infra:database.historyRetentionDays = 45: must be a whole number from 0 to 30",
    ],
    [
        "a missing secret",
        (c) => (c.jwtSecret = undefined),
        "fpsgame-infra:jwtSecret: missing; it is required as a secret: `pulumi config set --secret jwtSecret <value>`",
    ],
    [
        "a missing section",
        (c) => ((c as RawStackConfig<string>).redis = undefined),
        "fpsgame-infra:redis: missing; it is required (see Pulumi.yaml for its fields)",
    ],
    [
        "the same env var name for the API and WebSocket URLs",
        (c) => (c.frontend.wsUrlEnvKey = "VITE_API_URL"),
        'fpsgame-infra:frontend.wsUrlEnvKey = "VITE_API_URL": must differ from apiUrlEnvKey, or the API URL would be overwritten by the WebSocket URL',
    ],
    [
        "rollout with both maxParallel and fraction",
        (c) => (c.api.rollout = { maxParallel: 2, fraction: 0.5 }),
        'fpsgame-infra:api.rollout = {"maxParallel":2,"fraction":0.5}: set maxParallel or fraction, not both',
    ],
    // Wrong types and shapes, told in the project's words (never zod's "Invalid input: expected …").
    [
        "a port given as a string",
        (c) => (c.api.internalPort = "8080"),
        'fpsgame-infra:api.internalPort = "8080": must be a whole number from 1 to 65535',
    ],
    [
        "a whole section given as a string",
        (c) => ((c as RawStackConfig<string>).redis = "fpsgame-prod"),
        'fpsgame-infra:redis = "fpsgame-prod": must be a mapping with the keys: databaseName, primaryRegion, readRegions, eviction, budgetUsd, autoScale, passwordRotation',
    ],
    [
        "a nested object given as a number",
        (c) => (c.api.vm = 2),
        "fpsgame-infra:api.vm = 2: must be a mapping with the keys: cpuKind, cpus, memoryMb",
    ],
    [
        "a required field left out",
        (c) => delete c.api.image,
        "fpsgame-infra:api.image: missing; it is required and must be an image reference like registry.fly.io/fpsgame-api:v1.2.3 or …@sha256:<64 hex>",
    ],
    [
        "an env value given as a number",
        (c) => (c.api.env = { NODE_ENV: "production", WORKERS: 4 }),
        "fpsgame-infra:api.env.WORKERS = 4: must be a string (quote numbers and booleans)",
    ],
    [
        "env targets given as one string",
        (c) => (c.frontend.envTargets = "production"),
        'fpsgame-infra:frontend.envTargets = "production": must be a list of production, preview, development',
    ],
    [
        "a CPU kind Fly does not have",
        (c) => (c.api.vm = { cpuKind: "gpu", cpus: 2, memoryMb: 1024 }),
        'fpsgame-infra:api.vm.cpuKind = "gpu": must be one of shared, performance',
    ],
    [
        "a migration target that is not a whole number",
        (c) => (c.database.migrateTo = 1.5),
        'fpsgame-infra:database.migrateTo = 1.5: must be "latest" or a migration number (0 or more)',
    ],
    [
        "a password rotation given as a date",
        (c) => (c.database.passwordRotation = "2026-12-02"),
        'fpsgame-infra:database.passwordRotation = "2026-12-02": must be a whole number from 0 (no rotation yet) to 1000000; raise it by one to issue a new password',
    ],
    [
        "a negative password rotation",
        (c) => (c.redis.passwordRotation = -1),
        "fpsgame-infra:redis.passwordRotation = -1: must be a whole number from 0 (no rotation yet) to 1000000; raise it by one to issue a new password",
    ],
    [
        "a fractional password rotation",
        (c) => (c.redis.passwordRotation = 1.5),
        "fpsgame-infra:redis.passwordRotation = 1.5: must be a whole number from 0 (no rotation yet) to 1000000; raise it by one to issue a new password",
    ],
    [
        "a database password rotation without neon:apiKey",
        (c) => {
            c.database.passwordRotation = 1;
            c.upstashEmail = "ops@example.com";
            c.upstashApiKey = "k";
        },
        "fpsgame-infra:database.passwordRotation = 1: the reset calls Neon's API with neon:apiKey, which the stack does not set: `pulumi config set --secret neon:apiKey`",
    ],
    [
        "a Redis password rotation without upstash:email and upstash:apiKey",
        (c) => (c.redis.passwordRotation = 2),
        "fpsgame-infra:redis.passwordRotation = 2: the reset calls Upstash's API with upstash:email and upstash:apiKey, which the stack does not set: `pulumi config set upstash:email <account email>`, `pulumi config set --secret upstash:apiKey`",
    ],
    [
        "an empty framework",
        (c) => (c.frontend.framework = ""),
        'fpsgame-infra:frontend.framework = "": must be a Vercel framework preset such as vite or nextjs',
    ],
    [
        "a duration Go cannot parse",
        (c) => (c.api.checks = { interval: "15 seconds" }),
        'fpsgame-infra:api.checks.interval = "15 seconds": must be a Go duration above zero, such as 15s, 1.5s, 500ms or 1m30s',
    ],
    [
        "16 shared CPUs (Fly offers at most 8)",
        (c) => (c.api.vm = { cpuKind: "shared", cpus: 16, memoryMb: 4096 }),
        "fpsgame-infra:api.vm.cpus = 16: must be one of 1, 2, 4, 6, 8 for shared CPUs",
    ],
    // Credentials in plain env: the key is named, the value never printed.
    [
        "JWT_SECRET in plain env",
        (c) => (c.api.env = { NODE_ENV: "production", JWT_SECRET: "hunter2-do-not-print" }),
        `fpsgame-infra:api.env.JWT_SECRET: is a credential (${credentialRule}) and plain env is stored and shown in clear text: remove it and set the secure key fpsgame-infra:jwtSecret instead (\`pulumi config set --secret jwtSecret\`); the program passes it to the API as the Fly secret JWT_SECRET`,
    ],
    [
        "DATABASE_URL in plain env",
        (c) => (c.api.env = { DATABASE_URL: "postgres://app:pw@db/app" }),
        `fpsgame-infra:api.env.DATABASE_URL: is a credential (${credentialRule}) and plain env is stored and shown in clear text: remove it; the program sets DATABASE_URL as a Fly secret from the Neon database (\`fpsgame-infra:database\`)`,
    ],
    [
        "a *_KEY variable in plain env",
        (c) => (c.api.env = { STRIPE_API_KEY: "sk_live_do_not_print" }),
        `fpsgame-infra:api.env.STRIPE_API_KEY: is a credential (${credentialRule}) and plain env is stored and shown in clear text: keep it in a secure config key (\`pulumi config set --secret <key>\`) that the program passes to the API as a Fly secret, as it does fpsgame-infra:jwtSecret`,
    ],
    [
        "a URL with a password in plain env",
        (c) => (c.api.env = { UPSTREAM: "https://bot:do-not-print@api.example.com" }),
        "fpsgame-infra:api.env.UPSTREAM: must not embed a password in a URL: plain env is stored and shown in clear text; pass it to the API as a secret from a secure config key (`pulumi config set --secret <key>`), as jwtSecret is",
    ],
    [
        "a credential-named variable whose value is not even a string",
        (c) => (c.api.env = { DB_PASSWORD: 12345678 }),
        [
            "fpsgame-infra:api.env.DB_PASSWORD: must be a string (quote numbers and booleans)",
            `fpsgame-infra:api.env.DB_PASSWORD: is a credential (${credentialRule}) and plain env is stored and shown in clear text: keep it in a secure config key (\`pulumi config set --secret <key>\`) that the program passes to the API as a Fly secret, as it does fpsgame-infra:jwtSecret`,
        ],
    ],
    [
        "a URL with a password typed into another field",
        (c) => (c.api.image = "https://deploy:do-not-print@registry.example.com/api:v1"),
        'fpsgame-infra:api.image = "<a URL with a password, not shown>": must be an image reference like registry.fly.io/fpsgame-api:v1.2.3 or …@sha256:<64 hex>',
    ],
    // Fields that constrain each other.
    [
        "a check timeout not shorter than its interval",
        (c) => (c.api.checks = { interval: "5s", timeout: "5s" }),
        'fpsgame-infra:api.checks.timeout = "5s": must be shorter than interval (5s), or one check would still run when the next starts',
    ],
    [
        "an interval shorter than the default timeout",
        (c) => (c.api.checks = { interval: "1500ms" }),
        'fpsgame-infra:api.checks.timeout = "2s" (the default): must be shorter than interval (1500ms), or one check would still run when the next starts',
    ],
    [
        "a grace period as long as the deploy waits",
        (c) => (c.api.checks = { gracePeriod: "5m", waitTimeoutSeconds: 300 }),
        'fpsgame-infra:api.checks.gracePeriod = "5m": must be shorter than waitTimeoutSeconds (300), or no machine could pass its first check before the deploy stops waiting',
    ],
    [
        "the WebSocket on the health path",
        (c) => (c.api.paths = { websocket: "/healthz" }),
        'fpsgame-infra:api.paths.websocket = "/healthz": must differ from paths.health',
    ],
    [
        "a frontend env var Vite keeps out of the browser",
        (c) => (c.frontend.apiUrlEnvKey = "API_URL"),
        'fpsgame-infra:frontend.apiUrlEnvKey = "API_URL": must start with VITE_, or vite (the framework) keeps it out of the browser bundle',
    ],
    [
        "a Neon autoscaling range wider than 8 CU",
        (c) => (c.database.autoscaling = { minCu: 0.5, maxCu: 10 }),
        "fpsgame-infra:database.autoscaling.maxCu = 10: must be at most 8 CU above minCu (0.5): Neon's widest autoscaling range",
    ],
    [
        "a read region Upstash does not have",
        (c) => (c.redis.readRegions = ["mars-1"]),
        `fpsgame-infra:redis.readRegions[0] = "mars-1": must be an Upstash region: ${UPSTASH_REGIONS.join(", ")}`,
    ],
    [
        "an Upstash read region named twice",
        (c) => (c.redis.readRegions = ["us-east-1", "us-east-1"]),
        'fpsgame-infra:redis.readRegions = ["us-east-1","us-east-1"]: must not name a region twice',
    ],
    [
        "a primary region outside the regions, next to a CPU kind typo",
        (c) => {
            c.api.primaryRegion = "ams";
            c.api.vm = { cpuKind: "sharred", cpus: 2, memoryMb: 1024 };
        },
        [
            'fpsgame-infra:api.vm.cpuKind = "sharred": must be one of shared, performance',
            'fpsgame-infra:api.primaryRegion = "ams": must be one of the configured regions (sjc, iad)',
        ],
    ],
    // Unknown keys, at the top of the namespace too, with a suggestion when one is close.
    [
        "an unknown top-level key close to a known one",
        (c) => (c.keys = [...projectKeys.split(", "), "apii"]),
        `fpsgame-infra:apii: unknown key (did you mean fpsgame-infra:api?); the project's keys are: ${projectKeys}`,
    ],
    [
        "an unknown top-level key like no known one",
        (c) => (c.keys = [...projectKeys.split(", "), "featureFlags"]),
        `fpsgame-infra:featureFlags: unknown key; the project's keys are: ${projectKeys}`,
    ],
    [
        "a nested key with two letters swapped",
        (c) => (c.api.imgae = "x"),
        `fpsgame-infra:api.imgae: unknown key (did you mean image?); allowed keys here: ${apiKeys}`,
    ],
    // A review stack's section (lib/review.ts writes it).
    [
        "a review based on prod",
        (c) =>
            Object.assign(c, { review: { pullRequest: 12, baseStack: "prod", gitBranch: "feat/x" }, neonApiKey: "k" }),
        'fpsgame-infra:review.baseStack = "prod": must not be prod: a review stack never copies or points at its resources',
    ],
    [
        "a review stack not named after its pull request",
        (c) =>
            Object.assign(c, {
                review: { pullRequest: 12, baseStack: "staging", gitBranch: "feat/x" },
                neonApiKey: "k",
                stack: "pr-13",
            }),
        "fpsgame-infra:review.pullRequest = 12: the stack is named pr-13; a review stack is named pr-12 (npm run review writes its file)",
    ],
    [
        "a stack named like a review stack without the review section",
        (c) => Object.assign(c, { stack: "pr-7" }),
        "fpsgame-infra:review: missing; pr-7 is named like a review stack, whose file npm run review -- up --pr 7 writes",
    ],
    [
        "a review stack without neon:apiKey",
        (c) => Object.assign(c, { review: { pullRequest: 12, baseStack: "staging", gitBranch: "feat/x" } }),
        "fpsgame-infra:review: a review stack reads its branch's connection string from Neon's API with neon:apiKey, which the stack does not set: `pulumi config set --secret neon:apiKey`",
    ],
    [
        "a review pull request number of 0",
        (c) =>
            Object.assign(c, {
                review: { pullRequest: 0, baseStack: "staging", gitBranch: "feat/x" },
                neonApiKey: "k",
            }),
        "fpsgame-infra:review.pullRequest = 0: must be a whole number from 1 to 999999999",
    ],
    // Long values are shortened.
    [
        "a very long value",
        (c) => (c.api.appName = "x".repeat(300)),
        `fpsgame-infra:api.appName = "${"x".repeat(59)}… (302 characters): must be 3–63 lowercase letters, digits or dashes`,
    ],
];

test.each(cases)("refuses %s with an error naming key, value and what is allowed", (_what, mutate, expected) => {
    const raw = prodConfig();
    mutate(raw);
    expect(problemsOf(raw)).toEqual(typeof expected === "string" ? [expected] : expected);
});

test("reports every problem at once, in one error that says nothing was deployed", () => {
    const raw = prodConfig();
    raw.api.regions = { sjc: 3, xyz: 2 };
    raw.redis.primaryRegion = "mars-1";
    raw.jwtSecret = undefined;
    let error: unknown;
    try {
        parseStackConfig(raw);
    } catch (e) {
        error = e;
    }
    expect(error).toBeInstanceOf(StackConfigError);
    const message = (error as Error).message;
    expect(message.split("\n")[0]).toBe("Invalid stack configuration (3 problems):");
    expect(message).toContain("fpsgame-infra:api.regions.xyz");
    expect(message).toContain("fpsgame-infra:redis.primaryRegion");
    expect(message).toContain("fpsgame-infra:jwtSecret");
    expect(message.split("\n").pop()).toBe(
        "Fix the values in Pulumi.<stack>.yaml (or with `pulumi config set --path <key> <value>`); nothing was deployed.",
    );
});

test("two unknown keys are two problems", () => {
    const raw = prodConfig();
    raw.api.regoins = {};
    raw.api.imgae = "x";
    expect(problemsOf(raw)).toHaveLength(2);
});

test("a section with several problems reports every one, a type error hiding none of the others", () => {
    const raw = prodConfig();
    raw.api.vm = { cpuKind: "huge", cpus: 2, memoryMb: 1024 }; // an enum error
    raw.api.regions = { sjc: "three", iad: 3 }; // a type error
    raw.api.autoscale = { minMachinesRunning: 5 }; // above the smallest valid region count
    raw.api.concurrency = { softLimit: 300, hardLimit: 250 };
    raw.api.checks = { interval: "10s", timeout: "12s" };
    raw.api.env = { NODE_ENV: "production", API_TOKEN: "do-not-print" };
    raw.api.colour = "blue";
    const problems = problemsOf(raw);
    expect(problems).toEqual([
        'fpsgame-infra:api.regions.sjc = "three": must be a whole number from 1 to 20',
        'fpsgame-infra:api.vm.cpuKind = "huge": must be one of shared, performance',
        `fpsgame-infra:api.colour: unknown key; allowed keys here: ${apiKeys}`,
        "fpsgame-infra:api.autoscale.minMachinesRunning = 5: must be at most the smallest region's machine count (iad has 3)",
        "fpsgame-infra:api.concurrency.softLimit = 300: must not exceed hardLimit (250)",
        'fpsgame-infra:api.checks.timeout = "12s": must be shorter than interval (10s), or one check would still run when the next starts',
        `fpsgame-infra:api.env.API_TOKEN: is a credential (${credentialRule}) and plain env is stored and shown in clear text: keep it in a secure config key (\`pulumi config set --secret <key>\`) that the program passes to the API as a Fly secret, as it does fpsgame-infra:jwtSecret`,
    ]);
    expect(problems.join("\n")).not.toContain("do-not-print");
});

/** Every leaf of `value`, by path, with a value of another type in its place. */
function wrongTypes(value: unknown, at: string[] = []): { path: string[]; wrong: unknown }[] {
    if (Array.isArray(value)) return [{ path: at, wrong: "not-a-list" }];
    if (value !== null && typeof value === "object") {
        return [
            { path: at, wrong: "not-a-mapping" },
            ...Object.entries(value).flatMap(([k, v]) => wrongTypes(v, [...at, k])),
        ];
    }
    return [{ path: at, wrong: typeof value === "string" ? 42 : "forty-two" }];
}

test("no message falls back to the schema library's default text", () => {
    const base = prodConfig();
    const leaves = (["api", "frontend", "database", "redis"] as const).flatMap((section) =>
        wrongTypes(base[section], [section]),
    );
    const problems: string[] = [];
    for (const { path, wrong } of leaves) {
        const raw = prodConfig() as unknown as Record<string, unknown>;
        let parent = raw;
        path.slice(0, -1).forEach((p) => (parent = parent[p] as Record<string, unknown>));
        parent[path[path.length - 1]] = wrong;
        problems.push(...problemsOf(raw as unknown as Raw));
    }
    expect(problems.length).toBeGreaterThanOrEqual(leaves.length);
    // Each problem says what is allowed; zod's defaults read "Invalid input: expected string, received number".
    expect(
        problems.filter(
            (p) => /Invalid|expected|received/.test(p) || !/: (must|is|missing|unknown|".*" is not)/.test(p),
        ),
    ).toEqual([]);
});

test("the keys the config knows are the keys Pulumi.yaml declares, but the optional sections, which it describes", () => {
    const text = fs.readFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), "utf8");
    const project = parse(text) as { config: object };
    expect([...CONFIG_KEYS].filter((k) => !(OPTIONAL_SECTIONS as readonly string[]).includes(k)).sort()).toEqual(
        Object.keys(project.config)
            .map((k) => k.replace(`${CONFIG_NAMESPACE}:`, ""))
            .sort(),
    );
    // Pulumi refuses a stack that lacks a declared key without a default: an optional section
    // declared there would break every stack that leaves it out.
    for (const key of OPTIONAL_SECTIONS) {
        expect(text).toMatch(new RegExp(`^\\s*# ${CONFIG_NAMESPACE}:${key} is not declared here`, "m"));
    }
});

test("the program reports an unknown key of the stack file", async () => {
    await expect(runProgram("prod", { "fpsgame-infra:apii": { appName: "x" } })).rejects.toThrow(
        `fpsgame-infra:apii: unknown key (did you mean fpsgame-infra:api?); the project's keys are: ${projectKeys}`,
    );
});
