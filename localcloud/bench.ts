/**
 * Benchmark (not a test): wall time of `pulumi preview` on the real engine, against a
 * baseline measured in the same run.
 *
 *   npm run bench [-- --runs 3]
 *
 * Rows: an empty Node.js program (the engine's floor), the local stack, and the local stack
 * with 1, 5, 10 and 20 Fly regions (one machine each) in throwaway stacks. Each row is the
 * median of `--runs` previews; the ratio column divides by the empty program's median.
 */
import { spawn } from "child_process";
import { Command } from "commander";
import * as fs from "fs";
import * as path from "path";
import { parse, stringify } from "yaml";
import { FLY_REGIONS } from "../lib/facts/fly";
import { localStackEnv, REPO_ROOT } from "./stackEnv";
import { ensureLocalCloud } from "./control";
import { ThrowawayStack } from "./throwawayStack";

const log = (l: string) => process.stderr.write(`${l}\n`);

function median(xs: number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)];
}

async function timePreviews(
    run: () => Promise<{ code: number; stderr: string; stdout: string }>,
    runs: number,
): Promise<number> {
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
        const t0 = process.hrtime.bigint();
        const r = await run();
        if (r.code !== 0) throw new Error(`preview failed:\n${r.stdout}\n${r.stderr}`);
        times.push(Number(process.hrtime.bigint() - t0) / 1e9);
    }
    return median(times);
}

/** A one-file Node.js program with no resources, in a git-ignored folder so it resolves our node_modules. */
function emptyProject(): string {
    const dir = path.join(REPO_ROOT, ".local", "bench", "empty");
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(
        path.join(dir, "Pulumi.yaml"),
        "name: bench-empty\nruntime:\n  name: nodejs\n  options:\n    typescript: true\n",
    );
    fs.writeFileSync(path.join(dir, "index.ts"), "export const empty = true;\n");
    // Its own package.json, or Node would take the repository's `main` (the real program).
    fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "bench-empty", main: "index.ts" }));
    return dir;
}

function spawnPulumi(cwd: string, args: string[], env: NodeJS.ProcessEnv) {
    return new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
        const c = spawn("pulumi", args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        c.stdout.on("data", (d: Buffer) => (stdout += d));
        c.stderr.on("data", (d: Buffer) => (stderr += d));
        c.on("error", reject);
        c.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
    });
}

async function main(): Promise<void> {
    const opts = new Command("bench")
        .option("--runs <n>", "previews per row (median)", "3")
        .parse(process.argv)
        .opts<{ runs: string }>();
    const runs = Math.max(1, Number(opts.runs));
    await ensureLocalCloud(log);
    const env = localStackEnv();
    const rows: [string, number, number][] = [];

    log("benchmark: empty program (the engine's floor)");
    const dir = emptyProject();
    await spawnPulumi(dir, ["stack", "select", "--create", "bench"], env);
    const floor = await timePreviews(() => spawnPulumi(dir, ["preview", "--non-interactive"], env), runs);
    rows.push(["empty program", floor, 0]);

    const measure = async (label: string, regions?: number) => {
        log(`benchmark: ${label}`);
        const s = new ThrowawayStack(regions === undefined ? "local" : `r${regions}`, "bench");
        if (regions !== undefined) {
            const doc = parse(fs.readFileSync(s.file, "utf8")) as { config: Record<string, Record<string, unknown>> };
            const codes = FLY_REGIONS.slice(0, regions);
            doc.config["fpsgame-infra:api"].regions = Object.fromEntries(codes.map((c) => [c, 1]));
            doc.config["fpsgame-infra:api"].primaryRegion = codes[0];
            doc.config["fpsgame-infra:api"].autoscale = { minMachinesRunning: 1 };
            fs.writeFileSync(s.file, stringify(doc));
        }
        try {
            await s.ok(["stack", "init"]);
            const t = await timePreviews(() => s.run(["preview", "--non-interactive"]), runs);
            rows.push([label, t, regions ?? 0]);
        } finally {
            await s.run(["stack", "rm", "--yes", "--force"]);
            fs.rmSync(s.file, { force: true });
        }
    };
    await measure("local stack (2 regions x 2 machines)");
    for (const n of [1, 5, 10, 20]) await measure(`local stack, ${n} region(s) x 1 machine`, n);

    const lines = [
        `pulumi preview wall time, median of ${runs} run(s), ${new Date().toISOString()}`,
        "",
        "| program | seconds | ratio to empty |",
        "| --- | ---: | ---: |",
        ...rows.map(([label, t]) => `| ${label} | ${t.toFixed(2)} | ${(t / floor).toFixed(2)}x |`),
    ];
    process.stdout.write(`${lines.join("\n")}\n`);
}

main().catch((e: Error) => {
    log(`bench failed: ${e.message}`);
    process.exit(1);
});
