/**
 * The Fly emulator plays Fly, so it keeps its own copy of Fly's limits instead of importing
 * ours (`lib/facts/`). These tests hold that copy equal to the one home: every guest size, every
 * Go duration and every region code gets the same verdict from the emulator as from the module.
 */
import { formatGoDuration, parseGoDuration } from "../../lib/facts/durations";
import {
    FLY_CPU_COUNTS,
    FLY_CPU_KINDS,
    FLY_MEMORY_PER_CPU_MB,
    FLY_MEMORY_STEP_MB,
    FLY_REGIONS,
    isFlyCpuCount,
    isFlyMemory,
    isFlyRegion,
} from "../../lib/facts/fly";
import { guestPreset, normalizeConfig } from "../fly-emulator/config";
import { isRegion, REGION_NAMES } from "../fly-emulator/regions";
import { formatGoDuration as emulatorFormat, parseGoDuration as emulatorParse } from "../fly-emulator/util";

/** Whether the emulator accepts a machine config with this guest. */
function emulatorAccepts(guest: Record<string, unknown>): boolean {
    try {
        normalizeConfig({ image: "registry.fly.io/app:v1", guest });
        return true;
    } catch {
        return false;
    }
}

describe("guest sizes", () => {
    const cpuCounts = Array.from({ length: 17 }, (_, i) => i); // 0..16
    test.each(FLY_CPU_KINDS.flatMap((kind) => cpuCounts.map((cpus) => [kind, cpus] as const)))(
        "%s × %d CPUs: the emulator accepts the count exactly when lib/facts/fly.ts does",
        (kind, cpus) => {
            const memory = FLY_MEMORY_PER_CPU_MB[kind].min * Math.max(cpus, 1);
            expect(emulatorAccepts({ cpu_kind: kind, cpus, memory_mb: memory })).toBe(isFlyCpuCount(kind, cpus));
        },
    );

    test.each(FLY_CPU_KINDS.flatMap((kind) => FLY_CPU_COUNTS[kind].map((cpus) => [kind, cpus] as const)))(
        "%s × %d CPUs: the emulator accepts the same memory sizes as lib/facts/fly.ts",
        (kind, cpus) => {
            const { max } = FLY_MEMORY_PER_CPU_MB[kind];
            const disagreements: number[] = [];
            // Every step up to one step past the maximum, plus values off the 256 MB grid.
            for (let mb = 0; mb <= max * cpus + FLY_MEMORY_STEP_MB; mb += FLY_MEMORY_STEP_MB / 2) {
                if (emulatorAccepts({ cpu_kind: kind, cpus, memory_mb: mb }) !== isFlyMemory(kind, cpus, mb)) {
                    disagreements.push(mb);
                }
            }
            expect(disagreements).toEqual([]);
        },
    );

    test("the emulator's presets are the CPU counts of lib/facts/fly.ts at the minimum memory", () => {
        for (const kind of FLY_CPU_KINDS) {
            for (let cpus = 0; cpus <= 16; cpus++) {
                const name = kind === "shared" ? `shared-cpu-${cpus}x` : `performance-${cpus}x`;
                const expected = isFlyCpuCount(kind, cpus)
                    ? { cpu_kind: kind, cpus, memory_mb: FLY_MEMORY_PER_CPU_MB[kind].min * cpus }
                    : undefined;
                expect([name, guestPreset(name)]).toEqual([name, expected]);
            }
        }
    });
});

describe("Go durations", () => {
    const texts = [
        "0",
        "15s",
        "1m30s",
        "1.5s",
        "1500ms",
        ".5s",
        "2h45m",
        "250us",
        "250\u00b5s",
        "42ns",
        "",
        "15",
        "15 s",
        "1d",
    ];
    test.each(texts)("the emulator reads %j as lib/facts/durations.ts does", (text) => {
        expect(emulatorParse(text)).toBe(parseGoDuration(text));
    });

    const values = [0, 42, 250e3, 1.5e6, 5e8, 1.5e9, 2e9, 90e9, 3600e9, 3661.5e9];
    test.each(values)("the emulator writes %d ns as lib/facts/durations.ts does", (ns) => {
        expect(emulatorFormat(ns)).toBe(formatGoDuration(ns));
    });
});

describe("regions", () => {
    test("the emulator has exactly the regions of lib/facts/fly.ts", () => {
        expect(Object.keys(REGION_NAMES).sort()).toEqual([...FLY_REGIONS].sort());
    });

    test("every three-letter code gets the same verdict from the emulator as from lib/facts/fly.ts", () => {
        const letters = "abcdefghijklmnopqrstuvwxyz";
        const disagreements: string[] = [];
        for (const a of letters)
            for (const b of letters)
                for (const c of letters) {
                    const code = a + b + c;
                    if (isRegion(code) !== isFlyRegion(code)) disagreements.push(code);
                }
        expect(disagreements).toEqual([]);
        expect(isRegion("IAD")).toBe(isFlyRegion("IAD"));
        expect(isRegion("constructor")).toBe(false);
    });
});
