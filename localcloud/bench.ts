/**
 * Benchmark (not a test): what a user waits for, on the real engine against the local cloud,
 * each row beside the engine's floor measured in the same run.
 *
 *   npm run bench [-- --runs 3] [--regions 1,5,10,20,35] [--skip-start] [--skip-growth]
 *
 * Rows (each the median of `--runs` runs):
 * - the floor: `pulumi preview` of an empty TypeScript program with Pulumi's defaults (measured at
 *   the start and at the end; the median of all those runs);
 * - the pull-request path: preview with the policy pack of a deployed copy of the local stack,
 *   with no change, and with a one-region scale edit (`api.regions.sjc` 2 -> 3);
 * - the merge path: the `up` of that edit (with the policy pack; undone after each run, unmeasured);
 * - `npm start` run again on the `local` stack when it matches its config;
 * - growth: preview and `up` of fresh stacks with N regions of one machine (no policy pack: one
 *   machine per region is below the local policy's minimum). The region list has 35 Fly regions,
 *   so that is the largest N.
 *
 * Columns: wall seconds; CPU seconds (user + system of the whole process tree: the CLI, the
 * language host, the program, the plugins, the policy pack); the peak memory of the largest single
 * process (max RSS). Both come from `/usr/bin/time` around each `pulumi` invocation (a wrapper
 * given to the Automation API as its `PulumiCommand` root), whose figures include every descendant
 * that was waited for. The load average is printed with the table: other work on the machine
 * slows every row, the floor too.
 */
import { spawn } from "child_process";
import { Command } from "commander";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { LocalWorkspace, PulumiCommand, Stack } from "@pulumi/pulumi/automation";
import { parse, stringify } from "yaml";
import { FLY_REGIONS } from "../lib/facts/fly";
import { ensureLocalCloud } from "./control";
import { localStackEnv, REPO_ROOT, toolchainPath } from "./stackEnv";
import { upStack } from "../ops/workspace";

const log = (l: string) => process.stderr.write(`[bench] ${l}\n`);
const BENCH_DIR = path.join(REPO_ROOT, ".local", "bench");
const USAGE_FILE = path.join(BENCH_DIR, "usage.txt");
const POLICY_DIR = path.join(REPO_ROOT, "policies");

/** One measured run: wall and CPU seconds, peak RSS in MiB. */
interface Sample {
    readonly wall: number;
    readonly cpu: number;
    readonly mib: number;
}

/** A row of the table: the medians of its samples. */
interface Row {
    readonly label: string;
    readonly samples: readonly Sample[];
}

function median(xs: readonly number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    const m = Math.floor(s.length / 2);
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** A `pulumi` that runs the toolchain's under `/usr/bin/time`, appending "wall user sys maxKiB" lines. */
function timedPulumiRoot(): string {
    const real = toolchainPath()
        .split(":")
        .map((d) => path.join(d, "pulumi"))
        .find((f) => fs.existsSync(f));
    if (!real) throw new Error(`no pulumi in the toolchain (${toolchainPath()})`);
    if (!fs.existsSync("/usr/bin/time")) throw new Error("/usr/bin/time is missing: apt-get install time");
    const root = path.join(BENCH_DIR, "pulumi");
    fs.mkdirSync(path.join(root, "bin"), { recursive: true });
    const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    fs.writeFileSync(
        path.join(root, "bin", "pulumi"),
        `#!/bin/sh\nexec /usr/bin/time -a -o ${q(USAGE_FILE)} -f '%e %U %S %M' ${q(real)} "$@"\n`,
        { mode: 0o755 },
    );
    return root;
}

/** Runs `fn` and returns its wall time with the CPU and peak memory of the `pulumi` runs it made. */
async function measure(fn: () => Promise<unknown>): Promise<Sample> {
    fs.writeFileSync(USAGE_FILE, "");
    const t0 = process.hrtime.bigint();
    await fn();
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    let cpu = 0;
    let kib = 0;
    for (const line of fs.readFileSync(USAGE_FILE, "utf8").split("\n")) {
        const m = /^([\d.]+) ([\d.]+) ([\d.]+) (\d+)$/.exec(line.trim());
        if (!m) continue; // "Command exited with non-zero status", etc.
        cpu += Number(m[2]) + Number(m[3]);
        kib = Math.max(kib, Number(m[4]));
    }
    return { wall, cpu, mib: kib / 1024 };
}

/** Runs `fn` `runs` times and measures each. `between` runs unmeasured after each run. */
async function sample(
    label: string,
    runs: number,
    fn: () => Promise<unknown>,
    between?: () => Promise<unknown>,
): Promise<Row> {
    const samples: Sample[] = [];
    for (let i = 0; i < runs; i++) {
        const s = await measure(fn);
        log(
            `${label}: run ${i + 1}/${runs}: ${s.wall.toFixed(2)} s wall, ${s.cpu.toFixed(2)} s CPU, ${s.mib.toFixed(0)} MiB`,
        );
        samples.push(s);
        if (between) await between();
    }
    return { label, samples };
}

/** The local environment as the Automation API wants it (strings only). */
function benchEnv(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(localStackEnv())) if (v !== undefined) out[k] = v;
    return out;
}

/** An empty TypeScript program with Pulumi's defaults, in a git-ignored folder (resolves our node_modules). */
function emptyProgramDir(): string {
    const dir = path.join(BENCH_DIR, "empty");
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: bench-empty\nruntime: nodejs\n");
    fs.writeFileSync(path.join(dir, "index.ts"), "export const empty = true;\n");
    // Its own package.json, or Node would take the repository's `main` (the real program).
    fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "bench-empty", main: "index.ts" }));
    return dir;
}

/**
 * Writes `Pulumi.bench-<suffix>.yaml`: the local stack's config with names of its own (so it never
 * collides with other stacks in the local cloud) and `edit` applied to the API section.
 */
function writeStackFile(suffix: string, edit?: (api: Record<string, unknown>) => void): string {
    const name = `bench-${suffix}`;
    const doc = parse(fs.readFileSync(path.join(REPO_ROOT, "Pulumi.local.yaml"), "utf8")) as {
        config: Record<string, Record<string, unknown>>;
    };
    const c = doc.config;
    c["fpsgame-infra:api"].appName = `fpsgame-api-${name}`;
    c["fpsgame-infra:frontend"].projectName = `fpsgame-web-${name}`;
    c["fpsgame-infra:frontend"].domain = `${name}.fpsgame.localhost`;
    c["fpsgame-infra:database"].projectName = `fpsgame-${name}`;
    c["fpsgame-infra:redis"].databaseName = `fpsgame-${name}`;
    edit?.(c["fpsgame-infra:api"]);
    fs.writeFileSync(path.join(REPO_ROOT, `Pulumi.${name}.yaml`), stringify(doc));
    return name;
}

/** Destroys a bench stack and removes it with its file. */
async function removeStack(stack: Stack, name: string): Promise<void> {
    try {
        await stack.destroy();
        await stack.workspace.removeStack(name, { force: true });
    } finally {
        fs.rmSync(path.join(REPO_ROOT, `Pulumi.${name}.yaml`), { force: true });
    }
}

/**
 * `npm <args>` under /usr/bin/time like the CLI (CPU and peak memory of the whole command, its
 * engine runs included). Resolves with its stdout.
 */
function npm(args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
        const c = spawn("/usr/bin/time", ["-a", "-o", USAGE_FILE, "-f", "%e %U %S %M", "npm", ...args], {
            cwd: REPO_ROOT,
            stdio: ["ignore", "pipe", "pipe"],
        });
        let out = "";
        let err = "";
        c.stdout.on("data", (d: Buffer) => (out += d.toString()));
        c.stderr.on("data", (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
        c.on("error", reject);
        c.on("close", (code) =>
            code === 0 ? resolve(out) : reject(new Error(`npm ${args.join(" ")} failed (${code}):\n${err}`)),
        );
    });
}

const npmStart = () => npm(["start"]);

function table(rows: readonly Row[], floor: Row, header: string): string {
    const f = { wall: median(floor.samples.map((s) => s.wall)), cpu: median(floor.samples.map((s) => s.cpu)) };
    const lines = [
        header,
        "",
        "| row | wall s | wall / floor | CPU s | CPU / floor | peak MiB |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ];
    for (const r of [floor, ...rows]) {
        const wall = median(r.samples.map((s) => s.wall));
        const cpu = median(r.samples.map((s) => s.cpu));
        const mib = Math.max(...r.samples.map((s) => s.mib));
        lines.push(
            `| ${r.label} | ${wall.toFixed(2)} | ${(wall / f.wall).toFixed(2)}x | ${cpu.toFixed(2)} | ` +
                `${(cpu / f.cpu).toFixed(2)}x | ${mib.toFixed(0)} |`,
        );
    }
    return lines.join("\n");
}

async function main(): Promise<void> {
    const opts = new Command("bench")
        .option("--runs <n>", "runs per row (the table shows the median)", "3")
        .option("--regions <list>", "region counts of the growth rows (at most 35)", "1,5,10,20,35")
        .option("--skip-start", "leave out the `npm start` row")
        .option("--skip-growth", "leave out the growth rows")
        .parse(process.argv)
        .opts<{ runs: string; regions: string; skipStart?: boolean; skipGrowth?: boolean }>();
    const runs = Number(opts.runs);
    if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs is "${opts.runs}": expected a whole number ≥ 1`);
    const regionCounts = opts.regions.split(",").map((s) => Number(s.trim()));
    for (const n of regionCounts) {
        if (!Number.isInteger(n) || n < 1 || n > FLY_REGIONS.length) {
            throw new Error(`--regions has "${n}": expected whole numbers 1–${FLY_REGIONS.length} separated by commas`);
        }
    }
    const loadBefore = os.loadavg();
    await ensureLocalCloud(log);
    fs.mkdirSync(BENCH_DIR, { recursive: true });
    const pulumiCommand = await PulumiCommand.get({ root: timedPulumiRoot(), skipVersionCheck: true });
    const envVars = benchEnv();
    const workspace = (workDir: string) => LocalWorkspace.create({ workDir, pulumiCommand, envVars });
    const stackIn = async (name: string, workDir = REPO_ROOT) => Stack.createOrSelect(name, await workspace(workDir));
    const policy = { policyPacks: [POLICY_DIR], policyPackConfigs: [path.join(POLICY_DIR, "config", "local.json")] };
    const rows: Row[] = [];

    log("floor: preview of an empty TypeScript program");
    const empty = await stackIn("bench", emptyProgramDir());
    const floorRuns: Sample[] = [...(await sample("floor", runs, () => empty.preview())).samples];

    log("pull-request and merge paths: deploying a copy of the local stack (not measured)");
    const prName = writeStackFile("pr");
    const pr = await stackIn(prName);
    try {
        await pr.up(policy);
        rows.push(await sample("PR: preview + policy pack, no change", runs, () => pr.preview(policy)));
        const scale = (n: number) => pr.setConfig("fpsgame-infra:api.regions.sjc", { value: String(n) }, true);
        await scale(3);
        rows.push(await sample("PR: preview + policy pack, one-region scale edit", runs, () => pr.preview(policy)));
        rows.push(
            await sample(
                "merge: up of that edit (+ policy pack)",
                runs,
                // The project's up (what `npm run up` runs on merge), not the Automation API's read-back.
                () => upStack(pr, policy),
                async () => {
                    await scale(2);
                    await pr.up(policy);
                    await scale(3);
                },
            ),
        );
        await scale(2);
        await pr.up(policy);

        // A rollback against a plain `up` of the same change, both as users run them (policy pack,
        // health gate): before each run sjc goes to 3 (not measured); then the rollback restores the
        // entry before that, or the config goes back to 2 and `npm run up` applies it.
        // The entry to roll back to is looked up after each deploy (not measured): the one before it.
        let target = "";
        const deployThree = async () => {
            await scale(3);
            await pr.up(policy);
            const list = JSON.parse(
                await npm(["run", "-s", "rollback", "--", "--stack", prName, "--list", "--json"]),
            ) as { id: string }[];
            target = list[1].id;
        };
        await deployThree();
        rows.push(
            await sample(
                "rollback: `npm run rollback --to` the entry before a one-region scale",
                runs,
                () => npm(["run", "-s", "rollback", "--", "--stack", prName, "--to", target, "--yes", "--allow-dirty"]),
                deployThree,
            ),
        );
        rows.push(
            await sample(
                "rollback's baseline: `npm run up` of the same change (config edited back)",
                runs,
                async () => {
                    await scale(2);
                    await npm(["run", "-s", "up", "--", "--stack", prName]);
                },
                deployThree,
            ),
        );
    } finally {
        await removeStack(pr, prName);
    }

    if (!opts.skipStart) {
        log("npm start again on a matching local stack (one unmeasured run first)");
        await npmStart();
        rows.push(await sample("`npm start` again, nothing to change", runs, npmStart));
    }

    if (!opts.skipGrowth) {
        for (const n of regionCounts) {
            const name = writeStackFile(`g${n}`, (api) => {
                const codes = FLY_REGIONS.slice(0, n);
                api.regions = Object.fromEntries(codes.map((c) => [c, 1]));
                api.primaryRegion = codes[0];
                api.autoscale = { minMachinesRunning: 1 };
            });
            const s = await stackIn(name);
            try {
                rows.push(await sample(`growth: preview, ${n} region(s) x 1 machine`, runs, () => s.preview()));
                rows.push(
                    await sample(
                        `growth: up from empty, ${n} region(s) x 1 machine`,
                        runs,
                        () => s.up(),
                        () => s.destroy(),
                    ),
                );
            } finally {
                await removeStack(s, name);
            }
        }
    }

    log("floor again");
    floorRuns.push(...(await sample("floor", runs, () => empty.preview())).samples);
    const loadAfter = os.loadavg();
    const floor: Row = {
        label: "floor: preview of an empty TypeScript program (Pulumi's defaults)",
        samples: floorRuns,
    };
    const fmt = (l: number[]) => l.map((x) => x.toFixed(2)).join(" ");
    const header =
        `${new Date().toISOString()}, ${os.cpus().length} cores, median of ${runs} run(s) per row ` +
        `(floor: ${floorRuns.length}); load average ${fmt(loadBefore)} before, ${fmt(loadAfter)} after`;
    process.stdout.write(`${table(rows, floor, header)}\n`);
}

main().catch((e: Error) => {
    log(`failed: ${e.message}`);
    process.exit(1);
});
