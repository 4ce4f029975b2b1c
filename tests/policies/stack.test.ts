import { DEFAULT_FLY_PRICES, estimateFlyMonthlyCost, flyCostEstimate, flyMonthlyBudget } from "../../policies/src";
import { machine, prodMachines, redis } from "./fixtures";
import { validate } from "./harness";

// shared-2x-1024: 2 × 0.00095 + 1 × 0.00685 = $0.00875/h; × 730 h = $6.3875/month per machine.
const PROD_FOUR_MACHINES_USD = "$25.55";

describe("estimateFlyMonthlyCost", () => {
    it("prices shared-cpu-1x 256 MB at Fly's ~$1.94/month", () => {
        expect(
            estimateFlyMonthlyCost(
                [{ name: "m", guest: { cpuKind: "shared", cpus: 1, memoryMb: 256 } }],
                DEFAULT_FLY_PRICES,
                730,
            ),
        ).toEqual({
            monthlyUsd: 1.94,
            machines: 1,
            unpriced: [],
        });
    });

    it("prices performance-1x 2 GB at ~$31.54/month", () => {
        expect(
            estimateFlyMonthlyCost(
                [{ name: "m", guest: { cpuKind: "performance", cpus: 1, memoryMb: 2048 } }],
                DEFAULT_FLY_PRICES,
                730,
            ).monthlyUsd,
        ).toBe(31.54);
    });

    it("lists machines whose CPU kind has no price and leaves them out", () => {
        expect(
            estimateFlyMonthlyCost(
                [{ name: "gpu-1", guest: { cpuKind: "a100", cpus: 8, memoryMb: 32768 } }],
                DEFAULT_FLY_PRICES,
                730,
            ),
        ).toEqual({
            monthlyUsd: 0,
            machines: 1,
            unpriced: ["gpu-1 (a100)"],
        });
    });
});

describe("fly-cost-estimate", () => {
    it("always reports the estimate, with the default budget", async () => {
        expect(await validate(flyCostEstimate, prodMachines())).toEqual([
            `Estimated Fly machine cost: ${PROD_FOUR_MACHINES_USD}/month for 4 machines (budget $300.00).`,
        ]);
    });

    it("reports $0 for a stack without machines", async () => {
        expect(await validate(flyCostEstimate, [redis()])).toEqual([
            "Estimated Fly machine cost: $0.00/month for 0 machines (budget $300.00).",
        ]);
    });

    it("takes the budget, hours and prices from config", async () => {
        const prices = { shared: { cpuHourUsd: 0.01, gbHourUsd: 0 } };
        expect(
            await validate(flyCostEstimate, [machine()], { monthlyBudgetUsd: 75, hoursPerMonth: 100, prices }),
        ).toEqual(["Estimated Fly machine cost: $2.00/month for 1 machine (budget $75.00)."]);
    });

    it("names machines it could not price", async () => {
        const gpu = machine("sjc", 1, { guest: { cpuKind: "a100", cpus: 8, memoryMb: 32768 } });
        expect(await validate(flyCostEstimate, [gpu])).toEqual([
            "Estimated Fly machine cost: $0.00/month for 1 machine (budget $300.00). Not priced: api-sjc-1 (a100).",
        ]);
    });
});

describe("fly-monthly-budget", () => {
    it("passes prod's four machines under $300", async () => {
        expect(await validate(flyMonthlyBudget, prodMachines())).toEqual([]);
    });

    it("reports an estimate over the budget", async () => {
        expect(await validate(flyMonthlyBudget, prodMachines(), { monthlyBudgetUsd: 20 })).toEqual([
            `Estimated Fly machine cost ${PROD_FOUR_MACHINES_USD}/month must stay within the budget of $20.00/month: use fewer or smaller machines, or raise monthlyBudgetUsd in the stack's policy config in a reviewed change.`,
        ]);
    });

    it("reports a machine it cannot price", async () => {
        const gpu = machine("sjc", 1, { guest: { cpuKind: "a100", cpus: 8, memoryMb: 32768 } });
        expect(await validate(flyMonthlyBudget, [gpu])).toEqual([
            "Machine api-sjc-1 (a100) must use a CPU kind that has a price in the policy config's prices.",
        ]);
    });
});
