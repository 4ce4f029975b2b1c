/**
 * The small HTTP layer the local cloud's API stand-ins share (`neon/api.ts`, `upstash/api.ts`,
 * `vercel/api.ts`, routed by `stand-ins/api.ts`): a parsed request, a JSON answer, and an error
 * that carries the status and the body the real service would send.
 */
import type * as http from "node:http";

/**
 * The path prefix of each service under the one API server (`stand-ins/api.ts`): its base URL
 * in a local stack's environment is `http://127.0.0.1:<port><prefix>`. Neon's real base URL ends
 * with `/api/v2` too; Upstash's and Vercel's are bare hosts, so the prefix only names the service.
 */
export const API_PREFIXES = { neon: "/api/v2", upstash: "/upstash", vercel: "/vercel" } as const;

/** A request as a service's API sees it: the path below the service's prefix. */
export interface ApiRequest {
    readonly method: string;
    /** e.g. `/projects/aged-dust-32653049` for `GET /api/v2/projects/aged-dust-32653049`. */
    readonly path: string;
    readonly query: URLSearchParams;
    readonly headers: http.IncomingHttpHeaders;
    readonly body: string;
}

export interface ApiResponse {
    readonly status: number;
    readonly body: unknown;
}

/** An answer other than 200, with the body the real service sends for it. */
export class ApiError extends Error {
    constructor(
        readonly status: number,
        readonly body: unknown,
        message = typeof body === "string" ? body : JSON.stringify(body),
    ) {
        super(message);
    }
}

/** One service's API: its answer, or undefined when it has no such route. */
export type ServiceApi = (req: ApiRequest) => Promise<ApiResponse | undefined>;

/** The request body as a JSON object (an empty body is `{}`); `invalid` builds the service's error. */
export function jsonBody(req: ApiRequest, invalid: (why: string) => ApiError): Record<string, unknown> {
    if (req.body.trim() === "") return {};
    try {
        const v = JSON.parse(req.body) as unknown;
        if (typeof v === "object" && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
    } catch {
        // answered below
    }
    throw invalid("the request body is not a JSON object");
}

/** The bearer token of `Authorization: Bearer <token>`, or undefined. */
export function bearerToken(req: ApiRequest): string | undefined {
    return /^Bearer (\S+)$/.exec(req.headers.authorization ?? "")?.[1];
}

/** The user and password of `Authorization: Basic <base64(user:password)>`, or undefined. */
export function basicCredentials(req: ApiRequest): { user: string; password: string } | undefined {
    const m = /^Basic ([A-Za-z0-9+/=]+)$/.exec(req.headers.authorization ?? "");
    if (!m) return undefined;
    const decoded = Buffer.from(m[1], "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon <= 0 || colon === decoded.length - 1) return undefined;
    return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Matches `path` against a pattern such as `/projects/:id/branches`; the decoded parameters, or undefined. */
export function match(pattern: string, path: string): Record<string, string> | undefined {
    const ps = pattern.split("/");
    const xs = path.split("/");
    if (ps.length !== xs.length) return undefined;
    const out: Record<string, string> = {};
    for (let i = 0; i < ps.length; i++) {
        if (ps[i].startsWith(":")) {
            if (xs[i] === "") return undefined;
            out[ps[i].slice(1)] = decodeURIComponent(xs[i]);
        } else if (ps[i] !== xs[i]) return undefined;
    }
    return out;
}
