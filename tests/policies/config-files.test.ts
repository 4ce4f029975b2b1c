/**
 * `policies/config/<stack>.json`, the `--policy-pack-config` files: they name every policy and
 * only existing ones, and every key validates against that policy's `configSchema`.
 */
import * as fs from "fs";
import * as path from "path";
import { allPolicies, flyMinMemory, flyMinRegions, neonHistoryRetention } from "../../policies/src";
import { FORBIDDEN_REVIEW_BASES, REVIEW_BASE_STACK, REVIEW_SIZE } from "../../lib/review";
import { checkPolicyConfig } from "./schemaCheck";

const CONFIG_DIR = path.join(__dirname, "../../policies/config");
type PackConfig = Record<string, { enforcementLevel: string } & Record<string, unknown>>;
const files = fs.readdirSync(CONFIG_DIR).filter((f) => f.endsWith(".json"));
const read = (file: string): PackConfig => JSON.parse(fs.readFileSync(path.join(CONFIG_DIR, file), "utf8"));
const byName = new Map(allPolicies.map((p) => [p.name, p]));

it("has a config file for prod, staging and local, and one for review stacks", () => {
    expect(files.sort()).toEqual(["local.json", "prod.json", "review.json", "staging.json"]);
});

describe.each(files)("%s", (file) => {
    const config = read(file);

    it("names only existing policies", () => {
        expect(Object.keys(config).filter((name) => !byName.has(name))).toEqual([]);
    });

    it("sets a level for every policy, so no stack runs on code defaults by accident", () => {
        expect(allPolicies.map((p) => p.name).filter((name) => !(name in config))).toEqual([]);
    });

    it("validates against every policy's configSchema", () => {
        const problems = Object.entries(config).flatMap(([name, entry]) =>
            checkPolicyConfig(name, entry, byName.get(name)?.configSchema),
        );
        expect(problems).toEqual([]);
    });

    it("gives both cost policies the same budget, hours and prices", () => {
        const { enforcementLevel: _a, ...estimate } = config["fly-cost-estimate"];
        const { enforcementLevel: _b, ...budget } = config["fly-monthly-budget"];
        expect(budget).toEqual(estimate);
    });
});

describe("per-stack thresholds", () => {
    const level = (file: string, policy: string) => read(file)[policy].enforcementLevel;

    it("prod: 2 regions, 1024 MB, 7 days of history, protection and digests mandatory", () => {
        const prod = read("prod.json");
        expect(prod["fly-min-regions"].minRegions).toBe(2);
        expect(prod["fly-min-memory"].minMemoryMb).toBe(1024);
        expect(prod["neon-history-retention"].minHistoryRetentionSeconds).toBe(604800);
        expect(prod["neon-protect-stateful"]).toEqual({ enforcementLevel: "mandatory", requireProtect: true });
        expect(prod["fly-image-digest"]).toEqual({ enforcementLevel: "mandatory", requireImageDigest: true });
    });

    it("staging: 1 region, 512 MB, 1 day of history, protection advisory, a smaller budget", () => {
        const staging = read("staging.json");
        expect(staging["fly-min-regions"].minRegions).toBe(1);
        expect(staging["fly-min-memory"].minMemoryMb).toBe(512);
        expect(staging["neon-history-retention"].minHistoryRetentionSeconds).toBe(86400);
        expect(level("staging.json", "neon-protect-stateful")).toBe("advisory");
        expect(staging["fly-monthly-budget"].monthlyBudgetUsd).toBeLessThan(
            read("prod.json")["fly-monthly-budget"].monthlyBudgetUsd as number,
        );
    });

    it("local: prod's topology at local sizes, protection not required", () => {
        const local = read("local.json");
        expect(local["fly-min-regions"].minRegions).toBe(2);
        expect(local["fly-min-machines-per-region"].minMachinesPerRegion).toBe(2);
        expect(local["fly-min-memory"].minMemoryMb).toBe(512);
        expect(local["fly-allowed-guest-sizes"].allowedGuests).toEqual(
            expect.arrayContaining(["shared-1x-256", "shared-1x-512"]),
        );
        expect(local["neon-history-retention"].minHistoryRetentionSeconds).toBe(86400);
        expect(local["neon-protect-stateful"]).toEqual({ enforcementLevel: "disabled", requireProtect: false });
    });

    const REVIEW_POLICIES = allPolicies.map((p) => p.name).filter((name) => name.startsWith("review-"));

    it("review: the smallest guest only, 256 MB, one machine in one region, budgets $3 and $5, review policies mandatory", () => {
        const review = read("review.json");
        const { cpuKind, cpus, memoryMb } = REVIEW_SIZE.vm;
        expect(review["fly-allowed-guest-sizes"].allowedGuests).toEqual([`${cpuKind}-${cpus}x-${memoryMb}`]);
        expect(review["fly-allowed-guest-sizes"].allowedGuests).toEqual(["shared-1x-256"]);
        expect(review["fly-min-memory"].minMemoryMb).toBe(256);
        expect(review["fly-min-regions"].minRegions).toBe(1);
        expect(review["fly-min-machines-per-region"].minMachinesPerRegion).toBe(1);
        expect(review["fly-min-machines-running"].minMachinesRunning).toBe(0);
        expect(review["fly-cost-estimate"].monthlyBudgetUsd).toBe(3);
        expect(review["fly-monthly-budget"].monthlyBudgetUsd).toBe(3);
        expect(review["upstash-budget"].maxBudgetUsd).toBe(REVIEW_SIZE.redisBudgetUsd);
        expect(review["upstash-budget"].maxBudgetUsd).toBe(5);
        expect(review["neon-protect-stateful"]).toEqual({ enforcementLevel: "disabled", requireProtect: false });
        expect(review["review-single-machine"].maxMachines).toBe(REVIEW_SIZE.machines);
        // ops/pulumi.ts overrides baseStack for a local-cloud base, so the entry must be an object.
        expect(review["review-base-stack"]).toEqual({
            enforcementLevel: "mandatory",
            baseStack: REVIEW_BASE_STACK,
            forbiddenStacks: [...FORBIDDEN_REVIEW_BASES],
        });
        expect(REVIEW_POLICIES).toHaveLength(6);
        expect(REVIEW_POLICIES.map((name) => [name, level("review.json", name)])).toEqual(
            REVIEW_POLICIES.map((name) => [name, "mandatory"]),
        );
    });

    it("review: the same prices and hours as staging", () => {
        const { monthlyBudgetUsd: _r, ...review } = read("review.json")["fly-monthly-budget"];
        const { monthlyBudgetUsd: _s, ...staging } = read("staging.json")["fly-monthly-budget"];
        expect(review).toEqual(staging);
    });

    it.each(["prod.json", "staging.json", "local.json"])("%s: the review policies are disabled", (file) => {
        expect(REVIEW_POLICIES.map((name) => [name, level(file, name)])).toEqual(
            REVIEW_POLICIES.map((name) => [name, "disabled"]),
        );
    });

    it("keeps the cost estimate advisory and the budget mandatory everywhere", () => {
        for (const file of files) {
            expect([file, level(file, "fly-cost-estimate"), level(file, "fly-monthly-budget")]).toEqual([
                file,
                "advisory",
                "mandatory",
            ]);
        }
    });
});

describe("the schema check", () => {
    it("reports an unknown key, a wrong type, an out-of-range value and a bad level", () => {
        expect(
            checkPolicyConfig(
                flyMinRegions.name,
                { enforcementLevel: "mandatory", minRegion: 2 },
                flyMinRegions.configSchema,
            ),
        ).toEqual(["fly-min-regions.minRegion: is not allowed"]);
        expect(
            checkPolicyConfig(
                flyMinMemory.name,
                { enforcementLevel: "mandatory", minMemoryMb: "1024" },
                flyMinMemory.configSchema,
            ),
        ).toEqual(["fly-min-memory.minMemoryMb: must be integer, got string"]);
        expect(
            checkPolicyConfig(
                neonHistoryRetention.name,
                { enforcementLevel: "mandatory", minHistoryRetentionSeconds: 3000000 },
                neonHistoryRetention.configSchema,
            ),
        ).toEqual(["neon-history-retention.minHistoryRetentionSeconds: must be <= 2592000"]);
        expect(
            checkPolicyConfig(flyMinRegions.name, { enforcementLevel: "strict" }, flyMinRegions.configSchema),
        ).toEqual(["fly-min-regions.enforcementLevel: must be one of advisory, mandatory, remediate, disabled"]);
    });

    it("accepts a bare level, as --policy-pack-config does", () => {
        expect(checkPolicyConfig(flyMinRegions.name, "advisory", flyMinRegions.configSchema)).toEqual([]);
    });

    it("checks nested schemas: the cost price table", () => {
        const policy = byName.get("fly-monthly-budget")!;
        expect(
            checkPolicyConfig(
                policy.name,
                { enforcementLevel: "mandatory", prices: { shared: { cpuHourUsd: -1 } } },
                policy.configSchema,
            ),
        ).toEqual([
            "fly-monthly-budget.prices.shared.gbHourUsd: is required",
            "fly-monthly-budget.prices.shared.cpuHourUsd: must be >= 0",
        ]);
    });
});
