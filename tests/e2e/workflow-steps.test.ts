/**
 * The pull-request and merge workflows' steps, run in order against a local stack as a GitHub
 * runner would run them: each `run:` script through `bash -eo pipefail` (Actions' default shell)
 * with the job's and step's environment, `$GITHUB_OUTPUT` and `$GITHUB_STEP_SUMMARY`, and each
 * `uses:` step replaced by its local equivalent (./workflowRunner.ts). The one substitution: the
 * job's `STACK` names the local stack instead of staging or prod. So a typo in a workflow's shell
 * fails here, not on the first real pull request.
 */
import * as path from "path";
import { commentMarker } from "../../ops/ci/previewReport";
import { E2E_TIMEOUT_MS, E2EStack, REPO_ROOT } from "./harness";
import { WorkflowRunner } from "./workflowRunner";

jest.setTimeout(E2E_TIMEOUT_MS);

const stack = new E2EStack("workflows");
const runner = new WorkflowRunner({
    workDir: path.join(REPO_ROOT, ".local", "e2e-workflows"),
    // The one substitution: the local stack instead of staging or prod.
    jobEnv: { STACK: stack.name },
    commentMarker: () => commentMarker(stack.name),
});

beforeAll(async () => {
    runner.init();
    await stack.init();
});
afterAll(async () => {
    await stack.remove();
    runner.cleanup();
});

test("the pull-request workflow: install, preview with the policy pack, and the comment to post", async () => {
    const ran = await runner.runJob("preview.yml", "preview", { matrix: { stack: stack.name } });
    if (ran === "skipped") throw new Error("preview.yml skipped its job");
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
        const ran = await runner.runJob("deploy.yml", job);
        if (ran === "skipped") throw new Error(`deploy.yml skipped ${job}`);
        expect([job, ran.map((r) => r.outcome)]).toEqual([job, ran.map(() => "success")]);
    }
    expect(((await stack.inventory())?.machines ?? []).map((m) => m.state)).toEqual(Array(4).fill("started"));
});
