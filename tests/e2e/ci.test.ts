/**
 * What the CI workflows run, on the real engine against the local cloud, through the same npm
 * commands the workflows call: the pull-request comment of a one-region scale preview (exact), the
 * comment of a preview blocked by a mandatory policy (it names the violation), drift made out of
 * band in the Fly emulator (the drift result and the issue text), and a deploy whose `/readyz`
 * fails: the gate fails and the stack is rolled back.
 */
import * as fs from "fs";
import * as path from "path";
import { CommandResult, E2E_TIMEOUT_MS, E2EStack, flyAdmin, REPO_ROOT, runCommand } from "./harness";

jest.setTimeout(E2E_TIMEOUT_MS);

const stack = new E2EStack("ci");
const OUT = path.join(REPO_ROOT, ".local", "e2e-ci");

/** `npm run preview -- --stack <stack> --comment <file>` with the policy pack; returns the comment. */
async function previewComment(name: string): Promise<{ r: CommandResult; comment: string }> {
    const file = path.join(OUT, `${name}.md`);
    fs.rmSync(file, { force: true });
    const r = await runCommand("preview", stack.name, ["--comment", file]);
    return { r, comment: fs.readFileSync(file, "utf8") };
}

beforeAll(async () => {
    fs.mkdirSync(OUT, { recursive: true });
    await stack.init();
    await stack.upOk();
});
afterAll(async () => {
    await stack.remove();
    fs.rmSync(OUT, { recursive: true, force: true });
});

test("a one-region scale edit: the comment lists exactly the new machine, the policies and the cost", async () => {
    await stack.configSet("api.regions.sjc", "3");
    const { r, comment } = await previewComment("scale");
    expect(r).toExitZero();
    expect(comment).toBe(
        [
            `<!-- fpsgame-infra preview: ${stack.name} -->`,
            `### ✅ \`${stack.name}\`: preview passed`,
            "",
            "**Changes:** 1 to create.",
            "",
            "<details open><summary>1 to create</summary>",
            "",
            "| | resource | type | changed properties |",
            "| --- | --- | --- | --- |",
            "| `+` | `api-sjc-3` | `fly:index:Machine` |  |",
            "",
            "</details>",
            "",
            "**Policies:** no findings.",
            "",
            "**Cost:** Fly machines $15.97/month for 5 machines (budget $50.00).",
            "",
        ].join("\n"),
    );
});

test("a preview blocked by a mandatory policy still renders a comment that names the violation", async () => {
    await stack.configSet("api.vm.memoryMb", "256");
    const { r, comment } = await previewComment("blocked");
    expect(r.code).not.toBe(0);
    expect(comment.split("\n").slice(0, 2)).toEqual([
        `<!-- fpsgame-infra preview: ${stack.name} -->`,
        `### ❌ \`${stack.name}\`: blocked by policy`,
    ]);
    expect(comment).toMatch(/\| ⛔ mandatory \| `fly-min-memory` \| `api-sjc-1` \| .*256.* \|/);
    // The updates it would have made, with the property each changes (the engine's old and new inputs).
    expect(comment).toContain("| `~` | `api-sjc-1` | `fly:index:Machine` | `guest` |");
    await stack.configSet("api.vm.memoryMb", "512");
});

test("drift made out of band in the Fly emulator: the drift result and the issue text", async () => {
    await stack.configSet("api.regions.sjc", "2");
    const id = (await stack.stateResources("fly:index:Machine")).find((x) => x.urn.endsWith("::api-iad-1"))?.id;
    const m = ((await stack.inventory())?.machines ?? []).find((x) => x.id === id)!;
    // What `fly scale memory 1024` does to one machine: a full config update.
    const config = { ...m.config, guest: { ...(m.config.guest as object), memory_mb: 1024 } };
    const updated = (await flyAdmin("POST", `/v1/apps/${stack.appName}/machines/${m.id}`, { config })) as {
        id: string;
        config: { guest: { memory_mb: number } };
    };
    expect([updated.id, updated.config.guest.memory_mb]).toEqual([m.id, 1024]);

    const report = path.join(OUT, "drift.md");
    const r = await runCommand("drift", stack.name, ["--report", report, "--json"]);
    expect(r.code).toBe(3);
    const result = JSON.parse(r.stdout) as { drifted: { name: string; op: string; properties: string[] }[] };
    expect(result.drifted.map((d) => d.name)).toEqual(["api-iad-1"]);
    expect(result.drifted[0].op).toBe("update");
    expect(result.drifted[0].properties).toEqual(expect.arrayContaining(["guest"]));
    const issue = fs.readFileSync(report, "utf8");
    expect(issue).toMatch(
        new RegExp(
            `^Drift on \`${stack.name}\`, found \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC by \`npm run drift -- --stack ${stack.name}\`: 1 resource\\(s\\) differ`,
        ),
    );
    expect(issue).toContain(
        `| \`api-iad-1\` | \`fly:index:Machine\` | changed | ${result.drifted[0].properties.map((p) => `\`${p}\``).join(", ")} |`,
    );
    expect(issue).toContain(`npm run up -- --stack ${stack.name} --refresh`);

    // After an up that refreshes first, the machine is back to the config and no drift is left.
    expect(await runCommand("up", stack.name, ["--no-policy", "--refresh", "--no-gate"])).toExitZero();
    expect(await runCommand("drift", stack.name, [])).toExitZero();
});

test("a deploy whose /readyz fails: the gate fails and the stack is rolled back", async () => {
    // The new release's /readyz fails on the public path once (the gate's one request), while
    // the machines' own checks pass, so the rollout completes and the gate is what catches it.
    await flyAdmin("POST", "/__emulator/faults", {
        rules: [{ app: stack.appName, edge: true, path: "^/readyz$", status: 503, times: 1 }],
    });
    await stack.configSet("api.image", "registry.fly.io/fpsgame-api:v2.2.0");
    const r = await runCommand("up", stack.name, ["--no-policy", "--gate-window", "1"]);
    await flyAdmin("DELETE", `/__emulator/faults?app=${stack.appName}`);
    expect(r.code).toBe(1);
    const out = r.stdout + r.stderr;
    expect(out).toMatch(/FAIL\s+readyz: GET https:\/\/[^ ]+\/readyz: 503/);
    expect(out).toMatch(
        /health gate failed \(readyz\): rolling e2e-ci back to h[0-9a-f]{10}, the update before this one\./,
    );
    expect(out).toContain("The deploy failed its health gate and was rolled back to");
    expect(((await stack.inventory())?.machines ?? []).map((m) => m.image)).toEqual(
        Array(4).fill("registry.fly.io/fpsgame-api:v1.4.2"),
    );
});
