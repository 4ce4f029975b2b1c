/**
 * Bad stack config is refused before any resource exists, with an error that names the key,
 * the value and what is allowed, and every problem is reported at once.
 */
import { parseStackConfig, RawStackConfig, StackConfigError } from "../../lib/config";
import { FLY_REGIONS } from "../../lib/facts/fly";
import { UPSTASH_REGIONS } from "../../lib/facts/upstash";
import { readStackConfig } from "../helpers/mockProgram";

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
    expect(cfg.frontend.envTargets).toEqual(["production", "preview"]);
});

const flyRegions = FLY_REGIONS.join(", ");
const cases: [string, (c: Raw) => void, string][] = [
    [
        "a region Fly does not have",
        (c) => (c.api.regions = { sjc: 3, xyz: 2 }),
        `fpsgame-infra:api.regions.xyz = 2: "xyz" is not a Fly region; allowed: ${flyRegions}`,
    ],
    [
        "a machine count above 20",
        (c) => (c.api.regions = { sjc: 21, iad: 3 }),
        "fpsgame-infra:api.regions.sjc = 21: must be from 1 to 20",
    ],
    [
        "a machine count of 0",
        (c) => (c.api.regions = { sjc: 0, iad: 3 }),
        "fpsgame-infra:api.regions.sjc = 0: must be from 1 to 20",
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
        "fpsgame-infra:api.regoins: unknown key; allowed keys here: appName, org, image, primaryRegion, regions, autoscale, vm, internalPort, concurrency, paths, checks, rollout, env, customDomain",
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
        "fpsgame-infra:database.historyRetentionDays = 45: must be from 0 to 30",
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
];

test.each(cases)("refuses %s with an error naming key, value and what is allowed", (_what, mutate, expected) => {
    const raw = prodConfig();
    mutate(raw);
    expect(problemsOf(raw)).toEqual([expected]);
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
