/**
 * The Fly provider under Fly's documented rate limits (1 request per second per action and app or
 * machine, burst 3; Get Machine 5/s, burst 10), played by the emulator: a burst of creates in one
 * app meets 429s and still converges, with and without `Retry-After` (Fly documents none, so the
 * provider's own backoff must be enough).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startFlyEmulator, type FlyEmulator } from "../../localcloud/fly-emulator/server";
import { FlyProvider } from "../../providers/fly/provider/provider";
import { FlyTypes, MachineInputs } from "../../providers/fly/types";

const TOKEN = "fly-rate-token-51d0";
const APP = "fpsgame-rate";
const urn = (type: string, name: string) => `urn:pulumi:test::fpsgame::${type}::${name}`;
const saved = { token: process.env.FLY_API_TOKEN, url: process.env.FLY_API_URL };

function machineInputs(n: number): MachineInputs {
    return {
        app: APP,
        region: "iad",
        name: `${APP}-iad-${n}`,
        image: "registry.fly.io/fpsgame-api:v1",
        guest: { cpuKind: "shared", cpus: 1, memoryMb: 512 },
        env: { NODE_ENV: "production" },
        services: [
            {
                protocol: "tcp",
                internalPort: 8080,
                ports: [{ port: 443, handlers: ["tls", "http"] }],
                autostop: "off",
                autostart: true,
                minMachinesRunning: 1,
                concurrency: { type: "connections", softLimit: 200, hardLimit: 250 },
                checks: [{ type: "http", path: "/healthz", method: "GET", interval: "15s", timeout: "2s" }],
            },
        ],
        waitTimeoutSeconds: 30,
    };
}

afterAll(() => {
    for (const [k, v] of [
        ["FLY_API_TOKEN", saved.token],
        ["FLY_API_URL", saved.url],
    ] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
    }
});

describe.each([
    ["with Retry-After", true],
    ["without Retry-After, as Fly documents none", false],
])("a burst of six creates in one app %s", (_label, retryAfter) => {
    let fly: FlyEmulator;
    let stateDir: string;
    const logged: string[] = [];

    beforeAll(async () => {
        stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "fly-rate-test-"));
        fly = await startFlyEmulator({
            port: 0,
            stateDir,
            token: TOKEN,
            transitionDelayMs: 20,
            timeFactor: 0.002,
            rateLimits: { retryAfter },
        });
        process.env.FLY_API_TOKEN = TOKEN;
        process.env.FLY_API_URL = fly.url;
    });
    afterAll(async () => {
        await fly.stop();
        fs.rmSync(stateDir, { recursive: true, force: true });
    });

    test("meets 429s, retries, and ends with exactly six healthy machines", async () => {
        const provider = new FlyProvider({ pollIntervalMs: 200, retryBaseDelayMs: 250, log: (m) => logged.push(m) });
        await provider.create(urn(FlyTypes.App, "app"), { name: APP, org: "personal" });
        const created = await Promise.all(
            [1, 2, 3, 4, 5, 6].map(async (n) => {
                const name = urn(FlyTypes.Machine, `api-iad-${n}`);
                const checked = await provider.check(name, {}, machineInputs(n));
                expect(checked.failures).toBeUndefined();
                return provider.create(name, checked.inputs);
            }),
        );
        const limited = fly.requests().filter((r) => r.status === 429);
        expect(limited.length).toBeGreaterThan(0);
        expect(logged.some((l) => /: rate limited by Fly \(429\); retry \d+$/.test(l))).toBe(true);
        const live = fly.inventory().apps.find((a) => a.name === APP)!.machines;
        expect(live.map((m) => m.name).sort()).toEqual([1, 2, 3, 4, 5, 6].map((n) => `${APP}-iad-${n}`));
        expect(live.every((m) => m.state === "started")).toBe(true);
        expect(created.map((c) => c.id).sort()).toEqual(live.map((m) => m.id).sort());
    }, 90_000);
});
