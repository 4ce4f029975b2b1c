/**
 * Stack-wide policies: the Fly machines' monthly cost, shown on every preview and held under a
 * budget per stack.
 *
 * Both policies take the same config ({@link FlyCostConfig}); keep `monthlyBudgetUsd` and
 * `prices` equal for the two in each `config/<stack>.json` (a unit test checks it).
 */
import {
    count,
    PolicyConfigSchema,
    resourcesOfType,
    StackValidationArgs,
    StackValidationPolicy,
    Types,
    usd,
} from "./common";
import type { MachineProps } from "./fly";

/** The hourly price of one CPU and of one GB of memory, for one CPU kind. */
export interface CpuKindPrice {
    cpuHourUsd: number;
    gbHourUsd: number;
}

/** Config of {@link flyCostEstimate} and {@link flyMonthlyBudget}. */
export interface FlyCostConfig {
    /** The most the stack's Fly machines may cost per month, in USD. @default 300 */
    monthlyBudgetUsd?: number;
    /** Hours billed per month. @default 730 */
    hoursPerMonth?: number;
    /** CPU kind -> price per CPU-hour and per GB-hour of memory. */
    prices?: Record<string, CpuKindPrice>;
}

/**
 * Approximate Fly list prices: the pack's copy of `FLY_PRICES` in the repository's
 * `lib/facts/prices.ts` (the pack ships alone, so it imports nothing from outside `policies/`).
 * When Fly's prices change, change them there, here and in `config/*.json`:
 * `tests/policies/facts-parity.test.ts` fails until the three agree.
 */
export const DEFAULT_FLY_PRICES: Record<string, CpuKindPrice> = {
    shared: { cpuHourUsd: 0.00095, gbHourUsd: 0.00685 },
    performance: { cpuHourUsd: 0.0295, gbHourUsd: 0.00685 },
};

const flyCostConfigSchema: PolicyConfigSchema = {
    properties: {
        monthlyBudgetUsd: { type: "number", exclusiveMinimum: 0, default: 300 },
        hoursPerMonth: { type: "number", exclusiveMinimum: 0, maximum: 744, default: 730 },
        prices: {
            type: "object",
            additionalProperties: {
                type: "object",
                properties: {
                    cpuHourUsd: { type: "number", minimum: 0 },
                    gbHourUsd: { type: "number", minimum: 0 },
                },
                required: ["cpuHourUsd", "gbHourUsd"],
                additionalProperties: false,
            },
            default: DEFAULT_FLY_PRICES,
        },
    },
};

/** The estimate for a set of machines. */
export interface FlyCostEstimate {
    /** USD per month, every machine running all month. */
    monthlyUsd: number;
    /** Machines counted. */
    machines: number;
    /** Machines whose CPU kind has no price: `name (kind)`. They are not in `monthlyUsd`. */
    unpriced: string[];
}

/**
 * The monthly cost of machines running all month: per machine, `cpus × cpuHourUsd +
 * memoryMb / 1024 × gbHourUsd` of its CPU kind, times `hoursPerMonth`. An upper bound: machines
 * that autostop cost less.
 */
export function estimateFlyMonthlyCost(
    machines: { name: string; guest?: MachineProps["guest"] }[],
    prices: Record<string, CpuKindPrice>,
    hoursPerMonth: number,
): FlyCostEstimate {
    let hourly = 0;
    const unpriced: string[] = [];
    for (const m of machines) {
        const kind = m.guest?.cpuKind ?? "(unset)";
        const price = Object.prototype.hasOwnProperty.call(prices, kind) ? prices[kind] : undefined;
        if (price === undefined) {
            unpriced.push(`${m.name} (${kind})`);
            continue;
        }
        hourly += (m.guest?.cpus ?? 0) * price.cpuHourUsd + ((m.guest?.memoryMb ?? 0) / 1024) * price.gbHourUsd;
    }
    // Cents are the unit of the budget; round once, at the end.
    return { monthlyUsd: Math.round(hourly * hoursPerMonth * 100) / 100, machines: machines.length, unpriced };
}

function estimateFor(args: StackValidationArgs): { estimate: FlyCostEstimate; config: Required<FlyCostConfig> } {
    const config = args.getConfig<Required<FlyCostConfig>>();
    const machines = resourcesOfType(args, Types.flyMachine).map((r) => ({
        name: r.name,
        guest: (r.props as MachineProps).guest,
    }));
    return { estimate: estimateFlyMonthlyCost(machines, config.prices, config.hoursPerMonth), config };
}

/** Reports the estimated monthly cost of the Fly machines on every run. */
export const flyCostEstimate: StackValidationPolicy = {
    name: "fly-cost-estimate",
    description:
        "Reports the estimated monthly cost of the stack's Fly machines (CPU and memory at the `prices` in " +
        "the config, `hoursPerMonth` hours) on every preview, next to the stack's budget, so a scaling change " +
        "shows its price before it ships. Always advisory; `fly-monthly-budget` enforces the budget (runbook: " +
        "Scaling > Backend Scaling; Monitoring Checklist (Weekly), review CPU/memory trends).",
    enforcementLevel: "advisory",
    configSchema: flyCostConfigSchema,
    validateStack: (args, reportViolation) => {
        const { estimate, config } = estimateFor(args);
        const unpriced = estimate.unpriced.length > 0 ? ` Not priced: ${estimate.unpriced.join(", ")}.` : "";
        reportViolation(
            `Estimated Fly machine cost: ${usd(estimate.monthlyUsd)}/month for ${count(estimate.machines, "machine")} ` +
                `(budget ${usd(config.monthlyBudgetUsd)}).${unpriced}`,
        );
    },
};

/** Checks whether the Fly machines' estimated monthly cost stays within `monthlyBudgetUsd`. */
export const flyMonthlyBudget: StackValidationPolicy = {
    name: "fly-monthly-budget",
    description:
        "Checks whether the estimated monthly cost of the stack's Fly machines (as `fly-cost-estimate` " +
        "reports it) stays within `monthlyBudgetUsd`, and that every CPU kind in use has a price: scaling " +
        "count, CPUs or memory past the budget needs a deliberate, reviewed change to the budget (runbook: " +
        "Scaling > Backend Scaling, vertical and horizontal scaling).",
    enforcementLevel: "mandatory",
    configSchema: flyCostConfigSchema,
    validateStack: (args, reportViolation) => {
        const { estimate, config } = estimateFor(args);
        for (const machine of estimate.unpriced) {
            reportViolation(`Machine ${machine} must use a CPU kind that has a price in the policy config's prices.`);
        }
        if (estimate.monthlyUsd > config.monthlyBudgetUsd) {
            reportViolation(
                `Estimated Fly machine cost ${usd(estimate.monthlyUsd)}/month must stay within the budget of ` +
                    `${usd(config.monthlyBudgetUsd)}/month: use fewer or smaller machines, or raise monthlyBudgetUsd ` +
                    `in the stack's policy config in a reviewed change.`,
            );
        }
    },
};
