/**
 * Benchmark (not a test): what many open pull requests cost the local cloud. For each count N
 * (`--counts`, default 1, 5, 20) it creates N review stacks side by side from one base stack, with
 * `npm run review -- up` as the review workflow runs it (the policy pack, the up, the short health
 * gate), measures the local cloud's memory while all N exist, then removes them with
 * `npm run review -- destroy`. The baseline is in the same run: the local cloud's memory with
 * the base alone, and N = 1's time per stack.
 *
 *   npm run bench:review [-- --counts 1,5,20] [--parallel 2] [--first-pr 9100]
 *
 * Columns: the wall seconds to create (and to destroy) all N, `--parallel` at a time, and per
 * stack; the local cloud's memory (the proportional set size, PSS, of its servers and every
 * process they started: PostgreSQL and its backends, the Redis instances, the Fly emulator, the
 * API stand-ins; PSS counts shared pages once, where RSS would count PostgreSQL's shared buffers
 * once per backend) with all N up, its growth over the baseline, and that growth per stack.
 */
import { spawn } from "child_process";
import { Command } from "commander";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ensureLocalCloud } from "./control";
import { localcloudPaths } from "./services/env";
import { REPO_ROOT } from "./stackEnv";
import { ThrowawayStack } from "./throwawayStack";

const log = (l: string) => process.stderr.write(`[bench:review] ${l}\n`);

/** `npm run <args…>` through ops/cli.ts; its output goes to a log file, the failure's tail to the error. */
function cli(args: string[], logFile: string): Promise<void> {
    return new Promise((resolve, reject) => {
        const out = fs.openSync(logFile, "a");
        const child = spawn(process.execPath, ["--require", "./lib/register.js", "ops/cli.ts", ...args], {
            cwd: REPO_ROOT,
            stdio: ["ignore", out, out],
        });
        child.on("error", reject);
        child.on("close", (code) => {
            fs.closeSync(out);
            if (code === 0) return resolve();
            const tail = fs.readFileSync(logFile, "utf8").split("\n").slice(-15).join("\n");
            reject(new Error(`${args.slice(0, 4).join(" ")} exited ${code} (log ${logFile}):\n${tail}`));
        });
    });
}

/** Runs `jobs`, `parallel` at a time; the wall seconds of the whole. */
async function pool(jobs: (() => Promise<void>)[], parallel: number): Promise<number> {
    const started = process.hrtime.bigint();
    const queue = [...jobs];
    const errors: Error[] = [];
    await Promise.all(
        Array.from({ length: Math.min(parallel, queue.length) }, async () => {
            for (let job = queue.shift(); job; job = queue.shift()) await job().catch((e: Error) => errors.push(e));
        }),
    );
    if (errors.length > 0) throw errors[0];
    return Number(process.hrtime.bigint() - started) / 1e9;
}

/** kB of a `/proc/<pid>/smaps_rollup` field, 0 when the process is gone or not readable. */
function pssKb(pid: number): number {
    try {
        const m = /^Pss:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"));
        return m ? Number(m[1]) : 0;
    } catch {
        return 0;
    }
}

/**
 * The local cloud's processes: those whose command line or working directory is in its folder
 * (`.local/`: PostgreSQL's postmaster, the Redis instances) or that run its code (the emulator,
 * the stand-ins), and every process under them (PostgreSQL's backends). Returns their PSS, MiB.
 */
function localCloudMemoryMib(): { mib: number; processes: number } {
    const dir = localcloudPaths().dir;
    const procs = fs
        .readdirSync("/proc")
        .filter((p) => /^\d+$/.test(p))
        .map((p) => {
            const pid = Number(p);
            const read = (f: string) => {
                try {
                    return fs.readFileSync(`/proc/${pid}/${f}`, "utf8");
                } catch {
                    return "";
                }
            };
            let cwd = "";
            try {
                cwd = fs.readlinkSync(`/proc/${pid}/cwd`);
            } catch {
                /* gone, or not ours to read */
            }
            const stat = read("stat");
            // The parent pid is the 4th field, after the command name in parentheses (which may hold spaces).
            const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
            return { pid, ppid, cmdline: read("cmdline").replace(/\0/g, " "), cwd };
        });
    const ours = new Set(
        procs
            .filter(
                (p) =>
                    p.cmdline.includes(dir) ||
                    p.cwd.startsWith(dir) ||
                    /localcloud\/(fly-emulator|stand-ins)\//.test(p.cmdline),
            )
            .map((p) => p.pid),
    );
    // Descendants (PostgreSQL's backends), until nothing is added.
    for (let grown = true; grown;) {
        grown = false;
        for (const p of procs) {
            if (!ours.has(p.pid) && ours.has(p.ppid)) {
                ours.add(p.pid);
                grown = true;
            }
        }
    }
    // Not the benchmark itself nor the commands it runs: they are not the local cloud.
    ours.delete(process.pid);
    const kb = [...ours].reduce((sum, pid) => sum + pssKb(pid), 0);
    return { mib: kb / 1024, processes: ours.size };
}

interface Level {
    readonly count: number;
    readonly createWall: number;
    readonly destroyWall: number;
    readonly mib: number;
}

function table(levels: readonly Level[], baseline: number, parallel: number): string {
    const f = (n: number, d = 1) => n.toFixed(d);
    const lines = [
        `| review stacks | create, all (s) | create, per stack (s) | destroy, all (s) | destroy, per stack (s) | local cloud memory (MiB) | over the base alone (MiB) | per stack (MiB) |`,
        `| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |`,
        `| 0 (the base alone) | | | | | ${f(baseline, 0)} | | |`,
        ...levels.map(
            (l) =>
                `| ${l.count} | ${f(l.createWall)} | ${f(l.createWall / l.count)} | ${f(l.destroyWall)} | ${f(l.destroyWall / l.count)} | ${f(l.mib, 0)} | ${f(l.mib - baseline, 0)} | ${f((l.mib - baseline) / l.count)} |`,
        ),
    ];
    return `${lines.join("\n")}\n\n${parallel} at a time on ${os.availableParallelism()} cores; load average ${os
        .loadavg()
        .map((x) => x.toFixed(2))
        .join(" ")}.\n`;
}

function parseList(value: string, name: string, min: number, max: number): number[] {
    const xs = value.split(",").map((s) => Number(s.trim()));
    const bad = xs.find((x) => !Number.isInteger(x) || x < min || x > max);
    if (bad !== undefined || xs.length === 0) {
        throw new Error(
            `${name} ${JSON.stringify(value)}: allowed is a comma-separated list of whole numbers from ${min} to ${max}`,
        );
    }
    return xs;
}

async function main(): Promise<void> {
    const o = new Command()
        .name("bench:review")
        .option("--counts <list>", "how many review stacks side by side, per level", "1,5,20")
        .option("--parallel <n>", "creates (and destroys) at a time", "2")
        .option("--first-pr <n>", "the first pull request number used (then the next ones)", "9100")
        .parse()
        .opts<{ counts: string; parallel: string; firstPr: string }>();
    const counts = parseList(o.counts, "--counts", 1, 50);
    const [parallel] = parseList(o.parallel, "--parallel", 1, 16);
    const [firstPr] = parseList(o.firstPr, "--first-pr", 1, 999_999_000);
    const logDir = path.join(REPO_ROOT, ".local", "bench", "review");
    fs.rmSync(logDir, { recursive: true, force: true });
    fs.mkdirSync(logDir, { recursive: true });

    await ensureLocalCloud(log);
    const base = new ThrowawayStack("review-base", "bench");
    const prs = Array.from({ length: Math.max(...counts) }, (_, i) => firstPr + i);
    const destroyAll = (some: number[]) =>
        pool(
            some.map(
                (pr) => () =>
                    cli(
                        ["review", "destroy", "--pr", String(pr), "--base", base.name],
                        path.join(logDir, `destroy-${pr}.log`),
                    ),
            ),
            parallel,
        );
    const levels: Level[] = [];
    let baseline = 0;
    try {
        log(`base stack ${base.name}: up (logs in ${path.relative(REPO_ROOT, logDir)})`);
        await base.init();
        await base.upOk();
        // Leftovers of an interrupted run use the same numbers.
        await destroyAll(prs);
        baseline = localCloudMemoryMib().mib;
        log(`local cloud with the base alone: ${baseline.toFixed(0)} MiB`);
        for (const count of counts) {
            const some = prs.slice(0, count);
            log(`${count} review stack(s): creating, ${parallel} at a time…`);
            const createWall = await pool(
                some.map(
                    (pr) => () =>
                        cli(
                            ["review", "up", "--pr", String(pr), "--branch", `bench/pr-${pr}`, "--base", base.name],
                            path.join(logDir, `up-${pr}.log`),
                        ),
                ),
                parallel,
            );
            const { mib, processes } = localCloudMemoryMib();
            log(
                `${count} up in ${createWall.toFixed(1)} s; the local cloud: ${mib.toFixed(0)} MiB in ${processes} processes; destroying…`,
            );
            const destroyWall = await destroyAll(some);
            levels.push({ count, createWall, destroyWall, mib });
            log(`${count} destroyed in ${destroyWall.toFixed(1)} s`);
        }
    } finally {
        await destroyAll(prs).catch((e: Error) => log(`cleanup: ${e.message}`));
        await base.remove().catch((e: Error) => log(`cleanup of ${base.name}: ${e.message}`));
    }
    const out = table(levels, baseline, parallel);
    fs.writeFileSync(path.join(logDir, "table.md"), out);
    process.stdout.write(`\n${out}`);
    log(
        `done: the table is also in ${path.relative(REPO_ROOT, path.join(logDir, "table.md"))}; the commands' logs beside it.`,
    );
}

main().catch((e: Error) => {
    process.stderr.write(`[bench:review] failed: ${e.message}\n`);
    process.exit(1);
});
