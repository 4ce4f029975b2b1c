/**
 * Fly machine prices, written once. The policy pack (`policies/`, a package that ships alone)
 * keeps a copy as its `fly-cost-estimate` / `fly-monthly-budget` defaults and in
 * `policies/config/<stack>.json`; `tests/policies/facts-parity.test.ts` holds both equal to this.
 */
import type { FlyCpuKind } from "./fly";

/** The hourly price of one CPU and of one GB of memory, for one CPU kind. */
export interface FlyCpuKindPrice {
    /** USD per CPU-hour. */
    readonly cpuHourUsd: number;
    /** USD per GB-hour of memory. */
    readonly gbHourUsd: number;
}

/**
 * Approximate Fly list prices (https://fly.io/docs/about/pricing/, 2025): shared-cpu-1x with
 * 256 MB is $1.94/month and memory is $5/GB/month, which leaves ~$0.00095 per shared CPU-hour;
 * performance-1x with 2 GB is ~$31/month, ~$0.0295 per performance CPU-hour.
 */
export const FLY_PRICES: Readonly<Record<FlyCpuKind, FlyCpuKindPrice>> = {
    shared: { cpuHourUsd: 0.00095, gbHourUsd: 0.00685 },
    performance: { cpuHourUsd: 0.0295, gbHourUsd: 0.00685 },
};

/** Hours billed in a month (365 × 24 / 12). */
export const HOURS_PER_MONTH = 730;
