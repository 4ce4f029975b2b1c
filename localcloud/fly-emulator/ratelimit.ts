/**
 * The Machines API's rate limits, as Fly documents them (https://fly.io/docs/machines/api/working-with-machines-api/#rate-limits):
 * "1 request, per second, per action (i.e. Create Machine, Start Machine etc.) — with a short-term
 * burst limit up to 3 req/s, per action. This applies to all actions except Get Machine which is
 * 5 req/s, with a short-term burst limit up to 10 req/s. Additionally, app deletions are limited
 * to 100 per minute." Limits are "scoped per identifier. That might be Machine ID or App ID":
 * here a request that names a machine counts against that machine, any other against its app.
 *
 * A request over the limit gets `429 {"error":"rate limit exceeded ..."}`. Fly documents no
 * `Retry-After`; the emulator sends one (whole seconds until the next token) unless told not to,
 * so a client is tested both ways (see README.md).
 */

/** How the limiter is set up; `undefined` in the emulator's options means no rate limits at all. */
export interface RateLimitOptions {
    /** Multiplies every rate (2 = twice as many requests per second). The bursts stay as published. @default 1 */
    scale?: number;
    /** Send `Retry-After` with a 429. @default true */
    retryAfter?: boolean;
}

/** A token bucket: `burst` tokens, refilled at `perSecond`. */
interface Limit {
    perSecond: number;
    burst: number;
}

const DEFAULT_LIMIT: Limit = { perSecond: 1, burst: 3 };
/** Exported for the local stacks' poll interval (../stackEnv.ts), which must stay within it. */
export const GET_MACHINE_LIMIT: Limit = { perSecond: 5, burst: 10 };
const DELETE_APP_LIMIT: Limit = { perSecond: 100 / 60, burst: 100 };

interface Bucket {
    tokens: number;
    at: number;
}

/** What the limiter needs of a request: its route (the action) and the ids in its path. */
export interface RateLimitedRequest {
    method: string;
    /** The route pattern, e.g. `/v1/apps/:app/machines/:id`: one action per pattern and method. */
    route: string;
    app?: string;
    machine?: string;
}

/** `undefined` when the request may go ahead; otherwise how long until it would. */
export type RateLimitVerdict = undefined | { retryAfterMs: number };

export class RateLimiter {
    private readonly buckets = new Map<string, Bucket>();
    private readonly scale: number;
    readonly sendRetryAfter: boolean;

    constructor(opts: RateLimitOptions) {
        this.scale = opts.scale ?? 1;
        if (!(this.scale > 0)) throw new Error(`fly emulator: rate limit scale must be above 0, got ${this.scale}`);
        this.sendRetryAfter = opts.retryAfter ?? true;
    }

    /** Takes a token for the request's action and identifier, or says how long until one is there. */
    take(req: RateLimitedRequest, now: number = Date.now()): RateLimitVerdict {
        const limit = limitOf(req);
        const perSecond = limit.perSecond * this.scale;
        // App deletions count per organization on Fly; the emulator has one organization space.
        const id = req.method === "DELETE" && req.route === "/v1/apps/:app" ? "*" : (req.machine ?? req.app ?? "*");
        const key = `${req.method} ${req.route} ${id}`;
        const b = this.buckets.get(key) ?? { tokens: limit.burst, at: now };
        b.tokens = Math.min(limit.burst, b.tokens + ((now - b.at) / 1000) * perSecond);
        b.at = now;
        this.buckets.set(key, b);
        if (b.tokens >= 1) {
            b.tokens -= 1;
            return undefined;
        }
        return { retryAfterMs: ((1 - b.tokens) / perSecond) * 1000 };
    }
}

function limitOf(req: RateLimitedRequest): Limit {
    if (req.method === "GET" && req.route === "/v1/apps/:app/machines/:id") return GET_MACHINE_LIMIT;
    if (req.method === "DELETE" && req.route === "/v1/apps/:app") return DELETE_APP_LIMIT;
    return DEFAULT_LIMIT;
}
