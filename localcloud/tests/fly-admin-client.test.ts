/**
 * A Fly client written outside this project, `fly-admin` (supabase/fly-admin, MIT, pinned 1.6.1),
 * drives a machine's whole lifecycle against the emulator: create app, create machine, list, get,
 * wait, update, versions and events, lease, stop and start, delete. Our provider and our emulator
 * were written by the same hands; this client was not, so the emulator cannot drift into a shape
 * only our provider understands. fly-admin is an unmaintained client (its last commit is from
 * 2024), so what it sends is what Fly's API looked like to an outside user, not to us.
 *
 * fly-admin's REST calls go to `${apiUrl}/v1/...`: `apiUrl` is the emulator's root. Its GraphQL
 * calls (app details, secrets, organizations) are not part of the Machines API and are not used.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import Client from "fly-admin/dist/client";
import { SignalRequestSignalEnum, StateEnum } from "fly-admin/dist/lib/types";
import { startFlyEmulator, type FlyEmulator } from "../fly-emulator/server";

const TOKEN = "fly-admin-test-token-5b2e";
const APP = "admin-app";

let stateDir: string;
let fly: FlyEmulator;
let client: Client;

const config = (image: string) => ({
    image,
    guest: { cpu_kind: "shared", cpus: 1, memory_mb: 512 },
    env: { NODE_ENV: "production" },
    services: [
        {
            protocol: "tcp",
            internal_port: 8080,
            ports: [{ port: 443, handlers: ["tls", "http"] }],
            checks: [{ type: "http", interval: "15s", timeout: "2s", path: "/healthz" }],
        },
    ],
});

beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "fly-admin-test-"));
    fly = await startFlyEmulator({ port: 0, stateDir, token: TOKEN, transitionDelayMs: 20, timeFactor: 0.002 });
    // A GraphQL URL nobody listens on: a GraphQL call would fail loudly rather than reach Fly.
    client = new Client(TOKEN, { apiUrl: fly.url, graphqlUrl: "http://127.0.0.1:9" });
});

afterAll(async () => {
    await fly.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
});

test("fly-admin runs the machine lifecycle against the emulator", async () => {
    // App
    await client.App.createApp({ app_name: APP, org_slug: "personal" });
    expect(await client.App.getApp(APP)).toMatchObject({ name: APP, organization: { slug: "personal" } });
    expect((await client.App.listApps("personal")).apps.map((a) => a.name)).toContain(APP);

    // Create, list, get
    const created = await client.Machine.createMachine({
        app_name: APP,
        name: "web-iad-1",
        region: "iad",
        config: config("registry.fly.io/fpsgame-api:v1"),
    });
    expect(created).toMatchObject({ name: "web-iad-1", region: "iad", state: "starting" });
    const id = created.id;
    expect((await client.Machine.listMachines(APP)).map((m) => m.id)).toEqual([id]);
    expect(await client.Machine.listMachines({ app_name: APP, region: "ams" })).toEqual([]);
    const got = await client.Machine.getMachine({ app_name: APP, machine_id: id });
    expect(got).toMatchObject({ id, name: "web-iad-1", instance_id: created.instance_id });

    // Wait: fly-admin sends `timeout` as "30s" minus its "s", i.e. whole seconds, as Fly wants.
    expect(
        await client.Machine.waitMachine({ app_name: APP, machine_id: id, state: StateEnum.Started, timeout: "30s" }),
    ).toMatchObject({ ok: true, state: "started", version: created.instance_id });
    await expect(
        client.Machine.waitMachine({ app_name: APP, machine_id: id, state: StateEnum.Started, timeout: "90s" }),
    ).rejects.toThrow(
        '400: {"error":"invalid_argument: timeout must be between 1s and 1m0s: got \\"90\\" (a whole number of seconds from 1 to 60)"}',
    );

    // Update: a new version, which the wait names with fly-admin's (deprecated) `instance_id`.
    const updated = await client.Machine.updateMachine({
        app_name: APP,
        machine_id: id,
        config: config("registry.fly.io/fpsgame-api:v2"),
    });
    expect(updated.instance_id).not.toBe(created.instance_id);
    expect(
        await client.Machine.waitMachine({
            app_name: APP,
            machine_id: id,
            instance_id: updated.instance_id,
            state: StateEnum.Started,
            timeout: "30",
        }),
    ).toMatchObject({ ok: true, state: "started", version: updated.instance_id });
    // fly-admin types `user_config` as a Machine; Fly's OpenAPI (`MachineVersion`) says a MachineConfig.
    const versions = await client.Machine.listVersions({ app_name: APP, machine_id: id });
    expect(versions.map((v) => [v.version, (v.user_config as unknown as { image: string }).image])).toEqual([
        [updated.instance_id, "registry.fly.io/fpsgame-api:v2"],
        [created.instance_id, "registry.fly.io/fpsgame-api:v1"],
    ]);
    const events = await client.Machine.listEvents({ app_name: APP, machine_id: id });
    expect(events.slice(0, 2).map((e) => [e.type, e.status, e.source])).toEqual([
        ["update", "started", "flyd"],
        ["update", "updating", "user"],
    ]);

    // Lease: fly-admin acquires one, but it can neither release a lease nor send the lease's
    // nonce (`fly-machine-lease-nonce`) on any call. A second acquire and any change of the
    // machine are refused while the lease holds; the release is a raw request with the nonce.
    const lease = await client.Machine.acquireLease({ app_name: APP, machine_id: id, ttl: 30, description: "test" });
    expect(lease).toMatchObject({ status: "success", data: { nonce: expect.any(String), description: "test" } });
    await expect(client.Machine.acquireLease({ app_name: APP, machine_id: id, ttl: 30 })).rejects.toThrow(
        new RegExp(`^409: .*machine ID ${id} lease currently held by`),
    );
    await expect(client.Machine.stopMachine({ app_name: APP, machine_id: id })).rejects.toThrow(/^409: /);
    expect((await client.Machine.getLease({ app_name: APP, machine_id: id })).data.nonce).toBe(lease.data.nonce);
    const released = await fetch(`${fly.url}/v1/apps/${APP}/machines/${id}/lease`, {
        method: "DELETE",
        headers: { Authorization: `Bearer ${TOKEN}`, "fly-machine-lease-nonce": lease.data.nonce },
    });
    expect(released.status).toBe(200);

    // Stop and start
    expect(
        await client.Machine.stopMachine({ app_name: APP, machine_id: id, signal: SignalRequestSignalEnum.SIGTERM }),
    ).toEqual({ ok: true });
    expect(
        await client.Machine.waitMachine({
            app_name: APP,
            machine_id: id,
            instance_id: updated.instance_id,
            state: StateEnum.Stopped,
        }),
    ).toMatchObject({ ok: true, state: "stopped" });
    await expect(
        client.Machine.waitMachine({ app_name: APP, machine_id: id, state: StateEnum.Started, timeout: "1s" }),
    ).rejects.toThrow('408: {"error":"machine failed to reach desired state, started, currently stopped"}');
    expect(await client.Machine.startMachine({ app_name: APP, machine_id: id })).toMatchObject({
        previous_state: "stopped",
    });
    await client.Machine.waitMachine({ app_name: APP, machine_id: id, state: StateEnum.Started });
    expect((await client.Machine.getMachine({ app_name: APP, machine_id: id })).state).toBe("started");

    // Delete: a started machine needs `force` (fly-admin sends `?kill=true`).
    await expect(client.Machine.deleteMachine({ app_name: APP, machine_id: id })).rejects.toThrow(
        '412: {"error":"machine still active, refusing to delete"}',
    );
    expect(await client.Machine.deleteMachine({ app_name: APP, machine_id: id, force: true })).toEqual({ ok: true });
    expect(await client.Machine.listMachines(APP)).toEqual([]);
    expect(
        await client.Machine.waitMachine({ app_name: APP, machine_id: id, state: StateEnum.Destroyed }),
    ).toMatchObject({ ok: true, state: "destroyed" });
    expect((await client.Machine.getMachine({ app_name: APP, machine_id: id })).state).toBe("destroyed");
    await expect(client.Machine.getMachine({ app_name: APP, machine_id: "00000000000000" })).rejects.toThrow(
        '404: {"error":"machine not found"}',
    );

    await client.App.deleteApp(APP);
    await expect(client.App.getApp(APP)).rejects.toThrow('404: {"error":"app not found"}');
});
