/**
 * The project's commands, the same for real and local stacks:
 *
 *   npm start                                   local cloud + preview + up of the `local` stack + summary
 *   npm run preview -- --stack staging          preview with the policy pack
 *   npm run up -- --stack prod                  update with the policy pack
 *   npm run history -- --stack prod             the stack's update history
 *   npm run rollback -- --stack prod --list     every update with its id; --to <id> restores one
 *   npm run undo-migration -- --stack prod      restore the database from its pre-migration branch
 *   npm run adopt -- --stack prod [--yes]       take over what already runs (plan, then pulumi import)
 *   npm run pulumi -- <args> --stack <s>        any pulumi command in the stack's environment
 *   npm run localcloud -- start|stop|status     the offline local cloud alone
 *
 * Only stacks marked `fpsgame-infra:localCloud: true` get the offline environment; the real
 * ones use the user's own Pulumi login and credentials. The stacks are driven through the
 * Automation API (workspace.ts).
 */
import type { OutputMap } from "@pulumi/pulumi/automation";
import { Command } from "commander";
import * as fs from "fs";
import * as path from "path";
import { isLocalStack, localCloud, readStackFile, REPO_ROOT, stackEnv } from "./env";
// What only some commands use is loaded by them (`await import`): adopt (zod, pg, the provider
// SDKs), the health gate and status (the Fly client, axios, ws) and undo-migration (pg). Loaded
// by every command, they were about a third of its start: `npm run preview`'s own process went
// from 1.01 to 0.81 CPU s without them (4 runs each, 2026-12-04).
import type { GateResult } from "./health";
import { ensurePolicyPack, policyOptionsFor, PolicyOptions } from "./pulumi";
import { refuseIfDeadLock, settlePendingCreates } from "./recovery";
import { DriftCollector, renderDriftIssue } from "./ci/drift";
import { renderRollbackSummary } from "./ci/rollbackReport";
import { PreviewCollector, renderComment } from "./ci/previewReport";
import { renderReviewComment, ReviewReport } from "./ci/reviewReport";
import { REVIEW_BASE_STACK, reviewPullRequest, reviewStackName } from "../lib/review";
import {
    listReviewStacks,
    parseIdleDays,
    parseOpenPullRequests,
    parsePullRequest,
    recordedReview,
    renderSweepReport,
    setReviewJwtSecret,
    stackFilePath,
    sweepDecisions,
    writeReviewStackFile,
} from "./review";
import {
    historyEntries,
    renderList,
    rollbackCommand,
    RollbackOptions,
    RollbackSummary,
    stackHistory,
    terminalConfirm,
} from "./rollback";
import {
    applyEdits,
    backupDatabase,
    ConfigEdit,
    deployEdit,
    describeEdit,
    newSecretValue,
    PASSWORD_COUNTERS,
    passwordRotationEdit,
    rotateKey,
    scaleEdits,
} from "./runbook";
import {
    describeChanges,
    hasChanges,
    openStack,
    OpFlags,
    parseOpFlags,
    PROJECT,
    ProjectStack,
    runOp,
    runPulumi,
    stackOutputs,
    terminalStreams,
    upStack,
} from "./workspace";

const log = (line: string): void => {
    process.stderr.write(`${line}\n`);
};

interface StackOpts {
    stack: string;
    policy: boolean;
    /** `--no-gate` sets false: skip the health gate after an up. */
    gate?: boolean;
    /** `--gate-window <s>`: seconds the gate reads the error rate over. */
    gateWindow?: string;
    /** The program's folder (default: this checkout); a review of another checkout of it. */
    workDir?: string;
}

/** The stack's Fly app, as its file names it (`api.appName`). */
function flyAppName(stack: string): string {
    const api = readStackFile(stack)[`${PROJECT}:api`] as { appName?: string } | undefined;
    return String(api?.appName ?? "");
}

/** The gate's window: `--gate-window`, else 3 s on the local cloud and 300 s on a real stack. */
function gateWindow(o: StackOpts): number {
    if (o.gateWindow !== undefined) {
        const n = Number(o.gateWindow);
        if (!Number.isFinite(n) || n < 0 || n > 3600) {
            throw new Error(
                `--gate-window ${JSON.stringify(o.gateWindow)}: allowed is a number of seconds from 0 to 3600`,
            );
        }
        return n;
    }
    return isLocalStack(o.stack) ? 3 : 300;
}

/**
 * The health gate on the stack as deployed now (ops/health.ts). `outputs`: the stack's outputs
 * when the caller has them (an up's result carries them), which spares two CLI calls.
 */
async function runGate(o: StackOpts, ps: ProjectStack, known?: OutputMap): Promise<GateResult> {
    const outputs = known ?? (await stackOutputs(ps.stack));
    const out = (k: string): string => String(outputs[k]?.value ?? "");
    const app = flyAppName(o.stack);
    const windowSeconds = gateWindow(o);
    log(`\n== health gate: ${app} (machines, /healthz, /readyz, /metrics, /ws, error rate over ${windowSeconds}s)`);
    const { flyLister, healthGate } = await import("./health");
    return healthGate(
        {
            app,
            healthUrl: out("healthUrl"),
            readyUrl: out("readyUrl"),
            metricsUrl: out("metricsUrl"),
            websocketUrl: out("websocketUrl"),
            listMachines: flyLister(ps.env, app),
            resolve: isLocalStack(o.stack) ? localCloud().localEdgeResolve : (url) => ({ url }),
        },
        { windowSeconds, log },
    );
}

/**
 * After an up that changed something: the gate; when it fails, the stack is rolled back to the
 * newest earlier update that succeeded, and the command says so and fails.
 */
async function gateOrRollBack(o: StackOpts, ps: ProjectStack, outputs: OutputMap): Promise<number> {
    const gate = await runGate(o, ps, outputs);
    if (gate.ok) {
        log("health gate passed.");
        return 0;
    }
    const failed = gate.checks.filter((c) => !c.ok).map((c) => c.name);
    const entries = await historyEntries(ps);
    const previous = entries.slice(1).find((e) => e.kind === "update" && e.result === "succeeded");
    if (!previous) {
        log(`\nhealth gate failed (${failed.join(", ")}), and the stack has no earlier good update to roll back to.`);
        return 1;
    }
    log(
        `\nhealth gate failed (${failed.join(", ")}): rolling ${o.stack} back to ${previous.id}, the update before this one.`,
    );
    const code = await rollbackCommand(
        { stack: o.stack, to: previous.id, yes: true, policy: o.policy, allowDirty: true },
        { log, streams: term(), prepare: async () => prepare(o), gate: (outputs) => runGate(o, ps, outputs) },
    );
    log(
        code === 0
            ? `\nThe deploy failed its health gate and was rolled back to ${previous.id}; both updates are in the history (npm run rollback -- --stack ${o.stack} --list).`
            : `\nThe deploy failed its health gate, and the automatic rollback to ${previous.id} did not complete (above): roll back by hand with npm run rollback -- --stack ${o.stack} --to <id>.`,
    );
    return 1;
}

interface Prepared {
    ps: ProjectStack;
    policy: PolicyOptions | Record<string, never>;
}

const prepared = new Map<string, Promise<Prepared>>();

/** Local cloud, stack and policy pack ready for `o.stack`; done once per command. */
function prepare(o: StackOpts): Promise<Prepared> {
    const key = `${o.stack}:${o.policy}`;
    if (!prepared.has(key)) prepared.set(key, prepareOnce(o));
    return prepared.get(key)!;
}

async function prepareOnce(o: StackOpts): Promise<Prepared> {
    const local = isLocalStack(o.stack);
    if (local) await localCloud().ensureLocalCloud(log);
    // A review stack is created by its first `npm run review -- up`, on a real backend too.
    const ensure = local || reviewPullRequest(o.stack) !== undefined;
    const ps = await openStack(o.stack, { mode: ensure ? "ensure" : "select", workDir: o.workDir });
    if (ps.created) log(`created stack ${o.stack} in the local file backend`);
    if (!o.policy) {
        log("policy pack: skipped (--no-policy)");
        return { ps, policy: {} };
    }
    ensurePolicyPack(log);
    return { ps, policy: policyOptionsFor(o.stack) };
}

async function preview(
    o: StackOpts & { comment?: string },
    flags: OpFlags = {},
    events?: PreviewCollector,
): Promise<number> {
    // With --comment, the comment is written whatever happens, a failure to prepare included:
    // the pull request then says why there is no preview.
    const collector = events ?? new PreviewCollector();
    const writeComment = (ok: boolean, extra?: string) => {
        if (!o.comment) return;
        if (extra) collector.addError(extra);
        fs.mkdirSync(path.dirname(path.resolve(o.comment)), { recursive: true });
        fs.writeFileSync(o.comment, renderComment(collector.report(o.stack, ok), { commit: process.env.GITHUB_SHA }));
        log(`preview comment written to ${o.comment}`);
    };
    let prepared: Prepared;
    try {
        prepared = await prepare(o);
        await refuseIfDeadLock(prepared.ps.env, PROJECT, o.stack);
    } catch (e) {
        writeComment(false, (e as Error).message);
        throw e;
    }
    const { ps, policy } = prepared;
    log(`\n== pulumi preview --stack ${o.stack}${o.policy ? " (with the policy pack)" : ""}`);
    const r = await runOp(
        // The engine's events are read (an event log the Automation API tails) only for a comment.
        (s) =>
            ps.stack.preview({
                ...flags,
                ...policy,
                diff: true,
                ...term(),
                ...s,
                ...(o.comment || events ? { onEvent: collector.onEvent } : {}),
            }),
        term(),
    );
    writeComment(r.code === 0);
    if (r.code !== 0) log(`\npreview failed. Nothing was changed; fix the cause above and run it again.`);
    return r.code;
}

/**
 * `up`. A preview with the policy pack runs first unless `previewed` (the caller just ran one),
 * so stack-wide policies refuse a change before any step executes (the Automation API's `up`
 * itself skips the preview).
 */
async function up(o: StackOpts, flags: OpFlags = {}, previewed = false): Promise<number> {
    if (!previewed) {
        const code = await preview(o, flags);
        if (code !== 0) return code;
    }
    const { ps, policy } = await prepare(o);
    await refuseIfDeadLock(ps.env, PROJECT, o.stack);
    log(`\n== pulumi up --stack ${o.stack}${o.policy ? " (with the policy pack)" : ""}`);
    const r = await runOp((s) => upStack(ps.stack, { ...flags, ...policy, ...term(), ...s }), term());
    if (r.code !== 0 || !r.result) {
        log(`\nup failed. Nothing after the failing step was changed; fix the cause above and run it again.`);
        return 1;
    }
    const changes = r.result.resourceChanges;
    log(
        `\n${hasChanges(changes) ? `Changed: ${describeChanges(changes)}.` : "No changes: the stack already matched its config."}`,
    );
    await settlePendingCreates(ps, log, term());
    if (o.gate !== false && hasChanges(changes)) {
        const gated = await gateOrRollBack(o, ps, await r.result.outputs());
        if (gated !== 0) return gated;
    }
    log(`History: npm run history -- --stack ${o.stack}`);
    return 0;
}

/** The terminal as the operations' output, with the colour option of the Automation API. */
function term(): ReturnType<typeof terminalStreams> {
    return terminalStreams();
}

/**
 * A runbook operation as a config edit: written to `Pulumi.<stack>.yaml`, then left for review
 * (a pull request's preview shows exactly it), or applied now with `--up` (preview, up, gate).
 */
async function editConfig(o: StackOpts & { up?: boolean }, edits: ConfigEdit[]): Promise<number> {
    // An edit alone is a config change: no local cloud, no policy pack until it is applied.
    const ps = o.up
        ? (await prepare(o)).ps
        : await openStack(o.stack, { mode: isLocalStack(o.stack) ? "ensure" : "select" });
    await applyEdits(ps, edits);
    log(`Pulumi.${o.stack}.yaml: ${edits.map(describeEdit).join("; ")}`);
    if (!o.up) {
        log(
            `Next: commit it and open a pull request (its preview shows exactly this change), or apply it now with npm run up -- --stack ${o.stack}`,
        );
        return 0;
    }
    return up(o);
}

/** Reads a secret from stdin (a pipe or a prompt's input), trimmed; never echoed. */
async function readStdin(): Promise<string> {
    let text = "";
    for await (const chunk of process.stdin) text += String(chunk);
    return text.trim();
}

interface ReviewCliOpts {
    pr?: string;
    base?: string;
    branch?: string;
    ref?: string;
    image?: string;
    comment?: string;
    programDir?: string;
    policy: boolean;
}

/** Writes a review comment (`--comment`), creating its folder. */
function writeReviewComment(file: string | undefined, r: ReviewReport): void {
    if (!file) return;
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    fs.writeFileSync(file, renderReviewComment(r));
    log(`review comment written to ${file}`);
}

/**
 * `npm run review -- up`: the review stack's file from the base's, its own JWT secret, then a
 * preview with the review guard rails, the up, a short health gate (no rollback: a review stack
 * has no good state to keep) and the comment with its URLs.
 */
async function reviewUp(o: ReviewCliOpts): Promise<number> {
    const pullRequest = parsePullRequest(o.pr);
    if (!o.branch) {
        throw new Error(
            "review up: --branch is required: the pull request's head branch (the Vercel preview env vars are scoped to it)",
        );
    }
    const stack = reviewStackName(pullRequest);
    const baseStack = o.base ?? REVIEW_BASE_STACK;
    const workDir = o.programDir ? path.resolve(o.programDir) : undefined;
    const report: ReviewReport = {
        stack,
        pullRequest,
        baseStack,
        action: "up",
        ok: false,
        urls: {},
        errors: [],
        updatedAt: new Date(),
        commit: o.ref ?? process.env.GITHUB_SHA,
    };
    const collector = new PreviewCollector();
    const so: StackOpts = { stack, policy: o.policy, gate: false, workDir };
    try {
        writeReviewStackFile({ pullRequest, baseStack, gitBranch: o.branch, ref: o.ref, image: o.image }, workDir);
        log(`Pulumi.${stack}.yaml: derived from Pulumi.${baseStack}.yaml (lib/review.ts)`);
        const { ps } = await prepare(so);
        await setReviewJwtSecret(ps, await openStack(baseStack), pullRequest);
        let code = await preview(so, {}, collector);
        if (code === 0) code = await up(so, {}, true);
        const pre = collector.report(stack, code === 0);
        report.flyCost = pre.cost;
        report.errors = pre.errors;
        const redis = readStackFile(stack)[`${PROJECT}:redis`] as { budgetUsd?: number } | undefined;
        report.redisBudgetUsd = redis?.budgetUsd;
        if (code === 0) {
            const outputs = await stackOutputs(ps.stack);
            const out = (k: string) => (outputs[k]?.value === undefined ? undefined : String(outputs[k].value));
            report.urls = {
                api: out("apiUrl"),
                websocket: out("websocketUrl"),
                health: out("healthUrl"),
                frontend: out("frontendUrl"),
            };
            const [last] = await stackHistory(ps);
            report.changes = last ? describeChanges(last.resourceChanges) : undefined;
            const gate = await runGate({ ...so, gateWindow: isLocalStack(stack) ? undefined : "30" }, ps, outputs);
            report.unhealthy = gate.checks.filter((c) => !c.ok).map((c) => c.name);
        }
        report.ok = code === 0;
        report.updatedAt = new Date();
        writeReviewComment(o.comment, report);
        if (code !== 0) return code;
        log(
            `\nReview environment ${stack} is up: API ${report.urls.api}, frontend preview ${report.urls.frontend}.` +
                `${report.unhealthy?.length ? ` Unhealthy: ${report.unhealthy.join(", ")}.` : ""}` +
                `\n  Remove it: npm run review -- destroy --pr ${pullRequest} (the workflow does when the pull request closes).`,
        );
        return report.unhealthy?.length ? 1 : 0;
    } catch (e) {
        report.errors.push((e as Error).message);
        writeReviewComment(o.comment, report);
        throw e;
    }
}

/**
 * `npm run review -- destroy`: the review stack's resources, then the stack itself and its file.
 * A pull request that never had one (or had it removed already) is not an error.
 */
async function reviewDestroy(o: ReviewCliOpts): Promise<number> {
    const pullRequest = parsePullRequest(o.pr);
    const stack = reviewStackName(pullRequest);
    const recorded = recordedReview(stack);
    const baseStack = o.base ?? recorded?.baseStack ?? REVIEW_BASE_STACK;
    const workDir = o.programDir ? path.resolve(o.programDir) : undefined;
    const report: ReviewReport = {
        stack,
        pullRequest,
        baseStack,
        action: "destroy",
        ok: false,
        urls: {},
        errors: [],
        updatedAt: new Date(),
    };
    try {
        // The file carries the secrets provider's settings and the credentials the destroy needs.
        writeReviewStackFile(
            { pullRequest, baseStack, gitBranch: recorded?.gitBranch ?? stack, ref: recorded?.ref },
            workDir,
        );
        if (isLocalStack(stack)) await localCloud().ensureLocalCloud(log);
        const ps = await openStack(stack, { workDir }).catch(() => undefined);
        if (!ps) {
            removeReviewFiles(stack, workDir);
            log(`no review stack ${stack} in this backend: nothing to remove.`);
            report.ok = true;
            writeReviewComment(o.comment, report);
            return 0;
        }
        await refuseIfDeadLock(ps.env, PROJECT, stack);
        log(`\n== pulumi destroy --stack ${stack}`);
        const r = await runOp((s) => ps.stack.destroy({ ...term(), ...s }), term());
        if (r.code !== 0 || !r.result) {
            report.errors.push(r.stderr.trim().split("\n").slice(-5).join("\n") || "the destroy failed (above)");
            writeReviewComment(o.comment, report);
            log(`\ndestroy of ${stack} failed (above); run it again, or let the scheduled sweep retry.`);
            return 1;
        }
        report.changes = describeChanges(r.result.summary.resourceChanges);
        await ps.workspace.removeStack(stack);
        removeReviewFiles(stack, workDir);
        report.ok = true;
        report.updatedAt = new Date();
        writeReviewComment(o.comment, report);
        log(`\nReview environment ${stack} removed: ${report.changes}; the stack and Pulumi.${stack}.yaml are gone.`);
        return 0;
    } catch (e) {
        report.errors.push((e as Error).message);
        writeReviewComment(o.comment, report);
        throw e;
    }
}

/** The review stack's file (and its link in another checkout) and generated policy config. */
function removeReviewFiles(stack: string, workDir?: string): void {
    fs.rmSync(stackFilePath(stack), { force: true });
    if (workDir) fs.rmSync(stackFilePath(stack, workDir), { force: true });
    fs.rmSync(path.join(REPO_ROOT, ".local", "policy", `${stack}.json`), { force: true });
}

/**
 * `npm run review -- sweep`: removes the review stacks whose pull request is not open, or that
 * have had no update for `--idle-days`, and reports what it removed and what it kept.
 */
async function reviewSweep(
    o: ReviewCliOpts & { open?: string; idleDays?: string; dryRun?: boolean; report?: string },
): Promise<number> {
    const open = parseOpenPullRequests(o.open);
    const idleDays = parseIdleDays(o.idleDays);
    const base = o.base ?? REVIEW_BASE_STACK;
    if (isLocalStack(base)) await localCloud().ensureLocalCloud(log);
    const decisions = sweepDecisions(await listReviewStacks(base), open, idleDays);
    const failed: string[] = [];
    const removed: string[] = [];
    for (const d of decisions.filter((x) => x.remove)) {
        log(`\n== sweep: ${d.stack}: ${d.reason}${o.dryRun ? " (dry run: kept)" : ": removing"}`);
        if (o.dryRun) continue;
        const code = await reviewDestroy({ ...o, pr: String(d.pullRequest), comment: undefined, base: o.base });
        (code === 0 ? removed : failed).push(d.stack);
    }
    const text = renderSweepReport(decisions, { removed, failed, dryRun: o.dryRun === true, idleDays });
    process.stdout.write(text);
    if (o.report) fs.writeFileSync(o.report, text);
    return failed.length > 0 ? 1 : 0;
}

/** `npm run status`: machines per region with state, image and checks; the last update; the schema. */
async function status(o: StackOpts): Promise<number> {
    const { ps } = await prepare({ ...o, policy: false });
    const app = flyAppName(o.stack);
    const { flyLister } = await import("./health");
    const { ownChecks } = await import("../providers/fly/provider/machine/wait");
    const machines = await flyLister(ps.env, app)();
    const byRegion = new Map<string, typeof machines>();
    for (const m of machines.filter((x) => x.state !== "destroyed")) {
        byRegion.set(m.region, [...(byRegion.get(m.region) ?? []), m]);
    }
    const lines = [`Stack ${o.stack}: app ${app}`];
    for (const [region, ms] of [...byRegion].sort()) {
        const states = [...new Set(ms.map((m) => m.state))].map(
            (st) => `${ms.filter((m) => m.state === st).length} ${st}`,
        );
        const images = [...new Set(ms.map((m) => String(m.config?.image ?? "?")))];
        const checks = ms.map((m) => {
            const own = ownChecks(m);
            return `${own.filter((k) => k.status === "passing").length}/${own.length}`;
        });
        lines.push(
            `  ${region}: ${ms.length} machine(s), ${states.join(", ")}; image ${images.join(", ")}; checks passing ${checks.join(" ")}`,
        );
    }
    if (byRegion.size === 0) lines.push("  no machines");
    const [last] = await historyEntries(ps);
    lines.push(
        last
            ? `  last update: ${last.id} ${last.startTime.toISOString()} ${last.kind} ${last.result}${last.message ? `: ${last.message.split("\n")[0]}` : ""}`
            : "  last update: none",
    );
    const outputs = await stackOutputs(ps.stack);
    lines.push(`  schema: ${String(outputs.schema?.value ?? "unknown")}`);
    lines.push(
        `  api: ${String(outputs.apiUrl?.value ?? "-")}  websocket: ${String(outputs.websocketUrl?.value ?? "-")}`,
    );
    process.stdout.write(`${lines.join("\n")}\n`);
    return 0;
}

/** `npm run history`: every update of the stack with the ids `npm run rollback --to` takes (all pages). */
async function history(stack: string): Promise<number> {
    const ps = await openStack(stack, { mode: isLocalStack(stack) ? "ensure" : "select" });
    const entries = await historyEntries(ps);
    if (entries.length === 0) {
        log(`stack ${stack} has no updates yet: npm run up -- --stack ${stack}`);
        return 0;
    }
    process.stdout.write(`${renderList(stack, entries)}\n`);
    return 0;
}

/** The stack named in pulumi arguments (`--stack s`, `--stack=s`, `-s s`), if any. */
export function stackArg(args: string[]): string | undefined {
    for (let i = 0; i < args.length; i++) {
        const a = args[i];
        if (a === "--stack" || a === "-s") return args[i + 1];
        if (a.startsWith("--stack=")) return a.slice("--stack=".length);
    }
    return undefined;
}

/** Commands that run the engine, hence need the local cloud up for a local stack. */
const ENGINE_COMMANDS = new Set(["up", "update", "preview", "refresh", "destroy", "import", "watch"]);

/** `npm run pulumi -- <args> --stack <s>`: the project's pulumi in the stack's environment. */
async function passthrough(args: string[]): Promise<number> {
    const stack = stackArg(args);
    if (!stack) {
        throw new Error(
            `npm run pulumi: name the stack whose environment to run in, e.g. npm run pulumi -- ${args.join(" ") || "stack export"} --stack local`,
        );
    }
    const local = isLocalStack(stack);
    if (local && ENGINE_COMMANDS.has(args.find((a) => !a.startsWith("-")) ?? "")) {
        await localCloud().ensureLocalCloud(log);
    }
    // A real stack's FLY_API_TOKEN comes from its encrypted config when unset (openStack); a stack
    // that does not exist yet (e.g. `stack init`) runs in the plain environment.
    const env = local ? stackEnv(stack) : (await openStack(stack).catch(() => undefined))?.env;
    return (await runPulumi(stack, args, {}, env)).code;
}

async function main(argv: string[]): Promise<void> {
    // Before commander: every argument, --help included, belongs to pulumi.
    if (argv[2] === "pulumi") process.exit(await passthrough(argv.slice(3)));

    const program = new Command("ops").description("Preview, update and inspect the fpsgame stacks.");
    const withStack = (c: Command, required: boolean) =>
        (required
            ? c.requiredOption("-s, --stack <name>", "stack: prod, staging or local")
            : c.option("-s, --stack <name>", "stack", "local")
        )
            .option("--no-policy", "skip the policy pack (a deliberate, reviewed exception)")
            .allowUnknownOption(true)
            .allowExcessArguments(true);

    withStack(
        program
            .command("start")
            .description("the main job: local cloud, preview and up of the local stack, then a summary"),
        false,
    ).action(async (o: StackOpts) => {
        if (!isLocalStack(o.stack)) {
            throw new Error(
                `start runs only local-cloud stacks; "${o.stack}" is not one. Use npm run preview / npm run up -- --stack ${o.stack}`,
            );
        }
        const code = (await preview(o)) || (await up(o, {}, true));
        if (code !== 0) process.exit(code);
        const { ps } = await prepare(o);
        await localCloud().printLocalSummary(ps, log);
        log(
            `\nNext: change a value in Pulumi.${o.stack}.yaml (e.g. api.regions.sjc) and run npm start again; npm test runs the tests.`,
        );
    });
    withStack(
        program
            .command("preview")
            .description("pulumi preview with the policy pack")
            .option("--comment <file>", "also write the pull-request comment (Markdown) to <file>, on failure too"),
        true,
    ).action(async (o: StackOpts & { comment?: string }, cmd: Command) =>
        process.exit(await preview(o, parseOpFlags("preview", o.stack, cmd.args))),
    );
    withStack(
        program
            .command("up")
            .description("pulumi up with the policy pack, then the health gate (a failed gate rolls back)")
            .option("--no-gate", "skip the health gate after the up")
            .option(
                "--gate-window <seconds>",
                "seconds the gate reads the error rate over (default: 300; 3 on the local cloud)",
            ),
        true,
    ).action(async (o: StackOpts, cmd: Command) => process.exit(await up(o, parseOpFlags("up", o.stack, cmd.args))));
    withStack(program.command("history").description("the stack's update history"), true).action(async (o: StackOpts) =>
        process.exit(await history(o.stack)),
    );
    withStack(
        program
            .command("rollback")
            .description("list the stack's history (--list), or roll back to an entry of it (--to <id>)")
            .option("--list", "every update, newest first, with the ids --to takes")
            .option("--to <id>", "the history entry to restore: its program (git commit) and config")
            .option("--json", "print the list or the summary as JSON on stdout")
            .option("--yes", "do not ask before the up (for CI)")
            .option("--restore-secrets", "also bring back the entry's secret values (default: keep today's)")
            .option("--allow-dirty", "accept an entry that ran from a checkout with uncommitted changes")
            .option("--migrate-down", "after the machines are back, take the schema down to the entry's version"),
        true,
    ).action(async (o: RollbackOptions) =>
        process.exit(
            await rollbackCommand(o, {
                log,
                // With --json, stdout carries the JSON alone: the engine's output goes to stderr.
                streams: o.json
                    ? { onOutput: (c) => process.stderr.write(c), onError: (c) => process.stderr.write(c) }
                    : term(),
                prepare: async () => {
                    const p = await prepare(o);
                    return { ps: p.ps, policy: p.policy };
                },
                gate: async (outputs) => runGate(o, (await prepare(o)).ps, outputs),
            }),
        ),
    );
    withStack(
        program
            .command("undo-migration")
            .description("undo a bad migration: restore the database from the branch made just before it")
            .option("--yes", "do not ask before restoring (for CI)")
            .option("--json", "print the summary as JSON on stdout"),
        true,
    ).action(async (o: StackOpts & { yes?: boolean; json?: boolean }) => {
        const { undoMigration, UndoRefused } = await import("./migrations");
        try {
            const r = await undoMigration((await prepare({ ...o, policy: false })).ps, {
                log,
                confirm: terminalConfirm,
                yes: o.yes === true,
            });
            if (o.json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
            log(
                `\nDatabase restored from ${r.restorePoint.name} (made ${r.restorePoint.createdAt}): schema version ${r.schemaBefore} -> ${r.schemaAfter}` +
                    `${r.undone.length ? `, undoing ${r.undone.join(", ")}` : ""}.\n` +
                    `  Its data from just before the undo is kept as branch ${r.preservedBranch.name}${r.preservedBranch.id ? ` (${r.preservedBranch.id})` : ""}: copy rows from it if needed, then delete it.\n` +
                    `  Next: fix or delete the bad migration in migrations/ and deploy (npm run up -- --stack ${o.stack}); the migrations run again because their files changed.`,
            );
            process.exit(0);
        } catch (e) {
            if (!(e instanceof UndoRefused)) throw e;
            log(`undo-migration refused: ${e.message}`);
            process.exit(2);
        }
    });
    withStack(
        program
            .command("adopt")
            .description(
                "take over what already runs for the stack's config: print the plan, then (--yes) pulumi import it",
            )
            .option("--yes", "import after the plan and its preview (default: print them, change nothing)")
            .option("--json", "print the plan and the preview's steps as JSON on stdout"),
        true,
    ).action(async (o: StackOpts & { yes?: boolean; json?: boolean }) => {
        if (isLocalStack(o.stack)) await localCloud().ensureLocalCloud(log);
        if (o.policy) ensurePolicyPack(log);
        const { adopt, AdoptRefused } = await import("./adopt");
        try {
            const r = await adopt(
                { stack: o.stack, yes: o.yes === true, policy: o.policy },
                {
                    log,
                    // With --json, stdout carries the JSON alone: the engine's output goes to stderr.
                    streams: { onOutput: (c) => process.stderr.write(c), onError: (c) => process.stderr.write(c) },
                    policyFor: policyOptionsFor,
                },
            );
            if (o.json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
            process.exit(0);
        } catch (e) {
            if (!(e instanceof AdoptRefused)) throw e;
            log(`\nadopt refused: ${e.message}`);
            process.exit(2);
        }
    });
    withStack(
        program
            .command("drift")
            .description("refresh --preview-only --expect-no-changes: exit 0 no drift, 3 drift, 1 a failure")
            .option("--report <file>", "write the drift issue's text (Markdown) to <file> when there is drift")
            .option("--json", "print the result as JSON on stdout"),
        true,
    ).action(async (o: StackOpts & { report?: string; json?: boolean }) => {
        const { ps } = await prepare({ ...o, policy: false });
        const collector = new DriftCollector();
        log(`\n== pulumi refresh --preview-only --expect-no-changes --stack ${o.stack}`);
        const r = await runOp(
            (s) => ps.stack.previewRefresh({ expectNoChanges: true, ...s, onEvent: collector.onEvent }),
            { onOutput: (c) => process.stderr.write(c), onError: (c) => process.stderr.write(c) },
        );
        const result = collector.result(o.stack);
        if (o.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
        if (result.drifted.length > 0) {
            const runUrl = process.env.GITHUB_RUN_ID
                ? `${process.env.GITHUB_SERVER_URL}/${process.env.GITHUB_REPOSITORY}/actions/runs/${process.env.GITHUB_RUN_ID}`
                : undefined;
            if (o.report) fs.writeFileSync(o.report, renderDriftIssue(result, { runUrl }));
            log(
                `\ndrift on ${o.stack}: ${result.drifted.map((d) => `${d.name} (${d.op === "delete" ? "gone" : d.properties.join(", ") || "changed"})`).join("; ")}` +
                    `${o.report ? `; issue text in ${o.report}` : ""}`,
            );
            process.exit(3);
        }
        if (r.code !== 0) {
            log(`\nthe drift check failed (above): ${result.errors.join("; ") || "see the engine's output"}`);
            process.exit(1);
        }
        log(`\nno drift on ${o.stack}: every resource matches its state.`);
        process.exit(0);
    });
    const reviewCmd = program
        .command("review")
        .description(
            "a review environment per pull request (stack pr-<n>, derived from staging): up, destroy, sweep, list",
        );
    const reviewOpts = (c: Command) =>
        c
            .option("--base <stack>", "the stack it is derived from (default: staging; a local-cloud stack for tests)")
            .option("--no-policy", "skip the policy pack (a deliberate, reviewed exception)")
            .option(
                "--program-dir <dir>",
                "another checkout of this repository to run the program from (default: this one)",
            );
    reviewOpts(
        reviewCmd
            .command("up")
            .description("create or update the pull request's review stack, then write its comment")
            .option("--pr <n>", "the pull request's number")
            .option("--branch <name>", "the pull request's head branch")
            .option("--ref <sha>", "the head commit the frontend preview builds (default: the branch)")
            .option("--image <ref>", "the API image to run (default: the base's)")
            .option("--comment <file>", "write the pull request's comment (Markdown) to <file>, on failure too"),
    ).action(async (o: ReviewCliOpts) => process.exit(await reviewUp(o)));
    reviewOpts(
        reviewCmd
            .command("destroy")
            .description("remove the pull request's review stack: every resource, then the stack and its file")
            .option("--pr <n>", "the pull request's number")
            .option("--comment <file>", "write the pull request's comment (Markdown) to <file>"),
    ).action(async (o: ReviewCliOpts) => process.exit(await reviewDestroy(o)));
    reviewOpts(
        reviewCmd
            .command("sweep")
            .description("remove review stacks whose pull request is not open or that are idle past --idle-days")
            .option("--open <numbers>", 'the open pull requests, e.g. "12,15" ("" when none is open); required')
            .option(
                "--idle-days <n>",
                "days without an update after which an open pull request's stack goes too (default: 7)",
            )
            .option("--dry-run", "say what would be removed, remove nothing")
            .option("--report <file>", "also write the report (Markdown) to <file>"),
    ).action(async (o: ReviewCliOpts & { open?: string; idleDays?: string; dryRun?: boolean; report?: string }) =>
        process.exit(await reviewSweep(o)),
    );
    reviewCmd
        .command("list")
        .description("the review stacks in the backend, with their last update")
        .option("--base <stack>", "list in the backend of this stack (default: staging)")
        .action(async (o: { base?: string }) => {
            const base = o.base ?? REVIEW_BASE_STACK;
            if (isLocalStack(base)) await localCloud().ensureLocalCloud(log);
            const stacks = await listReviewStacks(base);
            process.stdout.write(
                stacks.length === 0
                    ? "no review stacks.\n"
                    : stacks
                          .map(
                              (s) =>
                                  `${s.stack}  pull request #${s.pullRequest}  last update ${s.lastUpdate?.toISOString() ?? "none"}  ${s.resourceCount ?? 0} resources`,
                          )
                          .join("\n") + "\n",
            );
            process.exit(0);
        });
    program
        .command("ci-report")
        .description("Markdown for a workflow's job summary: ci-report rollback <summary.json>")
        .argument("<kind>", "rollback")
        .argument("<file>", "the command's --json output")
        .action((kind: string, file: string) => {
            if (kind !== "rollback") throw new Error(`ci-report: kind "${kind}" is not known; allowed: rollback`);
            process.stdout.write(renderRollbackSummary(JSON.parse(fs.readFileSync(file, "utf8")) as RollbackSummary));
        });
    type EditOpts = StackOpts & { up?: boolean };
    const editing = (c: Command) => withStack(c.option("--up", "apply it now: preview, up and the health gate"), true);
    editing(
        program
            .command("scale")
            .description(
                "a region's machine count, a region removed, the running minimum or the VM size, as a config edit",
            )
            .option("--region <code>", "the Fly region to set the count of (with --count)")
            .option("--count <n>", "machines in that region (1 to 20)")
            .option("--remove-region <code>", "remove that region's machines")
            .option("--min-running <n>", "machines kept running when idle")
            .option("--vm <kind:cpus:memoryMb>", "the guest size, e.g. shared:2:1024"),
    ).action(async (o: EditOpts & Parameters<typeof scaleEdits>[0]) =>
        process.exit(await editConfig(o, scaleEdits(o))),
    );
    editing(
        program
            .command("deploy")
            .description("a new API image, as a config edit (the machines roll when it is applied)")
            .option("--image <ref>", "the image, with a tag or @sha256 digest"),
    ).action(async (o: EditOpts & { image?: string }) => process.exit(await editConfig(o, [deployEdit(o.image)])));
    editing(
        program
            .command("rotate")
            .description("rotate a secret: a strong random value (or --stdin), stored encrypted, never shown")
            .option(
                "--secret <key>",
                "jwtSecret (a new value), databasePassword or redisPassword (a reset by the service at the next up)",
            )
            .option("--stdin", "read the new value from stdin instead of generating one (jwtSecret)"),
    ).action(async (o: EditOpts & { secret?: string; stdin?: boolean }) => {
        const key = rotateKey(o.secret);
        if (key in PASSWORD_COUNTERS) {
            // The service issues the password: no value to give, only the counter to raise.
            if (o.stdin) throw new Error(`--stdin: ${key} is issued by its service at the next up; no value is read`);
            process.exit(await editConfig(o, [passwordRotationEdit(key, readStackFile(o.stack))]));
        }
        const value = o.stdin ? await readStdin() : newSecretValue();
        if (value.length < 32)
            throw new Error(`--stdin: the new ${key} has ${value.length} characters; allowed is at least 32`);
        process.exit(await editConfig(o, [{ path: key, value, secret: true }]));
    });
    withStack(
        program.command("status").description("machines per region, checks, the last update and the schema"),
        true,
    ).action(async (o: StackOpts) => process.exit(await status(o)));
    withStack(
        program
            .command("health")
            .description("the post-deploy health gate alone")
            .option("--gate-window <seconds>", "seconds to read the error rate over"),
        true,
    ).action(async (o: StackOpts) => {
        const gate = await runGate(o, (await prepare({ ...o, policy: false })).ps);
        log(
            gate.ok
                ? "healthy."
                : `unhealthy: ${gate.checks
                      .filter((c) => !c.ok)
                      .map((c) => c.name)
                      .join(", ")}`,
        );
        process.exit(gate.ok ? 0 : 1);
    });
    withStack(
        program
            .command("backup")
            .description("pg_dump of the stack's database to a file (.backups/<stack>-<time>.sql)")
            .option("--out <file>", "where to write the dump"),
        true,
    ).action(async (o: StackOpts & { out?: string }) => {
        const file = await backupDatabase((await prepare({ ...o, policy: false })).ps, log, o.out);
        log(
            `backup written: ${file} (${fs.statSync(file).size} bytes, mode 600). Restore: psql "<DATABASE_URL>" < ${file}`,
        );
        process.exit(0);
    });
    program
        .command("deps")
        .description("install the policy pack's own dependencies if they are missing")
        .action(() => ensurePolicyPack(log));
    const lc = program.command("localcloud").description("the offline local cloud");
    lc.command("start").action(() => localCloud().ensureLocalCloud(log));
    lc.command("stop").action(() => localCloud().stopLocalCloud(log));
    lc.command("status").action(() => process.exit(localCloud().localCloudStatus(log)));
    await program.parseAsync(argv);
}

if (require.main === module) {
    main(process.argv).catch((err: Error) => {
        log(`error: ${err.message}`);
        process.exit(1);
    });
}
