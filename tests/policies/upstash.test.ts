import { servingRegions, upstashBudget, upstashEvictionSet, upstashReadRegionsNearApi } from "../../policies/src";
import { machine, neonProject, prodMachines, redis } from "./fixtures";
import { validate } from "./harness";

describe("upstash-eviction-set", () => {
    it("passes eviction true and false", async () => {
        expect(await validate(upstashEvictionSet, redis())).toEqual([]);
        expect(await validate(upstashEvictionSet, redis({ eviction: false }))).toEqual([]);
    });

    it("reports eviction left to the provider default", async () => {
        expect(await validate(upstashEvictionSet, redis({ eviction: undefined }))).toEqual([
            "Upstash database cache-redis must set eviction explicitly (true or false).",
        ]);
    });

    it("does not apply to other types", async () => {
        expect(await validate(upstashEvictionSet, neonProject())).toEqual("n/a");
    });
});

describe("upstash-budget", () => {
    it("passes $50 under the default cap of $100", async () => {
        expect(await validate(upstashBudget, redis())).toEqual([]);
    });

    it("reports a missing budget", async () => {
        expect(await validate(upstashBudget, redis({ budget: undefined }))).toEqual([
            "Upstash database cache-redis must set a monthly budget above $0 and at most $100 (budget is not set).",
        ]);
    });

    it("reports a budget of 0", async () => {
        expect(await validate(upstashBudget, redis({ budget: 0 }))).toEqual([
            "Upstash database cache-redis must set a monthly budget above $0 and at most $100 (budget is 0).",
        ]);
    });

    it("reports a budget over the cap", async () => {
        expect(await validate(upstashBudget, redis({ budget: 500 }))).toEqual([
            "Upstash database cache-redis must set a monthly budget above $0 and at most $100 (budget is 500).",
        ]);
    });

    it("takes maxBudgetUsd from config", async () => {
        expect(await validate(upstashBudget, redis({ budget: 500 }), { maxBudgetUsd: 500 })).toEqual([]);
        expect(await validate(upstashBudget, redis(), { maxBudgetUsd: 20 })).toEqual([
            "Upstash database cache-redis must set a monthly budget above $0 and at most $20 (budget is 50).",
        ]);
    });
});

describe("upstash-read-regions-near-api", () => {
    it("serves from the primary and read regions, or a legacy single region", () => {
        expect(servingRegions({ region: "global", primaryRegion: "us-west-1", readRegions: ["us-east-1"] })).toEqual([
            "us-west-1",
            "us-east-1",
        ]);
        expect(servingRegions({ region: "eu-west-1" })).toEqual(["eu-west-1"]);
    });

    it("passes us-west-1 + us-east-1 for sjc + iad", async () => {
        expect(await validate(upstashReadRegionsNearApi, [...prodMachines(), redis()])).toEqual([]);
    });

    it("reports a Fly region with no nearby Upstash region", async () => {
        expect(await validate(upstashReadRegionsNearApi, [...prodMachines(), redis({ readRegions: [] })])).toEqual([
            "Upstash database cache-redis must have a primary or read region near Fly region iad (one of us-east-1).",
        ]);
    });

    it("reports a Fly region missing from nearbyRegions", async () => {
        expect(await validate(upstashReadRegionsNearApi, [machine("jnb", 1), redis()])).toEqual([
            "Fly region jnb must have an entry in nearbyRegions so Upstash database cache-redis can be checked against it.",
        ]);
    });

    it("takes nearbyRegions from config", async () => {
        const nearbyRegions = { jnb: ["eu-west-1"], sjc: ["us-west-1"], iad: ["us-east-1"] };
        expect(await validate(upstashReadRegionsNearApi, [machine("jnb", 1), redis()], { nearbyRegions })).toEqual([
            "Upstash database cache-redis must have a primary or read region near Fly region jnb (one of eu-west-1).",
        ]);
        expect(
            await validate(upstashReadRegionsNearApi, [machine("jnb", 1), redis({ readRegions: ["eu-west-1"] })], {
                nearbyRegions,
            }),
        ).toEqual([]);
    });

    it("passes a stack without Redis", async () => {
        expect(await validate(upstashReadRegionsNearApi, prodMachines())).toEqual([]);
    });
});
