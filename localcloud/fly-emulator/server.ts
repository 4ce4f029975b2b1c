/**
 * A local stand-in for the Fly Machines REST API (`https://api.machines.dev`), for the project's
 * Fly provider and the end-to-end tests. It listens on loopback only, keeps its inventory in a
 * JSON file in `stateDir`, and adds test-only admin endpoints under `/__emulator/` (fault
 * injection, inventory, secret values, request log). See `README.md` beside this file.
 *
 * @example
 * const fly = await startFlyEmulator({ port: 0, stateDir: tmp, token: "test-token" });
 * await fetch(`${fly.url}/v1/apps`, { method: "POST", headers: { Authorization: "Bearer test-token" },
 *     body: JSON.stringify({ app_name: "fpsgame-api", org_slug: "personal" }) });
 * await fly.stop();
 */
import { createHash, timingSafeEqual } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { isIPv4, isIPv6 } from "node:net";
import * as path from "node:path";
import { ulid } from "ulid";
import { DEFAULT_REGION, FlyCore, type Reply } from "./emulator";
import { FaultSet, faultError } from "./faults";
import { type RateLimitOptions, RateLimiter } from "./ratelimit";
import { regionsWire } from "./regions";
import { STATE_FILE_NAME } from "./store";
import type { FaultRule, Inventory, RequestLogEntry } from "./types";
import { ApiError, badRequest, isPlainObject } from "./util";

export type {
    FaultRule,
    Inventory,
    InventoryApp,
    InventoryMachine,
    RequestLogEntry,
    IpAssignment,
    CheckStatus,
} from "./types";

export interface FlyEmulatorOptions {
    /** TCP port; `0` (the default) picks a free one. */
    port?: number;
    /** Loopback address to bind: `127.0.0.1` (default), another `127.x.y.z`, `::1` or `localhost`. Anything else is refused. */
    host?: string;
    /** Directory of the state file (`fly-emulator-state.json`); created if missing. */
    stateDir: string;
    /** The API token clients must send as `Authorization: Bearer <token>` or `FlyV1 <token>`. */
    token: string;
    /** How long transient machine states (`starting`, `stopping`, ...) last, and how long a certificate takes to issue once its DNS is valid. @default 100 */
    transitionDelayMs?: number;
    /**
     * Multiplies the health checks' grace periods and intervals: 1 is Fly's timing (a check reports
     * its first result a grace period plus an interval after the machine starts); 0.05 makes a
     * 10 s grace period half a second. @default 1
     */
    timeFactor?: number;
    /** Fly's documented rate limits (429 when exceeded); off when omitted. See `ratelimit.ts`. */
    rateLimits?: RateLimitOptions;
    /** Receives one line per request (method, path, status, duration) and lifecycle messages. Never bodies. @default no logging */
    log?: (line: string) => void;
}

export interface FlyEmulator {
    /** Base URL without `/v1`, e.g. `http://127.0.0.1:4280`. */
    url: string;
    port: number;
    /** The JSON file the inventory is persisted to. */
    stateFile: string;
    /** Stops listening, drops open connections and pending transitions. Idempotent. */
    stop(): Promise<void>;
    /** Appends fault rules (validated; throws on a bad rule). */
    addFaults(rules: FaultRule[]): void;
    clearFaults(): void;
    /** The rules still active (`times` shows the uses left). */
    faults(): FaultRule[];
    /** Apps, live machines, IPs and certificates; never secret values. */
    inventory(): Inventory;
    /** Every `/v1` request answered since the start or the last reset, oldest first. */
    requests(): RequestLogEntry[];
    resetRequests(): void;
    /** Test-only: the app's current secret values and version. Throws if the app does not exist. */
    secretValues(app: string): { app: string; version: number; values: Record<string, string> };
    /** Test-only: the secrets version and values a machine was given at its last create/update. */
    machineSecretValues(
        app: string,
        machineId: string,
    ): {
        app: string;
        machine_id: string;
        instance_id: string;
        secrets_version: number | null;
        values: Record<string, string>;
    };
}

const MAX_BODY_BYTES = 5 * 1024 * 1024;
const MAX_LOGGED_REQUESTS = 10_000;

interface RequestContext {
    params: Record<string, string>;
    query: URLSearchParams;
    body: unknown;
    nonce: string | undefined;
    /** Registers a function to run if the client goes away before the answer (long polls). */
    onCancel: (cancel: () => void) => void;
}

type Handler = (ctx: RequestContext) => Reply | Promise<Reply>;

interface Route {
    method: string;
    /** The pattern it was registered with, e.g. `/v1/apps/:app/machines/:id` (the rate limits' action). */
    pattern: string;
    segments: string[];
    handler: Handler;
    /** True for `POST /v1/apps/:app/machines`, whose region comes from the body (for region-scoped faults). */
    createsMachine?: boolean;
}

/** Returns the address to bind, or throws: the emulator holds secrets and must never listen beyond loopback. */
function loopbackHost(host: string): string {
    if (host === "localhost") return "127.0.0.1";
    if (isIPv4(host) && host.startsWith("127.")) return host;
    if (isIPv6(host) && /^(0{0,4}:){2,7}0{0,3}1$|^::1$/.test(host)) return host;
    throw new Error(
        `fly emulator: refusing to bind to ${JSON.stringify(host)}: only loopback addresses (127.0.0.1, ::1, localhost) are allowed`,
    );
}

function sha256(text: string): Buffer {
    return createHash("sha256").update(text).digest();
}

function authorized(header: string | undefined, expected: Buffer): boolean {
    if (!header) return false;
    const match = /^(?:Bearer|FlyV1)\s+(.+)$/i.exec(header.trim());
    return match !== null && timingSafeEqual(sha256(match[1]), expected);
}

function readBody(req: http.IncomingMessage): Promise<unknown> {
    return new Promise((resolve, reject) => {
        const chunks: Buffer[] = [];
        let size = 0;
        req.on("data", (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_BODY_BYTES) {
                reject(new ApiError(413, `request body larger than ${MAX_BODY_BYTES} bytes`));
                req.destroy();
                return;
            }
            chunks.push(chunk);
        });
        req.on("error", reject);
        req.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            if (text.trim() === "") return resolve(undefined);
            try {
                resolve(JSON.parse(text));
            } catch (e) {
                reject(badRequest(`invalid JSON body: ${(e as Error).message}`));
            }
        });
    });
}

function matchRoute(
    routes: Route[],
    method: string,
    segments: string[],
): { route: Route; params: Record<string, string> } | "method" | undefined {
    let pathMatched = false;
    for (const route of routes) {
        if (route.segments.length !== segments.length) continue;
        const params: Record<string, string> = {};
        let ok = true;
        for (let i = 0; i < segments.length && ok; i++) {
            const pattern = route.segments[i];
            if (pattern.startsWith(":")) params[pattern.slice(1)] = segments[i];
            else ok = pattern === segments[i];
        }
        if (!ok) continue;
        if (route.method === method) return { route, params };
        pathMatched = true;
    }
    return pathMatched ? "method" : undefined;
}

const notImplemented =
    (what: string): Handler =>
    () => {
        throw new ApiError(501, `${what} is not implemented by the fly emulator`);
    };

/** Starts the emulator and resolves once it is listening. */
export async function startFlyEmulator(opts: FlyEmulatorOptions): Promise<FlyEmulator> {
    const host = loopbackHost(opts.host ?? "127.0.0.1");
    if (typeof opts.token !== "string" || opts.token === "")
        throw new Error("fly emulator: a non-empty token is required");
    if (!opts.stateDir) throw new Error("fly emulator: stateDir is required");
    const log = opts.log ?? ((): void => undefined);
    const expectedToken = sha256(opts.token);
    const faults = new FaultSet();
    const timeFactor = opts.timeFactor ?? 1;
    if (!(timeFactor > 0 && timeFactor <= 1000))
        throw new Error(`fly emulator: timeFactor must be above 0 and at most 1000, got ${timeFactor}`);
    const core = new FlyCore({
        stateDir: opts.stateDir,
        transitionDelayMs: opts.transitionDelayMs ?? 100,
        timeFactor,
        faults,
    });
    const limiter = opts.rateLimits ? new RateLimiter(opts.rateLimits) : undefined;
    let requestLog: RequestLogEntry[] = [];
    let requestSeq = 0;
    const sleeps = new Set<NodeJS.Timeout>();
    const sleep = (ms: number): Promise<void> =>
        new Promise((resolve) => {
            const t = setTimeout(() => {
                sleeps.delete(t);
                resolve();
            }, ms);
            sleeps.add(t);
        });

    const v1: Route[] = [];
    const admin: Route[] = [];
    const on = (
        table: Route[],
        method: string,
        pattern: string,
        handler: Handler,
        extra: Partial<Route> = {},
    ): void => {
        table.push({ method, pattern, segments: pattern.split("/").filter((s) => s !== ""), handler, ...extra });
    };
    const M = "/v1/apps/:app/machines/:id";

    // Apps
    on(v1, "GET", "/v1/apps", (c) => core.apps.listApps(c.query));
    on(v1, "POST", "/v1/apps", (c) => core.apps.createApp(c.body));
    on(v1, "GET", "/v1/apps/:app", (c) => core.apps.getApp(c.params.app));
    on(v1, "DELETE", "/v1/apps/:app", (c) => core.apps.deleteApp(c.params.app, c.query));
    // Machines
    on(v1, "GET", "/v1/apps/:app/machines", (c) => core.machines.listMachines(c.params.app, c.query));
    on(v1, "POST", "/v1/apps/:app/machines", (c) => core.machines.createMachine(c.params.app, c.body), {
        createsMachine: true,
    });
    on(v1, "GET", M, (c) => core.machines.getMachine(c.params.app, c.params.id));
    on(v1, "POST", M, (c) => core.machines.updateMachine(c.params.app, c.params.id, c.body, c.nonce));
    on(v1, "DELETE", M, (c) => core.machines.deleteMachine(c.params.app, c.params.id, c.query, c.nonce));
    on(v1, "POST", `${M}/stop`, (c) => core.machines.stopMachine(c.params.app, c.params.id, c.body, c.nonce));
    on(v1, "POST", `${M}/start`, (c) => core.machines.startMachine(c.params.app, c.params.id, c.nonce));
    on(v1, "POST", `${M}/restart`, (c) => core.machines.restartMachine(c.params.app, c.params.id, c.nonce));
    on(v1, "POST", `${M}/suspend`, (c) => core.machines.suspendMachine(c.params.app, c.params.id, c.nonce));
    on(v1, "POST", `${M}/signal`, (c) => core.machines.signalMachine(c.params.app, c.params.id, c.body, c.nonce));
    on(v1, "GET", `${M}/events`, (c) => core.machines.listEvents(c.params.app, c.params.id, c.query));
    on(v1, "GET", `${M}/versions`, (c) => core.machines.listVersions(c.params.app, c.params.id));
    on(v1, "GET", `${M}/wait`, (c) => core.machines.waitMachine(c.params.app, c.params.id, c.query, c.onCancel));
    on(v1, "POST", `${M}/lease`, (c) => core.leases.acquireLease(c.params.app, c.params.id, c.query, c.body, c.nonce));
    on(v1, "GET", `${M}/lease`, (c) => core.leases.getLease(c.params.app, c.params.id));
    on(v1, "DELETE", `${M}/lease`, (c) => core.leases.releaseLease(c.params.app, c.params.id, c.nonce));
    on(v1, "POST", `${M}/cordon`, (c) => core.machines.cordon(c.params.app, c.params.id, c.nonce, true));
    on(v1, "POST", `${M}/uncordon`, (c) => core.machines.cordon(c.params.app, c.params.id, c.nonce, false));
    on(v1, "GET", `${M}/metadata`, (c) => core.machines.getMetadata(c.params.app, c.params.id));
    on(v1, "POST", `${M}/metadata/:key`, (c) =>
        core.machines.setMetadata(c.params.app, c.params.id, c.params.key, c.body),
    );
    on(v1, "DELETE", `${M}/metadata/:key`, (c) =>
        core.machines.deleteMetadata(c.params.app, c.params.id, c.params.key),
    );
    on(v1, "POST", `${M}/exec`, notImplemented("exec"));
    on(v1, "GET", `${M}/ps`, notImplemented("ps"));
    // Platform
    on(v1, "GET", "/v1/platform/regions", () => ({ status: 200, body: regionsWire() }));
    // Secrets
    on(v1, "GET", "/v1/apps/:app/secrets", (c) => core.secrets.listSecrets(c.params.app, c.query));
    on(v1, "POST", "/v1/apps/:app/secrets", (c) => core.secrets.updateSecrets(c.params.app, c.body));
    on(v1, "GET", "/v1/apps/:app/secrets/:name", (c) => core.secrets.getSecret(c.params.app, c.params.name, c.query));
    on(v1, "POST", "/v1/apps/:app/secrets/:name", (c) => core.secrets.setSecret(c.params.app, c.params.name, c.body));
    on(v1, "DELETE", "/v1/apps/:app/secrets/:name", (c) => core.secrets.deleteSecret(c.params.app, c.params.name));
    // IP assignments
    on(v1, "GET", "/v1/apps/:app/ip_assignments", (c) => core.network.listIps(c.params.app));
    on(v1, "POST", "/v1/apps/:app/ip_assignments", (c) => core.network.assignIp(c.params.app, c.body));
    on(v1, "DELETE", "/v1/apps/:app/ip_assignments/:ip", (c) => core.network.releaseIp(c.params.app, c.params.ip));
    // Certificates
    on(v1, "GET", "/v1/apps/:app/certificates", (c) => core.network.listCertificates(c.params.app, c.query));
    on(v1, "POST", "/v1/apps/:app/certificates/acme", (c) => core.network.requestAcmeCertificate(c.params.app, c.body));
    on(v1, "POST", "/v1/apps/:app/certificates/custom", notImplemented("importing a custom certificate"));
    on(v1, "GET", "/v1/apps/:app/certificates/:hostname", (c) =>
        core.network.getCertificate(c.params.app, c.params.hostname, false),
    );
    on(v1, "POST", "/v1/apps/:app/certificates/:hostname/check", (c) =>
        core.network.getCertificate(c.params.app, c.params.hostname, true),
    );
    on(v1, "DELETE", "/v1/apps/:app/certificates/:hostname", (c) =>
        core.network.deleteCertificate(c.params.app, c.params.hostname),
    );
    on(v1, "DELETE", "/v1/apps/:app/certificates/:hostname/acme", (c) =>
        core.network.deleteCertificate(c.params.app, c.params.hostname),
    );
    // Volumes are not emulated: say so rather than answer 404 as if the app had none.
    on(v1, "GET", "/v1/apps/:app/volumes", notImplemented("volumes"));
    on(v1, "POST", "/v1/apps/:app/volumes", notImplemented("volumes"));

    // Admin (test-only)
    on(admin, "GET", "/__emulator/faults", () => ({ status: 200, body: { rules: faults.list() } }));
    on(admin, "POST", "/__emulator/faults", (c) => {
        if (!isPlainObject(c.body) || !Array.isArray(c.body.rules))
            throw badRequest('body must be {"rules": [FaultRule, ...]}');
        faults.add(c.body.rules as FaultRule[]);
        return { status: 200, body: { rules: faults.list() } };
    });
    // `?app=<name>` clears that app's rules only, so tests on different apps can run side by side.
    on(admin, "DELETE", "/__emulator/faults", (c) => {
        faults.clear(c.query.get("app") ?? undefined);
        return { status: 200, body: { ok: true } };
    });
    on(admin, "GET", "/__emulator/inventory", () => ({ status: 200, body: core.inventory() }));
    on(admin, "POST", "/__emulator/dns", (c) => core.network.setDns(c.body));
    on(admin, "GET", "/__emulator/secret-values/:app", (c) => ({
        status: 200,
        body: core.secrets.secretValues(c.params.app),
    }));
    on(admin, "GET", "/__emulator/secret-values/:app/machines/:id", (c) => ({
        status: 200,
        body: core.machines.machineSecretValues(c.params.app, c.params.id),
    }));
    // `?since=<seq>`: only the requests after that one, so tests that share one emulator never
    // need to clear the log (and so never clear each other's).
    on(admin, "GET", "/__emulator/requests", (c) => {
        const raw = c.query.get("since");
        const since = raw === null ? 0 : Number(raw);
        if (!Number.isInteger(since) || since < 0)
            throw badRequest(`invalid since ${JSON.stringify(raw)}: a request's seq (0 or more)`);
        return { status: 200, body: requestLog.filter((e) => e.seq > since).map((e) => ({ ...e })) };
    });
    on(admin, "DELETE", "/__emulator/requests", () => {
        requestLog = [];
        return { status: 200, body: { ok: true } };
    });

    async function dispatch(
        req: http.IncomingMessage,
        res: http.ServerResponse,
        method: string,
        url: URL,
    ): Promise<Reply> {
        const pathname = url.pathname;
        const isV1 = pathname === "/v1" || pathname.startsWith("/v1/");
        const isAdmin = pathname.startsWith("/__emulator/");
        if (isAdmin && pathname === "/__emulator/health" && method === "GET")
            return { status: 200, body: { ok: true } };
        if (!isV1 && !isAdmin) throw new ApiError(404, "not found");
        if (!authorized(req.headers.authorization, expectedToken)) throw new ApiError(401, "unauthorized");

        let segments: string[];
        try {
            segments = pathname
                .split("/")
                .filter((s) => s !== "")
                .map((s) => decodeURIComponent(s));
        } catch {
            throw badRequest("malformed percent-encoding in the path");
        }
        const matched = matchRoute(isV1 ? v1 : admin, method, segments);
        if (matched === undefined) throw new ApiError(404, "not found");
        if (matched === "method") throw new ApiError(405, `method ${method} not allowed on ${pathname}`);
        const { route, params } = matched;
        const body = await readBody(req);

        if (isV1 && limiter) {
            const verdict = limiter.take({ method, route: route.pattern, app: params.app, machine: params.id });
            if (verdict) {
                const seconds = Math.max(1, Math.ceil(verdict.retryAfterMs / 1000));
                return {
                    status: 429,
                    body: { error: `rate limit exceeded for ${method} ${route.pattern}: try again in ${seconds}s` },
                    headers: limiter.sendRetryAfter ? { "retry-after": String(seconds) } : undefined,
                };
            }
        }

        if (isV1 && faults.hasRequestRules()) {
            let region: string | undefined;
            if (route.createsMachine) {
                region =
                    isPlainObject(body) && typeof body.region === "string" && body.region !== ""
                        ? body.region
                        : DEFAULT_REGION;
            } else if (params.app !== undefined && params.id !== undefined) {
                region = core.machines.machineRegion(params.app, params.id);
            }
            const rule = faults.take({ method, path: pathname, app: params.app, region });
            if (rule) {
                log(`fault: ${method} ${pathname} matched ${JSON.stringify(rule)}`);
                if (rule.delayMs) await faults.hold(rule, sleep(rule.delayMs));
                if (rule.status !== undefined || rule.error !== undefined)
                    return faultError(rule, { createsMachine: route.createsMachine === true }).toReply();
            }
        }

        const nonceHeader = req.headers["fly-machine-lease-nonce"];
        const ctx: RequestContext = {
            params,
            query: url.searchParams,
            body,
            nonce: Array.isArray(nonceHeader) ? nonceHeader[0] : nonceHeader,
            onCancel: (cancel) =>
                res.on("close", () => {
                    if (!res.writableEnded) cancel();
                }),
        };
        return route.handler(ctx);
    }

    async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
        const started = Date.now();
        const method = (req.method ?? "GET").toUpperCase();
        // `Host: <app>.fly.dev` (or a certified hostname): the app as its machines serve it.
        if (core.edge.handles(req)) {
            core.edge.serve(req, res);
            log(`edge ${method} ${req.headers.host ?? ""}${req.url ?? ""} ${res.statusCode} ${Date.now() - started}ms`);
            return;
        }
        let url: URL;
        try {
            url = new URL(req.url ?? "/", "http://emulator.invalid");
        } catch {
            url = new URL("http://emulator.invalid/");
        }
        let reply: Reply;
        try {
            reply = await dispatch(req, res, method, url);
        } catch (e) {
            if (e instanceof ApiError) reply = e.toReply();
            else {
                log(`internal error on ${method} ${url.pathname}: ${(e as Error).stack ?? String(e)}`);
                reply = { status: 500, body: { error: `internal error in the fly emulator: ${(e as Error).message}` } };
            }
        }
        if (url.pathname === "/v1" || url.pathname.startsWith("/v1/")) {
            requestLog.push({
                seq: ++requestSeq,
                method,
                path: url.pathname,
                query: url.search.replace(/^\?/, ""),
                status: reply.status,
                at: new Date().toISOString(),
            });
            if (requestLog.length > MAX_LOGGED_REQUESTS) requestLog.splice(0, requestLog.length - MAX_LOGGED_REQUESTS);
        }
        log(`${method} ${url.pathname} ${reply.status} ${Date.now() - started}ms`);
        if (res.writableEnded || res.destroyed) return;
        const headers: http.OutgoingHttpHeaders = { ...reply.headers, "fly-request-id": `${ulid()}-emu` };
        if (reply.body === undefined) {
            res.writeHead(reply.status, headers);
            res.end();
        } else {
            const text = JSON.stringify(reply.body);
            res.writeHead(reply.status, {
                ...headers,
                "content-type": "application/json; charset=utf-8",
                "content-length": Buffer.byteLength(text),
            });
            res.end(text);
        }
    }

    const server = http.createServer((req, res) => {
        void handle(req, res);
    });
    // WebSocket upgrades reach the edge only (the Machines API has none).
    server.on("upgrade", (req: http.IncomingMessage, socket, head: Buffer) => {
        if (core.edge.handles(req)) core.edge.upgrade(req, socket, head);
        else socket.end("HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n");
    });
    await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(opts.port ?? 0, host, () => {
            server.off("error", reject);
            resolve();
        });
    });
    const port = (server.address() as AddressInfo).port;
    const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
    const stateFile = path.join(opts.stateDir, STATE_FILE_NAME);

    let stopping: Promise<void> | undefined;
    return {
        url,
        port,
        stateFile,
        stop(): Promise<void> {
            stopping ??= new Promise<void>((resolve) => {
                core.close();
                for (const t of sleeps) clearTimeout(t);
                sleeps.clear();
                server.close(() => resolve());
                server.closeAllConnections();
            });
            return stopping;
        },
        addFaults: (rules) => faults.add(rules),
        clearFaults: () => faults.clear(),
        faults: () => faults.list(),
        inventory: () => core.inventory(),
        requests: () => requestLog.map((e) => ({ ...e })),
        resetRequests: () => {
            requestLog = [];
        },
        secretValues: (app) => core.secrets.secretValues(app),
        machineSecretValues: (app, machineId) => core.machines.machineSecretValues(app, machineId),
    };
}
