/**
 * The commands on both self-managed state backends CI can use, on the real engine: the file
 * backend (`.local/backend/`) and Pulumi's PostgreSQL backend on the local cloud's real
 * PostgreSQL (`LOCALCLOUD_BACKEND=postgres`, as a shared `postgres://…` backend serves CI's
 * ephemeral runners). On each: the history and its rollback ids (stable across a later update),
 * and the lock: while an up runs, a second up is refused by the engine and a rollback by the
 * command, and once it ends the stack is free again. And the file backend's read race: a list
 * that meets another stack's save half-way is retried, not failed.
 */
import { CommandError, LocalWorkspace } from "@pulumi/pulumi/automation";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CommandResult, E2E_TIMEOUT_MS, E2EStack, flyAdmin, historyEntries, runCommand } from "./harness";
import { backendLocks } from "../../ops/recovery";
import { listStacks, PROJECT, pulumiCommandFor } from "../../ops/workspace";

jest.setTimeout(E2E_TIMEOUT_MS);

describe.each(["file", "postgres"])("the %s backend", (kind) => {
    const env = { ...process.env, LOCALCLOUD_BACKEND: kind };
    const stack = new E2EStack(`backend-${kind}`, undefined, env);
    const run = (name: string, args: string[]): Promise<CommandResult> => runCommand(name, stack.name, args, env);
    const list = () => historyEntries(stack);

    beforeAll(async () => {
        await stack.init();
        await stack.upOk();
    });
    afterAll(() => stack.remove());

    test("the stack lives in that backend", () => {
        // The URL holds the role's password: compared without it, so a failure never prints it.
        const url = (stack.env.PULUMI_BACKEND_URL ?? "").replace(/:[^:@/]+@/, ":[password]@");
        expect(url).toMatch(
            kind === "file"
                ? /^file:\/\//
                : /^postgres:\/\/localcloud_backend:\[password\]@127\.0\.0\.1:\d+\/pulumi_backend\?/,
        );
    });

    test("history and rollback ids: every update listed, and no id moves when another lands", async () => {
        await stack.configSet("api.env.MOTD", "one");
        await stack.upOk();
        const before = await list();
        expect(before.map((e) => [e.kind, e.result])).toEqual([
            ["update", "succeeded"],
            ["update", "succeeded"],
        ]);
        for (const e of before) expect(e.id).toMatch(/^h[0-9a-f]{10}$/);
        await stack.configSet("api.env.MOTD", "two");
        await stack.upOk();
        const after = await list();
        expect(after).toHaveLength(3);
        expect(after.slice(1).map((e) => e.id)).toEqual(before.map((e) => e.id));
    });

    test("the lock: while an up runs, a second up and a rollback are refused; after it the stack is free", async () => {
        const [, target] = await list();
        await stack.configSet("api.env.MOTD", "three");
        // Each machine update of this app is held until the rules are cleared below (25 s at most,
        // within the provider's 30 s request timeout), so the first up holds the lock for as long as
        // the other two commands take to reach it, however loaded the machine.
        await flyAdmin("POST", "/__emulator/faults", {
            rules: [{ app: stack.appName, method: "POST", path: "^/v1/apps/[^/]+/machines/[^/]+$", delayMs: 25_000 }],
        });
        const first = run("up", ["--no-policy", "--no-gate"]);
        await stack.lockTaken();
        const [second, rollback] = await Promise.all([
            run("up", ["--no-policy", "--no-gate"]),
            run("rollback", ["--no-policy", "--to", target.id, "--yes", "--allow-dirty"]),
        ]);
        // Both refused: let the held update (and the rest of the rollout) through.
        await flyAdmin("DELETE", `/__emulator/faults?app=${stack.appName}`);
        const done = await first;
        expect(done).toExitZero();
        expect(second.code).not.toBe(0);
        expect(second.stdout + second.stderr).toMatch(/the stack is currently locked by 1 lock\(s\)/);
        expect(rollback.code).toBe(2);
        expect(rollback.stderr).toContain(`rollback refused: stack ${stack.name} is locked by an update in progress`);
        expect(await backendLocks(stack.env, PROJECT, stack.name)).toEqual([]);
        const entries = await list();
        expect(entries[0].result).toBe("succeeded");
        expect(entries.filter((e) => e.result === "succeeded")).toHaveLength(4);
    });
});

describe("the file backend's read race", () => {
    // Every checkpoint save rewrites the stack's `.attrs` file in place; a list that reads it in
    // that moment finds it empty. Here it is held empty on purpose, in a backend of its own.
    let tmp: string;
    let ws: LocalWorkspace;
    let attrs: string;
    let saved: Buffer;
    beforeAll(async () => {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "read-race-"));
        fs.mkdirSync(path.join(tmp, "backend"));
        fs.writeFileSync(path.join(tmp, "Pulumi.yaml"), "name: read-race\nruntime: yaml\n");
        ws = await LocalWorkspace.create({
            workDir: tmp,
            pulumiCommand: await pulumiCommandFor("local"),
            envVars: {
                PULUMI_BACKEND_URL: `file://${path.join(tmp, "backend")}`,
                PULUMI_HOME: path.join(tmp, "home"),
                PULUMI_CONFIG_PASSPHRASE: "read-race",
                PULUMI_SKIP_UPDATE_CHECK: "true",
            },
        });
        await ws.createStack("saving");
        await ws.createStack("listed");
        attrs = path.join(tmp, "backend", ".pulumi", "stacks", "read-race", "saving.json.attrs");
        saved = fs.readFileSync(attrs);
    });
    afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

    test("the CLI fails on a half-written save with a bare EOF, and the list is retried until the save is done", async () => {
        fs.writeFileSync(attrs, "");
        await expect(ws.listStacks()).rejects.toThrow(/^error: EOF$/m);
        // The save ends while the retries run: the list succeeds with both stacks.
        const done = new Promise<void>((r) => setTimeout(() => r(fs.writeFileSync(attrs, saved)), 250));
        const names = (await listStacks(ws)).map((s) => s.name).sort();
        await done;
        expect(names).toEqual(["listed", "saving"]);
    });

    test("a save that never ends still fails, after the retries, with the CLI's error", async () => {
        fs.writeFileSync(attrs, "");
        try {
            await expect(listStacks(ws, 10)).rejects.toBeInstanceOf(CommandError);
        } finally {
            fs.writeFileSync(attrs, saved);
        }
    });
});

describe("a stack whose init() never created it", () => {
    test("remove() deletes its file and leaves the backend alone, so a failed beforeAll is the only failure", async () => {
        const never = new E2EStack("never-created");
        expect(fs.existsSync(never.file)).toBe(true);
        // Before, it asked the backend for the stack and threw "does not exist" on top of init's error.
        await expect(never.remove()).resolves.toBeUndefined();
        expect(fs.existsSync(never.file)).toBe(false);
    });
});
