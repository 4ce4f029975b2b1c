/**
 * A review environment per pull request, on the real engine and the local cloud, driven by the
 * review workflow's own steps (./workflowRunner.ts) for a simulated pull request: its GitHub
 * event, its head branch and commit. The base is a local-cloud stack standing in for staging (the
 * jobs' `REVIEW_BASE` is the one substitution), holding rows of its own.
 *
 * - opened: the review stack pr-<n> exists, with one machine of the smallest guest in one region
 *   of its own Fly app, and its DATABASE_URL reaches a Neon branch holding the base's rows;
 * - a second push updates it in place (same machine, same branch, the rows written since kept);
 * - a push whose checkout carries a migration runs it on the branch only: the base's schema is
 *   untouched;
 * - a review config that breaks a guard rail is refused by the policy pack, nothing changed, and
 *   the pack holds the stack to staging as its base;
 * - the scheduled sweep removes a stack whose pull request is gone and keeps the open one's;
 * - closed: the stack is destroyed, and the emulator, PostgreSQL, Redis and the Vercel stand-in
 *   hold nothing of it.
 */
import * as fs from "fs";
import * as path from "path";
import { Client } from "pg";
import { parse, stringify } from "yaml";
import { localcloudPaths } from "../../localcloud/services/env";
import { flyInventory } from "../../localcloud/summary";
import { clientConnectionString } from "../../migrations/runner";
import { reviewCommentMarker } from "../../ops/ci/reviewReport";
import { listReviewStacks, stackFilePath } from "../../ops/review";
import { openStack } from "../../ops/workspace";
import {
    E2E_TIMEOUT_MS,
    E2EStack,
    flySecretValues,
    pgNames,
    portOpen,
    programVariant,
    REPO_ROOT,
    runCli,
    runCommand,
    vercelRecords,
} from "./harness";
import { GithubContext, Ran, WorkflowRunner } from "./workflowRunner";

jest.setTimeout(E2E_TIMEOUT_MS);

const base = new E2EStack("review-base");
/** Pull request numbers of this file only (a stack pr-<n> is one per backend). */
const PR = 4201;
const GONE_PR = 4202;
const REPOSITORY = "fpsgame/fpsgame-infra";
const BRANCH = "feat/e2e-review";
const reviewApp = (pr: number) => `${base.appName}-pr-${pr}`;
const stackOf = (pr: number) => `pr-${pr}`;

const runner = new WorkflowRunner({
    workDir: path.join(REPO_ROOT, ".local", "e2e-review-workflow"),
    // The one substitution: the local base stack instead of staging.
    jobEnv: { REVIEW_BASE: base.name },
    // gh needs GitHub: here it answers the sweep's question, and refuses any other.
    shims: {
        gh: [
            "#!/usr/bin/env bash",
            `if [ "$*" = "pr list --repo ${REPOSITORY} --state open --limit 1000 --json number --jq [.[].number] | join(\\",\\")" ]; then`,
            '  echo "${E2E_OPEN_PULL_REQUESTS}"; exit 0',
            "fi",
            'echo "gh shim: unexpected arguments: $*" >&2; exit 2',
            "",
        ].join("\n"),
    },
    // Only PR comments: the other pull request's stack is made by the command, not the workflow.
    commentMarker: () => reviewCommentMarker(stackOf(PR)),
});

/** The pull_request event GitHub sends for `action` on the pull request. */
function pullRequestEvent(action: string, pr = PR, sha = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"): GithubContext {
    return {
        event_name: "pull_request",
        event: { action, pull_request: { number: pr, head: { sha, repo: { full_name: REPOSITORY } } } },
        head_ref: BRANCH,
        repository: REPOSITORY,
    };
}

/** Runs each job of review.yml for the event; returns what ran, by job. */
async function onEvent(github: GithubContext): Promise<Record<string, Ran[] | "skipped">> {
    const out: Record<string, Ran[] | "skipped"> = {};
    for (const job of ["up", "destroy", "sweep"]) out[job] = await runner.runJob("review.yml", job, { github });
    return out;
}
const outcomes = (r: Ran[] | "skipped") => (r === "skipped" ? r : r.map((s) => `${s.step}: ${s.outcome}`));

/** A query through a connection string, TLS verified against the local CA. */
async function query<R extends Record<string, unknown>>(
    url: string,
    text: string,
    params: unknown[] = [],
): Promise<R[]> {
    const c = new Client({ connectionString: clientConnectionString(url, localcloudPaths().caFile) });
    await c.connect();
    try {
        return (await c.query<R>(text, params)).rows;
    } finally {
        await c.end();
    }
}

const PLAYER_COLUMNS =
    "SELECT column_name FROM information_schema.columns WHERE table_name = 'players' ORDER BY column_name";
const columnsOf = async (url: string) =>
    (await query<{ column_name: string }>(url, PLAYER_COLUMNS)).map((r) => r.column_name);

/** The review stack's resources of a type, from its state. */
async function reviewResources(pr: number, type: string): Promise<{ id: string; outputs: Record<string, unknown> }[]> {
    const ps = await openStack(stackOf(pr));
    const d = (await ps.stack.exportStack()).deployment as {
        resources?: { type: string; id: string; outputs: Record<string, unknown> }[];
    };
    return (d.resources ?? []).filter((r) => r.type === type);
}

/** The emulator's app, or undefined. */
async function appOf(name: string) {
    return (await flyInventory()).apps.find((a) => a.name === name);
}

const reviewUpCli = (pr: number, extra: string[] = []) =>
    runCli(["review", "up", "--pr", String(pr), "--branch", `${BRANCH}-${pr}`, "--base", base.name, ...extra]);

beforeAll(async () => {
    runner.init();
    // What an earlier, interrupted run left: review stacks of this file's pull requests.
    for (const pr of [PR, GONE_PR]) await runCli(["review", "destroy", "--pr", String(pr), "--base", base.name]);
    await base.init();
    await base.upOk();
    await base.sql("INSERT INTO players (username, email, elo, region) VALUES ($1, $2, $3, $4)", [
        "staging-ana",
        "ana@staging.example.com",
        1510,
        "sjc",
    ]);
});
afterAll(async () => {
    for (const pr of [PR, GONE_PR]) await runCli(["review", "destroy", "--pr", String(pr), "--base", base.name]);
    await base.remove();
    runner.cleanup();
});

let branchId = "";
let machineId = "";
let redisPort = 0;

test("opened: the review workflow's up creates pr-<n>: one machine, a branch holding the base's rows, the comment", async () => {
    const ran = await onEvent(pullRequestEvent("opened"));
    expect({ destroy: ran.destroy, sweep: ran.sweep }).toEqual({ destroy: "skipped", sweep: "skipped" });
    expect(outcomes(ran.up)).toEqual([
        "actions/checkout@v4: success",
        "actions/setup-node@v4: success",
        "pulumi/actions@v6: success",
        "Install (root and policy pack): success",
        "Create or update the review environment: success",
        "Post the review environment as the sticky comment: success",
    ]);

    const app = await appOf(reviewApp(PR));
    expect(app?.machines.map((m) => [m.region, m.state])).toEqual([["sjc", "started"]]);
    machineId = app!.machines[0].id;
    const [branch] = await reviewResources(PR, "neon:index/branch:Branch");
    branchId = branch.id;
    const [redis] = await reviewResources(PR, "upstash:index/redisDatabase:RedisDatabase");
    redisPort = Number(redis.outputs.port);

    // The branch's URL, not the base's: its own database, holding the base's rows.
    const { DATABASE_URL } = await flySecretValues(reviewApp(PR));
    expect(new URL(DATABASE_URL).pathname).toBe(`/${encodeURIComponent(`${branchId}.fpsgame`)}`);
    expect(
        (await query<{ username: string }>(DATABASE_URL, "SELECT username FROM players")).map((r) => r.username),
    ).toEqual(["staging-ana"]);

    const comment = fs.readFileSync(path.join(REPO_ROOT, "review.md"), "utf8");
    expect(comment.split("\n")[0]).toBe(reviewCommentMarker(stackOf(PR)));
    expect(comment).toMatch(/^\| API \| <https?:\/\/[^>]+> \|$/m);
    expect(comment).toMatch(/^\| WebSocket \| <wss?:\/\/[^>]+\/ws> \|$/m);
    expect(comment).toMatch(/^\| Health \| <https?:\/\/[^>]+\/healthz> \|$/m);
    expect(comment).toMatch(/^\| Frontend preview \| <https:\/\/[^>]+> \|$/m);
    expect(comment).toMatch(/^\*\*Estimated cost:\*\* Fly machines .*\$\d.*; Redis at most \$5\/month/m);
    expect(comment).toMatch(/^\*\*Last updated:\*\* \d{4}-\d\d-\d\d \d\d:\d\d UTC from a1b2c3d/m);
    // The plain-text copy the review stack got of the base's secrets: none anywhere in the file.
    expect(fs.readFileSync(stackFilePath(stackOf(PR)), "utf8")).not.toMatch(/postgres(ql)?:\/\//);
});

test("a second push updates it in place: the same machine and branch, the rows written since kept", async () => {
    const { DATABASE_URL } = await flySecretValues(reviewApp(PR));
    await query(
        DATABASE_URL,
        "INSERT INTO players (username, email, elo, region) VALUES ('pr-bo', 'bo@pr.example.com', 1400, 'sjc')",
    );
    // A runner starts from a fresh checkout: the stack file is written again from the base's.
    fs.rmSync(stackFilePath(stackOf(PR)));
    const ran = await onEvent(pullRequestEvent("synchronize", PR, "b2c3d4e5f60718293a4b5c6d7e8f901234567890"));
    expect(ran.up !== "skipped" && ran.up.every((s) => s.outcome === "success")).toBe(true);

    expect((await appOf(reviewApp(PR)))?.machines.map((m) => m.id)).toEqual([machineId]);
    expect((await reviewResources(PR, "neon:index/branch:Branch")).map((b) => b.id)).toEqual([branchId]);
    const after = await flySecretValues(reviewApp(PR));
    expect(
        (await query<{ username: string }>(after.DATABASE_URL, "SELECT username FROM players ORDER BY id")).map(
            (r) => r.username,
        ),
    ).toEqual(["staging-ana", "pr-bo"]);
    expect(fs.readFileSync(path.join(REPO_ROOT, "review.md"), "utf8")).toContain("b2c3d4e");
});

test("a push whose checkout carries a migration runs it on the branch only; the base's schema is untouched", async () => {
    // The checkout of a pull request that adds migration 004 (--program-dir: another checkout).
    const checkout = programVariant("review-pr", {
        "migrations/004.do.add-player-title.sql": "ALTER TABLE players ADD COLUMN IF NOT EXISTS title TEXT;\n",
        "migrations/004.undo.add-player-title.sql": "ALTER TABLE players DROP COLUMN IF EXISTS title;\n",
    });
    const baseColumns = await base.sql<{ column_name: string }>(PLAYER_COLUMNS);
    const r = await runCli([
        "review",
        "up",
        "--pr",
        String(PR),
        "--branch",
        BRANCH,
        "--base",
        base.name,
        "--program-dir",
        checkout,
    ]);
    expect([r.code, r.stderr.slice(-2000)]).toEqual([0, expect.any(String)]);

    const { DATABASE_URL } = await flySecretValues(reviewApp(PR));
    expect(await columnsOf(DATABASE_URL)).toContain("title");
    const now = await base.sql<{ column_name: string }>(PLAYER_COLUMNS);
    expect(now).toEqual(baseColumns);
    expect(now.map((c) => c.column_name)).not.toContain("title");
});

test("a review config that breaks a guard rail is refused by the policy pack, and nothing changes", async () => {
    const file = stackFilePath(stackOf(PR));
    const written = fs.readFileSync(file, "utf8");
    const doc = parse(written) as { config: Record<string, Record<string, unknown>> };
    doc.config["fpsgame-infra:api"].regions = { sjc: 1, iad: 1 };
    fs.writeFileSync(file, stringify(doc));
    const before = JSON.stringify((await appOf(reviewApp(PR)))?.machines.map((m) => m.id));
    try {
        const r = await runCommand("preview", stackOf(PR), []);
        const out = r.stdout + r.stderr;
        expect(r.code).not.toBe(0);
        expect(out).toMatch(
            /review-single-region[\s\S]*A review stack must run its Fly machines in one region; it runs them in 2 regions: iad \(/,
        );
        expect(out).toMatch(/review-single-machine[\s\S]*A review stack may run at most 1 Fly machine; it declares 2/);
        expect(JSON.stringify((await appOf(reviewApp(PR)))?.machines.map((m) => m.id))).toBe(before);
    } finally {
        fs.writeFileSync(file, written);
    }
});

test("the pack holds a review stack to staging as its base, reading the base from the stack's own config", async () => {
    // The pack's review.json as CI runs it (base: staging), on this stack whose base is the local
    // one: the StackReference is a read no stack policy sees, so this is the stack's config, which
    // the engine hands the pack, reaching it.
    const r = await runCli([
        "pulumi",
        "preview",
        "--policy-pack",
        "policies",
        "--policy-pack-config",
        "policies/config/review.json",
        "--stack",
        stackOf(PR),
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toContain(
        `Review stack must be based on staging: fpsgame-infra:review.baseStack is "${base.name}"; allowed: staging.`,
    );
});

test("the scheduled sweep removes the stack of a pull request that is gone, and keeps the open one's", async () => {
    const gone = await reviewUpCli(GONE_PR);
    expect([gone.code, gone.stderr.slice(-2000)]).toEqual([0, expect.any(String)]);
    expect(await appOf(reviewApp(GONE_PR))).toBeDefined();

    process.env.E2E_OPEN_PULL_REQUESTS = String(PR);
    try {
        const ran = await onEvent({ event_name: "schedule", event: {}, repository: REPOSITORY });
        expect({ up: ran.up, destroy: ran.destroy }).toEqual({ up: "skipped", destroy: "skipped" });
        expect(ran.sweep !== "skipped" && ran.sweep.map((s) => s.outcome)).toEqual(
            (ran.sweep as Ran[]).map(() => "success"),
        );
    } finally {
        delete process.env.E2E_OPEN_PULL_REQUESTS;
    }
    const summary = runner.summary("review.yml", "sweep");
    expect(summary).toMatch(new RegExp(`\`${stackOf(GONE_PR)}\` \\| #${GONE_PR} \\| .* \\| removed \\|`));
    expect(summary).toMatch(new RegExp(`\`${stackOf(PR)}\` \\| #${PR} \\| .* \\| kept \\|`));
    expect((await listReviewStacks(base.name)).map((s) => s.stack)).toContain(stackOf(PR));
    expect((await listReviewStacks(base.name)).map((s) => s.stack)).not.toContain(stackOf(GONE_PR));
    expect(await appOf(reviewApp(GONE_PR))).toBeUndefined();
});

test("closed: the stack is destroyed; the emulator, PostgreSQL, Redis and Vercel hold nothing of it", async () => {
    expect((await pgNames(branchId)).databases).toEqual([`${branchId}.fpsgame`]);
    expect(await portOpen(redisPort)).toBe(true);
    expect(vercelRecords(BRANCH).length).toBeGreaterThan(0);

    const ran = await onEvent(pullRequestEvent("closed"));
    expect({ up: ran.up, sweep: ran.sweep }).toEqual({ up: "skipped", sweep: "skipped" });
    expect(outcomes(ran.destroy)).toEqual([
        "actions/checkout@v4: success",
        "actions/setup-node@v4: success",
        "pulumi/actions@v6: success",
        "Install (root and policy pack): success",
        "Destroy the review environment: success",
        "Say so in the sticky comment: success",
    ]);

    expect((await listReviewStacks(base.name)).map((s) => s.stack)).not.toContain(stackOf(PR));
    expect(fs.existsSync(stackFilePath(stackOf(PR)))).toBe(false);
    expect(await appOf(reviewApp(PR))).toBeUndefined();
    expect((await pgNames(branchId)).databases).toEqual([]);
    expect(await portOpen(redisPort)).toBe(false);
    expect(vercelRecords(BRANCH)).toEqual([]);
    // The base keeps its own.
    expect((await base.sql<{ username: string }>("SELECT username FROM players")).map((r) => r.username)).toEqual([
        "staging-ana",
    ]);
});

test("a pull request from a fork gets no review environment: its code would run with the credentials", async () => {
    const fork = pullRequestEvent("opened", 4203);
    (fork.event.pull_request as { head: { repo: { full_name: string } } }).head.repo.full_name = "someone/fork";
    expect(await onEvent(fork)).toEqual({ up: "skipped", destroy: "skipped", sweep: "skipped" });
});
