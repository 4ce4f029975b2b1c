/**
 * The Fly edge, as far as the API's users see it: requests for `<app>.fly.dev` (or a hostname
 * with a certificate on the app) reach one of the app's started machines, round robin, as Fly's
 * proxy sends them. The emulator runs no image, so each machine plays the fpsgame API it would
 * serve: `/healthz`, `/readyz`, `/metrics` (Prometheus text with request counters that grow with
 * simulated traffic) and a WebSocket on `/ws` that echoes. The image's tag decides how healthy
 * it is, so tests can fail a post-deploy health gate:
 *
 * - a tag containing `errors` (e.g. `v2.0.0-errors`): everything answers, but 20% of the
 *   requests counted in `/metrics` are 5xx;
 * - `notready`: `/readyz` answers 503 (and so does Fly's check on it);
 * - `unhealthy`: `/healthz` and `/readyz` answer 503, and the machine's checks report critical;
 * - `nows`: the WebSocket upgrade on `/ws` is refused with 426.
 *
 * Fault rules with `edge: true` (`POST /__emulator/faults`) answer matching paths with their
 * status instead, whatever the image, and leave the machines' checks alone.
 *
 * Clients reach the edge on the emulator's own port with the app's hostname in `Host`; as on Fly,
 * `fly-force-instance-id: <machine id>` sends a request to that machine.
 */
import type * as http from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer } from "ws";
import type { Model } from "./model";
import type { CheckStatus, StoredApp, StoredMachine } from "./types";

/** Simulated requests per second each started machine serves (what `/metrics` counts). */
export const SIMULATED_RPS = 50;
/** The share of 5xx answers of an `errors` image. */
export const ERRORS_IMAGE_ERROR_RATE = 0.2;

/** How an image behaves, from its tag. */
export interface ImageBehaviour {
    healthy: boolean;
    ready: boolean;
    errorRate: number;
    websocket: boolean;
}

export function imageBehaviour(image: string): ImageBehaviour {
    const tag = /:([^:@/]+)(@|$)/.exec(image)?.[1] ?? "";
    const has = (word: string): boolean => new RegExp(`(^|[-_.])${word}([-_.]|$)`).test(tag);
    const unhealthy = has("unhealthy");
    return {
        healthy: !unhealthy,
        ready: !unhealthy && !has("notready"),
        errorRate: has("errors") ? ERRORS_IMAGE_ERROR_RATE : 0,
        websocket: !has("nows"),
    };
}

/**
 * The check status an image forces: its `/healthz` or `/readyz` would fail Fly's HTTP checks.
 * (`notready` fails only the check on the ready path; the emulator does not tell checks apart, so
 * any failing endpoint makes them critical.)
 */
export function imageCheckStatus(image: string): CheckStatus | undefined {
    const b = imageBehaviour(image);
    return b.healthy && b.ready ? undefined : "critical";
}

/** The hostname of a request, lowercased and without its port. */
function hostOf(req: http.IncomingMessage): string {
    return String(req.headers.host ?? "")
        .toLowerCase()
        .replace(/:\d+$/, "");
}

export class Edge {
    private readonly next = new Map<string, number>();
    private readonly wss = new WebSocketServer({ noServer: true });

    constructor(private readonly model: Model) {
        this.wss.on("connection", (ws) => ws.on("message", (data) => ws.send(data)));
    }

    /** The app a hostname belongs to: `<app>.fly.dev`, or a hostname with a certificate on it. */
    appFor(req: http.IncomingMessage): StoredApp | undefined {
        const host = hostOf(req);
        if (host.endsWith(".fly.dev")) return this.model.state.apps.find((a) => `${a.name}.fly.dev` === host);
        return this.model.state.apps.find((a) => a.certificates.some((c) => c.hostname === host));
    }

    /** True when the request is for the edge rather than the Machines API. */
    handles(req: http.IncomingMessage): boolean {
        const host = hostOf(req);
        return host.endsWith(".fly.dev") || this.appFor(req) !== undefined;
    }

    /** The machine that takes a request: the one `fly-force-instance-id` names, else the next started one. */
    private machineFor(app: StoredApp, req: http.IncomingMessage): StoredMachine | undefined {
        const started = app.machines.filter((m) => m.state === "started");
        const forced = req.headers["fly-force-instance-id"];
        if (typeof forced === "string" && forced !== "") return started.find((m) => m.id === forced);
        if (started.length === 0) return undefined;
        const n = this.next.get(app.name) ?? 0;
        this.next.set(app.name, n + 1);
        return started[n % started.length];
    }

    /** Answers an HTTP request for an app, as the machine Fly's proxy picked would. */
    serve(req: http.IncomingMessage, res: http.ServerResponse): void {
        const app = this.appFor(req);
        const send = (status: number, body: string, type = "text/plain; charset=utf-8"): void => {
            res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(body) });
            res.end(body);
        };
        if (!app) return send(404, `no app is served at ${hostOf(req)}\n`);
        const m = this.machineFor(app, req);
        // Fly's proxy answers 503 when no machine can take the request (none started).
        if (!m) return send(503, `no started machine in app ${app.name}\n`);
        res.setHeader("fly-region", m.region);
        res.setHeader("fly-machine-id", m.id);
        const b = imageBehaviour(String(m.config.image));
        const pathname = (req.url ?? "/").split("?")[0];
        const injected = this.model.opts.faults.takeEdge(app.name, m.region, pathname);
        if (injected !== undefined) return send(injected, "injected by the fly emulator's faults\n");
        const paths = servedPaths(m);
        if (pathname === paths.health) return b.healthy ? send(200, "ok\n") : send(503, "unhealthy\n");
        if (pathname === paths.ready) return b.ready ? send(200, "ready\n") : send(503, "not ready\n");
        if (pathname === paths.metrics) return send(200, metricsText(m, b), "text/plain; version=0.0.4");
        if (pathname === paths.websocket) return send(426, "upgrade required\n");
        return send(404, "not found\n");
    }

    /** A WebSocket upgrade for an app: accepted (an echo) on the websocket path, unless the image refuses. */
    upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
        const app = this.appFor(req);
        const m = app ? this.machineFor(app, req) : undefined;
        const refuse = (status: string): void => {
            socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
        };
        if (!m) return refuse("503 Service Unavailable");
        const pathname = (req.url ?? "/").split("?")[0];
        if (pathname !== servedPaths(m).websocket) return refuse("404 Not Found");
        if (!imageBehaviour(String(m.config.image)).websocket) return refuse("426 Upgrade Required");
        this.wss.handleUpgrade(req, socket, head, (ws) => this.wss.emit("connection", ws, req));
    }

    close(): void {
        for (const ws of this.wss.clients) ws.terminate();
        this.wss.close();
    }
}

/** The paths the API serves: from the machine's checks and metrics config, else the runbook's. */
function servedPaths(m: StoredMachine): { health: string; ready: string; metrics: string; websocket: string } {
    const checks: string[] = [];
    for (const s of Array.isArray(m.config.services) ? (m.config.services as { checks?: { path?: string }[] }[]) : []) {
        for (const c of s.checks ?? []) if (typeof c.path === "string") checks.push(c.path);
    }
    const metrics = (m.config.metrics as { path?: string } | undefined)?.path;
    return {
        health: checks[0] ?? "/healthz",
        ready: checks[1] ?? "/readyz",
        metrics: typeof metrics === "string" ? metrics : "/metrics",
        websocket: "/ws",
    };
}

/** `/metrics`: request counters by status class, growing with the time the instance has served. */
function metricsText(m: StoredMachine, b: ImageBehaviour): string {
    const seconds = Math.max(0, (Date.now() - (m.started_at_ms ?? Date.now())) / 1000);
    const total = Math.floor(seconds * SIMULATED_RPS);
    const errors = Math.floor(total * b.errorRate);
    return [
        "# HELP http_requests_total Requests served, by status class.",
        "# TYPE http_requests_total counter",
        `http_requests_total{code="2xx"} ${total - errors}`,
        `http_requests_total{code="5xx"} ${errors}`,
        "",
    ].join("\n");
}
