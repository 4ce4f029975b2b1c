/**
 * Fly.io's platform limits, written once: the regions, the CPU kinds and the CPU counts each
 * offers, and the memory allowed per CPU. `lib/config.ts` validates the stack config with them
 * and the Fly provider (`providers/fly/`) checks machine inputs with them, so the config never
 * accepts a guest the provider refuses at preview, nor the other way round.
 *
 * The Fly emulator (`localcloud/fly-emulator`) plays Fly and keeps its own copy on purpose;
 * `localcloud/tests/fly-emulator-facts.test.ts` holds that copy equal to this one.
 */

/** Fly.io regions (https://fly.io/docs/reference/regions/), as of 2026. */
export const FLY_REGIONS = [
    "ams",
    "arn",
    "atl",
    "bog",
    "bom",
    "bos",
    "cdg",
    "den",
    "dfw",
    "ewr",
    "eze",
    "fra",
    "gdl",
    "gig",
    "gru",
    "hkg",
    "iad",
    "jnb",
    "lax",
    "lhr",
    "mad",
    "mia",
    "nrt",
    "ord",
    "otp",
    "phx",
    "qro",
    "scl",
    "sea",
    "sin",
    "sjc",
    "syd",
    "waw",
    "yul",
    "yyz",
] as const;

/** A Fly region code. */
export type FlyRegion = (typeof FLY_REGIONS)[number];

/** Whether `code` is one of {@link FLY_REGIONS}. */
export function isFlyRegion(code: string): code is FlyRegion {
    return (FLY_REGIONS as readonly string[]).includes(code);
}

/** The CPU kinds of a Fly machine guest (GPU guests are not used here). */
export const FLY_CPU_KINDS = ["shared", "performance"] as const;

/** A Fly CPU kind. */
export type FlyCpuKind = (typeof FLY_CPU_KINDS)[number];

/**
 * The CPU counts Fly offers per kind: its presets `shared-cpu-{1,2,4,6,8}x` and
 * `performance-{1,2,4,6,8,10,12,14,16}x` (fly-go `MachinePresets`).
 */
export const FLY_CPU_COUNTS: Readonly<Record<FlyCpuKind, readonly number[]>> = {
    shared: [1, 2, 4, 6, 8],
    performance: [1, 2, 4, 6, 8, 10, 12, 14, 16],
};

/** Memory allowed per CPU, in MB: shared 256–2048, performance 2048–8192 (https://fly.io/docs/machines/guides-examples/machine-sizing/). */
export const FLY_MEMORY_PER_CPU_MB: Readonly<Record<FlyCpuKind, { readonly min: number; readonly max: number }>> = {
    shared: { min: 256, max: 2048 },
    performance: { min: 2048, max: 8192 },
};

/** Guest memory is set in steps of this many MB. */
export const FLY_MEMORY_STEP_MB = 256;

/** Whether `cpus` is a CPU count Fly offers for `kind`. */
export function isFlyCpuCount(kind: FlyCpuKind, cpus: number): boolean {
    return FLY_CPU_COUNTS[kind].includes(cpus);
}

/** The memory range, in MB, that Fly allows for `cpus` CPUs of `kind`. */
export function flyMemoryRangeMb(kind: FlyCpuKind, cpus: number): { min: number; max: number } {
    const perCpu = FLY_MEMORY_PER_CPU_MB[kind];
    return { min: perCpu.min * cpus, max: perCpu.max * cpus };
}

/** Whether Fly accepts `memoryMb` for `cpus` CPUs of `kind`: a multiple of 256 within {@link flyMemoryRangeMb}. */
export function isFlyMemory(kind: FlyCpuKind, cpus: number, memoryMb: number): boolean {
    const { min, max } = flyMemoryRangeMb(kind, cpus);
    return Number.isInteger(memoryMb) && memoryMb % FLY_MEMORY_STEP_MB === 0 && memoryMb >= min && memoryMb <= max;
}
