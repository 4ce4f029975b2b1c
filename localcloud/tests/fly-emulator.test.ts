/**
 * The Fly Machines API emulator (`localcloud/fly-emulator`), driven over HTTP with the global
 * `fetch`, as the provider and the e2e tests drive it. Each test gets its own app names; one
 * emulator serves the file, with short state transitions to stay fast.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startFlyEmulator, type FlyEmulator } from "../fly-emulator/server";

const TOKEN = "test-token-123";
const AUTH = { Authorization: `Bearer ${TOKEN}` };

let stateDir: string;
let fly: FlyEmulator;

interface Answer {
    status: number;
    body: any;
}

async function call(
    method: string,
    urlPath: string,
    body?: unknown,
    headers: Record<string, string> = AUTH,
): Promise<Answer> {
    const res = await fetch(`${fly.url}${urlPath}`, {
        method,
        headers: { ...headers, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text === "" ? undefined : JSON.parse(text) };
}

const machineConfig = (image = "registry.fly.io/fpsgame-api:v1", extra: Record<string, unknown> = {}) => ({
    image,
    guest: { cpu_kind: "shared", cpus: 1, memory_mb: 512 },
    env: { NODE_ENV: "production" },
    metadata: { fly_process_group: "app" },
    services: [
        {
            protocol: "tcp",
            internal_port: 8080,
            autostop: "off",
            ports: [{ port: 443, handlers: ["tls", "http"] }],
            checks: [{ type: "http", interval: "15s", timeout: 2_000_000_000, path: "/healthz" }],
        },
    ],
    ...extra,
});

async function createApp(name: string): Promise<void> {
    const res = await call("POST", "/v1/apps", { app_name: name, org_slug: "personal" });
    expect(res.status).toBe(201);
}

async function createMachine(app: string, body: Record<string, unknown> = {}): Promise<Answer> {
    return call("POST", `/v1/apps/${app}/machines`, { region: "iad", config: machineConfig(), ...body });
}

async function waitFor(app: string, id: string, query: string): Promise<Answer> {
    return call("GET", `/v1/apps/${app}/machines/${id}/wait?${query}`);
}

beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "fly-emulator-test-"));
    fly = await startFlyEmulator({ port: 0, stateDir, token: TOKEN, transitionDelayMs: 20, timeFactor: 0.002 });
});

afterAll(async () => {
    await fly.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
});

afterEach(() => fly.clearFaults());

describe("binding and auth", () => {
    test("listens on loopback and refuses other hosts", async () => {
        expect(fly.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
        await expect(startFlyEmulator({ host: "0.0.0.0", stateDir, token: TOKEN })).rejects.toThrow(
            /refusing to bind to "0.0.0.0"/,
        );
    });

    test("401 without the token, with a wrong one, and on admin endpoints", async () => {
        expect(await call("GET", "/v1/apps?org_slug=personal", undefined, {})).toEqual({
            status: 401,
            body: { error: "unauthorized" },
        });
        expect(await call("GET", "/v1/apps/x", undefined, { Authorization: "Bearer nope" })).toEqual({
            status: 401,
            body: { error: "unauthorized" },
        });
        expect(await call("GET", "/__emulator/inventory", undefined, {})).toEqual({
            status: 401,
            body: { error: "unauthorized" },
        });
    });

    test("accepts the FlyV1 scheme as well as Bearer", async () => {
        const res = await call("GET", "/v1/apps?org_slug=nobody", undefined, { Authorization: `FlyV1 ${TOKEN}` });
        expect(res).toEqual({ status: 200, body: { total_apps: 0, apps: [] } });
    });
});

describe("apps", () => {
    test("create, get, name_taken, list by org, delete", async () => {
        const created = await call("POST", "/v1/apps", { app_name: "apps-a", org_slug: "game-org" });
        expect(created.status).toBe(201);
        expect(created.body).toMatchObject({
            id: expect.stringMatching(/^[a-z0-9]{16}$/),
            created_at: expect.any(Number),
        });

        // fly-go sends `name` instead of `app_name`; names are global across orgs.
        const taken = await call("POST", "/v1/apps", { name: "apps-a", org_slug: "other-org" });
        expect(taken).toEqual({ status: 422, body: { error: "Name has already been taken", status: "name_taken" } });

        const got = await call("GET", "/v1/apps/apps-a");
        expect(got.status).toBe(200);
        expect(got.body).toMatchObject({
            name: "apps-a",
            status: "pending",
            organization: { slug: "game-org" },
            machine_count: 0,
        });

        const listed = await call("GET", "/v1/apps?org_slug=game-org");
        expect(listed.body).toEqual({
            total_apps: 1,
            apps: [{ id: created.body.id, name: "apps-a", machine_count: 0, volume_count: 0, network: "" }],
        });

        expect(await call("GET", "/v1/apps/nope")).toEqual({ status: 404, body: { error: "app not found" } });
        expect(await call("DELETE", "/v1/apps/apps-a")).toEqual({ status: 202, body: undefined });
        expect((await call("GET", "/v1/apps/apps-a")).status).toBe(404);
    });

    test("delete refuses an app with machines unless force=true", async () => {
        await createApp("apps-b");
        await createMachine("apps-b");
        const refused = await call("DELETE", "/v1/apps/apps-b");
        expect(refused.status).toBe(412);
        expect(refused.body.error).toMatch(/still has 1 machine/);
        expect(await call("DELETE", "/v1/apps/apps-b?force=true")).toEqual({ status: 202, body: undefined });
        expect(fly.inventory().apps.find((a) => a.name === "apps-b")).toBeUndefined();
    });
});

describe("machines", () => {
    beforeAll(() => createApp("mach"));

    test("create, wait, get, list with filters", async () => {
        const created = await createMachine("mach", { name: "mach-iad-1" });
        expect(created.status).toBe(200);
        const m = created.body;
        expect(m).toMatchObject({
            id: expect.stringMatching(/^[0-9a-f]{14}$/),
            name: "mach-iad-1",
            state: "starting",
            region: "iad",
            instance_id: expect.stringMatching(/^[0-9A-Z]{26}$/),
            private_ip: expect.stringMatching(/^fdaa:/),
            image_ref: { registry: "registry.fly.io", repository: "fpsgame-api", tag: "v1" },
            cordoned: false,
        });
        expect(m.config.services[0].autostop).toBe(false);
        expect(m.config.services[0].checks[0]).toMatchObject({ interval: "15s", timeout: "2s" });
        expect(m.events.map((e: { status: string }) => e.status)).toEqual(["starting", "created"]);
        expect(m.nonce).toBeUndefined();

        const waited = await waitFor("mach", m.id, "state=started&timeout=5");
        const got = await call("GET", `/v1/apps/mach/machines/${m.id}`);
        expect(got.body.state).toBe("started");
        expect(waited).toEqual({
            status: 200,
            body: { ok: true, state: "started", version: m.instance_id, event_id: got.body.events[0].id },
        });
        // A first result comes an interval (15 s x the time factor 0.002 = 30 ms) after the start.
        await new Promise((r) => setTimeout(r, 60));
        expect((await call("GET", `/v1/apps/mach/machines/${m.id}`)).body.checks).toEqual([
            { name: "servicecheck-00-http-8080", status: "passing", output: "Success", updated_at: expect.any(String) },
        ]);

        await createMachine("mach", {
            region: "ams",
            name: "mach-ams-1",
            config: machineConfig(undefined, { metadata: { role: "edge" } }),
        });
        const all = await call("GET", "/v1/apps/mach/machines");
        expect(all.status).toBe(200);
        expect(all.body.map((x: { name: string }) => x.name)).toEqual(["mach-iad-1", "mach-ams-1"]);
        expect(
            (await call("GET", "/v1/apps/mach/machines?region=ams")).body.map((x: { name: string }) => x.name),
        ).toEqual(["mach-ams-1"]);
        expect((await call("GET", "/v1/apps/mach/machines?metadata.role=edge")).body).toHaveLength(1);
        expect((await call("GET", "/v1/apps/mach/machines?metadata.role=core")).body).toEqual([]);
    });

    test("name_taken, bad config and unknown machine", async () => {
        await createMachine("mach", { name: "dup" });
        const dup = await createMachine("mach", { name: "dup" });
        expect(dup.status).toBe(409);
        expect(dup.body).toEqual({ error: 'a machine named "dup" already exists in app mach', status: "name_taken" });

        const noImage = await call("POST", "/v1/apps/mach/machines", { config: {} });
        expect(noImage).toEqual({ status: 400, body: { error: "invalid config.image: an image must be specified" } });
        const badMemory = await createMachine("mach", {
            config: machineConfig(undefined, { guest: { cpu_kind: "performance", cpus: 1, memory_mb: 1024 } }),
        });
        expect(badMemory).toEqual({
            status: 400,
            body: { error: "invalid config.guest.memory_mb, minimum required 2048 MiB for performance-1x" },
        });

        expect(await call("GET", "/v1/apps/mach/machines/00000000000000")).toEqual({
            status: 404,
            body: { error: "machine not found" },
        });
        expect(await call("GET", "/v1/apps/ghost/machines")).toEqual({ status: 404, body: { error: "app not found" } });
    });

    test("update replaces the config, keeps region and name, and restarts with a new instance_id", async () => {
        const m = (await createMachine("mach", { name: "upd" })).body;
        await waitFor("mach", m.id, "state=started");

        const moved = await call("POST", `/v1/apps/mach/machines/${m.id}`, {
            region: "ams",
            config: machineConfig("img:v2"),
        });
        expect(moved.status).toBe(400);
        expect(moved.body.error).toMatch(/^region is immutable/);
        const renamed = await call("POST", `/v1/apps/mach/machines/${m.id}`, {
            name: "other",
            config: machineConfig("img:v2"),
        });
        expect(renamed.status).toBe(400);

        const updated = await call("POST", `/v1/apps/mach/machines/${m.id}`, {
            region: "iad",
            name: "upd",
            config: { image: "img:v2" },
        });
        expect(updated.status).toBe(200);
        expect(updated.body.state).toBe("updating");
        expect(updated.body.instance_id).not.toBe(m.instance_id);
        // Full replace: the old env and services are gone, the default guest is back.
        expect(updated.body.config).toEqual({
            image: "img:v2",
            guest: { cpu_kind: "shared", cpus: 1, memory_mb: 256 },
        });

        expect(await waitFor("mach", m.id, `state=started&version=${updated.body.instance_id}`)).toMatchObject({
            status: 200,
            body: { ok: true, state: "started", version: updated.body.instance_id },
        });
    });

    test("stop, start, wait timeout, delete refusal and destroy", async () => {
        const m = (await createMachine("mach", { name: "del" })).body;
        await waitFor("mach", m.id, "state=started");

        expect(await call("DELETE", `/v1/apps/mach/machines/${m.id}`)).toEqual({
            status: 412,
            body: { error: "machine still active, refusing to delete" },
        });

        expect(
            await call("POST", `/v1/apps/mach/machines/${m.id}/stop`, { signal: "SIGTERM", timeout: "10s" }),
        ).toEqual({ status: 200, body: { ok: true } });
        expect(await waitFor("mach", m.id, `state=stopped&instance_id=${m.instance_id}`)).toMatchObject({
            status: 200,
            body: { ok: true, state: "stopped", version: m.instance_id },
        });
        expect(await waitFor("mach", m.id, "state=started&timeout=1")).toEqual({
            status: 408,
            body: { error: "machine failed to reach desired state, started, currently stopped" },
        });

        expect(await call("POST", `/v1/apps/mach/machines/${m.id}/start`)).toEqual({
            status: 200,
            body: { previous_state: "stopped", migrated: false, new_host: "" },
        });
        await waitFor("mach", m.id, "state=started");
        expect(await call("DELETE", `/v1/apps/mach/machines/${m.id}?kill=true`)).toEqual({
            status: 200,
            body: { ok: true },
        });

        const listed = await call("GET", "/v1/apps/mach/machines");
        expect(listed.body.find((x: { id: string }) => x.id === m.id)).toBeUndefined();
        const withDeleted = await call("GET", "/v1/apps/mach/machines?include_deleted=true");
        expect(withDeleted.body.find((x: { id: string }) => x.id === m.id).state).toBe("destroyed");
        expect(await waitFor("mach", m.id, "state=destroyed")).toMatchObject({
            status: 200,
            body: { ok: true, state: "destroyed" },
        });
        expect((await call("POST", `/v1/apps/mach/machines/${m.id}/start`)).status).toBe(404);
    });

    test("a leased machine needs the lease nonce to be changed", async () => {
        const m = (await createMachine("mach", { name: "leased" })).body;
        const lease = await call("POST", `/v1/apps/mach/machines/${m.id}/lease`, { ttl: 60, description: "scale" });
        expect(lease.status).toBe(201);
        expect(lease.body).toMatchObject({
            status: "success",
            data: { nonce: expect.any(String), owner: expect.any(String), description: "scale" },
        });
        const nonce: string = lease.body.data.nonce;

        const noNonce = await call("POST", `/v1/apps/mach/machines/${m.id}`, { config: machineConfig("img:v3") });
        expect(noNonce.status).toBe(409);
        expect(noNonce.body.error).toMatch(new RegExp(`^machine ID ${m.id} lease currently held by`));
        const wrong = await call(
            "POST",
            `/v1/apps/mach/machines/${m.id}`,
            { config: machineConfig("img:v3") },
            { ...AUTH, "fly-machine-lease-nonce": "deadbeef" },
        );
        expect(wrong.status).toBe(409);
        expect((await call("POST", `/v1/apps/mach/machines/${m.id}/lease`)).status).toBe(409);
        expect((await call("DELETE", `/v1/apps/mach/machines/${m.id}?kill=true`)).status).toBe(409);

        const withNonce = await call(
            "POST",
            `/v1/apps/mach/machines/${m.id}`,
            { config: machineConfig("img:v3") },
            { ...AUTH, "fly-machine-lease-nonce": nonce },
        );
        expect(withNonce.status).toBe(200);
        expect(withNonce.body.config.image).toBe("img:v3");

        expect((await call("GET", `/v1/apps/mach/machines/${m.id}/lease`)).body.data.nonce).toBe(nonce);
        expect(
            await call("DELETE", `/v1/apps/mach/machines/${m.id}/lease`, undefined, {
                ...AUTH,
                "fly-machine-lease-nonce": nonce,
            }),
        ).toEqual({
            status: 200,
            body: { status: "success", data: { ok: true } },
        });
        expect(await call("GET", `/v1/apps/mach/machines/${m.id}/lease`)).toEqual({
            status: 404,
            body: { error: "lease not found" },
        });
        expect((await call("POST", `/v1/apps/mach/machines/${m.id}`, { config: machineConfig("img:v4") })).status).toBe(
            200,
        );
    });

    test("lease_ttl on create returns the nonce once", async () => {
        const m = await createMachine("mach", { name: "born-leased", lease_ttl: 30 });
        expect(m.body.nonce).toEqual(expect.any(String));
        expect((await call("GET", `/v1/apps/mach/machines/${m.body.id}`)).body.nonce).toBeUndefined();
        expect((await call("POST", `/v1/apps/mach/machines/${m.body.id}/stop`)).status).toBe(409);
    });
});

describe("wait, as published", () => {
    beforeAll(() => createApp("waits"));

    test.each(["0", "61", "90", "1.5", "30s", "", "-1", "soon"])(
        "timeout=%j is refused with 400 in Fly's error shape, not clamped",
        async (timeout) => {
            const m = (await createMachine("waits")).body;
            expect(await waitFor("waits", m.id, `state=started&timeout=${timeout}`)).toEqual({
                status: 400,
                body: {
                    error: `invalid_argument: timeout must be between 1s and 1m0s: got ${JSON.stringify(timeout)} (a whole number of seconds from 1 to 60)`,
                },
            });
        },
    );

    test("timeout=1 and timeout=60 are accepted", async () => {
        const m = (await createMachine("waits")).body;
        expect((await waitFor("waits", m.id, "state=started&timeout=1")).status).toBe(200);
        expect((await waitFor("waits", m.id, "state=started&timeout=60")).status).toBe(200);
    });

    test("an unknown state is refused, naming the value and the states allowed", async () => {
        const m = (await createMachine("waits")).body;
        expect(await waitFor("waits", m.id, "state=running")).toEqual({
            status: 400,
            body: {
                error: 'invalid_argument: state "running" is not one of started, stopped, suspended, destroyed, failed, settled',
            },
        });
    });

    test("settled ends on whatever state the machine comes to rest in, and says which", async () => {
        const m = (await createMachine("waits")).body;
        expect(m.state).toBe("starting");
        expect(await waitFor("waits", m.id, "state=settled&timeout=5")).toMatchObject({
            status: 200,
            body: { state: "started" },
        });
        await call("POST", `/v1/apps/waits/machines/${m.id}/stop`);
        expect(await waitFor("waits", m.id, "state=settled&timeout=5")).toMatchObject({
            status: 200,
            body: { state: "stopped" },
        });
    });

    test("repeated and comma-separated states: the first reached ends the wait", async () => {
        const m = (await createMachine("waits")).body;
        expect(await waitFor("waits", m.id, "state=stopped&state=started&timeout=5")).toMatchObject({
            body: { state: "started" },
        });
        expect(await waitFor("waits", m.id, "state=failed,started&timeout=5")).toMatchObject({
            body: { state: "started" },
        });
        await call("POST", `/v1/apps/waits/machines/${m.id}/stop`);
        await waitFor("waits", m.id, "state=stopped");
        expect(await waitFor("waits", m.id, "state=started,suspended&timeout=1")).toEqual({
            status: 408,
            body: { error: "machine failed to reach desired state, started or suspended, currently stopped" },
        });
    });

    test("version waits for that version (instance_id is its deprecated alias); a malformed one is refused", async () => {
        const m = (await createMachine("waits")).body;
        await waitFor("waits", m.id, "state=started");
        const updated = (await call("POST", `/v1/apps/waits/machines/${m.id}`, { config: machineConfig("img:v2") }))
            .body;
        // The wait is for the update's version; the old one no longer ends a wait.
        const pending = waitFor("waits", m.id, `state=started&version=${updated.instance_id}&timeout=5`);
        expect(await pending).toMatchObject({ status: 200, body: { state: "started", version: updated.instance_id } });
        expect(await waitFor("waits", m.id, `state=started&instance_id=${m.instance_id}&timeout=1`)).toEqual({
            status: 408,
            body: { error: "machine failed to reach desired state, started, currently started" },
        });
        expect(await waitFor("waits", m.id, "state=started&version=v2")).toEqual({
            status: 400,
            body: { error: 'invalid_argument: version "v2" is not a 26-character ID' },
        });
    });

    test("from_event_id: only a state reached after that event ends the wait", async () => {
        const m = (await createMachine("waits")).body;
        const started = await waitFor("waits", m.id, "state=started");
        const eventId: string = started.body.event_id;
        expect(eventId).toMatch(/^[0-9A-Z]{26}$/);
        // Started already, but not since that event: the wait runs until a restart brings it back.
        const pending = waitFor("waits", m.id, `state=started&from_event_id=${eventId}&timeout=5`);
        await new Promise((r) => setTimeout(r, 50));
        await call("POST", `/v1/apps/waits/machines/${m.id}/restart`);
        const after = await pending;
        expect(after).toMatchObject({ status: 200, body: { state: "started" } });
        expect(after.body.event_id > eventId).toBe(true);
        expect(await waitFor("waits", m.id, `state=started&from_event_id=${after.body.event_id}&timeout=1`)).toEqual({
            status: 408,
            body: { error: "machine failed to reach desired state, started, currently started" },
        });
    });
});

describe("events and versions", () => {
    beforeAll(() => createApp("evts"));

    test("each machine keeps its events, newest first, on GET machine and GET .../events", async () => {
        const m = (await createMachine("evts")).body;
        await waitFor("evts", m.id, "state=started");
        const v2 = (await call("POST", `/v1/apps/evts/machines/${m.id}`, { config: machineConfig("img:v2") })).body;
        await waitFor("evts", m.id, `state=started&version=${v2.instance_id}`);
        await call("POST", `/v1/apps/evts/machines/${m.id}/stop`);
        await waitFor("evts", m.id, "state=stopped");

        const events = await call("GET", `/v1/apps/evts/machines/${m.id}/events`);
        expect(events.status).toBe(200);
        expect(
            events.body.map((e: { type: string; status: string; source: string }) => [e.type, e.status, e.source]),
        ).toEqual([
            ["exit", "stopped", "flyd"],
            ["stop", "stopping", "user"],
            ["update", "started", "flyd"],
            ["update", "updating", "user"],
            ["start", "started", "flyd"],
            ["start", "starting", "user"],
            ["launch", "created", "user"],
        ]);
        for (const e of events.body) {
            expect(e).toEqual({
                id: expect.stringMatching(/^[0-9A-Z]{26}$/),
                type: expect.any(String),
                status: expect.any(String),
                source: expect.stringMatching(/^(user|flyd)$/),
                timestamp: expect.any(Number),
                ...(e.request === undefined ? {} : { request: expect.any(Object) }),
            });
        }
        expect(events.body[0].request.exit_event).toMatchObject({ exit_code: 0, requested_stop: true });
        const ids = events.body.map((e: { id: string }) => e.id);
        expect([...ids].sort().reverse()).toEqual(ids);
        expect((await call("GET", `/v1/apps/evts/machines/${m.id}`)).body.events).toEqual(events.body);
        expect((await call("GET", `/v1/apps/evts/machines/${m.id}/events?limit=2`)).body).toEqual(
            events.body.slice(0, 2),
        );
    });

    test("limit: 20 by default, at most 50; a bad limit is refused", async () => {
        const m = (await createMachine("evts", { skip_launch: true })).body;
        for (let i = 0; i < 30; i++) {
            await call("POST", `/v1/apps/evts/machines/${m.id}/${i % 2 === 0 ? "cordon" : "uncordon"}`);
        }
        expect((await call("GET", `/v1/apps/evts/machines/${m.id}/events`)).body).toHaveLength(20);
        expect((await call("GET", `/v1/apps/evts/machines/${m.id}/events?limit=25`)).body).toHaveLength(25);
        for (let i = 0; i < 30; i++) {
            await call("POST", `/v1/apps/evts/machines/${m.id}/${i % 2 === 0 ? "cordon" : "uncordon"}`);
        }
        expect((await call("GET", `/v1/apps/evts/machines/${m.id}/events?limit=50`)).body).toHaveLength(50);
        expect((await call("GET", `/v1/apps/evts/machines/${m.id}/events?limit=500`)).body).toHaveLength(50);
        expect(await call("GET", `/v1/apps/evts/machines/${m.id}/events?limit=0`)).toEqual({
            status: 400,
            body: {
                error: 'invalid_argument: limit "0" is not a positive whole number (at most 50 events are returned)',
            },
        });
        expect((await call("GET", `/v1/apps/evts/machines/${m.id}/events?limit=ten`)).status).toBe(400);
        expect(await call("GET", "/v1/apps/evts/machines/00000000000000/events")).toEqual({
            status: 404,
            body: { error: "machine not found" },
        });
    });

    test("versions: one per create and update, newest first, with the config each ran", async () => {
        const m = (await createMachine("evts")).body;
        expect(await call("GET", `/v1/apps/evts/machines/${m.id}/versions`)).toEqual({
            status: 200,
            body: [{ version: m.instance_id, user_config: m.config }],
        });
        const v2 = (await call("POST", `/v1/apps/evts/machines/${m.id}`, { config: { image: "img:v2" } })).body;
        const versions = await call("GET", `/v1/apps/evts/machines/${m.id}/versions`);
        expect(versions.body).toEqual([
            {
                version: v2.instance_id,
                user_config: { image: "img:v2", guest: { cpu_kind: "shared", cpus: 1, memory_mb: 256 } },
            },
            { version: m.instance_id, user_config: m.config },
        ]);
        expect(await call("GET", "/v1/apps/evts/machines/00000000000000/versions")).toEqual({
            status: 404,
            body: { error: "machine not found" },
        });
    });
});

describe("creates validate region and image", () => {
    beforeAll(() => createApp("valid"));

    test("an unknown region is refused with 422; the regions are listed at GET /v1/platform/regions", async () => {
        expect(await createMachine("valid", { region: "xyz" })).toEqual({
            status: 422,
            body: { error: 'unknown region "xyz": GET /v1/platform/regions lists the regions' },
        });
        expect(await createMachine("valid", { region: 3 })).toEqual({
            status: 400,
            body: { error: "invalid region 3: must be a region code" },
        });
        const regions = await call("GET", "/v1/platform/regions");
        expect(regions.status).toBe(200);
        expect(regions.body.nearest).toBe("iad");
        expect(regions.body.regions).toContainEqual({
            code: "syd",
            name: "Sydney, Australia",
            deprecated: false,
            requires_paid_plan: false,
        });
        const codes = regions.body.regions.map((r: { code: string }) => r.code);
        expect(codes).not.toContain("xyz");
        for (const code of codes.slice(0, 3)) {
            expect((await createMachine("valid", { region: code, skip_launch: true })).body.region).toBe(code);
        }
        expect((await call("GET", "/v1/apps/valid/machines")).body).toHaveLength(3);
        // Without a region, the machine goes to the nearest one.
        expect((await createMachine("valid", { region: undefined, skip_launch: true })).body.region).toBe("iad");
    });

    test.each([
        "registry.fly.io/fpsgame-api:v1",
        "img:v2",
        "nginx",
        "localhost:5000/team/app_1:2026.11-rc.1",
        `registry.fly.io/fpsgame-api:v1@sha256:${"a".repeat(64)}`,
        `ghcr.io/org/app@sha256:${"0".repeat(64)}`,
    ])("the image %s is accepted", async (image) => {
        expect((await createMachine("valid", { config: machineConfig(image), skip_launch: true })).status).toBe(200);
    });

    test.each([
        "registry.fly.io/FpsGame:v1",
        "registry.fly.io/app:v1 ",
        "app:",
        "app@sha256:abc",
        "registry.fly.io//app",
        "-app",
        `app:${"t".repeat(129)}`,
    ])("the image %j is refused with 422 on create and on update", async (image) => {
        const error = `invalid config.image ${JSON.stringify(image)}: not an image reference ([registry/]repository[:tag][@sha256:<64 hex>], repository in lowercase)`;
        expect(await createMachine("valid", { config: machineConfig(image) })).toEqual({
            status: 422,
            body: { error },
        });
        const m = (await createMachine("valid", { skip_launch: true })).body;
        expect(await call("POST", `/v1/apps/valid/machines/${m.id}`, { config: machineConfig(image) })).toEqual({
            status: 422,
            body: { error },
        });
    });
});

describe("secrets", () => {
    beforeAll(() => createApp("sec"));

    test("versions increase on every change; machines see secrets only on create/update", async () => {
        const set = await call("POST", "/v1/apps/sec/secrets", {
            values: { DATABASE_URL: "postgres://one", REDIS_URL: "redis://one" },
        });
        expect(set.status).toBe(200);
        expect(set.body.version).toBe(1);
        expect(set.body.secrets.map((s: { name: string }) => s.name)).toEqual(["DATABASE_URL", "REDIS_URL"]);
        expect(JSON.stringify(set.body)).not.toContain("postgres://one");

        const listed = await call("GET", "/v1/apps/sec/secrets");
        expect(listed.body.secrets[0]).toEqual({
            name: "DATABASE_URL",
            digest: expect.stringMatching(/^[0-9a-f]{16}$/),
            created_at: expect.any(String),
            updated_at: expect.any(String),
        });
        const shown = await call("GET", "/v1/apps/sec/secrets?show_secrets=true");
        expect(shown.body.secrets.map((s: { value: string }) => s.value)).toEqual(["postgres://one", "redis://one"]);

        const m = (await call("POST", "/v1/apps/sec/machines", { config: machineConfig(), min_secrets_version: 1 }))
            .body;
        expect(fly.machineSecretValues("sec", m.id)).toMatchObject({
            secrets_version: 1,
            values: { DATABASE_URL: "postgres://one" },
        });

        // Rotation: the version moves, the running machine keeps what it had.
        const rotated = await call("POST", "/v1/apps/sec/secrets", { values: { DATABASE_URL: "postgres://two" } });
        expect(rotated.body.version).toBe(2);
        expect(fly.inventory().apps.find((a) => a.name === "sec")!.machines[0].secrets_version).toBe(1);

        const tooNew = await call("POST", `/v1/apps/sec/machines/${m.id}`, {
            config: machineConfig(),
            min_secrets_version: 3,
        });
        expect(tooNew).toEqual({
            status: 422,
            body: { error: "min_secrets_version 3 is newer than app sec's secrets version 2" },
        });
        expect(
            (await call("POST", `/v1/apps/sec/machines/${m.id}`, { config: machineConfig(), min_secrets_version: 2 }))
                .status,
        ).toBe(200);
        expect(fly.inventory().apps.find((a) => a.name === "sec")!.machines[0].secrets_version).toBe(2);
        const seen = await call("GET", `/__emulator/secret-values/sec/machines/${m.id}`);
        expect(seen.body).toMatchObject({
            secrets_version: 2,
            values: { DATABASE_URL: "postgres://two", REDIS_URL: "redis://one" },
        });

        expect((await call("POST", "/v1/apps/sec/secrets", { values: { REDIS_URL: null } })).body).toEqual({
            secrets: [expect.objectContaining({ name: "DATABASE_URL" })],
            version: 3,
        });
        const one = await call("POST", "/v1/apps/sec/secrets/API_KEY", { value: "k1" });
        expect(one.body).toMatchObject({ name: "API_KEY", version: 4 });
        expect(await call("DELETE", "/v1/apps/sec/secrets/API_KEY")).toEqual({ status: 200, body: { version: 5 } });
        expect(await call("DELETE", "/v1/apps/sec/secrets/API_KEY")).toEqual({
            status: 404,
            body: { error: "secret not found" },
        });

        expect(await call("GET", "/__emulator/secret-values/sec")).toEqual({
            status: 200,
            body: { app: "sec", version: 5, values: { DATABASE_URL: "postgres://two" } },
        });
        const inventoryText = JSON.stringify(await call("GET", "/__emulator/inventory"));
        expect(inventoryText).toContain("DATABASE_URL");
        expect(inventoryText).not.toContain("postgres://");
    });
});

describe("IPs and certificates", () => {
    beforeAll(() => createApp("net"));

    test("shared_v4 is one address; v6 and v4 are allocated; release", async () => {
        const shared = await call("POST", "/v1/apps/net/ip_assignments", { type: "shared_v4" });
        expect(shared.body).toEqual({
            ip: "66.241.124.100",
            region: "global",
            service_name: "",
            shared: true,
            created_at: expect.any(String),
        });
        expect((await call("POST", "/v1/apps/net/ip_assignments", { type: "shared_v4" })).body.ip).toBe(
            "66.241.124.100",
        );
        const v6 = await call("POST", "/v1/apps/net/ip_assignments", { type: "v6", region: "global" });
        expect(v6.body.ip).toMatch(/^2a09:8280:1::[0-9a-f]+$/);
        expect((await call("GET", "/v1/apps/net/ip_assignments")).body.ips).toHaveLength(2);
        expect(await call("DELETE", `/v1/apps/net/ip_assignments/${v6.body.ip}`)).toEqual({
            status: 204,
            body: undefined,
        });
        expect((await call("GET", "/v1/apps/net/ip_assignments")).body.ips).toHaveLength(1);
    });

    test("ACME certificate: pending while its DNS is not valid, active once it is, with the app's CNAME target", async () => {
        const created = await call("POST", "/v1/apps/net/certificates/acme", { hostname: "Play.Example.com" });
        expect(created.status).toBe(201);
        expect(created.body).toMatchObject({
            hostname: "play.example.com",
            status: "pending_validation",
            dns_requirements: {
                cname: "net.fly.dev",
                a: ["66.241.124.100"],
                acme_challenge: { name: "_acme-challenge.play.example.com" },
            },
        });
        await new Promise((r) => setTimeout(r, 40));
        // Fly issues nothing until the hostname resolves to the app: still pending, and /check says why.
        expect((await call("GET", "/v1/apps/net/certificates/play.example.com")).body.status).toBe(
            "pending_validation",
        );
        const checked = await call("POST", "/v1/apps/net/certificates/play.example.com/check");
        expect(checked.body).toMatchObject({
            status: "pending_validation",
            configured: false,
            dns_records: { cname: [], a: [] },
            validation_errors: [
                {
                    message:
                        "play.example.com has no CNAME to net.fly.dev and no A/AAAA record with the app's addresses",
                },
            ],
        });
        expect(await call("POST", "/__emulator/dns", { hostname: "play.example.com", valid: "yes" })).toEqual({
            status: 400,
            body: { error: "invalid valid: must be a boolean (default true)" },
        });
        expect(await call("POST", "/__emulator/dns", { hostname: "play.example.com" })).toEqual({
            status: 200,
            body: { hostname: "play.example.com", valid: true, issuing_for_apps: ["net"] },
        });
        await new Promise((r) => setTimeout(r, 40));
        expect((await call("GET", "/v1/apps/net/certificates/play.example.com")).body.status).toBe("active");
        expect((await call("POST", "/v1/apps/net/certificates/play.example.com/check")).body).toMatchObject({
            status: "active",
            configured: true,
            dns_records: { cname: ["net.fly.dev"], a: ["66.241.124.100"] },
            validation_errors: [],
        });
        expect((await call("GET", "/v1/apps/net/certificates")).body).toMatchObject({
            total_count: 1,
            certificates: [{ hostname: "play.example.com", status: "active" }],
        });
        expect(await call("DELETE", "/v1/apps/net/certificates/play.example.com")).toEqual({
            status: 204,
            body: undefined,
        });
        expect(await call("GET", "/v1/apps/net/certificates/play.example.com")).toEqual({
            status: 404,
            body: { error: "certificate not found" },
        });
    });
});

describe("fault injection and request log", () => {
    beforeAll(() => createApp("flt"));

    test("503 once, then success", async () => {
        const added = await call("POST", "/__emulator/faults", {
            rules: [{ method: "POST", path: "^/v1/apps/[^/]+/machines$", times: 1, status: 503 }],
        });
        expect(added.body).toEqual({
            rules: [{ method: "POST", path: "^/v1/apps/[^/]+/machines$", times: 1, status: 503 }],
        });
        expect(await createMachine("flt")).toEqual({
            status: 503,
            body: { error: "service unavailable (injected by the fly emulator)" },
        });
        expect((await createMachine("flt")).status).toBe(200);
        expect(await call("GET", "/__emulator/faults")).toEqual({ status: 200, body: { rules: [] } });
    });

    test("insufficient_capacity in one region only", async () => {
        fly.addFaults([{ method: "POST", path: "/machines$", region: "syd", error: "insufficient_capacity" }]);
        const refused = await createMachine("flt", { region: "syd" });
        expect(refused.status).toBe(412);
        expect(refused.body).toEqual({
            error: expect.stringMatching(/^insufficient resources/),
            status: "insufficient_capacity",
        });
        expect((await createMachine("flt", { region: "fra" })).status).toBe(200);
        expect(fly.faults()).toHaveLength(1);
        expect(await call("DELETE", "/__emulator/faults")).toEqual({ status: 200, body: { ok: true } });
        expect((await createMachine("flt", { region: "syd" })).status).toBe(200);
    });

    test("DELETE ?app= clears that app's rules and keeps the others", async () => {
        fly.addFaults([
            { app: "flt", method: "POST", path: "/machines$", error: "insufficient_capacity" },
            { app: "other", method: "POST", path: "/machines$", error: "insufficient_capacity" },
        ]);
        expect(await call("DELETE", "/__emulator/faults?app=flt")).toEqual({ status: 200, body: { ok: true } });
        expect(fly.faults().map((r) => r.app)).toEqual(["other"]);
        expect((await createMachine("flt")).status).toBe(200);
        expect(await call("DELETE", "/__emulator/faults")).toEqual({ status: 200, body: { ok: true } });
        expect(fly.faults()).toEqual([]);
    });

    test("a slow response times the client out, yet the request still takes effect", async () => {
        fly.addFaults([{ method: "POST", path: "/machines$", delayMs: 150, times: 1 }]);
        const before = fly.inventory().apps.find((a) => a.name === "flt")!.machines.length;
        await expect(
            fetch(`${fly.url}/v1/apps/flt/machines`, {
                method: "POST",
                headers: AUTH,
                body: JSON.stringify({ name: "slow-one", config: machineConfig() }),
                signal: AbortSignal.timeout(30),
            }),
        ).rejects.toThrow();
        await new Promise((r) => setTimeout(r, 200));
        expect(fly.inventory().apps.find((a) => a.name === "flt")!.machines).toHaveLength(before + 1);
    });

    test("clearing the rules lets their held requests through at once, and only theirs", async () => {
        // Held for ten minutes unless released; `times: 1` makes each rule leave the list once it holds a request.
        fly.addFaults([
            { app: "flt", method: "POST", path: "/machines$", delayMs: 600_000, times: 1 },
            { app: "other", method: "POST", path: "/machines$", delayMs: 600_000, times: 1 },
        ]);
        const before = fly.inventory().apps.find((a) => a.name === "flt")!.machines.length;
        const held = createMachine("flt", { name: "held-one" });
        let otherDone = false;
        const other = createMachine("other").finally(() => (otherDone = true));
        while (fly.faults().length > 0) await new Promise((r) => setTimeout(r, 10));
        expect(await call("DELETE", "/__emulator/faults?app=flt")).toEqual({ status: 200, body: { ok: true } });
        expect((await held).status).toBe(200);
        expect(fly.inventory().apps.find((a) => a.name === "flt")!.machines).toHaveLength(before + 1);
        expect(otherDone).toBe(false);
        fly.clearFaults();
        expect((await other).status).toBe(404);
    });

    test("checks fault makes a region's started machines critical", async () => {
        const m = (await createMachine("flt", { region: "lhr" })).body;
        await waitFor("flt", m.id, "state=started");
        await new Promise((r) => setTimeout(r, 60));
        fly.addFaults([{ checks: "critical", region: "lhr" }]);
        expect((await call("GET", `/v1/apps/flt/machines/${m.id}`)).body.checks[0].status).toBe("critical");
        fly.clearFaults();
        expect((await call("GET", `/v1/apps/flt/machines/${m.id}`)).body.checks[0].status).toBe("passing");
    });

    test("request log lists method, path and status, and resets", async () => {
        expect(await call("DELETE", "/__emulator/requests")).toEqual({ status: 200, body: { ok: true } });
        await call("GET", "/v1/apps/flt/machines?region=iad");
        await call("GET", "/v1/apps/missing");
        const logged = fly.requests();
        expect(logged).toEqual([
            {
                seq: expect.any(Number),
                method: "GET",
                path: "/v1/apps/flt/machines",
                query: "region=iad",
                status: 200,
                at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
            },
            {
                seq: logged[0].seq + 1,
                method: "GET",
                path: "/v1/apps/missing",
                query: "",
                status: 404,
                at: expect.any(String),
            },
        ]);
        expect(Date.parse(logged[1].at)).toBeGreaterThanOrEqual(Date.parse(logged[0].at));
        expect((await call("GET", "/__emulator/requests")).body).toHaveLength(2);
        expect((await call("GET", `/__emulator/requests?since=${logged[0].seq}`)).body).toEqual([logged[1]]);
        expect((await call("GET", "/__emulator/requests?since=-1")).status).toBe(400);
        fly.resetRequests();
        expect(fly.requests()).toEqual([]);
    });
});

describe("persistence", () => {
    test("a new emulator on the same state dir has the same inventory", async () => {
        await createApp("persist");
        const m = (await createMachine("persist", { name: "keep" })).body;
        await call("POST", "/v1/apps/persist/secrets", { values: { TOKEN_SECRET: "s3cr3t" } });
        await waitFor("persist", m.id, "state=started");
        // Let every machine of the earlier tests settle, so no transition lands between the snapshot and the stop.
        const transient = ["starting", "updating", "restarting", "stopping", "suspending", "destroying"];
        const unsettled = () =>
            fly.inventory().apps.flatMap((a) => a.machines.filter((x) => transient.includes(x.state)));
        for (let i = 0; i < 100 && unsettled().length > 0; i++) await new Promise((r) => setTimeout(r, 10));
        expect(unsettled()).toEqual([]);
        const before = fly.inventory();
        const stateText = fs.readFileSync(fly.stateFile, "utf8");
        expect(JSON.parse(stateText).apps.length).toBe(before.apps.length);
        expect(fs.statSync(fly.stateFile).mode & 0o777).toBe(0o600);

        await fly.stop();
        fly = await startFlyEmulator({ port: 0, stateDir, token: TOKEN, transitionDelayMs: 20, timeFactor: 0.002 });
        expect(fly.inventory()).toEqual(before);
        expect(fly.secretValues("persist").values).toEqual({ TOKEN_SECRET: "s3cr3t" });
        expect((await call("GET", `/v1/apps/persist/machines/${m.id}`)).body).toMatchObject({
            state: "started",
            name: "keep",
        });
        expect((await call("GET", `/v1/apps/persist/machines/${m.id}/versions`)).body).toEqual([
            { version: m.instance_id, user_config: m.config },
        ]);
    });

    test("a state file written before versions were kept still answers GET .../versions", async () => {
        const m = (await createMachine("persist", { name: "old-format", skip_launch: true })).body;
        await fly.stop();
        const state = JSON.parse(fs.readFileSync(fly.stateFile, "utf8"));
        for (const app of state.apps) for (const machine of app.machines) delete machine.versions;
        fs.writeFileSync(fly.stateFile, JSON.stringify(state));
        fly = await startFlyEmulator({ port: 0, stateDir, token: TOKEN, transitionDelayMs: 20, timeFactor: 0.002 });
        expect((await call("GET", `/v1/apps/persist/machines/${m.id}/versions`)).body).toEqual([
            { version: m.instance_id, user_config: m.config },
        ]);
    });
});

describe("checks follow Fly's timing", () => {
    let slow: FlyEmulator;
    let slowDir: string;
    const at = (urlPath: string, init: RequestInit = {}) =>
        fetch(`${slow.url}${urlPath}`, { ...init, headers: { ...AUTH, "content-type": "application/json" } });

    beforeAll(async () => {
        slowDir = fs.mkdtempSync(path.join(os.tmpdir(), "fly-emulator-checks-"));
        // 0.05: a 2 s grace period and a 1 s interval give a first result 150 ms after the start.
        slow = await startFlyEmulator({
            port: 0,
            stateDir: slowDir,
            token: TOKEN,
            transitionDelayMs: 20,
            timeFactor: 0.05,
        });
        await at("/v1/apps", { method: "POST", body: JSON.stringify({ app_name: "timing", org_slug: "personal" }) });
    });
    afterAll(async () => {
        await slow.stop();
        fs.rmSync(slowDir, { recursive: true, force: true });
    });

    test("no result during the grace period and the first interval, then passing; a failing check reports critical", async () => {
        const config = machineConfig(undefined, {
            services: [
                {
                    protocol: "tcp",
                    internal_port: 8080,
                    checks: [{ type: "http", interval: "1s", timeout: "500ms", grace_period: "2s", path: "/healthz" }],
                },
            ],
            checks: { ready: { type: "http", port: 8080, path: "/readyz", interval: "1s", grace_period: "2s" } },
        });
        const m = (await (
            await at("/v1/apps/timing/machines", { method: "POST", body: JSON.stringify({ region: "iad", config }) })
        ).json()) as any;
        await at(`/v1/apps/timing/machines/${m.id}/wait?state=started`);
        const early = (await (await at(`/v1/apps/timing/machines/${m.id}`)).json()) as any;
        expect(early.state).toBe("started");
        expect(early.checks).toBeUndefined();

        await new Promise((r) => setTimeout(r, 250));
        const later = (await (await at(`/v1/apps/timing/machines/${m.id}`)).json()) as any;
        expect(later.checks.map((c: { name: string; status: string }) => [c.name, c.status])).toEqual([
            ["servicecheck-00-http-8080", "passing"],
            ["ready", "passing"],
        ]);
        slow.addFaults([{ checks: "critical", app: "timing" }]);
        const sick = (await (await at(`/v1/apps/timing/machines/${m.id}`)).json()) as any;
        expect(sick.checks.map((c: { status: string }) => c.status)).toEqual(["critical", "critical"]);
        slow.clearFaults();
    });

    test("an update starts the clock again: the new instance has no results until its grace period has passed", async () => {
        const config = machineConfig(undefined, {
            services: [
                { protocol: "tcp", internal_port: 8080, checks: [{ type: "tcp", interval: "1s", grace_period: "2s" }] },
            ],
        });
        const m = (await (
            await at("/v1/apps/timing/machines", { method: "POST", body: JSON.stringify({ region: "iad", config }) })
        ).json()) as any;
        await at(`/v1/apps/timing/machines/${m.id}/wait?state=started`);
        await new Promise((r) => setTimeout(r, 250));
        expect(((await (await at(`/v1/apps/timing/machines/${m.id}`)).json()) as any).checks).toHaveLength(1);
        const updated = (await (
            await at(`/v1/apps/timing/machines/${m.id}`, {
                method: "POST",
                body: JSON.stringify({ config: { ...config, env: { V: "2" } } }),
            })
        ).json()) as any;
        await at(`/v1/apps/timing/machines/${m.id}/wait?state=started&version=${updated.instance_id}`);
        expect(((await (await at(`/v1/apps/timing/machines/${m.id}`)).json()) as any).checks).toBeUndefined();
    });
});

describe("capacity refusals have Fly's shapes", () => {
    beforeAll(() => createApp("cap"));

    test("a create is refused region-wide with status insufficient_capacity; an update with a bare 409 and flyd's text", async () => {
        const m = (await createMachine("cap", { region: "fra" })).body;
        await waitFor("cap", m.id, "state=started");
        fly.addFaults([{ app: "cap", method: "POST", region: "fra", error: "insufficient_capacity" }]);
        const create = await createMachine("cap", { region: "fra" });
        expect(create).toEqual({
            status: 412,
            body: {
                error: "insufficient resources available to fulfill request: could not reserve resource for machine: insufficient memory available to fulfill request",
                status: "insufficient_capacity",
            },
        });
        const update = await call("POST", `/v1/apps/cap/machines/${m.id}`, {
            config: machineConfig("registry.fly.io/fpsgame-api:v2"),
        });
        expect(update).toEqual({
            status: 409,
            body: {
                error: "aborted: could not reserve resource for machine: insufficient memory available to fulfill request",
            },
        });
        // Refused before it was handled: the machine still runs its old config.
        expect((await call("GET", `/v1/apps/cap/machines/${m.id}`)).body.config.image).toBe(
            "registry.fly.io/fpsgame-api:v1",
        );
    });
});

describe("rate limits", () => {
    let limited: FlyEmulator;
    let limitedDir: string;

    async function start(retryAfter: boolean): Promise<void> {
        limitedDir = fs.mkdtempSync(path.join(os.tmpdir(), "fly-emulator-rate-"));
        limited = await startFlyEmulator({
            port: 0,
            stateDir: limitedDir,
            token: TOKEN,
            transitionDelayMs: 20,
            timeFactor: 0.002,
            rateLimits: { retryAfter },
        });
    }
    afterEach(async () => {
        await limited.stop();
        fs.rmSync(limitedDir, { recursive: true, force: true });
    });
    const post = (urlPath: string, body: unknown) =>
        fetch(`${limited.url}${urlPath}`, {
            method: "POST",
            headers: { ...AUTH, "content-type": "application/json" },
            body: JSON.stringify(body),
        });

    test("creates: a burst of 3 per app, then 429 with Retry-After; other apps are counted apart; a second later one more", async () => {
        await start(true);
        for (const app of ["rl-a", "rl-b"]) await post("/v1/apps", { app_name: app, org_slug: "personal" });
        const statuses: number[] = [];
        for (let i = 0; i < 4; i++) {
            const res = await post("/v1/apps/rl-a/machines", { region: "iad", config: machineConfig() });
            statuses.push(res.status);
            if (res.status === 429) {
                expect(res.headers.get("retry-after")).toBe("1");
                expect((await res.json()) as any).toEqual({
                    error: "rate limit exceeded for POST /v1/apps/:app/machines: try again in 1s",
                });
            }
        }
        expect(statuses).toEqual([200, 200, 200, 429]);
        expect((await post("/v1/apps/rl-b/machines", { region: "iad", config: machineConfig() })).status).toBe(200);
        await new Promise((r) => setTimeout(r, 1050));
        expect((await post("/v1/apps/rl-a/machines", { region: "iad", config: machineConfig() })).status).toBe(200);
        expect(limited.requests().filter((r) => r.status === 429)).toHaveLength(1);
    });

    test("Get Machine allows a burst of 10; without retryAfter a 429 carries no Retry-After; admin endpoints are never limited", async () => {
        await start(false);
        await post("/v1/apps", { app_name: "rl-get", org_slug: "personal" });
        const m = (await (
            await post("/v1/apps/rl-get/machines", { region: "iad", config: machineConfig() })
        ).json()) as any;
        const statuses: number[] = [];
        let last: Response | undefined;
        for (let i = 0; i < 11; i++) {
            last = await fetch(`${limited.url}/v1/apps/rl-get/machines/${m.id}`, { headers: AUTH });
            statuses.push(last.status);
        }
        expect(statuses.filter((s) => s === 200)).toHaveLength(10);
        expect(statuses[10]).toBe(429);
        expect(last!.headers.get("retry-after")).toBeNull();
        for (let i = 0; i < 20; i++) {
            expect((await fetch(`${limited.url}/__emulator/inventory`, { headers: AUTH })).status).toBe(200);
        }
    });
});
