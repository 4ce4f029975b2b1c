/** The command stand-in: check/diff rules, real local commands (create/update/delete/run), secrets, logging. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as engrpc from "@pulumi/pulumi/proto/engine_grpc_pb";
import type { LogRequest } from "@pulumi/pulumi/proto/engine_pb";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { provider } from "../stand-ins/command/index";
import { engineAddress, engineStatusLog, StatusLogFactory } from "../../providers/engineLog";
import { makeCommandProvider, RUN_TOKEN, TOKEN } from "../stand-ins/command/resources";
import { redactor, trimOneNewline } from "../stand-ins/command/run";
import { COMMAND_STAND_IN } from "../stand-ins/install";
import { isSecret, Props, secret, UNKNOWN, unwrap } from "../stand-ins/common/values";

const URN = `urn:pulumi:local::fpsgame-infra::fpsgame:db:Migrations$${TOKEN}::db-migrations-apply`;
const DB_URL = "postgres://fpsgame_owner:s3cr3t-pw@127.0.0.1:55432/db?sslmode=require";

let projectDir: string;
let lines: string[];
const captureLog: StatusLogFactory = () => ({ line: (m) => lines.push(m), flush: async () => undefined });
/** The provider as the engine starts it: in the project directory, with the engine's environment (+ the launcher's). */
let cmd: ReturnType<typeof makeCommandProvider>;

beforeAll(() => {
    projectDir = fs.mkdtempSync(path.join(os.tmpdir(), "localcloud-command-"));
    fs.mkdirSync(path.join(projectDir, "scripts"));
    cmd = makeCommandProvider({
        cwd: projectDir,
        env: { PATH: process.env.PATH, FROM_ENGINE: "engine-env" },
        log: captureLog,
    });
});
afterAll(() => fs.rmSync(projectDir, { recursive: true, force: true }));
beforeEach(() => {
    lines = [];
});

async function checked(news: Props, olds: Props = {}): Promise<Props> {
    const r = await cmd.check!(URN, olds, news);
    expect(r.failures).toEqual([]);
    return r.inputs as Props;
}

describe("check", () => {
    test("adds no defaults and keeps secret wrappers", async () => {
        const inputs = await checked({ create: "true", environment: { DATABASE_URL: secret(DB_URL) } });
        expect(inputs).toEqual({ create: "true", environment: { DATABASE_URL: secret(DB_URL) } });
    });
    test.each([
        ["logging", { logging: "all" }],
        ["triggers", { triggers: "abc" }],
        ["environment", { environment: { N: 1 } }],
        ["interpreter", { interpreter: "/bin/sh" }],
        ["assetPaths", { assetPaths: ["dist/**"] }],
        ["archivePaths", { archivePaths: ["*.txt"] }],
    ])("rejects a bad %s", async (prop, news) => {
        const r = await provider.check!(URN, {}, { create: "true", ...news });
        expect((r.failures ?? []).map((f) => f.property)).toEqual([prop]);
    });
    test("asset/archive globs fail with a clear reason", async () => {
        const r = await provider.check!(URN, {}, { assetPaths: ["a"] });
        expect(r.failures?.[0].reason).toMatch(/not supported by the local cloud's command stand-in/);
    });
    test("unknown values pass during preview", async () => {
        const r = await provider.check!(URN, {}, { create: UNKNOWN, environment: { A: UNKNOWN }, triggers: UNKNOWN });
        expect(r.failures).toEqual([]);
    });
});

describe("diff", () => {
    const state = {
        create: "node migrate.ts up",
        environment: { DATABASE_URL: secret(DB_URL) },
        triggers: ["hash1", "latest"],
        logging: "stdout",
        stdout: "schema at version 3",
        stderr: "",
    };
    const news = {
        create: "node migrate.ts up",
        environment: { DATABASE_URL: secret(DB_URL) },
        triggers: ["hash1", "latest"],
        logging: "stdout",
    };
    test("no change (secret wrappers and outputs ignored)", async () => {
        expect(await provider.diff!("id", URN, state, news)).toEqual({ changes: false, replaces: [] });
        const plain = { ...news, environment: { DATABASE_URL: DB_URL } };
        expect(await provider.diff!("id", URN, state, plain)).toEqual({ changes: false, replaces: [] });
    });
    test("a trigger change replaces", async () => {
        expect(await provider.diff!("id", URN, state, { ...news, triggers: ["hash2", "latest"] })).toEqual({
            changes: true,
            replaces: ["triggers"],
        });
        expect(await provider.diff!("id", URN, state, { ...news, triggers: ["hash1", 3] })).toEqual({
            changes: true,
            replaces: ["triggers"],
        });
    });
    test("other changes update in place", async () => {
        for (const change of [
            { create: "node migrate.ts to 2" },
            { environment: { DATABASE_URL: secret("postgres://other") } },
            { dir: "scripts" },
            { logging: "none" },
            { delete: "echo bye" },
        ]) {
            expect(await provider.diff!("id", URN, state, { ...news, ...change })).toEqual({
                changes: true,
                replaces: [],
            });
        }
    });
    test("unknowns: changes, and unknown triggers replace", async () => {
        expect(await provider.diff!("id", URN, state, { ...news, triggers: UNKNOWN })).toEqual({
            changes: true,
            replaces: ["triggers"],
        });
        expect(await provider.diff!("id", URN, state, { ...news, triggers: ["hash1", UNKNOWN] })).toEqual({
            changes: true,
            replaces: ["triggers"],
        });
        expect(
            await provider.diff!("id", URN, state, { ...news, environment: { DATABASE_URL: secret(UNKNOWN) } }),
        ).toEqual({ changes: true, replaces: [] });
    });
});

describe("create / update / delete run the commands", () => {
    test("create runs in the provider's directory with its environment plus `environment`", async () => {
        const inputs = await checked({
            create: 'echo "cwd=$(pwd) db=$DATABASE_URL mode=$MODE engine=$FROM_ENGINE"',
            environment: { DATABASE_URL: secret(DB_URL), MODE: "up" },
            triggers: ["hash1"],
        });
        const r = await cmd.create!(URN, inputs);
        expect(r.id).toMatch(/^db-migrations-apply[0-9a-f]{8}$/);
        const outs = r.outs as Props;
        expect(unwrap(outs.stdout)).toBe(`cwd=${fs.realpathSync(projectDir)} db=${DB_URL} mode=up engine=engine-env`);
        // Inputs are echoed; the secret env value stays wrapped; stdout holding it becomes secret.
        expect(outs.environment).toEqual({ DATABASE_URL: secret(DB_URL), MODE: "up" });
        expect(outs.triggers).toEqual(["hash1"]);
        expect(isSecret(outs.stdout)).toBe(true);
        expect(outs.stderr).toBe("");
    });

    test("stdout/stderr lose exactly one trailing newline and stay plain without secrets", async () => {
        const r = await cmd.create!(URN, await checked({ create: "printf 'a\\n\\n'; printf 'e\\n' >&2" }));
        expect(r.outs).toMatchObject({ stdout: "a\n", stderr: "e" });
        expect(trimOneNewline("x\r\n")).toBe("x\r");
    });

    test("relative dir, interpreter and stdin", async () => {
        const r = await cmd.create!(
            URN,
            await checked({
                create: 'printf "%s " "$(pwd)"; cat',
                interpreter: ["sh", "-c"],
                dir: "scripts",
                stdin: "from-stdin",
            }),
        );
        expect((r.outs as Props).stdout).toBe(`${fs.realpathSync(path.join(projectDir, "scripts"))} from-stdin`);
    });

    test("no create command: nothing runs, empty outputs", async () => {
        const r = await cmd.create!(URN, await checked({ delete: "echo x" }));
        expect(r.outs).toEqual({ delete: "echo x", stdout: "", stderr: "" });
    });

    test("update without `update` re-runs create, with the previous output in the environment", async () => {
        const olds = { create: "echo v1", stdout: "v1", stderr: "w1" };
        const news = await checked({ create: 'echo "v2 prev=$PULUMI_COMMAND_STDOUT/$PULUMI_COMMAND_STDERR"' });
        const r = await cmd.update!("id", URN, olds, news);
        expect(r.outs).toMatchObject({ create: news.create, stdout: "v2 prev=v1/w1", stderr: "" });
    });

    test("update runs `update` when given; addPreviousOutputInEnv=false hides the previous output", async () => {
        const olds = { create: "echo c", update: "echo u", stdout: "old", stderr: "" };
        const news = await checked({
            create: "echo c",
            update: 'echo "u2 prev=${PULUMI_COMMAND_STDOUT:-none}"',
            addPreviousOutputInEnv: false,
        });
        const r = await cmd.update!("id", URN, olds, news);
        expect((r.outs as Props).stdout).toBe("u2 prev=none");
    });

    test("update with neither command keeps the old outputs (secret ones stay secret)", async () => {
        const olds = { delete: "echo a", stdout: secret("old-out"), stderr: "old-err" };
        const r = await cmd.update!("id", URN, olds, await checked({ delete: "echo b" }));
        expect(r.outs).toEqual({ delete: "echo b", stdout: secret("old-out"), stderr: "old-err" });
    });

    test("delete runs the state's `delete` with its environment and previous output", async () => {
        const marker = path.join(projectDir, "deleted.txt");
        const state = {
            create: "echo made",
            delete: `echo "$PULUMI_COMMAND_STDOUT $TOKEN" > deleted.txt`,
            environment: { TOKEN: secret("tok-123") },
            stdout: "made",
            stderr: "",
        };
        await cmd.delete!("id", URN, state);
        expect(fs.readFileSync(marker, "utf8")).toBe("made tok-123\n");
        fs.rmSync(marker);
        await cmd.delete!("id", URN, { create: "echo made", stdout: "made" }); // no delete: no-op
        expect(fs.existsSync(marker)).toBe(false);
    });

    test("read returns the state unchanged", async () => {
        const state = { create: "echo a", environment: { K: secret("v-secret") }, stdout: "a", stderr: "" };
        const r = await cmd.read!("id", URN, state);
        expect(r).toEqual({
            id: "id",
            props: state,
            inputs: { create: "echo a", environment: { K: secret("v-secret") } },
        });
    });
});

describe("failures", () => {
    test("a non-zero exit fails with the exit status, the command and its output", async () => {
        const inputs = await checked({ create: "echo progress; echo 'relation users missing' >&2; exit 3" });
        await expect(cmd.create!(URN, inputs)).rejects.toThrow(
            "exit status 3: running \"echo progress; echo 'relation users missing' >&2; exit 3\":\nprogress\nrelation users missing\n",
        );
    });

    test("no environment value appears in the error; secrets echoed by the command are masked", async () => {
        const inputs = await checked({
            create: 'echo "connecting to $DATABASE_URL" >&2; exit 1',
            environment: { DATABASE_URL: secret(DB_URL), PLAIN_SETTING: "plain-value-42" },
        });
        let message = "";
        try {
            await cmd.create!(URN, inputs);
        } catch (e) {
            message = (e as Error).message;
        }
        expect(message).toMatch(/^exit status 1: running /);
        expect(message).toContain("connecting to [secret]");
        expect(message).not.toContain(DB_URL);
        expect(message).not.toContain("s3cr3t-pw");
        expect(message).not.toContain("plain-value-42");
        expect(lines.join("\n")).not.toContain("s3cr3t-pw");
    });

    test("a secret command text is masked too; a missing dir or interpreter fails like Go", async () => {
        await expect(cmd.create!(URN, { create: secret("exit 9 # hidden-cmd") })).rejects.toThrow(
            /^exit status 9: running "\[secret\]"/,
        );
        await expect(cmd.create!(URN, { create: "true", dir: "nope" })).rejects.toThrow(
            /^chdir nope: no such file or directory/,
        );
        await expect(cmd.create!(URN, { create: "true", interpreter: ["no-such-shell"] })).rejects.toThrow(
            /^exec: "no-such-shell": executable file not found in \$PATH/,
        );
        await expect(cmd.create!(URN, { create: "kill -TERM $$" })).rejects.toThrow(/^signal: terminated/);
    });

    test("the redactor masks longest values first and skips very short ones", () => {
        const mask = redactor(["abcd", "abcdef", "xy"]);
        expect(mask("abcdef abcd xy")).toBe("[secret] [secret] xy");
    });
});

describe("logging", () => {
    const run = async (logging?: string) => {
        lines = [];
        await cmd.create!(
            URN,
            await checked({ create: "echo o1; echo e1 >&2; echo o2", ...(logging ? { logging } : {}) }),
        );
        return [...lines].sort();
    };
    test("stdoutAndStderr by default; stdout, stderr, none", async () => {
        expect(await run()).toEqual(["e1", "o1", "o2"]);
        expect(await run("stdoutAndStderr")).toEqual(["e1", "o1", "o2"]);
        expect(await run("stdout")).toEqual(["o1", "o2"]);
        expect(await run("stderr")).toEqual(["e1"]);
        expect(await run("none")).toEqual([]);
    });

    test("lines reach the engine's Log service as ephemeral Info status for the resource", async () => {
        const got: LogRequest[] = [];
        const server = new grpc.Server();
        server.addService(engrpc.EngineService, {
            log: (call: grpc.ServerUnaryCall<LogRequest, Empty>, cb: grpc.sendUnaryData<Empty>) => {
                got.push(call.request);
                cb(null, new Empty());
            },
        } as unknown as grpc.UntypedServiceImplementation);
        const port = await new Promise<number>((resolve, reject) =>
            server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) =>
                e ? reject(e) : resolve(p),
            ),
        );
        try {
            const address = engineAddress(["--logtostderr", "-v=9", "--tracing", "x:1", `127.0.0.1:${port}`]);
            expect(address).toBe(`127.0.0.1:${port}`);
            const p = makeCommandProvider({ cwd: projectDir, log: engineStatusLog(address) });
            await p.create!(URN, { create: "echo one; echo two", logging: "stdout" });
            expect(got.map((r) => [r.getMessage(), r.getUrn(), r.getEphemeral(), r.getSeverity()])).toEqual([
                ["one", URN, true, 1],
                ["two", URN, true, 1],
            ]);
        } finally {
            server.forceShutdown();
        }
    });
});

describe("command:local:run", () => {
    test("runs the command and echoes its inputs", async () => {
        const r = await cmd.invoke!(RUN_TOKEN, { command: 'echo "$GREETING"', environment: { GREETING: "hello" } });
        expect(r.outputs).toEqual({
            command: 'echo "$GREETING"',
            environment: { GREETING: "hello" },
            stdout: "hello",
            stderr: "",
        });
    });
    test("a missing command is a check failure; unknown inputs are refused", async () => {
        const r = await cmd.invoke!(RUN_TOKEN, {});
        expect(r.failures).toEqual([{ property: "command", reason: "Missing required property 'command'" }]);
        await expect(cmd.invoke!(RUN_TOKEN, { command: UNKNOWN })).rejects.toThrow(/not known yet/);
        await expect(cmd.invoke!("command:remote:run", {})).rejects.toThrow(/does not implement/);
    });
});

test("install.ts installs this entry point as the command stand-in", () => {
    expect(COMMAND_STAND_IN).toEqual({ name: "command", version: "1.2.1", entry: "command/index.ts" });
    expect(fs.existsSync(path.join(__dirname, "../stand-ins", COMMAND_STAND_IN.entry!))).toBe(true);
});
