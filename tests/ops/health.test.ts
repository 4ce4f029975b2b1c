/**
 * The post-deploy health gate (ops/health.ts) against the Fly emulator's edge, whose machines
 * serve /healthz, /readyz, /metrics and a WebSocket as the image's tag says (healthy, `errors`,
 * `unhealthy`, `nows`); and the parsing of the request counters.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startFlyEmulator, type FlyEmulator } from "../../localcloud/fly-emulator/server";
import { flyLister, healthGate, requestCounters } from "../../ops/health";

const TOKEN = "gate-token-7d41";
let fly: FlyEmulator;
let stateDir: string;

async function api(method: string, urlPath: string, body?: unknown): Promise<any> {
    const res = await fetch(`${fly.url}${urlPath}`, {
        method,
        headers: { Authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return text ? JSON.parse(text) : undefined;
}

/** An app with two started machines of `image`, their checks reported. */
async function appWith(app: string, image: string): Promise<void> {
    await api("POST", "/v1/apps", { app_name: app, org_slug: "personal" });
    for (const region of ["iad", "sjc"]) {
        const m = await api("POST", `/v1/apps/${app}/machines`, {
            region,
            config: {
                image,
                services: [
                    {
                        protocol: "tcp",
                        internal_port: 8080,
                        checks: [
                            { type: "http", path: "/healthz", interval: "1s" },
                            { type: "http", path: "/readyz", interval: "1s" },
                        ],
                    },
                ],
                metrics: { port: 9091, path: "/metrics" },
            },
        });
        await api("GET", `/v1/apps/${app}/machines/${m.id}/wait?state=started`);
    }
    await new Promise((r) => setTimeout(r, 50));
}

function gate(app: string, windowSeconds = 0.5) {
    const base = `https://${app}.fly.dev`;
    return healthGate(
        {
            app,
            healthUrl: `${base}/healthz`,
            readyUrl: `${base}/readyz`,
            metricsUrl: `${base}/metrics`,
            websocketUrl: `wss://${app}.fly.dev/ws`,
            listMachines: flyLister({ FLY_API_TOKEN: TOKEN, FLY_API_URL: fly.url }, app),
            resolve: (url) => {
                const u = new URL(url);
                return { url: `${fly.url}${u.pathname}`, host: u.host };
            },
        },
        { windowSeconds },
    );
}

const summary = (r: { checks: { name: string; ok: boolean }[] }) =>
    Object.fromEntries(r.checks.map((c) => [c.name, c.ok]));

beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "health-gate-"));
    fly = await startFlyEmulator({ port: 0, stateDir, token: TOKEN, transitionDelayMs: 20, timeFactor: 0.002 });
});
afterAll(async () => {
    await fly.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
});

test("request counters: every http_requests_total sample, 5xx by code", () => {
    const text =
        '# TYPE http_requests_total counter\nhttp_requests_total{code="2xx"} 180\nhttp_requests_total{code="500",path="/x"} 20\nother 5\n';
    expect(requestCounters(text)).toEqual({ total: 200, errors: 20 });
    expect(requestCounters("nothing here\n")).toBeUndefined();
});

test("a healthy image passes every check", async () => {
    await appWith("gate-ok", "registry.fly.io/fpsgame-api:v1.4.2");
    const r = await gate("gate-ok");
    expect(summary(r)).toEqual({
        machines: true,
        healthz: true,
        readyz: true,
        metrics: true,
        websocket: true,
        "error rate": true,
    });
    expect(r.ok).toBe(true);
    expect(r.checks.find((c) => c.name === "machines")!.detail).toBe("2 started, every check passing");
    expect(r.checks.find((c) => c.name === "error rate")!.detail).toMatch(
        /^0\.0% 5xx over 0\.5s \(0 of \d+ requests; at most 5%\)$/,
    );
});

test("an image that answers 20% 5xx fails on the error rate only", async () => {
    await appWith("gate-errors", "registry.fly.io/fpsgame-api:v2.0.0-errors");
    const r = await gate("gate-errors");
    expect(summary(r)).toMatchObject({
        machines: true,
        healthz: true,
        readyz: true,
        websocket: true,
        "error rate": false,
    });
    expect(r.ok).toBe(false);
    // The image serves 20% 5xx; a short window's whole-request counts round it by a few points.
    const detail = r.checks.find((c) => c.name === "error rate")!.detail;
    expect(detail).toMatch(/^\d+\.\d% 5xx over 0\.5s \(\d+ of \d+ requests; at most 5%\)$/);
    const pct = Number(/^([\d.]+)%/.exec(detail)![1]);
    expect(pct).toBeGreaterThanOrEqual(15);
    expect(pct).toBeLessThanOrEqual(25);
});

test("an unhealthy image fails the machines' checks and /healthz; one that refuses WebSockets fails /ws", async () => {
    await appWith("gate-sick", "registry.fly.io/fpsgame-api:v2.0.0-unhealthy");
    const sick = await gate("gate-sick", 0);
    expect(summary(sick)).toMatchObject({ machines: false, healthz: false, readyz: false });
    expect(sick.checks.find((c) => c.name === "healthz")!.detail).toBe("GET https://gate-sick.fly.dev/healthz: 503");

    await appWith("gate-nows", "registry.fly.io/fpsgame-api:v2.0.0-nows");
    const nows = await gate("gate-nows", 0);
    expect(summary(nows)).toMatchObject({ machines: true, healthz: true, websocket: false });
    expect(nows.checks.find((c) => c.name === "websocket")!.detail).toBe("upgrade refused: HTTP 426");
});

test("an app with no started machine fails, and says so", async () => {
    await api("POST", "/v1/apps", { app_name: "gate-empty", org_slug: "personal" });
    const r = await gate("gate-empty", 0);
    expect(r.ok).toBe(false);
    expect(r.checks.find((c) => c.name === "machines")!.detail).toBe("no machine");
    expect(r.checks.find((c) => c.name === "healthz")!.detail).toBe("GET https://gate-empty.fly.dev/healthz: 503");
});

test("an edge fault on /readyz fails the gate's readyz only, with the machines' checks passing, and is spent after its times", async () => {
    await appWith("gate-edge", "registry.fly.io/fpsgame-api:v1.4.2");
    await api("POST", "/__emulator/faults", {
        rules: [{ app: "gate-edge", edge: true, path: "^/readyz$", status: 503, times: 1 }],
    });
    const r = await gate("gate-edge", 0);
    expect(summary(r)).toMatchObject({ machines: true, healthz: true, readyz: false, metrics: true, websocket: true });
    expect(r.checks.find((c) => c.name === "readyz")!.detail).toBe("GET https://gate-edge.fly.dev/readyz: 503");
    expect((await gate("gate-edge", 0)).ok).toBe(true);
    // An edge rule needs nothing but edge; one that also asks for an API-only effect is refused.
    const bad = await fetch(`${fly.url}/__emulator/faults`, {
        method: "POST",
        headers: { Authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify({ rules: [{ edge: true, error: "insufficient_capacity" }] }),
    });
    expect(bad.status).toBe(400);
});
