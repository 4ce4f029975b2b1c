/**
 * The rules the GitHub workflows must keep, read from the workflow files themselves: previews on
 * every pull request for both stacks with a comment step that runs on failure too; ups on merge,
 * one concurrency group per stack that never cancels an up in progress, prod behind its
 * environment and after staging; drift in its own group with an issue; rollback on demand in the
 * stack's group; a review environment per pull request of this repository, up and destroy in one
 * group per pull request, a sweep on a schedule; least permissions; no secret expanded inside a
 * `run:` script.
 */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";

const DIR = path.join(__dirname, "../../.github/workflows");

interface Step {
    name?: string;
    uses?: string;
    run?: string;
    if?: string;
    with?: Record<string, unknown>;
    env?: Record<string, string>;
}
interface Job {
    permissions?: Record<string, string> | string;
    environment?: string;
    needs?: string | string[];
    concurrency?: { group: string; "cancel-in-progress"?: boolean };
    strategy?: { matrix?: Record<string, unknown> };
    env?: Record<string, string>;
    steps: Step[];
}
interface Workflow {
    on: Record<string, unknown>;
    permissions?: Record<string, string> | string;
    concurrency?: { group: string; "cancel-in-progress"?: boolean };
    jobs: Record<string, Job>;
}

const files = fs.readdirSync(DIR).filter((f) => f.endsWith(".yml"));
const read = (file: string): Workflow => parse(fs.readFileSync(path.join(DIR, file), "utf8")) as Workflow;

test("the workflows are ci, preview, deploy, drift, rollback and review", () => {
    expect(files.sort()).toEqual(["ci.yml", "deploy.yml", "drift.yml", "preview.yml", "review.yml", "rollback.yml"]);
});

describe.each(files)("%s", (file) => {
    const wf = read(file);

    test("grants only read access to the contents at the top; jobs widen it only as they need", () => {
        expect(wf.permissions).toEqual({ contents: "read" });
        const allowed: Record<string, string[]> = {
            "preview.yml": ["pull-requests"],
            "drift.yml": ["issues"],
            "review.yml": ["pull-requests"],
        };
        for (const job of Object.values(wf.jobs)) {
            if (job.permissions === undefined) continue;
            expect(typeof job.permissions).toBe("object");
            for (const [scope, level] of Object.entries(job.permissions as Record<string, string>)) {
                if (scope === "contents") expect(level).toBe("read");
                else {
                    expect([scope, (allowed[file] ?? []).includes(scope)]).toEqual([scope, true]);
                    expect(["read", "write"]).toContain(level);
                }
            }
        }
    });

    test("no secret or event text is expanded inside a run: script (they reach it as environment)", () => {
        for (const job of Object.values(wf.jobs)) {
            for (const step of job.steps) {
                if (step.run) expect([step.name, step.run]).toEqual([step.name, expect.not.stringMatching(/\$\{\{/)]);
            }
        }
    });

    test("every action is pinned to a major version", () => {
        for (const job of Object.values(wf.jobs)) {
            for (const step of job.steps) if (step.uses) expect(step.uses).toMatch(/^[\w.-]+\/[\w.-]+@v\d+$/);
        }
    });
});

describe("preview", () => {
    const wf = read("preview.yml");
    const job = wf.jobs.preview;

    test("runs on every pull request to main, whatever files it changes (a stack-file edit too)", () => {
        expect(wf.on).toEqual({ pull_request: { branches: ["main"] } });
    });

    test("previews staging and prod, one job each, neither stopping the other", () => {
        expect(job.strategy?.matrix).toEqual({ stack: ["staging", "prod"] });
        expect((job.strategy as { "fail-fast"?: boolean })["fail-fast"]).toBe(false);
    });

    test("writes the comment with the project's preview and posts it as a sticky comment per stack, on failure too", () => {
        const preview = job.steps.find((s) => s.run?.includes("npm run preview"));
        expect(preview?.run).toBe('npm run preview -- --stack "$STACK" --comment "preview-$STACK.md"');
        const post = job.steps.find((s) => s.uses?.startsWith("marocchino/sticky-pull-request-comment@"));
        expect(post?.if).toMatch(/^always\(\)/);
        expect(post?.with).toEqual({ header: "preview-${{ matrix.stack }}", path: "preview-${{ matrix.stack }}.md" });
        expect(job.steps.indexOf(post!)).toBeGreaterThan(job.steps.indexOf(preview!));
    });
});

describe("review", () => {
    const wf = read("review.yml");
    const run = (job: string, command: string) => wf.jobs[job].steps.find((s) => s.run?.includes(command))?.run;
    const sameRepo = "github.event.pull_request.head.repo.full_name == github.repository";

    test("runs on a pull request's pushes and its close, on a schedule and on demand", () => {
        expect(wf.on).toEqual({
            pull_request: { branches: ["main"], types: ["opened", "synchronize", "reopened", "closed"] },
            schedule: [{ cron: expect.stringMatching(/^\S+ \S+ \* \* \*$/) }],
            workflow_dispatch: {},
        });
    });

    test("ups on a push and destroys on the close, pull requests of this repository only (a fork's code never gets the credentials)", () => {
        const ifOf = (job: string) => (wf.jobs[job] as Job & { if?: string }).if;
        expect(ifOf("up")).toBe(
            `github.event_name == 'pull_request' && github.event.action != 'closed' && ${sameRepo}`,
        );
        expect(ifOf("destroy")).toBe(
            `github.event_name == 'pull_request' && github.event.action == 'closed' && ${sameRepo}`,
        );
        expect(ifOf("sweep")).toBe("github.event_name != 'pull_request'");
        expect(run("up", "npm run review")).toBe(
            'npm run review -- up --pr "$PR" --branch "$HEAD_BRANCH" --ref "$HEAD_SHA" --base "$REVIEW_BASE" --comment review.md',
        );
        expect(run("destroy", "npm run review")).toBe(
            'npm run review -- destroy --pr "$PR" --base "$REVIEW_BASE" --comment review.md',
        );
        for (const job of ["up", "destroy", "sweep"])
            expect([job, wf.jobs[job].env?.REVIEW_BASE]).toEqual([job, "staging"]);
    });

    test("a pull request's up and destroy share one group that never cancels: a close waits for the push before it", () => {
        for (const job of ["up", "destroy"]) {
            expect(wf.jobs[job].concurrency).toEqual({
                group: "review-pr-${{ github.event.pull_request.number }}",
                "cancel-in-progress": false,
            });
        }
    });

    test("the comment is one sticky comment per pull request, posted on failure too", () => {
        for (const job of ["up", "destroy"]) {
            const post = wf.jobs[job].steps.find((s) => s.uses?.startsWith("marocchino/sticky-pull-request-comment@"));
            expect(post?.if).toBe("always() && hashFiles('review.md') != ''");
            expect(post?.with).toEqual({ header: "review", path: "review.md" });
        }
    });

    test("the sweep is given the open pull requests by gh, and reports what it removed in the job summary", () => {
        expect(run("sweep", "gh pr list")).toMatch(/gh pr list --repo "\$GITHUB_REPOSITORY" --state open/);
        expect(run("sweep", "npm run review")).toContain(
            'npm run review -- sweep --open "$OPEN" --base "$REVIEW_BASE" --report sweep.md',
        );
        expect(run("sweep", "npm run review")).toContain('cat sweep.md >> "$GITHUB_STEP_SUMMARY"');
        expect(wf.jobs.sweep.permissions).toEqual({ contents: "read", "pull-requests": "read" });
    });
});

describe("deploy", () => {
    const wf = read("deploy.yml");

    test("runs on a push to main only", () => {
        expect(wf.on).toEqual({ push: { branches: ["main"] } });
    });

    test("ups staging, then prod behind the prod environment", () => {
        expect(Object.keys(wf.jobs)).toEqual(["staging", "prod"]);
        expect(wf.jobs.staging.environment).toBe("staging");
        expect(wf.jobs.prod.environment).toBe("prod");
        expect(wf.jobs.prod.needs).toBe("staging");
    });

    test.each(["staging", "prod"])(
        "%s: one concurrency group for the stack, never cancelling an up in progress",
        (stack) => {
            expect(wf.jobs[stack].concurrency).toEqual({ group: `stack-${stack}`, "cancel-in-progress": false });
            expect(wf.concurrency).toBeUndefined();
        },
    );

    test.each(["staging", "prod"])(
        "%s: the project's up, which runs the health gate and rolls back on failure",
        (stack) => {
            const job = wf.jobs[stack];
            expect(job.env?.STACK).toBe(stack);
            expect(job.steps.map((s) => s.run).filter((r) => r?.startsWith("npm run up"))).toEqual([
                'npm run up -- --stack "$STACK"',
            ]);
            expect(job.steps.some((s) => s.run?.includes("--no-gate") || s.run?.includes("--no-policy"))).toBe(false);
        },
    );
});

describe("rollback", () => {
    const wf = read("rollback.yml");
    const job = wf.jobs.rollback;

    test("is started by hand with a stack and a history id", () => {
        const inputs = (wf.on.workflow_dispatch as { inputs: Record<string, { type: string; options?: string[] }> })
            .inputs;
        expect(Object.keys(wf.on)).toEqual(["workflow_dispatch"]);
        expect(inputs.stack).toMatchObject({ type: "choice", options: ["staging", "prod"] });
        expect(inputs.to.type).toBe("string");
    });

    test("shares the stack's concurrency group with the deploys, behind the stack's environment", () => {
        expect(job.concurrency).toEqual({ group: "stack-${{ inputs.stack }}", "cancel-in-progress": false });
        expect(job.environment).toBe("${{ inputs.stack }}");
    });

    test("runs the rollback command and puts its JSON summary in the job summary", () => {
        expect(job.steps.some((s) => s.run?.includes("npm run -s rollback --") && s.run.includes("--json"))).toBe(true);
        const summary = job.steps.find((s) => s.run?.includes("GITHUB_STEP_SUMMARY"));
        expect(summary?.if).toMatch(/^always\(\)/);
    });
});

describe("drift", () => {
    const wf = read("drift.yml");
    const job = wf.jobs.drift;

    test("runs on a schedule and on demand, per stack, in its own concurrency group", () => {
        expect(Object.keys(wf.on).sort()).toEqual(["schedule", "workflow_dispatch"]);
        expect(job.strategy?.matrix).toEqual({ stack: ["staging", "prod"] });
        expect(job.concurrency).toEqual({ group: "drift-${{ matrix.stack }}", "cancel-in-progress": false });
    });

    test("opens or updates the stack's issue only on drift, and fails on any other exit", () => {
        const check = job.steps.find((s) => s.run?.includes("npm run -s drift"));
        expect(check?.run).toContain('if [ "$code" -ne 0 ] && [ "$code" -ne 3 ]; then exit "$code"; fi');
        const issue = job.steps.find((s) => s.run?.includes("gh issue"));
        expect(issue?.if).toBe("steps.drift.outputs.code == '3'");
    });
});

describe("ci", () => {
    const wf = read("ci.yml");

    test("type-checks, runs the unit and policy tests and lints the workflows on pull requests", () => {
        expect(Object.keys(wf.on)).toContain("pull_request");
        const runs = wf.jobs.checks.steps.map((s) => s.run ?? "").join("\n");
        for (const cmd of ["npm run typecheck", "npm run test:unit", ".ci/actionlint.sh"]) expect(runs).toContain(cmd);
    });
});
