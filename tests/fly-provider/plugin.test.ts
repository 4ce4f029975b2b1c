/**
 * The plugin as the engine runs it: `providers/fly/bin/pulumi-resource-fly` is spawned, prints
 * its gRPC port on stdout, and answers Check/Diff/Create/Delete over gRPC with protobuf
 * Structs (secrets as the engine's sentinel objects), against the Fly emulator. This is the
 * only test of the launcher and of the values crossing `Struct.fromJavaScript`.
 */
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import * as provrpc from "@pulumi/pulumi/proto/provider_grpc_pb";
import * as provproto from "@pulumi/pulumi/proto/provider_pb";
import { FlyEmulator, startFlyEmulator } from "../../localcloud/fly-emulator/server";
import { FLY_REGIONS } from "../../lib/facts/fly";
import { SECRET_SIG, SECRET_SIG_KEY } from "../../lib/facts/sentinels";
import { FlyTypes } from "../../providers/fly/types";

const TOKEN = "plugin-test-token-b81e";
const APP = "fpsgame-plugin";
const LAUNCHER = path.resolve(__dirname, "../../providers/fly/bin/pulumi-resource-fly");
const secret = <T>(value: T) => ({ [SECRET_SIG_KEY]: SECRET_SIG, value });
const urn = (type: string, name: string) => `urn:pulumi:test::fpsgame::${type}::${name}`;

let fly: FlyEmulator;
let stateDir: string;
let plugin: ChildProcess;
let stdout = "";
let stderr = "";
let client: provrpc.ResourceProviderClient;

function unary<T>(f: (cb: (e: grpc.ServiceError | null, r: T) => void) => unknown): Promise<T> {
    return new Promise((resolve, reject) => {
        f((e, r) => (e ? reject(e) : resolve(r)));
    });
}

const struct = (v: object) => Struct.fromJavaScript(v as Record<string, never>);

async function check(type: string, name: string, news: object) {
    const req = new provproto.CheckRequest();
    req.setUrn(urn(type, name));
    req.setOlds(struct({}));
    req.setNews(struct(news));
    const res = await unary<provproto.CheckResponse>((cb) => client.check(req, cb));
    return { inputs: res.getInputs()?.toJavaScript() ?? {}, failures: res.getFailuresList().map((f) => f.getReason()) };
}

async function create(type: string, name: string, inputs: object) {
    const checked = await check(type, name, inputs);
    expect(checked.failures).toEqual([]);
    const req = new provproto.CreateRequest();
    req.setUrn(urn(type, name));
    req.setProperties(struct(checked.inputs));
    const res = await unary<provproto.CreateResponse>((cb) => client.create(req, cb));
    return { id: res.getId(), outs: res.getProperties()?.toJavaScript() ?? {} };
}

async function diff(type: string, name: string, id: string, olds: object, news: object) {
    const req = new provproto.DiffRequest();
    req.setId(id);
    req.setUrn(urn(type, name));
    req.setOlds(struct(olds));
    req.setNews(struct(news));
    const res = await unary<provproto.DiffResponse>((cb) => client.diff(req, cb));
    return {
        changes: res.getChanges(),
        replaces: res.getReplacesList(),
        deleteBeforeReplace: res.getDeletebeforereplace(),
    };
}

async function del(type: string, name: string, id: string, props: object) {
    const req = new provproto.DeleteRequest();
    req.setId(id);
    req.setUrn(urn(type, name));
    req.setProperties(struct(props));
    await unary<Empty>((cb) => client.delete(req, cb));
}

const machine = (region: string) => ({
    app: APP,
    region,
    name: `${APP}-${region}-1`,
    image: "registry.fly.io/fpsgame-api:v1",
    guest: { cpuKind: "shared", cpus: 1, memoryMb: 256 },
    env: { NODE_ENV: "production", API_KEY: secret("not-really-secret-but-wrapped") },
    services: [
        {
            protocol: "tcp",
            internalPort: 8080,
            ports: [{ port: 443, handlers: ["tls", "http"] }],
            autostop: "stop",
            autostart: true,
            minMachinesRunning: 0,
            concurrency: { type: "connections", softLimit: 20, hardLimit: 25 },
            checks: [{ type: "tcp", interval: "10s", timeout: "2s" }],
        },
    ],
    minSecretsVersion: 1,
    waitTimeoutSeconds: 20,
});

beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "fly-plugin-test-"));
    fly = await startFlyEmulator({ port: 0, stateDir, token: TOKEN, transitionDelayMs: 20, timeFactor: 0.002 });
    plugin = spawn(LAUNCHER, [], {
        env: { ...process.env, FLY_API_TOKEN: TOKEN, FLY_API_URL: fly.url },
        stdio: ["ignore", "pipe", "pipe"],
    });
    plugin.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const port = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no port from the plugin in time; stderr: ${stderr}`)), 60_000);
        plugin.stdout!.on("data", (d: Buffer) => {
            stdout += d.toString();
            const line = stdout.split("\n")[0];
            if (stdout.includes("\n") && /^\d+$/.test(line)) {
                clearTimeout(timer);
                resolve(Number(line));
            }
        });
        plugin.on("exit", (code) => reject(new Error(`plugin exited with ${code}: ${stderr}`)));
    });
    client = new provrpc.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
}, 90_000);

afterAll(async () => {
    client?.close();
    if (plugin && plugin.exitCode === null) {
        const exited = new Promise((r) => plugin.once("exit", r));
        plugin.kill("SIGTERM");
        await exited;
    }
    await fly?.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
});

describe("pulumi-resource-fly over gRPC", () => {
    test("reports version 0.1.0", async () => {
        const info = await unary<{ getVersion(): string }>((cb) => client.getPluginInfo(new Empty(), cb));
        expect(info.getVersion()).toBe("0.1.0");
    });

    test("check returns failures and keeps secret inputs wrapped", async () => {
        const res = await check(FlyTypes.Machine, "m", { ...machine("iad"), region: "Iad" });
        expect(res.failures).toEqual([`region must be a Fly region: ${FLY_REGIONS.join(", ")}; got "Iad"`]);
        expect((res.inputs.env as Record<string, unknown>).API_KEY).toEqual(secret("not-really-secret-but-wrapped"));
    });

    test("creates an app, its secrets and a machine; diffs; deletes", async () => {
        const app = await create(FlyTypes.App, "app", { name: APP, org: "personal" });
        expect(app.id).toBe(APP);
        const secrets = await create(FlyTypes.AppSecrets, "secrets", {
            app: APP,
            values: secret({ JWT_SECRET: "jwt" }),
        });
        expect(secrets.outs).toEqual({
            app: APP,
            values: secret({ JWT_SECRET: "jwt" }),
            version: 1,
            names: ["JWT_SECRET"],
        });

        const m = await create(FlyTypes.Machine, "m", machine("iad"));
        expect(m.outs).toMatchObject({ machineId: m.id, state: "started", env: machine("iad").env });
        expect(fly.inventory().apps[0].machines.map((x) => x.id)).toEqual([m.id]);

        const same = await diff(FlyTypes.Machine, "m", m.id, m.outs, machine("iad"));
        expect(same).toEqual({
            changes: provproto.DiffResponse.DiffChanges.DIFF_NONE,
            replaces: [],
            deleteBeforeReplace: false,
        });
        const moved = await diff(FlyTypes.Machine, "m", m.id, m.outs, machine("ord"));
        expect(moved).toEqual({
            changes: provproto.DiffResponse.DiffChanges.DIFF_SOME,
            replaces: ["region", "name"],
            deleteBeforeReplace: false,
        });

        await del(FlyTypes.Machine, "m", m.id, m.outs);
        await del(FlyTypes.AppSecrets, "secrets", APP, secrets.outs);
        await del(FlyTypes.App, "app", APP, app.outs);
        expect(fly.inventory().apps).toEqual([]);
    }, 60_000);

    test("a failed create surfaces the Fly API error as the gRPC error message", async () => {
        await create(FlyTypes.App, "app2", { name: APP, org: "personal" });
        fly.addFaults([
            { method: "POST", path: "/machines$", error: "insufficient_capacity", message: "no capacity in iad" },
        ]);
        await expect(create(FlyTypes.Machine, "m", machine("iad"))).rejects.toMatchObject({
            details: expect.stringContaining(
                `refused 3 time(s) (Fly API: create machine "${APP}-iad-1" in app "${APP}" failed: 412 insufficient_capacity: no capacity in iad)`,
            ),
        });
        fly.clearFaults();
        expect(fly.inventory().apps[0].machines).toEqual([]);
    }, 30_000);

    test("stdout carries only the port, and nothing the plugin wrote contains the token", () => {
        expect(stdout).toMatch(/^\d+\n$/);
        expect(stderr).not.toContain(TOKEN);
    });
});

describe("pulumi-resource-fly refuses a bad setting before it serves", () => {
    test("an FLY_POLL_INTERVAL_MS out of bounds: exit 1, nothing on stdout, one line naming the variable, the value and the bounds", async () => {
        const child = spawn(LAUNCHER, [], {
            env: { ...process.env, FLY_API_TOKEN: TOKEN, FLY_API_URL: fly.url, FLY_POLL_INTERVAL_MS: "5" },
            stdio: ["ignore", "pipe", "pipe"],
        });
        let out = "";
        let err = "";
        child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
        child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
        const code = await new Promise<number | null>((r) => child.once("exit", r));
        expect(code).toBe(1);
        expect(out).toBe("");
        expect(err).toBe(
            'pulumi-resource-fly: FLY_POLL_INTERVAL_MS="5": allowed is a whole number of milliseconds from 50 to 60000\n',
        );
    }, 60_000);
});
