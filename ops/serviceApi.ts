/**
 * The HTTP client of the scripts the engine runs as `command:local:Command`s against a service's
 * own API (ops/rotate-password.ts, ops/neon-connection-uri.ts): axios with axios-retry, and the
 * one way a failed call is described.
 *
 * Retries: a network error, a timeout, 408, 423 (Neon: another operation of the project is
 * running), 429 and 5xx are tried again, whatever the method; a caller that POSTs says why
 * repeating its call is safe. Everything else fails at once.
 */
import axios, { AxiosError, AxiosInstance } from "axios";
import axiosRetry, { exponentialDelay, isNetworkError, retryAfter } from "axios-retry";

/** How one request is tried. */
export interface HttpRetryOptions {
    /** Retries of one request after the first try. @default 5 */
    readonly retries?: number;
    /** Timeout of one request, in milliseconds. @default 60000 */
    readonly requestTimeoutMs?: number;
    /** Backoff before retry N (tests pass a short one). @default axios-retry's exponential delay */
    readonly retryDelay?: (retryNumber: number) => number;
}

/** Statuses that are worth another try of the same request. */
export function isRetryableStatus(status: number | undefined): boolean {
    return status === undefined || status === 408 || status === 423 || status === 429 || status >= 500;
}

/** A client for `baseUrl` sending the `auth` headers, retrying as the file's comment says. */
export function serviceClient(baseUrl: string, auth: Record<string, string>, o: HttpRetryOptions = {}): AxiosInstance {
    const http = axios.create({
        baseURL: baseUrl.replace(/\/$/, ""),
        timeout: o.requestTimeoutMs ?? 60_000,
        headers: { ...auth, Accept: "application/json" },
        // Redirects would carry the Authorization header elsewhere; the APIs send none.
        maxRedirects: 0,
    });
    axiosRetry(http, {
        retries: o.retries ?? 5,
        shouldResetTimeout: true,
        // Any method: see the file's comment.
        retryCondition: (e: AxiosError) =>
            isNetworkError(e) || e.code === "ECONNABORTED" || isRetryableStatus(e.response?.status),
        retryDelay: (n, e) => Math.max(o.retryDelay ? o.retryDelay(n) : exponentialDelay(n, e, 500), retryAfter(e)),
    });
    return http;
}

/**
 * `Neon API POST /projects/…/reset_password: HTTP 404: role not found`: the call and the API's own
 * message (its `message` or `error` field, or a text body), never a header or a body of ours.
 */
export function describeFailure(api: string, method: string, path: string, e: unknown): string {
    if (e instanceof AxiosError) {
        const data = e.response?.data as { message?: unknown; error?: unknown } | string | undefined;
        const said =
            typeof data === "string"
                ? data
                : typeof data?.message === "string"
                  ? data.message
                  : typeof data?.error === "string"
                    ? data.error
                    : "";
        const status = e.response ? `HTTP ${e.response.status}` : (e.code ?? "no answer");
        return `${api} ${method} ${path}: ${status}${said ? `: ${said.slice(0, 300)}` : ""}`;
    }
    return `${api} ${method} ${path}: ${(e as Error).message}`;
}

/** The value of a variable the command needs, or an error naming it (never its value). */
export function requiredEnv(env: NodeJS.ProcessEnv, name: string): string {
    const v = env[name];
    if (v === undefined || v === "") throw new Error(`${name} is not set in the command's environment`);
    return v;
}
