/**
 * The pull request's review-environment comment: where the review stack's API, WebSocket, health
 * check and frontend preview are, what it costs at most, when it was last updated and from which
 * commit, and, when the update failed, why. Only URLs, names and numbers: no secret reaches it
 * (the stack's secret outputs are never read here).
 *
 * The workflow keeps it as one sticky comment per pull request (header `review`), updated on
 * every push and once more when the environment is removed.
 */
import { REVIEW_IDLE_DAYS } from "../../lib/review";

/** A review stack's public URLs (its stack outputs). */
export interface ReviewUrls {
    api?: string;
    websocket?: string;
    health?: string;
    frontend?: string;
}

export interface ReviewReport {
    stack: string;
    pullRequest: number;
    /** The stack it is derived from (staging). */
    baseStack: string;
    /** `up`: created or updated; `destroy`: removed. */
    action: "up" | "destroy";
    ok: boolean;
    urls: ReviewUrls;
    /** The `fly-cost-estimate` policy's line (`Estimated Fly machine cost: … (budget $3.00).`), when the pack ran. */
    flyCost?: string;
    /** The Redis database's monthly budget cap (Upstash throttles it there). */
    redisBudgetUsd?: number;
    /** "3 created, 1 updated", or the destroy's count. */
    changes?: string;
    /** The health gate's failed checks (empty when it passed); undefined when it did not run. */
    unhealthy?: string[];
    /** Why it failed: the first lines of the errors. */
    errors: string[];
    updatedAt: Date;
    commit?: string;
}

/** The comment's first line, so the sticky-comment step finds and updates the same one. */
export function reviewCommentMarker(stack: string): string {
    return `<!-- fpsgame-infra review: ${stack} -->`;
}

/** `2026-12-02 10:45 UTC`: when a review stack was updated, in its comment and the sweep's report. */
export function utcMinute(d: Date): string {
    return `${d.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

function link(url: string | undefined): string {
    return url ? `<${url}>` : "_(not known: see the job's log)_";
}

export function renderReviewComment(r: ReviewReport): string {
    const at = r.commit ? ` at ${r.commit.slice(0, 7)}` : "";
    const lines = [reviewCommentMarker(r.stack)];
    if (r.action === "destroy") {
        lines.push(
            r.ok
                ? `### 🧹 Review environment \`${r.stack}\` removed`
                : `### ❌ Review environment \`${r.stack}\`: the removal failed`,
            "",
            r.ok
                ? `Its Fly app, Neon branch, Redis database and Vercel preview are gone${r.changes ? ` (${r.changes})` : ""}.`
                : `Some of it may be left: the scheduled sweep tries again, or run \`npm run review -- destroy --pr ${r.pullRequest}\`.`,
            "",
            `**Last updated:** ${utcMinute(r.updatedAt)}.`,
        );
    } else {
        const healthy = r.unhealthy === undefined || r.unhealthy.length === 0;
        const title = !r.ok
            ? `### ❌ Review environment \`${r.stack}\`: the update failed${at}`
            : healthy
              ? `### ✅ Review environment \`${r.stack}\` is up${at}`
              : `### ⚠️ Review environment \`${r.stack}\` is up${at}, but unhealthy: ${r.unhealthy!.join(", ")}`;
        lines.push(
            title,
            "",
            "| | |",
            "| --- | --- |",
            `| API | ${link(r.urls.api)} |`,
            `| WebSocket | ${link(r.urls.websocket)} |`,
            `| Health | ${link(r.urls.health)} |`,
            `| Frontend preview | ${link(r.urls.frontend)} |`,
            "",
        );
        const costs = [
            // The policy's line is a sentence of its own; here it is one item of a list.
            r.flyCost
                ? r.flyCost.replace(/^Estimated Fly machine cost: /, "Fly machines ").replace(/\.$/, "")
                : undefined,
            r.redisBudgetUsd !== undefined ? `Redis at most $${r.redisBudgetUsd}/month (its budget cap)` : undefined,
            `the Neon branch is copy-on-write (it stores only what differs from ${r.baseStack})`,
        ].filter(Boolean);
        lines.push(
            `**Estimated cost:** ${costs.join("; ")}. The machine stops when idle and starts on the next request, so it costs less than the estimate.`,
            "",
            `**Last updated:** ${utcMinute(r.updatedAt)}${r.commit ? ` from ${r.commit.slice(0, 7)}` : ""}${r.changes ? `: ${r.changes}` : ""}.`,
            "",
            `Removed when this pull request is closed or merged, or by the daily sweep after ${REVIEW_IDLE_DAYS} days without a push.`,
        );
    }
    if (!r.ok && r.errors.length > 0) {
        lines.push("", "**Why it failed:**", "", "```text");
        for (const e of r.errors) lines.push(...e.split("\n").slice(0, 12));
        lines.push("```");
    }
    return `${lines.join("\n")}\n`;
}
