/**
 * The Fly provider's create/read/update/delete against the Fly API emulator
 * (`localcloud/fly-emulator`), called the way the engine calls them (check, then create;
 * diff, then update). The tests share one emulator and run in order: each builds on the
 * inventory the previous ones left, and compares it with what the provider reported.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { FlyEmulator, startFlyEmulator } from "../../localcloud/fly-emulator/server";
import { FlyClient, MISSING_TOKEN_MESSAGE } from "../../providers/fly/provider/client";
import { FlyProvider, FlyProviderOptions } from "../../providers/fly/provider/provider";
import { SECRET_SIG, SECRET_SIG_KEY, UNKNOWN } from "../../lib/facts/sentinels";
import { FlyTypes, MachineInputs } from "../../providers/fly/types";

const TOKEN = "fly-test-token-3f9c2a7d";
const APP = "fpsgame-api";
const secret = <T>(value: T) => ({ [SECRET_SIG_KEY]: SECRET_SIG, value });

let fly: FlyEmulator;
let stateDir: string;
const savedEnv = { token: process.env.FLY_API_TOKEN, url: process.env.FLY_API_URL };
/** Everything the provider returned or threw, and every progress line: checked for the token at the end. */
const seen: string[] = [];

function newProvider(opts: FlyProviderOptions = {}): FlyProvider {
    return new FlyProvider({
        pollIntervalMs: 20,
        retryBaseDelayMs: 5,
        requestTimeoutMs: 5000,
        log: (m) => seen.push(m),
        ...opts,
    });
}
let provider: FlyProvider;

const urn = (type: string, name: string) => `urn:pulumi:test::fpsgame::${type}::${name}`;

type Props = Record<string, unknown>;

/** check + create, as the engine does. */
async function create(type: string, name: string, inputs: object, p: FlyProvider = provider) {
    const checked = await p.check(urn(type, name), {}, inputs);
    expect(checked.failures).toBeUndefined();
    try {
        const res = await p.create(urn(type, name), checked.inputs);
        seen.push(JSON.stringify(res));
        return res as { id: string; outs: Props };
    } catch (e) {
        seen.push(String(e));
        throw e;
    }
}

/** diff + update, as the engine does; fails if the diff asks for a replacement. */
async function update(type: string, name: string, id: string, olds: Props, news: object, p: FlyProvider = provider) {
    const d = await p.diff(id, urn(type, name), olds, news);
    expect(d).toEqual({ changes: true });
    const res = await p.update(id, urn(type, name), olds, news);
    seen.push(JSON.stringify(res));
    return res as { outs: Props };
}

function machineInputs(region: string, n: number, over: Partial<MachineInputs> = {}): MachineInputs {
    return {
        app: APP,
        region,
        name: `${APP}-${region}-${n}`,
        image: "registry.fly.io/fpsgame-api:v1",
        guest: { cpuKind: "shared", cpus: 1, memoryMb: 512 },
        env: { NODE_ENV: "production", PORT: "8080" },
        services: [
            {
                protocol: "tcp",
                internalPort: 8080,
                ports: [
                    { port: 80, handlers: ["http"], forceHttps: true },
                    { port: 443, handlers: ["tls", "http"] },
                ],
                autostop: "off",
                autostart: true,
                minMachinesRunning: 1,
                concurrency: { type: "connections", softLimit: 200, hardLimit: 250 },
                checks: [{ type: "http", path: "/healthz", method: "GET", interval: "15s", timeout: "2s" }],
            },
        ],
        metrics: { port: 9091, path: "/metrics" },
        waitTimeoutSeconds: 10,
        ...over,
    };
}

function inventoryApp() {
    return fly.inventory().apps.find((a) => a.name === APP);
}
function liveMachines() {
    return inventoryApp()?.machines ?? [];
}

/** Machines the provider reports, by Pulumi name. */
const machines = new Map<string, { id: string; outs: Props }>();
let secretsOuts: Props;

beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "fly-provider-test-"));
    fly = await startFlyEmulator({ port: 0, stateDir, token: TOKEN, transitionDelayMs: 20, timeFactor: 0.002 });
    process.env.FLY_API_TOKEN = TOKEN;
    process.env.FLY_API_URL = fly.url;
    provider = newProvider();
});

afterAll(async () => {
    await fly?.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
    for (const [k, v] of [
        ["FLY_API_TOKEN", savedEnv.token],
        ["FLY_API_URL", savedEnv.url],
    ] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
    }
});

afterEach(() => {
    fly.clearFaults();
});

describe("Fly provider against the emulator", () => {
    let appId: string;

    test("an app is created, and a create of the same name in the same org adopts it", async () => {
        const res = await create(FlyTypes.App, "api", { name: APP, org: "personal" });
        expect(res.id).toBe(APP);
        expect(res.outs).toMatchObject({ name: APP, org: "personal", status: "pending" });
        appId = res.outs.appId as string;
        expect(appId).toBe(inventoryApp()?.id);

        const again = await create(FlyTypes.App, "api", { name: APP, org: "personal" });
        expect(again.outs.appId).toBe(appId);
        await expect(create(FlyTypes.App, "api", { name: APP, org: "acme" })).rejects.toThrow(
            `Fly: app name "${APP}" is taken by an app in org "personal", not "acme": app names are global, choose another`,
        );
    });

    test("secrets are set in one bulk request; the outputs keep the values secret", async () => {
        fly.resetRequests();
        const res = await create(FlyTypes.AppSecrets, "secrets", {
            app: APP,
            values: secret({ JWT_SECRET: "jwt-1", DATABASE_URL: "postgres://u:p@db/game" }),
        });
        secretsOuts = res.outs;
        expect(fly.requests().filter((r) => r.method === "POST")).toHaveLength(1);
        expect(res.outs).toEqual({
            app: APP,
            values: secret({ JWT_SECRET: "jwt-1", DATABASE_URL: "postgres://u:p@db/game" }),
            version: 1,
            names: ["DATABASE_URL", "JWT_SECRET"],
        });
        expect(fly.secretValues(APP)).toEqual({
            app: APP,
            version: 1,
            values: { JWT_SECRET: "jwt-1", DATABASE_URL: "postgres://u:p@db/game" },
        });
    });

    test("two machines in iad and one in ord are created, started and healthy", async () => {
        const specs: [string, number][] = [
            ["iad", 1],
            ["iad", 2],
            ["ord", 1],
        ];
        const results = await Promise.all(
            specs.map(([region, n]) =>
                create(FlyTypes.Machine, `api-${region}-${n}`, machineInputs(region, n, { minSecretsVersion: 1 })),
            ),
        );
        results.forEach((r, i) => machines.set(`api-${specs[i][0]}-${specs[i][1]}`, r));

        const inv = liveMachines();
        expect(inv.map((m) => `${m.region}/${m.name}/${m.state}`).sort()).toEqual([
            `iad/${APP}-iad-1/started`,
            `iad/${APP}-iad-2/started`,
            `ord/${APP}-ord-1/started`,
        ]);
        for (const r of results) {
            const m = inv.find((x) => x.id === r.id)!;
            expect(r.outs).toMatchObject({ machineId: m.id, instanceId: m.instance_id, state: "started" });
            expect(r.outs.privateIp).toMatch(/^fdaa:/);
            expect(m.secrets_version).toBe(1);
            expect(m.guest).toEqual({ cpu_kind: "shared", cpus: 1, memory_mb: 512 });
            expect(m.config.metadata).toEqual({
                fly_platform_version: "v2",
                fly_process_group: "app",
                managed_by: "pulumi",
            });
            // Secrets reach the machine through the app, never through its config.
            expect(JSON.stringify(m.config)).not.toContain("jwt-1");
        }
    });

    test("read reports no drift for an untouched machine, and Fly's answer for a changed one", async () => {
        const m = machines.get("api-iad-1")!;
        const read = await provider.read(m.id, urn(FlyTypes.Machine, "api-iad-1"), m.outs);
        expect(read.id).toBe(m.id);
        expect(read.props).toEqual(m.outs);
        expect(
            await provider.diff(
                m.id,
                urn(FlyTypes.Machine, "api-iad-1"),
                read.props,
                machineInputs("iad", 1, { minSecretsVersion: 1 }),
            ),
        ).toEqual({
            changes: false,
        });

        // Someone changes the machine's env outside Pulumi (a full-config update, as flyctl does).
        const client = new FlyClient();
        const live = await client.getMachine(APP, m.id);
        await client.updateMachine(
            APP,
            m.id,
            live.name,
            { config: { ...live.config!, env: { NODE_ENV: "staging" } } },
            undefined,
        );
        const drifted = await provider.read(m.id, urn(FlyTypes.Machine, "api-iad-1"), m.outs);
        expect(drifted.props).toMatchObject({
            env: { NODE_ENV: "staging" },
            image: "registry.fly.io/fpsgame-api:v1",
            minSecretsVersion: 1,
        });
        expect((drifted.props as Props).services).toEqual(m.outs.services);
        expect(
            await provider.diff(
                m.id,
                urn(FlyTypes.Machine, "api-iad-1"),
                drifted.props,
                machineInputs("iad", 1, { minSecretsVersion: 1 }),
            ),
        ).toEqual({
            changes: true,
        });
        machines.set("api-iad-1", { id: m.id, outs: drifted.props as Props });
    });

    test("a guest size change updates the machine in place: same machine id, new instance id", async () => {
        const m = machines.get("api-iad-1")!;
        const res = await update(
            FlyTypes.Machine,
            "api-iad-1",
            m.id,
            m.outs,
            machineInputs("iad", 1, { minSecretsVersion: 1, guest: { cpuKind: "shared", cpus: 2, memoryMb: 1024 } }),
        );
        expect(res.outs.machineId).toBe(m.id);
        expect(res.outs.instanceId).not.toBe(m.outs.instanceId);
        expect(res.outs.state).toBe("started");
        const inv = liveMachines().find((x) => x.id === m.id)!;
        expect(inv.guest).toEqual({ cpu_kind: "shared", cpus: 2, memory_mb: 1024 });
        expect(inv.config.env).toEqual({ NODE_ENV: "production", PORT: "8080" }); // the drift is undone
        expect(inv.instance_id).toBe(res.outs.instanceId);
        expect(inv.state).toBe("started");
        machines.set("api-iad-1", { id: m.id, outs: res.outs });
        expect(liveMachines()).toHaveLength(3);
    });

    test("an image change updates every machine in place, each under its own lease", async () => {
        fly.resetRequests();
        const names = ["api-iad-1", "api-iad-2", "api-ord-1"];
        // The engine runs independent updates concurrently; the program orders batches with dependsOn.
        const results = await Promise.all(
            names.map((name) => {
                const m = machines.get(name)!;
                return update(FlyTypes.Machine, name, m.id, m.outs, {
                    ...(m.outs as object),
                    image: "registry.fly.io/fpsgame-api:v2",
                });
            }),
        );
        names.forEach((name, i) => {
            const m = machines.get(name)!;
            expect(results[i].outs.machineId).toBe(m.id);
            expect(results[i].outs.instanceId).not.toBe(m.outs.instanceId);
            machines.set(name, { id: m.id, outs: results[i].outs });
        });
        expect(liveMachines().map((m) => [m.image, m.state])).toEqual(
            Array(3).fill(["registry.fly.io/fpsgame-api:v2", "started"]),
        );
        for (const m of liveMachines()) {
            const calls = fly.requests().filter((r) => r.path.startsWith(`/v1/apps/${APP}/machines/${m.id}`));
            const sequence = calls
                .filter((r) => r.method !== "GET")
                .map((r) => `${r.method} ${r.path.endsWith("/lease") ? "lease" : "machine"} ${r.status}`);
            expect(sequence).toEqual(["POST lease 201", "POST machine 200", "DELETE lease 200"]);
            expect(calls.some((r) => r.path.endsWith("/wait") && r.query.includes(`version=${m.instance_id}`))).toBe(
                true,
            );
        }
    });

    test("a secret rotation raises the version; a machine update with it gives the machine the new values", async () => {
        const res = await update(FlyTypes.AppSecrets, "secrets", APP, secretsOuts, {
            app: APP,
            values: secret({ JWT_SECRET: "jwt-2" }),
        });
        expect(res.outs).toEqual({
            app: APP,
            values: secret({ JWT_SECRET: "jwt-2" }),
            version: 2,
            names: ["JWT_SECRET"],
        });
        expect(fly.secretValues(APP)).toEqual({ app: APP, version: 2, values: { JWT_SECRET: "jwt-2" } });
        secretsOuts = res.outs;

        const m = machines.get("api-ord-1")!;
        const before = fly.machineSecretValues(APP, m.id);
        expect(before.secrets_version).toBe(1);
        const up = await update(FlyTypes.Machine, "api-ord-1", m.id, m.outs, {
            ...(m.outs as object),
            minSecretsVersion: 2,
        });
        expect(up.outs.instanceId).not.toBe(m.outs.instanceId);
        expect(up.outs.minSecretsVersion).toBe(2);
        expect(fly.machineSecretValues(APP, m.id)).toMatchObject({
            secrets_version: 2,
            values: { JWT_SECRET: "jwt-2" },
        });
        machines.set("api-ord-1", { id: m.id, outs: up.outs });
    });

    test("only a wait timeout change: no call to Fly, no restart", async () => {
        const m = machines.get("api-ord-1")!;
        fly.resetRequests();
        const res = await update(FlyTypes.Machine, "api-ord-1", m.id, m.outs, {
            ...(m.outs as object),
            waitTimeoutSeconds: 30,
        });
        expect(fly.requests()).toEqual([]);
        expect(res.outs).toEqual({ ...m.outs, waitTimeoutSeconds: 30 });
        machines.set("api-ord-1", { id: m.id, outs: res.outs });
    });

    test("a 503 once is retried: an update (idempotent) and a create (checked by name first)", async () => {
        const m = machines.get("api-iad-2")!;
        fly.resetRequests();
        fly.addFaults([{ method: "POST", path: "^/v1/apps/[^/]+/machines/[^/]+$", times: 1, status: 503 }]);
        const res = await update(FlyTypes.Machine, "api-iad-2", m.id, m.outs, {
            ...(m.outs as object),
            env: { NODE_ENV: "production", PORT: "8080", LOG_LEVEL: "info" },
        });
        machines.set("api-iad-2", { id: m.id, outs: res.outs });
        const updates = fly
            .requests()
            .filter((r) => r.method === "POST" && r.path === `/v1/apps/${APP}/machines/${m.id}`);
        expect(updates.map((r) => r.status)).toEqual([503, 200]);
        expect(liveMachines().find((x) => x.id === m.id)!.config.env).toEqual({
            NODE_ENV: "production",
            PORT: "8080",
            LOG_LEVEL: "info",
        });

        fly.resetRequests();
        fly.addFaults([{ method: "POST", path: "^/v1/apps/[^/]+/machines$", times: 1, status: 503 }]);
        const created = await create(FlyTypes.Machine, "api-iad-3", machineInputs("iad", 3));
        machines.set("api-iad-3", created);
        const creates = fly.requests().filter((r) => r.method === "POST" && r.path === `/v1/apps/${APP}/machines`);
        expect(creates.map((r) => r.status)).toEqual([503, 200]);
        expect(
            liveMachines()
                .filter((x) => x.name === `${APP}-iad-3`)
                .map((x) => x.id),
        ).toEqual([created.id]);
    });

    test("an update whose checks fail names the machine and releases its lease", async () => {
        fly.addFaults([{ checks: "critical", region: "iad", app: APP }]);
        const m = machines.get("api-iad-1")!;
        await expect(
            update(FlyTypes.Machine, "api-iad-1", m.id, m.outs, {
                ...(m.outs as object),
                image: "registry.fly.io/fpsgame-api:bad",
                waitTimeoutSeconds: 1,
            }),
        ).rejects.toThrow(
            new RegExp(
                `^Fly: machine "${APP}-iad-1" \\(${m.id}\\) in app "${APP}" did not pass its health checks within 1s: 0/1 passing; servicecheck-00-http-8080 critical`,
            ),
        );
        expect(liveMachines().find((x) => x.id === m.id)!.image).toBe("registry.fly.io/fpsgame-api:bad");
        // The state still holds the old outputs, so the next deployment updates it again, straight away.
        fly.clearFaults();
        const fixed = await update(FlyTypes.Machine, "api-iad-1", m.id, m.outs, {
            ...(m.outs as object),
            env: { NODE_ENV: "production", PORT: "8081" },
        });
        machines.set("api-iad-1", { id: m.id, outs: fixed.outs });
        expect(liveMachines().find((x) => x.id === m.id)!.image).toBe("registry.fly.io/fpsgame-api:v2");
    });

    test("a create whose response is lost (client timeout) leaves exactly one machine", async () => {
        const impatient = newProvider({ requestTimeoutMs: 300 });
        fly.addFaults([{ method: "POST", path: "^/v1/apps/[^/]+/machines$", times: 1, delayMs: 700 }]);
        const created = await create(FlyTypes.Machine, "api-iad-4", machineInputs("iad", 4), impatient);
        await new Promise((r) => setTimeout(r, 600)); // let the delayed first request land
        expect(
            liveMachines()
                .filter((x) => x.name === `${APP}-iad-4`)
                .map((x) => x.id),
        ).toEqual([created.id]);
        await provider.delete(created.id, urn(FlyTypes.Machine, "api-iad-4"), created.outs);
        expect(liveMachines().filter((x) => x.name === `${APP}-iad-4`)).toEqual([]);
    });

    test("insufficient_capacity that outlasts the retries fails the create naming the region and what to do, and leaves no machine", async () => {
        fly.resetRequests();
        fly.addFaults([
            {
                method: "POST",
                path: "/machines$",
                region: "syd",
                error: "insufficient_capacity",
                message: "no capacity in syd",
            },
        ]);
        await expect(create(FlyTypes.Machine, "api-syd-1", machineInputs("syd", 1))).rejects.toThrow(
            new Error(
                `Fly: region "syd" has no capacity for machine "${APP}-syd-1" in app "${APP}" (shared-cpu-1x, 512 MB), refused 3 time(s) ` +
                    `(Fly API: create machine "${APP}-syd-1" in app "${APP}" failed: 412 insufficient_capacity: no capacity in syd); ` +
                    `nothing was created for it. To go on: run the up again later, or move this region's machines to another region in api.regions, or choose a smaller api.vm.`,
            ),
        );
        expect(liveMachines().filter((m) => m.region === "syd")).toEqual([]);
        // The first try and CAPACITY_RETRIES more, never taken for a name clash.
        expect(fly.requests().filter((r) => r.method === "POST" && r.path.endsWith("/machines"))).toHaveLength(3);
    });

    test("a capacity refusal of an update (409 with flyd's text) is retried, not taken for a lease or a name clash", async () => {
        const m = machines.get("api-iad-2")!;
        fly.resetRequests();
        fly.addFaults([
            { method: "POST", path: `/machines/${m.id}$`, app: APP, error: "insufficient_capacity", times: 1 },
        ]);
        const updated = await update(FlyTypes.Machine, "api-iad-2", m.id, m.outs, {
            ...(m.outs as object),
            env: { NODE_ENV: "production", CAPACITY: "retried" },
        });
        machines.set("api-iad-2", { id: m.id, outs: updated.outs });
        const updates = fly.requests().filter((r) => r.method === "POST" && r.path.endsWith(`/machines/${m.id}`));
        expect(updates.map((r) => r.status)).toEqual([409, 200]);
        expect(liveMachines().find((x) => x.id === m.id)!.config.env).toMatchObject({ CAPACITY: "retried" });
        expect(
            seen.some((l) => l.startsWith(`no capacity in region "iad" for the update of machine "${APP}-iad-2"`)),
        ).toBe(true);
    });

    test("a machine whose checks never pass is destroyed; the retried create then converges", async () => {
        fly.addFaults([{ checks: "critical", region: "ams" }]);
        const inputs = machineInputs("ams", 1, { waitTimeoutSeconds: 1 });
        await expect(create(FlyTypes.Machine, "api-ams-1", inputs)).rejects.toThrow(
            new RegExp(
                `^Fly: machine "${APP}-ams-1" \\([0-9a-f]+\\) in app "${APP}" did not pass its health checks within 1s: ` +
                    `0/1 passing; servicecheck-00-http-8080 critical \\(check reports critical \\(injected by the fly emulator\\)\\); ` +
                    `the machine was destroyed, so the failed create left nothing behind$`,
            ),
        );
        expect(liveMachines().filter((m) => m.region === "ams")).toEqual([]);

        fly.clearFaults();
        const created = await create(FlyTypes.Machine, "api-ams-1", inputs);
        machines.set("api-ams-1", created);
        const reported = [...machines.values()].map((m) => m.id).sort();
        expect(
            liveMachines()
                .map((m) => m.id)
                .sort(),
        ).toEqual(reported);
    });

    test("when the cleanup fails too, the next create adopts the leftover machine by name", async () => {
        fly.addFaults([
            { checks: "critical", region: "fra" },
            { method: "DELETE", path: "^/v1/apps/[^/]+/machines/[^/]+$", status: 500, message: "host unreachable" },
        ]);
        const inputs = machineInputs("fra", 1, { waitTimeoutSeconds: 1 });
        await expect(create(FlyTypes.Machine, "api-fra-1", inputs)).rejects.toThrow(
            /did not pass its health checks within 1s: .*; destroying the machine failed too \(Fly API: destroy machine "fpsgame-api-fra-1" \([0-9a-f]+\) in app "fpsgame-api" failed: 500: host unreachable\), so it is left in the app and the next create adopts it by name$/,
        );
        const leftover = liveMachines().filter((m) => m.name === `${APP}-fra-1`);
        expect(leftover).toHaveLength(1);

        fly.clearFaults();
        fly.resetRequests();
        const created = await create(FlyTypes.Machine, "api-fra-1", {
            ...inputs,
            image: "registry.fly.io/fpsgame-api:v2",
        });
        machines.set("api-fra-1", created);
        expect(created.id).toBe(leftover[0].id);
        expect(fly.requests().filter((r) => r.method === "POST" && r.path.endsWith("/machines"))).toEqual([]);
        const now = liveMachines().filter((m) => m.name === `${APP}-fra-1`);
        expect(now.map((m) => [m.id, m.image, m.state])).toEqual([
            [leftover[0].id, "registry.fly.io/fpsgame-api:v2", "started"],
        ]);
        expect(
            liveMachines()
                .map((m) => m.id)
                .sort(),
        ).toEqual([...machines.values()].map((m) => m.id).sort());
    });

    test("an IP and a certificate are created, read and deleted", async () => {
        const ip = await create(FlyTypes.IpAddress, "v6", { app: APP, type: "v6" });
        expect(ip.outs).toEqual({ app: APP, type: "v6", address: ip.id });
        expect(inventoryApp()!.ips.map((x) => x.ip)).toEqual([ip.id]);
        const cert = await create(FlyTypes.Certificate, "cert", { app: APP, hostname: "play.fpsgame.example" });
        // Pending is not a failure: the create succeeds and says which DNS records to create.
        expect(cert.outs).toEqual({
            app: APP,
            hostname: "play.fpsgame.example",
            status: "pending_validation",
            configured: false,
            cnameTarget: `${APP}.fly.dev`,
            dnsRecords: [
                `CNAME play.fpsgame.example -> ${APP}.fly.dev`,
                `(or instead of the CNAME: AAAA play.fpsgame.example -> ${ip.id})`,
                expect.stringMatching(
                    /^CNAME _acme-challenge\.play\.fpsgame\.example -> play\.fpsgame\.example\.\w+\.flydns\.net$/,
                ),
            ],
        });
        expect(
            seen.some((l) =>
                l.startsWith(
                    `certificate for "play.fpsgame.example" in app "${APP}" is pending_validation: Fly issues it once these DNS records exist: CNAME play.fpsgame.example -> ${APP}.fly.dev;`,
                ),
            ),
        ).toBe(true);
        const pending = await provider.read(cert.id, urn(FlyTypes.Certificate, "cert"), cert.outs);
        expect(pending.props).toMatchObject({ status: "pending_validation" });

        // Once the hostname points at the app, Fly issues it, and a refresh (read) records it active.
        await fetch(`${fly.url}/__emulator/dns`, {
            method: "POST",
            headers: { Authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
            body: JSON.stringify({ hostname: "play.fpsgame.example" }),
        });
        await new Promise((r) => setTimeout(r, 60));
        const readCert = await provider.read(cert.id, urn(FlyTypes.Certificate, "cert"), cert.outs);
        expect(readCert.id).toBe("play.fpsgame.example");
        expect(readCert.props).toMatchObject({ status: "active", configured: true, dnsRecords: [] });

        await provider.delete(ip.id, urn(FlyTypes.IpAddress, "v6"), ip.outs);
        await provider.delete(cert.id, urn(FlyTypes.Certificate, "cert"), cert.outs);
        expect(inventoryApp()!.ips).toEqual([]);
        expect(inventoryApp()!.certificates).toEqual([]);
        expect((await provider.read(ip.id, urn(FlyTypes.IpAddress, "v6"), ip.outs)).id).toBe("");
    });

    test("an IP, a certificate and the secrets made outside Pulumi import by <app>/<id>, inputs from Fly", async () => {
        const v4 = await create(FlyTypes.IpAddress, "v4", { app: APP, type: "shared_v4" });
        const v6 = await create(FlyTypes.IpAddress, "v6", { app: APP, type: "v6" });
        const cert = await create(FlyTypes.Certificate, "cert", { app: APP, hostname: "api.fpsgame.example" });
        // `pulumi import` reads with the id alone: no state, no inputs.
        const i4 = await provider.read(`${APP}/${v4.id}`, urn(FlyTypes.IpAddress, "v4"), {});
        expect([i4.id, i4.inputs]).toEqual([v4.id, { app: APP, type: "shared_v4" }]);
        const i6 = await provider.read(`${APP}/${v6.id}`, urn(FlyTypes.IpAddress, "v6"), {});
        expect([i6.id, i6.inputs]).toEqual([v6.id, { app: APP, type: "v6" }]);
        const ic = await provider.read(`${APP}/api.fpsgame.example`, urn(FlyTypes.Certificate, "cert"), {});
        expect([ic.id, ic.inputs]).toEqual(["api.fpsgame.example", { app: APP, hostname: "api.fpsgame.example" }]);
        // Without the app, the error says how to name it.
        await expect(provider.read(v6.id, urn(FlyTypes.IpAddress, "v6"), {})).rejects.toThrow(
            `Fly: cannot read IP address "${v6.id}": its app is unknown; import it as "<app>/<address>"`,
        );
        for (const [r, t] of [
            [v4, FlyTypes.IpAddress],
            [v6, FlyTypes.IpAddress],
            [cert, FlyTypes.Certificate],
        ] as const) {
            await provider.delete(r.id, urn(t, "x"), r.outs);
        }
    });

    test("a missing token gives the exact error, before any request", async () => {
        fly.resetRequests();
        delete process.env.FLY_API_TOKEN;
        try {
            await expect(create(FlyTypes.Machine, "api-iad-9", machineInputs("iad", 9))).rejects.toThrow(
                new Error(MISSING_TOKEN_MESSAGE),
            );
            expect(MISSING_TOKEN_MESSAGE).toBe(
                "FLY_API_TOKEN is not set: the Fly provider needs a Fly API token (fly tokens create deploy) in its environment",
            );
        } finally {
            process.env.FLY_API_TOKEN = TOKEN;
        }
        expect(fly.requests()).toEqual([]);
    });

    test("the token and URL are read at call time", async () => {
        process.env.FLY_API_TOKEN = "wrong-token";
        try {
            await expect(new FlyClient().getApp(APP)).rejects.toThrow(
                `Fly API: get app "${APP}" failed: 401: unauthorized (Fly rejected the token in FLY_API_TOKEN)`,
            );
        } finally {
            process.env.FLY_API_TOKEN = TOKEN;
        }
        await expect(new FlyClient().getApp(APP)).resolves.toMatchObject({ name: APP });
    });

    test("the app refuses to be deleted while it has machines", async () => {
        await expect(provider.delete(APP, urn(FlyTypes.App, "api"), { name: APP, org: "personal" })).rejects.toThrow(
            new RegExp(
                `^Fly: cannot delete app "${APP}": it still has 6 machine\\(s\\): .*Delete their fly:index:Machine resources first`,
            ),
        );
        expect(inventoryApp()).toBeDefined();
    });

    test("machines are deleted (a second delete is a no-op), then the secrets and the app", async () => {
        await Promise.all(
            [...machines.entries()].map(([name, m]) => provider.delete(m.id, urn(FlyTypes.Machine, name), m.outs)),
        );
        expect(liveMachines()).toEqual([]);
        const first = [...machines.entries()][0];
        await provider.delete(first[1].id, urn(FlyTypes.Machine, first[0]), first[1].outs);
        expect((await provider.read(first[1].id, urn(FlyTypes.Machine, first[0]), first[1].outs)).id).toBe("");

        await provider.delete(APP, urn(FlyTypes.AppSecrets, "secrets"), secretsOuts);
        expect(inventoryApp()!.secret_names).toEqual([]);
        await provider.delete(APP, urn(FlyTypes.App, "api"), { name: APP, org: "personal", appId });
        expect(inventoryApp()).toBeUndefined();
    });

    test("preview-time unknowns pass check and show as changes", async () => {
        const m = machines.get("api-iad-2")!;
        const news = { ...(m.outs as object), image: UNKNOWN, region: "iad" };
        const checked = await provider.check(
            urn(FlyTypes.Machine, "m"),
            {},
            { ...news, guest: { cpuKind: "shared", cpus: UNKNOWN, memoryMb: 4096 } },
        );
        expect(checked.failures).toBeUndefined();
        expect(await provider.diff(m.id, urn(FlyTypes.Machine, "m"), m.outs, news)).toEqual({ changes: true });
    });

    test("the token never appears in outputs, errors or progress lines", () => {
        expect(seen.length).toBeGreaterThan(20);
        for (const s of seen) {
            expect(s).not.toContain(TOKEN);
        }
    });
});
