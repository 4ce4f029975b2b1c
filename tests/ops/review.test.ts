/**
 * Review stacks' pure parts: the file derived from the base's (lib/review.ts), the stack names,
 * the sweep's choice, its arguments, and the pull request's comment (ops/ci/reviewReport.ts).
 */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { parseStackConfig } from "../../lib/config";
import {
    deriveReviewStackFile,
    REVIEW_SIZE,
    reviewBaseProblem,
    reviewJwtSecret,
    reviewPullRequest,
    reviewStackName,
} from "../../lib/review";
import { renderReviewComment, reviewCommentMarker } from "../../ops/ci/reviewReport";
import { parseIdleDays, parseOpenPullRequests, parsePullRequest, reviewStacks, sweepDecisions } from "../../ops/review";

const ROOT = path.resolve(__dirname, "../..");
const staging = parse(fs.readFileSync(path.join(ROOT, "Pulumi.staging.yaml"), "utf8")) as Record<string, unknown> & {
    config: Record<string, unknown>;
};
const opts = { pullRequest: 12, baseStack: "staging", gitBranch: "feat/new-map", ref: "a1b2c3d" };
const derived = deriveReviewStackFile(staging, opts);
const cfg = derived.config as Record<string, Record<string, unknown>>;

describe("the review stack's file, derived from staging's", () => {
    test("its own Fly app with one machine of the smallest guest in staging's primary region, stopped when idle", () => {
        expect(cfg["fpsgame-infra:api"]).toMatchObject({
            appName: "fpsgame-api-staging-pr-12",
            image: "registry.fly.io/fpsgame-api:v1.4.2",
            regions: { sjc: 1 },
            autoscale: { minMachinesRunning: 0, autostop: "stop", autostart: true },
            vm: { cpuKind: "shared", cpus: 1, memoryMb: 256 },
        });
        expect(REVIEW_SIZE.vm).toEqual({ cpuKind: "shared", cpus: 1, memoryMb: 256 });
    });

    test("its own Redis database, the smallest Neon compute, never protected, migrations to the latest", () => {
        expect(cfg["fpsgame-infra:redis"]).toEqual({
            databaseName: "fpsgame-staging-pr-12",
            primaryRegion: "us-west-1",
            eviction: true,
            budgetUsd: 5,
        });
        expect(cfg["fpsgame-infra:database"]).toMatchObject({
            projectName: "fpsgame-staging",
            autoscaling: { minCu: 0.25, maxCu: 0.25 },
            protect: false,
            migrateTo: "latest",
            allowDataLoss: false,
            passwordRotation: 0,
        });
    });

    test("the frontend is a preview: no production target, no domain", () => {
        expect(cfg["fpsgame-infra:frontend"].envTargets).toEqual(["preview"]);
        expect(cfg["fpsgame-infra:frontend"]).not.toHaveProperty("domain");
        expect(cfg["fpsgame-infra:review"]).toEqual(opts);
    });

    test("credentials and the secrets provider's salt are copied as they are (still encrypted)", () => {
        expect(derived.encryptionsalt).toBe(staging.encryptionsalt);
        for (const key of ["vercel:apiToken", "neon:apiKey", "upstash:apiKey", "fpsgame-infra:flyApiToken"]) {
            expect([key, cfg[key]]).toEqual([key, staging.config[key]]);
            expect(cfg[key]).toHaveProperty("secure");
        }
    });

    test("the derived config passes the project's own validation", () => {
        const section = (k: string) => cfg[`fpsgame-infra:${k}`];
        expect(() =>
            parseStackConfig({
                api: section("api"),
                frontend: section("frontend"),
                database: section("database"),
                redis: section("redis"),
                review: section("review"),
                jwtSecret: "s",
                neonApiKey: "k",
                stack: "pr-12",
            }),
        ).not.toThrow();
    });

    test("a second derivation is the same file: a new push changes nothing", () => {
        expect(deriveReviewStackFile(staging, opts)).toEqual(derived);
    });

    test("--image runs a build of the pull request instead of staging's image", () => {
        const d = deriveReviewStackFile(staging, { ...opts, image: "registry.fly.io/fpsgame-api:pr-12" });
        expect((d.config as Record<string, Record<string, unknown>>)["fpsgame-infra:api"].image).toBe(
            "registry.fly.io/fpsgame-api:pr-12",
        );
    });
});

describe("the base a review may have", () => {
    test("never prod, never a review stack, and staging or a local-cloud stack only", () => {
        expect(reviewBaseProblem("staging", {})).toBeUndefined();
        expect(reviewBaseProblem("e2e-base", { "fpsgame-infra:localCloud": "true" })).toBeUndefined();
        expect(reviewBaseProblem("prod", {})).toBe(
            "--base prod: a review stack never copies or points at prod's resources; allowed: staging, or a local-cloud stack",
        );
        expect(reviewBaseProblem("pr-3", {})).toBe(
            "--base pr-3: that is a review stack itself; allowed: staging, or a local-cloud stack",
        );
        expect(reviewBaseProblem("qa", {})).toBe(
            "--base qa: not staging and not a local-cloud stack; allowed: staging, or a local-cloud stack",
        );
        expect(() => deriveReviewStackFile(staging, { ...opts, baseStack: "prod" })).toThrow(
            /never copies or points at prod/,
        );
    });
});

test("the review JWT secret is stable, per pull request, and not the base's", () => {
    expect(reviewJwtSecret("base-secret", 12)).toBe(reviewJwtSecret("base-secret", 12));
    expect(reviewJwtSecret("base-secret", 12)).not.toBe(reviewJwtSecret("base-secret", 13));
    expect(reviewJwtSecret("base-secret", 12)).not.toContain("base-secret");
    expect(reviewJwtSecret("base-secret", 12).length).toBeGreaterThanOrEqual(32);
});

test("stack names: pr-<n> for a pull request, nothing else", () => {
    expect(reviewStackName(12)).toBe("pr-12");
    expect(() => reviewStackName(0)).toThrow("pull request 0: allowed is a whole number from 1 to 999999999");
    expect(reviewPullRequest("pr-12")).toBe(12);
    for (const s of ["pr-012", "pr-0", "pr-1000000000", "staging", "pr-12-x"])
        expect([s, reviewPullRequest(s)]).toEqual([s, undefined]);
    expect(parsePullRequest("12")).toBe(12);
    expect(() => parsePullRequest("12a")).toThrow(
        'review: --pr "12a": allowed is the pull request\'s number (1 to 999999999)',
    );
    expect(() => parsePullRequest(undefined)).toThrow('review: --pr ""');
});

describe("the sweep", () => {
    const now = new Date("2026-12-02T12:00:00Z");
    const stacks = reviewStacks([
        {
            name: "pr-3",
            current: false,
            updateInProgress: false,
            lastUpdate: "2026-12-01T12:00:00Z",
            resourceCount: 12,
        },
        {
            name: "organization/fpsgame-infra/pr-4",
            current: false,
            updateInProgress: false,
            lastUpdate: "2026-11-20T12:00:00Z",
        },
        { name: "pr-5", current: false, updateInProgress: false, lastUpdate: "2026-12-02T11:00:00Z" },
        { name: "pr-6", current: false, updateInProgress: false },
        { name: "staging", current: false, updateInProgress: false },
    ]);

    test("sees review stacks only, by their plain name", () => {
        expect(stacks.map((s) => s.stack)).toEqual(["pr-3", "pr-4", "pr-5", "pr-6"]);
    });

    test("removes a closed pull request's stack and one idle past the limit, keeps the others", () => {
        const d = sweepDecisions(stacks, new Set([3, 4, 6]), 7, now);
        expect(d.map((x) => [x.stack, x.remove, x.reason])).toEqual([
            ["pr-3", false, "open, updated 24 h ago"],
            ["pr-4", true, "no update for 12 days (the limit is 7)"],
            ["pr-5", true, "pull request #5 is not open"],
            ["pr-6", false, "open, no finished update yet"],
        ]);
    });

    test("--open is required, and must be pull request numbers", () => {
        expect(() => parseOpenPullRequests(undefined)).toThrow(/--open is required/);
        expect([...parseOpenPullRequests("")]).toEqual([]);
        expect([...parseOpenPullRequests("12, #15 16")]).toEqual([12, 15, 16]);
        expect(() => parseOpenPullRequests("12,x")).toThrow('"x" is not a pull request number');
        expect(parseIdleDays(undefined)).toBe(7);
        expect(() => parseIdleDays("0")).toThrow('--idle-days "0": allowed is a number of days above 0, at most 365');
    });
});

describe("the pull request's comment", () => {
    const report = {
        stack: "pr-12",
        pullRequest: 12,
        baseStack: "staging",
        action: "up" as const,
        ok: true,
        urls: {
            api: "https://fpsgame-api-staging-pr-12.fly.dev",
            websocket: "wss://fpsgame-api-staging-pr-12.fly.dev/ws",
            health: "https://fpsgame-api-staging-pr-12.fly.dev/healthz",
            frontend: "https://fpsgame-web-staging-abc.vercel.app",
        },
        // The fly-cost-estimate policy's line, as the preview reports it.
        flyCost: "Estimated Fly machine cost: $1.94/month for 1 machine (budget $3.00).",
        redisBudgetUsd: 5,
        changes: "14 created",
        unhealthy: [],
        errors: [],
        updatedAt: new Date("2026-12-02T10:45:00Z"),
        commit: "a1b2c3d4e5",
    };

    test("gives the URLs, the estimated cost and when it was last updated", () => {
        const text = renderReviewComment(report);
        expect(text.split("\n")[0]).toBe(reviewCommentMarker("pr-12"));
        expect(text).toContain("### ✅ Review environment `pr-12` is up at a1b2c3d");
        expect(text).toContain("| API | <https://fpsgame-api-staging-pr-12.fly.dev> |");
        expect(text).toContain("| WebSocket | <wss://fpsgame-api-staging-pr-12.fly.dev/ws> |");
        expect(text).toContain("| Health | <https://fpsgame-api-staging-pr-12.fly.dev/healthz> |");
        expect(text).toContain("| Frontend preview | <https://fpsgame-web-staging-abc.vercel.app> |");
        expect(text).toContain(
            "**Estimated cost:** Fly machines $1.94/month for 1 machine (budget $3.00); Redis at most $5/month (its budget cap); the Neon branch is copy-on-write (it stores only what differs from staging).",
        );
        expect(text).toContain("**Last updated:** 2026-12-02 10:45 UTC from a1b2c3d: 14 created.");
    });

    test("says when it is unhealthy, failed, or removed", () => {
        expect(renderReviewComment({ ...report, unhealthy: ["/readyz"] })).toContain("but unhealthy: /readyz");
        const failed = renderReviewComment({ ...report, ok: false, errors: ["policy review-single-machine"] });
        expect(failed).toContain("the update failed");
        expect(failed).toContain("policy review-single-machine");
        expect(renderReviewComment({ ...report, action: "destroy", changes: "14 deleted" })).toContain(
            "### 🧹 Review environment `pr-12` removed",
        );
    });
});
