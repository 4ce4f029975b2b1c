/**
 * The Fly provider's waits against Fly's published wait contract: one `GET .../wait` is capped at
 * 60 whole seconds (Fly refuses anything else with 400), it names the version with `version`, and a
 * longer wait is a loop of capped waits that treats each 408 as "not yet".
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { FlyEmulator, startFlyEmulator } from "../../localcloud/fly-emulator/server";
import { FlyApiError, FlyClient, FlyMachine } from "../../providers/fly/provider/client";
import { MachineNotHealthyError, waitHealthy } from "../../providers/fly/provider/machine/wait";
import { pollIntervalFromEnv } from "../../providers/fly/provider/provider";
import { localStackEnv } from "../../localcloud/stackEnv";

const TOKEN = "fly-wait-test-token-7c1e";
const APP = "wait-app";

describe("FlyClient.waitMachine against the emulator", () => {
    let fly: FlyEmulator;
    let stateDir: string;
    let machine: { id: string; instance_id: string };
    const savedEnv = { token: process.env.FLY_API_TOKEN, url: process.env.FLY_API_URL };
    const client = new FlyClient({ retryBaseDelayMs: 5, requestTimeoutMs: 5000 });

    beforeAll(async () => {
        stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "fly-wait-test-"));
        fly = await startFlyEmulator({ port: 0, stateDir, token: TOKEN, transitionDelayMs: 20, timeFactor: 0.002 });
        process.env.FLY_API_TOKEN = TOKEN;
        process.env.FLY_API_URL = fly.url;
        await client.createApp({ app_name: APP, org_slug: "personal" });
        machine = await client.createMachine(APP, {
            name: "m",
            region: "iad",
            config: { image: "registry.fly.io/app:v1" },
        });
    });

    afterAll(async () => {
        process.env.FLY_API_TOKEN = savedEnv.token;
        process.env.FLY_API_URL = savedEnv.url;
        if (savedEnv.token === undefined) delete process.env.FLY_API_TOKEN;
        if (savedEnv.url === undefined) delete process.env.FLY_API_URL;
        await fly.stop();
        fs.rmSync(stateDir, { recursive: true, force: true });
    });

    beforeEach(() => fly.resetRequests());

    test.each([
        [150, "60"],
        [60, "60"],
        [59.2, "60"],
        [2.5, "3"],
        [0.2, "1"],
        [0, "1"],
    ])("a wait of %d s is sent as timeout=%s, which the emulator accepts", async (seconds, sent) => {
        await client.waitMachine(APP, machine.id, "m", "started", seconds, machine.instance_id);
        const waits = fly.requests().filter((r) => r.path.endsWith("/wait"));
        expect(waits.map((r) => [Object.fromEntries(new URLSearchParams(r.query)), r.status])).toEqual([
            [{ state: "started", timeout: sent, version: machine.instance_id }, 200],
        ]);
    });

    test("a wait that runs out is Fly's 408, with Fly's text in the error", async () => {
        // Started, but never at this version: the wait runs out its 1 s.
        const otherVersion = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
        const err = await client
            .waitMachine(APP, machine.id, "m", "started", 0.5, otherVersion)
            .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(FlyApiError);
        expect((err as FlyApiError).status).toBe(408);
        expect((err as FlyApiError).message).toBe(
            `Fly API: wait for started state of machine "m" (${machine.id}) in app "${APP}" failed: 408: machine failed to reach desired state, started, currently started`,
        );
    });
});

describe("waitHealthy: a wait longer than Fly's cap is a loop of capped waits", () => {
    let now = 1_000_000;
    beforeEach(() => {
        now = 1_000_000;
        jest.spyOn(Date, "now").mockImplementation(() => now);
    });
    afterEach(() => jest.restoreAllMocks());

    /** A client whose waits use up their whole timeout on a simulated clock and end in Fly's 408. */
    function timingOutClient(sent: number[]): FlyClient {
        const fake = {
            waitMachine: async (app: string, id: string, name: string, state: string, timeoutSeconds: number) => {
                const t = Math.max(1, Math.min(60, Math.ceil(timeoutSeconds)));
                sent.push(t);
                now += t * 1000;
                throw new FlyApiError(
                    { action: `wait for ${state} state of machine`, app, machine: name, machineId: id },
                    { status: 408, flyError: "machine failed to reach desired state, started, currently stopped" },
                );
            },
            getMachine: async (): Promise<Partial<FlyMachine>> => ({ state: "stopped" }),
        };
        return fake as unknown as FlyClient;
    }

    test("150 s: waits of 60, 60 and 30 s, then a clear error with the machine's state", async () => {
        const sent: number[] = [];
        const ctx = { client: timingOutClient(sent), pollIntervalMs: 10, log: () => undefined };
        const err = await waitHealthy(ctx, APP, "1857156b526dd8", "web-1", "01HZX", 1, 150).catch((e: unknown) => e);
        expect(sent).toEqual([60, 60, 30]);
        expect(err).toBeInstanceOf(MachineNotHealthyError);
        expect((err as Error).message).toBe(
            `Fly: machine "web-1" (1857156b526dd8) in app "${APP}" did not reach state "started" within 150s (state: stopped)`,
        );
    });

    test("a wait that is not a timeout (here a 400) ends the loop at once", async () => {
        const fake = {
            waitMachine: async () => {
                throw new FlyApiError({ action: "wait for started state of machine", app: APP }, { status: 400 });
            },
        };
        const ctx = { client: fake as unknown as FlyClient, pollIntervalMs: 10, log: () => undefined };
        await expect(waitHealthy(ctx, APP, "1857156b526dd8", "web-1", "01HZX", 1, 150)).rejects.toThrow(
            'Fly API: wait for started state of machine in app "wait-app" failed: 400',
        );
    });
});

describe("FLY_POLL_INTERVAL_MS: how often a waiting machine is polled", () => {
    test("unset or blank is Fly's own pace, 1000 ms; a whole number within the bounds is taken as it is", () => {
        expect(pollIntervalFromEnv({})).toBe(1000);
        expect(pollIntervalFromEnv({ FLY_POLL_INTERVAL_MS: " " })).toBe(1000);
        expect(pollIntervalFromEnv({ FLY_POLL_INTERVAL_MS: "50" })).toBe(50);
        expect(pollIntervalFromEnv({ FLY_POLL_INTERVAL_MS: "60000" })).toBe(60000);
    });

    test.each(["0", "49", "60001", "1.5", "-200", "200ms", "1e3"])(
        "%j is refused with the variable, the value and the bounds",
        (value) => {
            expect(() => pollIntervalFromEnv({ FLY_POLL_INTERVAL_MS: value })).toThrow(
                `FLY_POLL_INTERVAL_MS=${JSON.stringify(value)}: allowed is a whole number of milliseconds from 50 to 60000`,
            );
        },
    );

    test("the local cloud's stacks poll at 200 ms, accepted by the provider, whatever the user's environment says", () => {
        const env = localStackEnv({ ...process.env, FLY_POLL_INTERVAL_MS: "5000" });
        expect(env.FLY_POLL_INTERVAL_MS).toBe("200");
        expect(pollIntervalFromEnv(env)).toBe(200);
    });
});
