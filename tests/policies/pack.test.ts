/**
 * The pack as a whole: every policy a module exports is registered, names and texts follow
 * the house style, schemas are well-formed, and unknown preview values reach the SDK.
 */
import { UNKNOWN } from "../../lib/facts/sentinels";
import * as common from "../../policies/src/common";
import * as fly from "../../policies/src/fly";
import { allPolicies, FpsPolicy } from "../../policies/src";
import * as neon from "../../policies/src/neon";
import * as review from "../../policies/src/review";
import * as stack from "../../policies/src/stack";
import * as upstash from "../../policies/src/upstash";
import * as vercel from "../../policies/src/vercel";
import { machine, machineWithService, prodMachines } from "./fixtures";
import { configFor, UNKNOWN_NUMBER, UnknownValueError, validate } from "./harness";
import { check } from "./schemaCheck";

const modules = { common, fly, neon, review, stack, upstash, vercel };

function isPolicy(v: unknown): v is FpsPolicy {
    return (
        typeof v === "object" &&
        v !== null &&
        "name" in v &&
        "description" in v &&
        ("validateResource" in v || "validateStack" in v)
    );
}

const exported = Object.entries(modules).flatMap(([module, exports]) =>
    Object.entries(exports)
        .filter(([, v]) => isPolicy(v))
        .map(([exportName, policy]) => ({ module, exportName, policy: policy as FpsPolicy })),
);

describe("allPolicies", () => {
    it("holds every policy the modules export, and nothing else", () => {
        const missing = exported
            .filter(({ policy }) => !allPolicies.includes(policy))
            .map((e) => `${e.module}.${e.exportName}`);
        expect(missing).toEqual([]);
        expect(new Set(allPolicies)).toEqual(new Set(exported.map((e) => e.policy)));
    });

    it("has 28 policies", () => {
        expect(allPolicies.map((p) => p.name)).toEqual([
            "fly-min-regions",
            "fly-min-machines-per-region",
            "fly-min-machines-running",
            "fly-min-memory",
            "fly-allowed-guest-sizes",
            "fly-health-checks",
            "fly-force-https",
            "fly-websocket-concurrency",
            "fly-no-plain-secrets",
            "fly-image-digest",
            "neon-history-retention",
            "neon-protect-stateful",
            "neon-connection-ssl",
            "neon-autoscaling-range",
            "upstash-eviction-set",
            "upstash-budget",
            "upstash-read-regions-near-api",
            "vercel-production-branch",
            "vercel-sensitive-secrets",
            "vercel-secure-urls",
            "fly-cost-estimate",
            "fly-monthly-budget",
            "review-single-region",
            "review-single-machine",
            "review-autostop",
            "review-base-stack",
            "review-preview-only",
            "review-unprotected",
        ]);
    });

    it("has unique kebab-case names, none of them the reserved `all`", () => {
        const names = allPolicies.map((p) => p.name);
        expect(new Set(names).size).toBe(names.length);
        for (const name of names) {
            expect(name).toMatch(/^[a-z0-9]+(-[a-z0-9]+)+$/);
        }
        expect(names).not.toContain("all");
    });

    it.each(allPolicies.map((p) => [p.name, p]))(
        "%s: description says what it checks and why (runbook)",
        (_name, policy) => {
            expect(policy.description).toMatch(/^(Checks whether|Reports) /);
            expect(policy.description).toMatch(/\(runbook: [^)]+\)/);
            expect(policy.enforcementLevel).toMatch(/^(advisory|mandatory)$/);
        },
    );

    it.each(allPolicies.map((p) => [p.name, p]))("%s: config schema has defaults that satisfy it", (_name, policy) => {
        const properties = policy.configSchema?.properties ?? {};
        expect(Object.keys(properties)).not.toContain("enforcementLevel");
        for (const [key, schema] of Object.entries(properties)) {
            expect({ key, hasDefault: schema.default !== undefined }).toEqual({ key, hasDefault: true });
            expect(check(schema.default, schema as Record<string, unknown>, key)).toEqual([]);
        }
    });

    it("hands each run a fresh copy of the defaults", () => {
        const a = configFor(fly.flyAllowedGuestSizes).allowedGuests as string[];
        a.push("performance-16x-32768");
        expect(configFor(fly.flyAllowedGuestSizes).allowedGuests).toEqual(fly.DEFAULT_ALLOWED_GUESTS);
    });
});

describe("unknown values during preview", () => {
    // The engine passes unknown outputs as sentinels; the proxy throws UnknownValueError on read,
    // and the SDK turns that into an advisory "can't run policy during preview". Policies let it through.

    it("lets UnknownValueError out of a resource policy", async () => {
        const m = machine("sjc", 1, { image: UNKNOWN });
        await expect(validate(fly.flyImageDigest, m)).rejects.toBeInstanceOf(UnknownValueError);
    });

    it("lets UnknownValueError out of a nested read", async () => {
        const m = machineWithService((s) => (s.minMachinesRunning = UNKNOWN_NUMBER));
        await expect(validate(fly.flyMinMachinesRunning, m)).rejects.toBeInstanceOf(UnknownValueError);
    });

    it("lets UnknownValueError out of a stack policy", async () => {
        const machines = [...prodMachines(), machine("ams", 1, { region: UNKNOWN })];
        await expect(validate(fly.flyMinRegions, machines)).rejects.toBeInstanceOf(UnknownValueError);
    });
});
