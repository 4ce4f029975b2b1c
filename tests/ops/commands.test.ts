/**
 * The commands' own logic, without the engine: the environment the Automation API's `pulumi`
 * really gets, the extra arguments of preview/up, the stack of a passed-through command, the
 * dead-lock check on Pulumi's file backend, and which interrupted creates count as confirmed.
 */
import { LocalWorkspace, PulumiCommand } from "@pulumi/pulumi/automation";
import { specialSecretSig, specialSigKey } from "@pulumi/pulumi/runtime/rpc";
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { stackArg } from "../../ops/cli";
import { cancelCommand, classifyPendingCreates, deadLockMessage, deadLocks, stackLocks } from "../../ops/recovery";
import {
    checkpointDeployment,
    checkpointHasPendingOperations,
    checkpointOutputs,
    SPECIAL_VALUE_KEY,
    fileBackendDir,
    stackCheckpoint,
} from "../../ops/backend";
import {
    commandAtVersion,
    describeChanges,
    hasChanges,
    listStacks,
    parseOpFlags,
    versionOfToolchainRoot,
    workspaceEnv,
} from "../../ops/workspace";

let tmp: string;
beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ops-test-"));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe("the environment of the Automation API's pulumi", () => {
    test("is exactly the stack's: a variable the stack leaves out does not leak from this process", async () => {
        // A stand-in `pulumi` that answers `version` and prints the variables it got.
        fs.mkdirSync(path.join(tmp, "bin"));
        const fake = path.join(tmp, "bin", "pulumi");
        fs.writeFileSync(
            fake,
            '#!/bin/sh\nif [ "$1" = version ]; then echo v3.276.0; exit 0; fi\n' +
                'echo "[{\\"name\\":\\"FLY=${FLY_API_TOKEN-unset} KEEP=${KEEP_ME-unset}\\"}]"\n',
            { mode: 0o755 },
        );
        process.env.FLY_API_TOKEN = "fm2_the_users_real_token";
        try {
            const env: NodeJS.ProcessEnv = { ...process.env, KEEP_ME: "yes" };
            delete env.FLY_API_TOKEN;
            const pulumiCommand = await PulumiCommand.get({ root: tmp, skipVersionCheck: true });
            const ws = await LocalWorkspace.create({ workDir: tmp, pulumiCommand, envVars: workspaceEnv(env) });
            const [seen] = await ws.listStacks();
            expect(seen.name).toBe("FLY=unset KEEP=yes");
        } finally {
            delete process.env.FLY_API_TOKEN;
        }
    });
});

describe("the toolchain's CLI without a `pulumi version` run", () => {
    test("its version is read from the toolchain's directory, and only from one named for it", () => {
        expect(versionOfToolchainRoot("/c/toolchain/pulumi-v3.276.0")?.version).toBe("3.276.0");
        expect(versionOfToolchainRoot("/c/toolchain/pulumi-v3.277.0-alpha.1")?.version).toBe("3.277.0-alpha.1");
        for (const other of ["/usr/local", "/c/pulumi-v3.276", "/c/pulumi-v3.276.0/bin", "/c/my-pulumi-v3.276.0"]) {
            expect(versionOfToolchainRoot(other)).toBeUndefined();
        }
    });
    test("equals what PulumiCommand.get() builds after running `pulumi version`, and runs the CLI", async () => {
        // A stand-in `pulumi` in a root named as the toolchain names it.
        const root = path.join(tmp, "pulumi-v3.276.0");
        fs.mkdirSync(path.join(root, "bin"), { recursive: true });
        fs.writeFileSync(
            path.join(root, "bin", "pulumi"),
            '#!/bin/sh\nif [ "$1" = version ]; then echo v3.276.0; exit 0; fi\necho "[{\\"name\\":\\"ran $1 $2\\"}]"\n',
            { mode: 0o755 },
        );
        const got = await PulumiCommand.get({ root, skipVersionCheck: true });
        const built = commandAtVersion(root, versionOfToolchainRoot(root)!);
        expect(built).toBeInstanceOf(PulumiCommand);
        expect({ command: built.command, version: built.version?.version }).toEqual({
            command: got.command,
            version: got.version?.version,
        });
        const ws = await LocalWorkspace.create({ workDir: tmp, pulumiCommand: built, envVars: {} });
        expect((await ws.listStacks()).map((st) => st.name)).toEqual(["ran stack ls"]);
    });
});

describe("`pulumi stack ls` while another process saves to the same file backend", () => {
    // A stand-in `pulumi` that fails with the given stderr on its first `stack ls` runs (counted
    // in a file), then lists one stack: the failures are the two the real CLI printed in CI.
    async function workspaceFailing(stderr: string, times: number): Promise<LocalWorkspace> {
        fs.mkdirSync(path.join(tmp, "bin"));
        fs.writeFileSync(path.join(tmp, "stderr"), stderr);
        fs.writeFileSync(
            path.join(tmp, "bin", "pulumi"),
            '#!/bin/sh\nif [ "$1" = version ]; then echo v3.276.0; exit 0; fi\n' +
                `n=$(cat ${tmp}/count 2>/dev/null || echo 0); echo $((n + 1)) > ${tmp}/count\n` +
                `if [ "$n" -lt ${times} ]; then cat ${tmp}/stderr >&2; exit 1; fi\n` +
                'echo \'[{"name":"listed"}]\'\n',
            { mode: 0o755 },
        );
        const pulumiCommand = await PulumiCommand.get({ root: tmp, skipVersionCheck: true });
        return LocalWorkspace.create({ workDir: tmp, pulumiCommand, envVars: {} });
    }
    const runs = (): number => Number(fs.readFileSync(path.join(tmp, "count"), "utf8"));

    test.each([
        ["an .attrs file read while it was rewritten", "error: EOF\n"],
        [
            "a checkpoint backup renamed between the folder's read and its stat",
            "error: list bucket: blob (code=NotFound): lstat /b/.pulumi/stacks/p/e2e-life.json.bak.18edf20a1be174ed.tmp: no such file or directory\n",
        ],
    ])("%s is retried until the list succeeds", async (_what, stderr) => {
        const ws = await workspaceFailing(stderr, 2);
        expect((await listStacks(ws, 1)).map((st) => st.name)).toEqual(["listed"]);
        expect(runs()).toBe(3);
    });

    test("a failure that is not a read race is thrown at once, with the CLI's message", async () => {
        const ws = await workspaceFailing(
            "error: list bucket: blob (code=NotFound): lstat /b/.pulumi/stacks: no such file or directory\n",
            1,
        );
        await expect(listStacks(ws, 1)).rejects.toThrow(/lstat \/b\/\.pulumi\/stacks: no such file/);
        expect(runs()).toBe(1);
    });

    test("a race that does not end fails after five lists", async () => {
        const ws = await workspaceFailing("error: EOF\n", 99);
        await expect(listStacks(ws, 1)).rejects.toThrow(/^error: EOF$/m);
        expect(runs()).toBe(5);
    });
});

describe("extra arguments of npm run preview / up", () => {
    test("known flags become typed options", () => {
        expect(
            parseOpFlags("up", "prod", ["--target", "urn:a", "--target", "urn:b", "--parallel", "4", "--refresh"]),
        ).toEqual(expect.objectContaining({ target: ["urn:a", "urn:b"], parallel: 4, refresh: true }));
    });
    test("an unknown flag names itself, what is allowed, and how to run anything else", () => {
        expect(() => parseOpFlags("preview", "staging", ["--show-sames"])).toThrow(
            "npm run preview: Unknown option '--show-sames'. Allowed after --stack: --target <urn>, --replace <urn>, " +
                "--exclude <urn>, --target-dependents, --exclude-dependents, --refresh, --parallel <n>, --message <text>, " +
                "--expect-no-changes. Anything else: npm run pulumi -- preview <args> --stack staging",
        );
    });
    test("a bad --parallel names the value and what is allowed", () => {
        expect(() => parseOpFlags("up", "prod", ["--parallel", "0"])).toThrow(
            'npm run up: --parallel "0" is not allowed; use a whole number of at least 1',
        );
    });
});

test("the stack of a passed-through pulumi command", () => {
    expect(stackArg(["cancel", "--stack", "local"])).toBe("local");
    expect(stackArg(["stack", "export", "--stack=prod"])).toBe("prod");
    expect(stackArg(["refresh", "-s", "staging", "--yes"])).toBe("staging");
    expect(stackArg(["stack", "ls"])).toBeUndefined();
});

test("change counts read as a user would say them", () => {
    expect(describeChanges({ create: 1, same: 14, update: 0 })).toBe("1 created, 14 unchanged");
    expect(hasChanges({ same: 14 })).toBe(false);
    expect(hasChanges({ same: 13, delete: 1 })).toBe(true);
});

describe("a lock left by a dead process", () => {
    function writeLock(stack: string, content: object): string {
        const dir = path.join(tmp, ".pulumi", "locks", "organization", "fpsgame-infra", stack);
        fs.mkdirSync(dir, { recursive: true });
        const file = path.join(dir, "0b6b2c1e-lock.json");
        fs.writeFileSync(file, JSON.stringify(content));
        return file;
    }
    const env = (): NodeJS.ProcessEnv => ({ PULUMI_BACKEND_URL: `file://${tmp}` });

    test("is found when its pid is gone from this host, and the refusal names the command to run", async () => {
        const lock = { pid: 2 ** 22 + 7, username: "root", hostname: os.hostname(), timestamp: "2026-11-28T19:00:00Z" };
        writeLock("local", lock);
        const dead = await deadLocks(env(), "fpsgame-infra", "local");
        expect(dead.map((l) => l.pid)).toEqual([lock.pid]);
        expect(deadLockMessage("local", dead)).toBe(
            `stack "local" is locked by an update that is no longer running: pulumi (pid ${lock.pid}, root@${os.hostname()}, ` +
                `since 2026-11-28T19:00:00Z) ended without releasing its lock (an interrupted update). Clear the lock with:\n\n` +
                `    npm run pulumi -- cancel --stack local\n\nthen run this command again: its up finishes what the ` +
                `interrupted update left (README: "When an update was interrupted").`,
        );
        expect(cancelCommand("local")).toBe("npm run pulumi -- cancel --stack local");
    });

    test("is not reported while its pulumi runs, nor when another host wrote it, nor for another stack", async () => {
        const running = spawn("sh", ["-c", "sleep 30 # pulumi up"], { stdio: "ignore" });
        try {
            writeLock("local", { pid: running.pid, username: "root", hostname: os.hostname(), timestamp: "t" });
            writeLock("staging", { pid: 2 ** 22 + 7, username: "ci", hostname: "another-host", timestamp: "t" });
            expect(await deadLocks(env(), "fpsgame-infra", "local")).toEqual([]);
            expect(await deadLocks(env(), "fpsgame-infra", "staging")).toEqual([]);
            expect(await deadLocks(env(), "fpsgame-infra", "prod")).toEqual([]);
            expect(stackLocks(tmp, "fpsgame-infra", "staging").map((l) => l.hostname)).toEqual(["another-host"]);
        } finally {
            running.kill();
        }
    });

    test("a pid now used by another program counts as gone", async () => {
        // This jest process runs node, not pulumi.
        writeLock("local", { pid: process.pid, username: "root", hostname: os.hostname(), timestamp: "t" });
        expect((await deadLocks(env(), "fpsgame-infra", "local")).map((l) => l.pid)).toEqual([process.pid]);
    });

    test("is only looked for on a file backend (the PostgreSQL backend: tests/e2e/backends.test.ts)", () => {
        expect(fileBackendDir({ PULUMI_BACKEND_URL: "s3://bucket" })).toBeUndefined();
        expect(fileBackendDir({})).toBeUndefined();
        expect(fileBackendDir({ PULUMI_BACKEND_URL: "file:///srv/state" })).toBe("/srv/state");
    });
});

describe("a stack's checkpoint in a file backend (openStack's check that the stack exists)", () => {
    let dir: string;
    beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "checkpoint-"))));
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
    const put = (...parts: string[]) => {
        const f = path.join(dir, ".pulumi", "stacks", ...parts);
        fs.mkdirSync(path.dirname(f), { recursive: true });
        fs.writeFileSync(f, "{}");
        return f;
    };

    test("is the project-scoped file, else the legacy one, plain or gzipped", () => {
        expect(stackCheckpoint(dir, "fpsgame-infra", "local")).toBeUndefined();
        const legacy = put("local.json.gz");
        expect(stackCheckpoint(dir, "fpsgame-infra", "local")).toBe(legacy);
        const scoped = put("fpsgame-infra", "local.json");
        expect(stackCheckpoint(dir, "fpsgame-infra", "local")).toBe(scoped);
        expect(stackCheckpoint(dir, "another-project", "local")).toBe(legacy);
    });

    test("says whether an interrupted update left operations pending, or undefined when the CLI must say", () => {
        const env = { PULUMI_BACKEND_URL: `file://${dir}` };
        const pending = (doc: unknown) => {
            fs.writeFileSync(put("fpsgame-infra", "local.json"), JSON.stringify(doc));
            return checkpointHasPendingOperations(env, "fpsgame-infra", "local");
        };
        const latest = { manifest: {}, resources: [] };
        expect(pending({ version: 3, checkpoint: { stack: "local", latest } })).toBe(false);
        expect(pending({ version: 3, checkpoint: { latest: { ...latest, pending_operations: [] } } })).toBe(false);
        const op = { type: "creating", resource: { urn: "urn:pulumi:local::fpsgame-infra::fly:index:Machine::m" } };
        expect(pending({ version: 3, checkpoint: { latest: { ...latest, pending_operations: [op] } } })).toBe(true);
        expect(pending({ version: 3, checkpoint: {} })).toBeUndefined();
        fs.writeFileSync(put("fpsgame-infra", "local.json"), "{ half-written");
        expect(checkpointHasPendingOperations(env, "fpsgame-infra", "local")).toBeUndefined();
        expect(
            checkpointHasPendingOperations({ PULUMI_BACKEND_URL: "postgres://h/db" }, "fpsgame-infra", "local"),
        ).toBeUndefined();
        fs.rmSync(path.join(dir, ".pulumi"), { recursive: true });
        put("fpsgame-infra", "local.json.gz");
        expect(checkpointHasPendingOperations(env, "fpsgame-infra", "local")).toBeUndefined();
    });

    test("gives the latest deployment as the file records it, or undefined when the CLI must say", () => {
        const env = { PULUMI_BACKEND_URL: `file://${dir}` };
        const latest = {
            manifest: {},
            resources: [{ urn: "urn:pulumi:local::fpsgame-infra::fly:index:App::api", type: "fly:index:App" }],
        };
        fs.writeFileSync(put("fpsgame-infra", "local.json"), JSON.stringify({ version: 3, checkpoint: { latest } }));
        expect(checkpointDeployment(env, "fpsgame-infra", "local")).toEqual(latest);
        expect(checkpointDeployment(env, "fpsgame-infra", "other")).toBeUndefined();
        fs.writeFileSync(put("fpsgame-infra", "local.json"), JSON.stringify({ checkpoint: { latest } }));
        expect(checkpointDeployment(env, "fpsgame-infra", "local")).toBeUndefined();
        expect(
            checkpointDeployment({ PULUMI_BACKEND_URL: "postgres://h/db" }, "fpsgame-infra", "local"),
        ).toBeUndefined();
    });

    test("gives the stack's outputs from its root resource, or undefined when an output is a secret or there is no root", () => {
        const env = { PULUMI_BACKEND_URL: `file://${dir}` };
        const outputsOf = (resources: unknown[]) => {
            const latest = { manifest: {}, resources };
            fs.writeFileSync(
                put("fpsgame-infra", "local.json"),
                JSON.stringify({ version: 3, checkpoint: { latest } }),
            );
            return checkpointOutputs(env, "fpsgame-infra", "local");
        };
        const root = (outputs: unknown) => ({
            urn: "urn:pulumi:local::fpsgame-infra::pulumi:pulumi:Stack::fpsgame-infra-local",
            type: "pulumi:pulumi:Stack",
            outputs,
        });
        const app = { urn: "urn:pulumi:local::fpsgame-infra::fly:index:App::api", type: "fly:index:App", outputs: {} };
        const plain = { apiUrl: "https://fpsgame-api-local.fly.dev", machinesPerRegion: { sjc: 2 }, schema: "v3" };
        expect(outputsOf([root(plain), app])).toEqual(plain);
        expect(outputsOf([root(undefined), app])).toEqual({});
        expect(SPECIAL_VALUE_KEY).toBe(specialSigKey);
        const secret = { [specialSigKey]: specialSecretSig, ciphertext: "v1:x" };
        expect(outputsOf([root({ ...plain, nested: { token: secret } }), app])).toBeUndefined();
        expect(outputsOf([app])).toBeUndefined();
        expect(checkpointOutputs({ PULUMI_BACKEND_URL: "postgres://h/db" }, "fpsgame-infra", "local")).toBeUndefined();
    });

    test("a removed stack (only its .bak left) has none", () => {
        put("fpsgame-infra", "local.json.bak");
        expect(stackCheckpoint(dir, "fpsgame-infra", "local")).toBeUndefined();
    });
});

test("an interrupted create is confirmed once the state holds its resource with an id", () => {
    const urn = (n: string) => `urn:pulumi:local::fpsgame-infra::fly:index:Machine::${n}`;
    const state = {
        version: 3,
        deployment: {
            resources: [
                { urn: urn("api-sjc-1"), id: "m1" },
                { urn: urn("api-sjc-3"), id: "m3" },
                { urn: urn("api-old"), id: "m9", delete: true },
            ],
            pending_operations: [
                { type: "creating", resource: { urn: urn("api-sjc-3") } },
                { type: "creating", resource: { urn: urn("api-iad-3") } },
                { type: "creating", resource: { urn: urn("api-old") } },
                { type: "updating", resource: { urn: urn("api-sjc-1") } },
            ],
        },
    };
    expect(classifyPendingCreates(state)).toEqual({
        confirmed: [urn("api-sjc-3")],
        unconfirmed: [urn("api-iad-3"), urn("api-old")],
    });
});
