/**
 * The one way the discovery clients (`ops/adopt/{neon,upstash,vercel}.ts`) call a service's
 * HTTP API: Node's fetch, JSON in and out, and an error that names the service, the method and
 * path and the HTTP status (with the service's own message), never a credential.
 */

/** A failed call to a service's API. `status` is undefined when no answer came. */
export class ServiceApiError extends Error {
    constructor(
        readonly service: string,
        readonly method: string,
        readonly path: string,
        readonly status: number | undefined,
        detail: string,
    ) {
        super(
            status === undefined
                ? `${service} API: ${method} ${path} failed: ${detail}`
                : `${service} API: ${method} ${path} answered HTTP ${status}${detail ? `: ${detail}` : ""}`,
        );
        this.name = "ServiceApiError";
    }
}

export interface ApiCall {
    /** Names the service in errors, e.g. "Neon". */
    readonly service: string;
    readonly baseUrl: string;
    /** The path below the base URL, with its query, e.g. `/projects?search=x`. */
    readonly path: string;
    readonly headers: Readonly<Record<string, string>>;
    readonly method?: "GET" | "POST";
    /** Answers with these statuses resolve to undefined instead of failing (e.g. 404: nothing by that id). */
    readonly absentOn?: readonly number[];
    readonly timeoutMs?: number;
}

/** The message a service put in its error body (Neon `{message}`, Vercel `{error: {message}}`, Upstash a string). */
function messageOf(text: string): string {
    try {
        const v = JSON.parse(text) as unknown;
        if (typeof v === "string") return v;
        const o = v as { message?: unknown; error?: { message?: unknown } };
        const m = o?.error?.message ?? o?.message;
        if (typeof m === "string") return m;
    } catch {
        // not JSON: the text itself, shortened
    }
    return text.slice(0, 200);
}

/** Calls the API; the parsed JSON body, or undefined on an `absentOn` status. */
export async function callJson<T>(c: ApiCall): Promise<T | undefined> {
    const method = c.method ?? "GET";
    const url = `${c.baseUrl.replace(/\/+$/, "")}${c.path}`;
    let res: Response;
    try {
        res = await fetch(url, {
            method,
            headers: { accept: "application/json", ...c.headers },
            signal: AbortSignal.timeout(c.timeoutMs ?? 30_000),
        });
    } catch (e) {
        throw new ServiceApiError(c.service, method, c.path, undefined, (e as Error).message);
    }
    const text = await res.text();
    if (c.absentOn?.includes(res.status)) return undefined;
    if (!res.ok) throw new ServiceApiError(c.service, method, c.path, res.status, messageOf(text));
    try {
        return JSON.parse(text) as T;
    } catch {
        throw new ServiceApiError(c.service, method, c.path, res.status, "the answer is not JSON");
    }
}
