/**
 * One loopback HTTP server for the local cloud's stand-ins of the services' own HTTP APIs (what
 * the commands call outside Pulumi: discovery, a branch restore, password resets), each service
 * under the prefix that its base URL in a local stack's environment ends with:
 *
 *   /api/v2   Neon        (NEON_API_URL)      neon/api.ts
 *   /upstash  Upstash     (UPSTASH_API_URL)   upstash/api.ts
 *   /vercel   Vercel      (VERCEL_API_URL)    vercel/api.ts
 *
 * A route a service does not have is a 404 in that service's error shape.
 *
 *   node --require lib/register.js localcloud/stand-ins/api.ts --port <port>
 */
import * as http from "node:http";
import { Command } from "commander";
import { API_PREFIXES, ApiError, ApiRequest, ApiResponse, ServiceApi } from "./common/http";
import { neonApi } from "./neon/api";
import { upstashApi } from "./upstash/api";
import { vercelApi } from "./vercel/api";

interface Service {
    readonly prefix: string;
    readonly api: ServiceApi;
    /** The service's body for a route it does not serve. */
    readonly notFound: (what: string) => unknown;
}

const SERVICES: readonly Service[] = [
    { prefix: API_PREFIXES.neon, api: neonApi, notFound: (what) => ({ code: "", message: what }) },
    { prefix: API_PREFIXES.upstash, api: upstashApi, notFound: (what) => what },
    {
        prefix: API_PREFIXES.vercel,
        api: vercelApi,
        notFound: (what) => ({ error: { code: "not_found", message: what } }),
    },
];

async function route(req: http.IncomingMessage, body: string): Promise<ApiResponse> {
    const url = new URL(req.url ?? "/", "http://localhost");
    const service = SERVICES.find((s) => url.pathname === s.prefix || url.pathname.startsWith(`${s.prefix}/`));
    const what = `the local cloud's API stand-ins do not serve ${req.method} ${url.pathname}`;
    if (!service) return { status: 404, body: { message: what } };
    const request: ApiRequest = {
        method: req.method ?? "GET",
        path: url.pathname.slice(service.prefix.length) || "/",
        query: url.searchParams,
        headers: req.headers,
        body,
    };
    try {
        return (await service.api(request)) ?? { status: 404, body: service.notFound(what) };
    } catch (e) {
        if (e instanceof ApiError) return { status: e.status, body: e.body };
        // An unexpected failure: its message names what failed (never a credential).
        return { status: 500, body: service.notFound((e as Error).message) };
    }
}

/** The server (not listening yet). */
export function server(): http.Server {
    return http.createServer((req, res) => {
        let body = "";
        req.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
        req.on("end", () => {
            void route(req, body).then(({ status, body: out }) => {
                res.writeHead(status, { "content-type": "application/json" });
                res.end(JSON.stringify(out));
            });
        });
    });
}

if (require.main === module) {
    const o = new Command("localcloud-apis")
        .requiredOption("--port <port>", "loopback port to listen on", (v) => Number(v))
        .parse(process.argv)
        .opts<{ port: number }>();
    server().listen(o.port, "127.0.0.1", () =>
        process.stderr.write(`API stand-ins (neon, upstash, vercel) on http://127.0.0.1:${o.port}\n`),
    );
}
