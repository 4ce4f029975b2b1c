/**
 * `npm run rollback` on the real engine against the local cloud, as an operator runs it: deploy
 * image v1, then v2 with a config change and a secret rotation, then roll back to the v1 entry.
 * The machines run v1 with v1's config, the rotated secret keeps its new value, the JSON summary
 * names the change, and the ids of the history do not move. Refusals (a failed entry, a locked
 * stack) change nothing: not the emulator, not the state, not the stack file, not the database.
 */
import { spawn } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { sameProgram } from "../../ops/rollback";
import {
    CommandResult,
    E2E_TIMEOUT_MS,
    E2EStack,
    flyAdmin,
    flySecretValues,
    historyEntries,
    REPO_ROOT,
    runCommand,
} from "./harness";

jest.setTimeout(E2E_TIMEOUT_MS);

const stack = new E2EStack("rollback");
const V1 = "registry.fly.io/fpsgame-api:v1.4.2";
const V2 = "registry.fly.io/fpsgame-api:v2.0.0";
/** The JWT secret after the rotation: made here, never printed. */
const ROTATED = crypto.randomBytes(24).toString("base64url");

/**
 * `npm run rollback -- --stack <stack> --no-policy <args>`, as a user runs it. `--allow-dirty` on
 * every `--to`: the checkout running the tests may hold uncommitted work, which the history then
 * records as dirty (the refusal itself is in tests/ops/rollback.test.ts).
 */
function rollback(...args: string[]): Promise<CommandResult> {
    const extra = args.includes("--to") ? ["--allow-dirty"] : [];
    return runCommand("rollback", stack.name, ["--no-policy", ...args, ...extra]);
}

const list = () => historyEntries(stack);

const secretValues = () => flySecretValues(stack.appName);

/** What a refusal must leave alone. */
async function snapshot(): Promise<unknown> {
    return {
        machines: ((await stack.inventory())?.machines ?? []).map((m) => `${m.id} ${m.instance_id} ${m.image}`).sort(),
        state: (await stack.stateResources("fly:index:Machine"))
            .map((r) => `${r.id} ${String(r.outputs.image)}`)
            .sort(),
        stackFile: fs.readFileSync(stack.file, "utf8"),
        history: (await list()).length,
        // The database too: its schema and what postgrator recorded.
        schema: await stack.sql("SELECT version, name FROM schemaversion ORDER BY version"),
    };
}

let v1Entry: string;
let v2Entry: string;

beforeAll(async () => {
    await stack.init();
    await stack.upOk();
    await stack.configSet("api.image", V2);
    await stack.configSet("api.env.MOTD", "welcome to v2");
    await stack.configSet("jwtSecret", ROTATED, { secret: true });
    await stack.upOk();
    const entries = await list();
    [v2Entry, v1Entry] = entries.map((e) => e.id);
});
afterAll(async () => {
    await flyAdmin("DELETE", `/__emulator/faults?app=${stack.appName}`);
    await stack.remove();
});

test("--list: every update newest first, with ids of the history's own, a commit, and the result", async () => {
    const entries = await list();
    expect(entries.map((e) => [e.kind, e.result])).toEqual([
        ["update", "succeeded"],
        ["update", "succeeded"],
    ]);
    for (const e of entries) {
        expect(e.id).toMatch(/^h[0-9a-f]{10}$/);
        expect(e.commit).toMatch(/^[0-9a-f]{40}$/);
    }
    const json = await rollback("--list", "--json");
    expect(json).toExitZero();
    expect(JSON.parse(json.stdout)).toEqual(JSON.parse(JSON.stringify(entries)));
    const table = await rollback("--list");
    expect(table).toExitZero();
    expect(table.stdout).toContain(
        `Stack ${stack.name}: 2 entries, newest first. Roll back with: npm run rollback -- --stack ${stack.name} --to <id>`,
    );
    expect(table.stdout).toMatch(
        new RegExp(`${v1Entry}  \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d  update  succeeded  [0-9a-f]{7}`),
    );
});

test("--to the v1 entry: the machines run v1 with v1's config, the rotated secret keeps its new value, the summary names the change", async () => {
    expect((await secretValues()).JWT_SECRET).toBe(ROTATED);
    const r = await rollback("--to", v1Entry, "--yes", "--json");
    expect(r).toExitZero();
    const summary = JSON.parse(r.stdout) as {
        to: { id: string; commit: string };
        from: { id: string };
        configChanges: { key: string; from?: unknown; to?: unknown }[];
        secrets: string;
        resourceChanges: Record<string, number>;
        backup: string;
        program: string;
    };
    expect(summary.to.id).toBe(v1Entry);
    expect(summary.from.id).toBe(v2Entry);
    expect(summary.secrets).toBe("kept");
    // A clean checkout (CI) is the entry's program; one with uncommitted program changes runs the
    // entry's commit from a worktree with its own install.
    expect(summary.program).toBe(
        sameProgram(summary.to.commit) ? "this checkout" : `.rollback/worktrees/${summary.to.commit.slice(0, 12)}`,
    );
    expect(summary.configChanges).toEqual([
        { key: "fpsgame-infra:api.env.MOTD", from: "welcome to v2" },
        { key: "fpsgame-infra:api.image", from: V2, to: V1 },
    ]);
    expect(summary.resourceChanges.update).toBeGreaterThanOrEqual(4);
    expect(fs.existsSync(path.join(REPO_ROOT, summary.backup))).toBe(true);
    expect(r.stderr).toContain(`Rolled ${stack.name} back to ${v1Entry}`);

    const machines = (await stack.inventory())?.machines ?? [];
    expect(machines.map((m) => m.image)).toEqual(Array(4).fill(V1));
    for (const m of machines) expect((m.config.env as Record<string, string>).MOTD).toBeUndefined();
    expect((await secretValues()).JWT_SECRET).toBe(ROTATED);
    // Neither secret value in the output, the summary or the backup.
    expect(r.stdout + r.stderr).not.toContain(ROTATED);
    expect(fs.readFileSync(path.join(REPO_ROOT, summary.backup), "utf8")).not.toContain(ROTATED);
    // The stack file now holds v1's config, with the rotated secret still encrypted in it.
    const file = fs.readFileSync(stack.file, "utf8");
    expect(file).toContain(V1);
    expect(file).not.toContain("MOTD");
    expect(file).not.toContain(ROTATED);

    // The rollback is a history entry of its own, and no earlier id moved.
    const after = await list();
    expect(after.map((e) => e.id).slice(1)).toEqual([v2Entry, v1Entry]);
    expect(after[0].message).toMatch(new RegExp(`^rollback to ${v1Entry} \\(`));
});

test("a failed entry is refused with the reason, and nothing changes", async () => {
    await flyAdmin("POST", "/__emulator/faults", {
        rules: [
            {
                app: stack.appName,
                method: "POST",
                path: `^/v1/apps/${stack.appName}/machines$`,
                region: "iad",
                error: "insufficient_capacity",
                times: 3,
            },
        ],
    });
    await stack.configSet("api.regions.iad", "3");
    expect((await stack.up()).code).not.toBe(0);
    await flyAdmin("DELETE", `/__emulator/faults?app=${stack.appName}`);
    const failed = (await list())[0];
    expect(failed.result).toBe("failed");

    const before = await snapshot();
    const r = await rollback("--to", failed.id, "--yes");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
        `rollback refused: entry ${failed.id} failed: restoring it would deploy a config that did not deploy; choose an update that succeeded (--list). Nothing was changed.`,
    );
    expect(await snapshot()).toEqual(before);
});

test("a locked stack is refused, and nothing changes; without --yes and no terminal, it asks for --yes", async () => {
    // A running pulumi holding the stack's lock, as the file backend records one.
    const holder = spawn("bash", ["-c", "exec -a pulumi-holding-the-lock sleep 120"], { stdio: "ignore" });
    fs.mkdirSync(stack.lockDir, { recursive: true });
    const lock = path.join(stack.lockDir, "e2e-held.json");
    fs.writeFileSync(
        lock,
        JSON.stringify({
            pid: holder.pid,
            username: "e2e",
            hostname: os.hostname(),
            timestamp: new Date().toISOString(),
        }),
    );
    try {
        await new Promise((resolve) => setTimeout(resolve, 200));
        const before = await snapshot();
        const r = await rollback("--to", v2Entry, "--yes");
        expect(r.code).toBe(2);
        expect(r.stderr).toContain(
            `rollback refused: stack ${stack.name} is locked by an update in progress (pid ${holder.pid} on`,
        );
        expect(await snapshot()).toEqual(before);
    } finally {
        fs.rmSync(lock, { force: true });
        holder.kill();
    }

    const before = await snapshot();
    const asked = await rollback("--to", v2Entry);
    expect(asked.code).toBe(2);
    expect(asked.stderr).toContain(
        "rollback refused: no terminal to confirm on: pass --yes to roll back without asking. Nothing was changed.",
    );
    expect(await snapshot()).toEqual(before);
});

/** `npm run up -- --stack <stack> --no-policy <args>`, as a user runs it. */
function upCommand(...args: string[]): Promise<CommandResult> {
    return runCommand("up", stack.name, ["--no-policy", ...args]);
}

test("npm run up: a deploy whose error rate fails the health gate is rolled back by itself; the history shows both", async () => {
    await stack.configSet("api.regions.iad", "2");
    await stack.configSet("api.env.MOTD", "gated"); // a change, so the up has something to gate
    const good = await upCommand("--gate-window", "2");
    expect(good).toExitZero();
    expect(good.stderr).toContain("health gate passed.");
    const [goodEntry] = await list();

    // 20% of this image's requests are 5xx (the emulator's edge plays it), over the runbook's 5%.
    await stack.configSet("api.image", "registry.fly.io/fpsgame-api:v2.1.0-errors");
    const bad = await upCommand("--gate-window", "2");
    expect(bad.code).toBe(1);
    const out = bad.stdout + bad.stderr;
    // 20% of the image's requests are 5xx; whole-request counts over 2 s round it by a point or two.
    const pct = Number(/FAIL error rate: ([\d.]+)% 5xx over 2s/.exec(out)?.[1]);
    expect(pct).toBeGreaterThanOrEqual(17);
    expect(pct).toBeLessThanOrEqual(23);
    expect(out).toContain(
        `health gate failed (error rate): rolling ${stack.name} back to ${goodEntry.id}, the update before this one.`,
    );
    expect(out).toContain(
        `The deploy failed its health gate and was rolled back to ${goodEntry.id}; both updates are in the history`,
    );
    expect(((await stack.inventory())?.machines ?? []).map((m) => m.image)).toEqual(Array(4).fill(V1));

    const [rolledBack, failedDeploy, before] = await list();
    expect(rolledBack.message).toMatch(new RegExp(`^rollback to ${goodEntry.id} \\(`));
    expect(rolledBack.result).toBe("succeeded");
    expect(failedDeploy.result).toBe("succeeded"); // the up itself worked; its health did not
    expect(before.id).toBe(goodEntry.id);
});
