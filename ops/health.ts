/**
 * The post-deploy health gate: what the runbook checks after a deploy, as a command checks it.
 *
 * 1. every machine of the app is `started` with all its checks passing (the Fly Machines API);
 * 2. `/healthz` and `/readyz` answer 200;
 * 3. `/metrics` is served;
 * 4. a real WebSocket upgrade on `/ws` succeeds;
 * 5. the error rate read from each machine's `/metrics` over a window stays under a threshold
 *    (the runbook: "Error rate > 5%" means roll back).
 *
 * It reads the URLs from the stack's outputs. For a local-cloud stack they are reached through
 * the Fly emulator's edge (the same port as its API, with the app's hostname in `Host`).
 */
import * as http from "http";
import * as https from "https";
import WebSocket from "ws";
import { FlyClient, FlyMachine } from "../providers/fly/provider/client";
import { ownChecks } from "../providers/fly/provider/machine/wait";

/** The runbook's threshold: an error rate above 5% means the deploy is rolled back. */
export const MAX_ERROR_RATE = 0.05;

/** One check of the gate. */
export interface GateCheck {
    name: string;
    ok: boolean;
    detail: string;
}

export interface GateResult {
    ok: boolean;
    checks: GateCheck[];
}

/** Where a URL is reached: the URL itself, or the local edge with the original host in `Host`. */
export type Resolve = (url: string) => { url: string; host?: string };

/** What the gate checks. */
export interface GateTarget {
    app: string;
    healthUrl: string;
    readyUrl: string;
    metricsUrl: string;
    websocketUrl: string;
    /** Lists the app's machines (the Fly Machines API). */
    listMachines: () => Promise<FlyMachine[]>;
    resolve: Resolve;
}

export interface GateOptions {
    /** Seconds between the two readings of the request counters. */
    windowSeconds: number;
    /** Above this share of 5xx in the window, the gate fails. */
    maxErrorRate?: number;
    log?: (line: string) => void;
}

/** Request counters from Prometheus text: every `http_requests_total` sample, and those with a 5xx code. */
export function requestCounters(text: string): { total: number; errors: number } | undefined {
    let total = 0;
    let errors = 0;
    let seen = false;
    for (const line of text.split("\n")) {
        const m = /^http_requests_total(\{[^}]*\})?\s+([0-9.eE+-]+)/.exec(line.trim());
        if (!m) continue;
        seen = true;
        const value = Number(m[2]);
        total += value;
        const code = /code="([^"]+)"/.exec(m[1] ?? "")?.[1] ?? "";
        if (/^5/.test(code)) errors += value;
    }
    return seen ? { total, errors } : undefined;
}

/**
 * A GET with Node's http/https (not fetch, which may not set `Host`: the local edge routes by it).
 * Resolves with the status and body; rejects on a network error or after 10 s.
 */
function get(
    resolve: Resolve,
    url: string,
    headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
    const r = resolve(url);
    const u = new URL(r.url);
    const client = u.protocol === "https:" ? https : http;
    return new Promise((done, fail) => {
        const req = client.request(
            u,
            { method: "GET", headers: { ...(r.host ? { host: r.host } : {}), ...headers }, timeout: 10_000 },
            (res) => {
                let body = "";
                res.setEncoding("utf8");
                res.on("data", (c: string) => (body += c));
                res.on("end", () => done({ status: res.statusCode ?? 0, body }));
            },
        );
        req.on("timeout", () => req.destroy(new Error(`GET ${url}: no answer in 10 s`)));
        req.on("error", fail);
        req.end();
    });
}

/** Opens a WebSocket and waits for the upgrade (101); resolves with what happened. */
function websocketOpens(resolve: Resolve, url: string): Promise<{ ok: boolean; detail: string }> {
    const r = resolve(url);
    return new Promise((done) => {
        const ws = new WebSocket(r.url.replace(/^http/, "ws"), {
            headers: r.host ? { host: r.host } : {},
            handshakeTimeout: 10_000,
        });
        ws.on("open", () => {
            ws.close();
            done({ ok: true, detail: "upgrade accepted (101)" });
        });
        ws.on("unexpected-response", (_req, res) => {
            ws.terminate();
            done({ ok: false, detail: `upgrade refused: HTTP ${res.statusCode}` });
        });
        ws.on("error", (e) => done({ ok: false, detail: `upgrade failed: ${e.message}` }));
    });
}

/** Runs the gate. Never throws for an unhealthy app: every failure is a failed check. */
export async function healthGate(t: GateTarget, opts: GateOptions): Promise<GateResult> {
    const checks: GateCheck[] = [];
    const add = (c: GateCheck): void => {
        checks.push(c);
        opts.log?.(`  ${c.ok ? "ok  " : "FAIL"} ${c.name}: ${c.detail}`);
    };
    const guard = async (name: string, f: () => Promise<GateCheck>): Promise<GateCheck> => {
        try {
            return await f();
        } catch (e) {
            return { name, ok: false, detail: (e as Error).message };
        }
    };

    let machines: FlyMachine[] = [];
    add(
        await guard("machines", async () => {
            machines = (await t.listMachines()).filter((m) => m.state !== "destroyed");
            const sick = machines.filter((m) => {
                const own = ownChecks(m);
                return m.state !== "started" || own.length === 0 || own.some((k) => k.status !== "passing");
            });
            const detail = sick.length
                ? `${sick.length} of ${machines.length} not started with passing checks: ${sick
                      .map(
                          (m) =>
                              `${m.name} ${m.state}${ownChecks(m)
                                  .map((k) => ` ${k.name}=${k.status}`)
                                  .join("")}`,
                      )
                      .join("; ")}`
                : `${machines.length} started, every check passing`;
            return {
                name: "machines",
                ok: machines.length > 0 && sick.length === 0,
                detail: machines.length ? detail : "no machine",
            };
        }),
    );
    for (const [name, url] of [
        ["healthz", t.healthUrl],
        ["readyz", t.readyUrl],
    ] as const) {
        add(
            await guard(name, async () => {
                const r = await get(t.resolve, url);
                return { name, ok: r.status === 200, detail: `GET ${url}: ${r.status}` };
            }),
        );
    }
    add(
        await guard("metrics", async () => {
            const r = await get(t.resolve, t.metricsUrl);
            const counters = requestCounters(r.body);
            return {
                name: "metrics",
                ok: r.status === 200 && counters !== undefined,
                detail: `GET ${t.metricsUrl}: ${r.status}${counters ? "" : ", no http_requests_total"}`,
            };
        }),
    );
    add(
        await guard("websocket", async () => ({
            name: "websocket",
            ...(await websocketOpens(t.resolve, t.websocketUrl)),
        })),
    );

    // The error rate: each machine's counters (Fly's proxy routes to one with `fly-force-instance-id`),
    // read at the start and the end of the window.
    add(
        await guard("error rate", async () => {
            const max = opts.maxErrorRate ?? MAX_ERROR_RATE;
            const read = async (): Promise<Map<string, { total: number; errors: number }>> => {
                const out = new Map<string, { total: number; errors: number }>();
                for (const m of machines.filter((x) => x.state === "started")) {
                    const r = await get(t.resolve, t.metricsUrl, { "fly-force-instance-id": m.id });
                    const c = r.status === 200 ? requestCounters(r.body) : undefined;
                    if (c) out.set(m.id, c);
                }
                return out;
            };
            const before = await read();
            opts.log?.(`  …   error rate: watching ${before.size} machine(s) for ${opts.windowSeconds}s`);
            await new Promise((r) => setTimeout(r, opts.windowSeconds * 1000));
            const after = await read();
            let total = 0;
            let errors = 0;
            for (const [id, a] of after) {
                const b = before.get(id);
                if (!b || a.total < b.total) continue; // a restarted instance: no delta to read
                total += a.total - b.total;
                errors += a.errors - b.errors;
            }
            if (total === 0) return { name: "error rate", ok: true, detail: `no requests in ${opts.windowSeconds}s` };
            const rate = errors / total;
            return {
                name: "error rate",
                ok: rate <= max,
                detail: `${(rate * 100).toFixed(1)}% 5xx over ${opts.windowSeconds}s (${errors} of ${total} requests; at most ${(max * 100).toFixed(0)}%)`,
            };
        }),
    );
    return { ok: checks.every((c) => c.ok), checks };
}

/**
 * Runs `fn` with the stack engine's Fly token and API URL in `process.env`, where the provider's
 * client reads both on every request (it never keeps a token), and puts the old values back.
 */
export async function withFlyEnv<T>(env: NodeJS.ProcessEnv, fn: () => Promise<T>): Promise<T> {
    const saved = { token: process.env.FLY_API_TOKEN, url: process.env.FLY_API_URL };
    process.env.FLY_API_TOKEN = env.FLY_API_TOKEN ?? saved.token;
    if (env.FLY_API_URL) process.env.FLY_API_URL = env.FLY_API_URL;
    try {
        return await fn();
    } finally {
        for (const [k, v] of [
            ["FLY_API_TOKEN", saved.token],
            ["FLY_API_URL", saved.url],
        ] as const) {
            if (v === undefined) delete process.env[k];
            else process.env[k] = v;
        }
    }
}

/** A Fly client for the environment the stack's engine runs in (its token and API URL). */
export function flyLister(env: NodeJS.ProcessEnv, app: string): () => Promise<FlyMachine[]> {
    return () => withFlyEnv(env, () => new FlyClient({ retries: 2 }).listMachines(app));
}
