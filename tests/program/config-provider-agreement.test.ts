/**
 * The stack config and the Fly provider judge a guest size by the same facts
 * (`lib/facts/fly.ts`), so a size the config accepts is never refused by the provider at
 * preview, and a size the provider would take is never refused by the config. Before the facts
 * had one home they disagreed both ways: the config took 16 shared CPUs (Fly offers at most 8)
 * and refused 10, 12 or 14 performance CPUs (Fly offers them).
 */
import { machineSpec } from "../../components/flyApiApp";
import { parseStackConfig, RawStackConfig, StackConfigError } from "../../lib/config";
import { FLY_CPU_KINDS, FLY_MEMORY_PER_CPU_MB, FlyCpuKind } from "../../lib/facts/fly";
import { checkMachine } from "../../providers/fly/provider/machine";
import { readStackConfig } from "../helpers/mockProgram";

type Guest = { cpuKind: FlyCpuKind; cpus: number; memoryMb: number };

function rawWith(vm: Guest): RawStackConfig<string> {
    const { config } = readStackConfig("prod");
    const api = JSON.parse(config["fpsgame-infra:api"]);
    return {
        api: { ...api, vm },
        frontend: JSON.parse(config["fpsgame-infra:frontend"]),
        database: JSON.parse(config["fpsgame-infra:database"]),
        redis: JSON.parse(config["fpsgame-infra:redis"]),
        jwtSecret: "s",
    };
}

/** The config's verdict on a guest: its problems about `api.vm`. */
function configProblems(vm: Guest): string[] {
    try {
        parseStackConfig(rawWith(vm));
        return [];
    } catch (e) {
        if (!(e instanceof StackConfigError)) throw e;
        return e.problems;
    }
}

/** The provider's verdict on the machine the program declares for this guest (its `check` at preview). */
function providerFailures(vm: Guest): string[] {
    const valid = parseStackConfig(rawWith({ cpuKind: "shared", cpus: 1, memoryMb: 1024 }));
    const spec = machineSpec({ ...valid.api, secrets: {} }, "sjc", 1);
    const result = checkMachine({}, { ...spec, app: valid.api.appName, guest: vm });
    return (result.failures ?? []).map((f) => f.reason);
}

/** Guests around every edge: CPU counts 0–17 and memory just inside and outside each range. */
function guests(): Guest[] {
    const out: Guest[] = [];
    for (const cpuKind of FLY_CPU_KINDS) {
        const { min, max } = FLY_MEMORY_PER_CPU_MB[cpuKind];
        for (let cpus = 0; cpus <= 17; cpus++) {
            const n = Math.max(cpus, 1);
            for (const memoryMb of [min * n - 256, min * n, min * n + 128, min * n + 256, max * n, max * n + 256]) {
                out.push({ cpuKind, cpus, memoryMb });
            }
        }
    }
    return out;
}

test("the config accepts a guest exactly when the Fly provider's check does", () => {
    const verdicts = guests().map((vm) => ({
        vm,
        config: configProblems(vm).length === 0,
        provider: providerFailures(vm).length === 0,
    }));
    expect(verdicts.filter((v) => v.config !== v.provider)).toEqual([]);
    // Not a trivial agreement: the 14 CPU counts Fly offers (5 shared, 9 performance) each pass
    // at 3 of the 6 sizes tried (the minimum, one step above it, the maximum).
    expect(verdicts.filter((v) => v.config).length).toBe(14 * 3);
});

test("16 shared CPUs, once accepted by the config and refused at preview, is refused by both", () => {
    const vm: Guest = { cpuKind: "shared", cpus: 16, memoryMb: 4096 };
    expect(configProblems(vm)).toEqual([
        "fpsgame-infra:api.vm.cpus = 16: must be one of 1, 2, 4, 6, 8 for shared CPUs",
    ]);
    expect(providerFailures(vm)).toEqual(["guest.cpus must be one of 1, 2, 4, 6, 8 for shared CPUs; got 16"]);
});

test("10 performance CPUs, once refused by the config though Fly offers it, is accepted by both", () => {
    const vm: Guest = { cpuKind: "performance", cpus: 10, memoryMb: 20480 };
    expect(configProblems(vm)).toEqual([]);
    expect(providerFailures(vm)).toEqual([]);
});
