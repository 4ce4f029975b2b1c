/**
 * The policy pack ships alone (its own package.json), so it keeps copies of a few facts whose
 * one home is `lib/facts/`. These tests hold each copy equal to its home: the Fly price table
 * (in the code and in every `policies/config/<stack>.json`), the hours billed per month, the
 * env var names that count as credentials, and the Fly sizes and regions the pack's defaults name.
 */
import * as fs from "fs";
import * as path from "path";
import { FLY_CPU_KINDS, FLY_REGIONS, FlyCpuKind, isFlyCpuCount, isFlyMemory } from "../../lib/facts/fly";
import { FLY_PRICES, HOURS_PER_MONTH } from "../../lib/facts/prices";
import { hasCredentialsInUrl, SECRET_ENV_KEY_PATTERNS } from "../../lib/facts/secrets";
import { RESTORE_POINT_BRANCH_PREFIX } from "../../lib/facts/neon";
import { COST_POLICY } from "../../ops/ci/previewReport";
import { UPSTASH_REGIONS } from "../../lib/facts/upstash";
import * as common from "../../policies/src/common";
import { DEFAULT_ALLOWED_GUESTS, flyAllowedGuestSizes } from "../../policies/src/fly";
import { DEFAULT_FLY_PRICES, flyCostEstimate, flyMonthlyBudget } from "../../policies/src/stack";
import { DEFAULT_DISPOSABLE_BRANCH_PREFIXES } from "../../policies/src/neon";
import { DEFAULT_NEARBY_REGIONS } from "../../policies/src/upstash";

const CONFIG_DIR = path.join(__dirname, "../../policies/config");
const files = fs.readdirSync(CONFIG_DIR).filter((f) => f.endsWith(".json"));
const read = (file: string): Record<string, Record<string, unknown>> =>
    JSON.parse(fs.readFileSync(path.join(CONFIG_DIR, file), "utf8"));

/** `shared-2x-1024` -> whether Fly offers that guest, by lib/facts/fly.ts. */
function isFlyGuest(size: string): boolean {
    const m = /^([a-z]+)-(\d+)x-(\d+)$/.exec(size);
    if (!m || !(FLY_CPU_KINDS as readonly string[]).includes(m[1])) return false;
    const [kind, cpus, memoryMb] = [m[1] as FlyCpuKind, Number(m[2]), Number(m[3])];
    return isFlyCpuCount(kind, cpus) && isFlyMemory(kind, cpus, memoryMb);
}

describe("Fly prices", () => {
    test("the pack's default price table is lib/facts/prices.ts's", () => {
        expect(DEFAULT_FLY_PRICES).toEqual(FLY_PRICES);
    });

    test("the pack's default hours per month is lib/facts/prices.ts's", () => {
        for (const policy of [flyCostEstimate, flyMonthlyBudget]) {
            expect([policy.name, policy.configSchema?.properties?.hoursPerMonth?.default]).toEqual([
                policy.name,
                HOURS_PER_MONTH,
            ]);
        }
    });

    test.each(files)("%s gives both cost policies lib/facts/prices.ts's prices and hours", (file) => {
        const config = read(file);
        for (const name of [flyCostEstimate.name, flyMonthlyBudget.name]) {
            expect([name, config[name].prices, config[name].hoursPerMonth]).toEqual([
                name,
                FLY_PRICES,
                HOURS_PER_MONTH,
            ]);
        }
    });
});

describe("credentials in plain env", () => {
    test("the pack's default secret name patterns are lib/facts/secrets.ts's", () => {
        expect(common.DEFAULT_SECRET_KEY_PATTERNS).toEqual(SECRET_ENV_KEY_PATTERNS);
    });

    test.each([
        "postgres://user:pw@db.example.com/app",
        "rediss://default:tok@redis.example.com:6379",
        "https://example.com/path",
        "https://user@example.com",
        "not a url",
        "mailto:a:b@c",
    ])("the pack and lib/facts/secrets.ts agree whether %j carries a password", (value) => {
        expect(common.hasCredentialsInUrl(value)).toBe(hasCredentialsInUrl(value));
    });
});

describe("Fly sizes and regions the pack names", () => {
    test("every default allowed guest size is one Fly offers", () => {
        expect(DEFAULT_ALLOWED_GUESTS.filter((g) => !isFlyGuest(g))).toEqual([]);
    });

    test.each(files)("every allowed guest size in %s is one Fly offers", (file) => {
        const allowed = read(file)[flyAllowedGuestSizes.name].allowedGuests as string[];
        expect(allowed.filter((g) => !isFlyGuest(g))).toEqual([]);
    });

    test("the nearby-region table maps Fly regions to Upstash regions", () => {
        const regions = new Set<string>(FLY_REGIONS);
        const upstash = new Set<string>(UPSTASH_REGIONS);
        expect(Object.keys(DEFAULT_NEARBY_REGIONS).filter((r) => !regions.has(r))).toEqual([]);
        expect(
            Object.values(DEFAULT_NEARBY_REGIONS)
                .flat()
                .filter((r) => !upstash.has(r)),
        ).toEqual([]);
    });
});

describe("the preview comment's cost line", () => {
    test("ops/ci/previewReport.ts reads the cost from the pack's cost policy, by its name", () => {
        expect(COST_POLICY).toBe(flyCostEstimate.name);
    });
});

describe("restore-point branches", () => {
    test("the pack exempts exactly the branch prefix the stack's restore points carry", () => {
        expect(DEFAULT_DISPOSABLE_BRANCH_PREFIXES).toEqual([RESTORE_POINT_BRANCH_PREFIX]);
    });
});
