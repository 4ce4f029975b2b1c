/**
 * `npm run review`: a review environment per pull request, on a stack of its own (`pr-<n>`).
 *
 *   npm run review -- up --pr 12 --branch feat/x [--ref <sha>] [--image <ref>] [--comment review.md]
 *   npm run review -- destroy --pr 12 [--comment review.md]
 *   npm run review -- sweep --open 12,15 [--idle-days 7] [--dry-run] [--report sweep.md]
 *   npm run review -- list
 *
 * Every command writes the review stack's file, `Pulumi.pr-<n>.yaml` (git-ignored), from the base
 * stack's file first (lib/review.ts), so a fresh runner gets the same file as the one before it;
 * the stack's state is in the backend, as every stack's. The parts here are the file, the
 * listing and the sweep's choice; ops/cli.ts runs the preview, the up and the destroy.
 */
import type { StackSummary } from "@pulumi/pulumi/automation";
import * as fs from "fs";
import * as path from "path";
import { parse, stringify } from "yaml";
import {
    deriveReviewStackFile,
    isPullRequestNumber,
    MAX_PULL_REQUEST,
    REVIEW_IDLE_DAYS,
    reviewJwtSecret,
    reviewPullRequest,
    ReviewOptions,
    reviewStackName,
} from "../lib/review";
import { utcMinute } from "./ci/reviewReport";
import { readStackFile, REPO_ROOT, stackFilePath } from "./env";
import { listStacks, openStack, PROJECT, ProjectStack, setSecretConfig } from "./workspace";

// The commands and tests of review stacks name their files with it too.
export { stackFilePath };

const HEADER = (base: string) =>
    `# Written by npm run review from Pulumi.${base}.yaml (lib/review.ts) before each command;\n` +
    `# not committed, and an edit here is overwritten the next time.\n`;

/**
 * Writes `Pulumi.pr-<n>.yaml` from the base's file. With `programDir` (another checkout of this
 * repository, e.g. a pull request's with a migration of its own), the file is linked there too:
 * the engine reads a stack's file next to the program's `Pulumi.yaml`.
 */
export function writeReviewStackFile(opts: ReviewOptions, programDir = REPO_ROOT): string {
    const baseFile = stackFilePath(opts.baseStack);
    if (!fs.existsSync(baseFile)) {
        throw new Error(
            `--base ${opts.baseStack}: there is no Pulumi.${opts.baseStack}.yaml to derive the review stack from`,
        );
    }
    const base = (parse(fs.readFileSync(baseFile, "utf8")) ?? {}) as Record<string, unknown>;
    const name = reviewStackName(opts.pullRequest);
    const file = stackFilePath(name);
    fs.writeFileSync(file, HEADER(opts.baseStack) + stringify(deriveReviewStackFile(base, opts)));
    if (path.resolve(programDir) !== REPO_ROOT) {
        const link = stackFilePath(name, programDir);
        fs.rmSync(link, { force: true });
        fs.symlinkSync(file, link);
    }
    return file;
}

/** The review options recorded in an existing review stack's file, if it has one. */
export function recordedReview(stack: string): Partial<ReviewOptions> | undefined {
    if (!fs.existsSync(stackFilePath(stack))) return undefined;
    const r = readStackFile(stack)[`${PROJECT}:review`] as Record<string, unknown> | undefined;
    if (!r) return undefined;
    return {
        pullRequest: Number(r.pullRequest),
        baseStack: typeof r.baseStack === "string" ? r.baseStack : undefined,
        gitBranch: typeof r.gitBranch === "string" ? r.gitBranch : undefined,
        ref: typeof r.ref === "string" ? r.ref : undefined,
    };
}

/**
 * Sets the review stack's `jwtSecret` to the one derived from the base's (lib/review.ts), through
 * stdin (never argv). Decrypted in memory only.
 */
export async function setReviewJwtSecret(review: ProjectStack, base: ProjectStack, pullRequest: number): Promise<void> {
    const baseSecret = (await base.stack.getConfig(`${PROJECT}:jwtSecret`)).value;
    await setSecretConfig(review, `${PROJECT}:jwtSecret`, reviewJwtSecret(baseSecret, pullRequest));
}

/** A review stack in the backend, as the sweep and `list` see it. */
export interface ReviewStackSummary {
    stack: string;
    pullRequest: number;
    /** The end of its last update, if any. */
    lastUpdate?: Date;
    resourceCount?: number;
}

/** The review stacks among a backend's stacks (`pr-<n>`, or `<org>/<project>/pr-<n>`). */
export function reviewStacks(stacks: readonly StackSummary[]): ReviewStackSummary[] {
    const out: ReviewStackSummary[] = [];
    for (const s of stacks) {
        const name = s.name.split("/").pop() ?? s.name;
        const pr = reviewPullRequest(name);
        if (pr === undefined) continue;
        const t = s.lastUpdate ? new Date(s.lastUpdate) : undefined;
        out.push({
            stack: name,
            pullRequest: pr,
            lastUpdate: t && !Number.isNaN(t.getTime()) ? t : undefined,
            resourceCount: s.resourceCount,
        });
    }
    return out.sort((a, b) => a.pullRequest - b.pullRequest);
}

/** The open pull requests as `--open` gives them: `12,15`, `12 15`, or "" for none. */
export function parseOpenPullRequests(value: string | undefined): Set<number> {
    if (value === undefined) {
        throw new Error(
            `sweep: --open is required: the numbers of the open pull requests (e.g. --open 12,15, or --open "" when none is open); without it every review stack would look closed`,
        );
    }
    const out = new Set<number>();
    for (const part of value.split(/[\s,]+/).filter(Boolean)) {
        const n = Number(part.replace(/^#/, ""));
        if (!Number.isInteger(n) || n < 1) {
            throw new Error(
                `sweep: --open ${JSON.stringify(value)}: "${part}" is not a pull request number; allowed: numbers separated by commas or spaces`,
            );
        }
        out.add(n);
    }
    return out;
}

/** One decision of the sweep. */
export interface SweepDecision {
    stack: string;
    pullRequest: number;
    remove: boolean;
    /** Why it goes, or why it stays. */
    reason: string;
    lastUpdate?: Date;
}

/**
 * What the sweep removes: a review stack whose pull request is not open, or whose last update is
 * older than `idleDays` (a pull request left open and forgotten). A stack with no finished update
 * (one being created right now, or one whose first up failed) counts as idle only by the first rule.
 */
export function sweepDecisions(
    stacks: readonly ReviewStackSummary[],
    open: ReadonlySet<number>,
    idleDays: number = REVIEW_IDLE_DAYS,
    now: Date = new Date(),
): SweepDecision[] {
    return stacks.map((s) => {
        const base = { stack: s.stack, pullRequest: s.pullRequest, lastUpdate: s.lastUpdate };
        if (!open.has(s.pullRequest)) {
            return { ...base, remove: true, reason: `pull request #${s.pullRequest} is not open` };
        }
        if (s.lastUpdate) {
            const days = (now.getTime() - s.lastUpdate.getTime()) / 86_400_000;
            if (days > idleDays) {
                return {
                    ...base,
                    remove: true,
                    reason: `no update for ${Math.floor(days)} days (the limit is ${idleDays})`,
                };
            }
            return { ...base, remove: false, reason: `open, updated ${Math.floor(days * 24)} h ago` };
        }
        return { ...base, remove: false, reason: "open, no finished update yet" };
    });
}

/** `--idle-days`: a number of days above 0. */
export function parseIdleDays(value: string | undefined): number {
    if (value === undefined) return REVIEW_IDLE_DAYS;
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0 || n > 365) {
        throw new Error(
            `sweep: --idle-days ${JSON.stringify(value)}: allowed is a number of days above 0, at most 365`,
        );
    }
    return n;
}

/** `--pr`: the pull request's number. */
export function parsePullRequest(value: string | undefined): number {
    if (value === undefined || !/^[1-9][0-9]*$/.test(value) || !isPullRequestNumber(Number(value))) {
        throw new Error(
            `review: --pr ${JSON.stringify(value ?? "")}: allowed is the pull request's number (1 to ${MAX_PULL_REQUEST})`,
        );
    }
    return Number(value);
}

/** The backend's stacks, listed through the base's workspace (the same backend and environment). */
export async function listReviewStacks(base: string): Promise<ReviewStackSummary[]> {
    const ps = await openStack(base);
    return reviewStacks(await listStacks(ps.workspace));
}

/** The sweep's report: what it removed and why, what it kept; Markdown, also read in a terminal. */
export function renderSweepReport(
    decisions: readonly SweepDecision[],
    done: { removed: readonly string[]; failed: readonly string[]; dryRun: boolean; idleDays: number },
): string {
    const lines = [`## Review stacks swept${done.dryRun ? " (dry run: nothing removed)" : ""}`, ""];
    if (decisions.length === 0) {
        lines.push("No review stacks in the backend.");
        return `${lines.join("\n")}\n`;
    }
    const outcome = (d: SweepDecision): string => {
        if (!d.remove) return "kept";
        if (done.dryRun) return "would be removed";
        if (done.failed.includes(d.stack)) return "⛔ removal failed";
        return done.removed.includes(d.stack) ? "removed" : "not removed";
    };
    lines.push("| stack | pull request | last update | outcome | why |", "| --- | --- | --- | --- | --- |");
    for (const d of decisions) {
        lines.push(
            `| \`${d.stack}\` | #${d.pullRequest} | ${d.lastUpdate ? utcMinute(d.lastUpdate) : "none"} | ${outcome(d)} | ${d.reason} |`,
        );
    }
    const removed = decisions.filter((d) => d.remove).length;
    lines.push(
        "",
        `${done.dryRun ? removed : done.removed.length} of ${decisions.length} removed (idle limit: ${done.idleDays} days)${done.failed.length ? `; ${done.failed.length} failed: run the sweep again, or npm run review -- destroy --pr <n>` : ""}.`,
    );
    return `${lines.join("\n")}\n`;
}
