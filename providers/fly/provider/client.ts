/**
 * A typed client for the Fly Machines REST API (https://fly.io/docs/machines/api/; what was checked against the published API is in `localcloud/fly-emulator/PUBLISHED-API.md`).
 *
 * - The token (`FLY_API_TOKEN`) and base URL (`FLY_API_URL`, default `https://api.machines.dev`)
 *   are read from the environment on every request; nothing caches them, and no error or
 *   output carries the token.
 * - Idempotent requests (GET, DELETE, full-config updates, bulk secret sets) are retried on
 *   network errors, timeouts and 5xx with exponential backoff. Other POSTs (creates, leases, IP
 *   allocations) are retried only when the request cannot have been processed (429, a refused
 *   connection): creates are made safe to retry by name in `machine/crud.ts`.
 * - A 429 (Fly's rate limits: 1 request per second per action and machine or app, burst 3) is
 *   retried for about a minute, each wait the longer of the backoff (capped at 8 s) and
 *   `Retry-After` when sent (Fly documents none, so the backoff is what counts there).
 * - Every failure becomes a {@link FlyApiError} whose message names the operation, the app,
 *   the machine, the HTTP status and Fly's own `status`/`error`.
 */
import type { AxiosError, AxiosInstance, AxiosRequestConfig, AxiosStatic, Method } from "axios";

/**
 * axios, loaded on the first request rather than at the top of this file: the engine starts the
 * provider on every preview and update of a stack, and most of them (a preview that finds no
 * change, an update that touches no Fly resource) never send one. Loading axios and axios-retry
 * is about 0.1 CPU s of the provider's start (README.md, "How the TypeScript runs").
 */
let axiosLoaded: AxiosStatic | undefined;
async function loadAxios(): Promise<{ axios: AxiosStatic; retries: typeof import("axios-retry") }> {
    const [{ default: axios }, retries] = await Promise.all([import("axios"), import("axios-retry")]);
    axiosLoaded = axios;
    return { axios, retries };
}

export const DEFAULT_FLY_API_URL = "https://api.machines.dev";

/**
 * Fly's cap on one `GET .../wait`: "This request will block for up to 60 seconds". Fly refuses a
 * longer (or fractional) `timeout` with 400 rather than clamp it, so a longer wait is a loop of
 * capped waits (`machine/wait.ts`).
 */
export const MAX_WAIT_SECONDS = 60;

export const MISSING_TOKEN_MESSAGE =
    "FLY_API_TOKEN is not set: the Fly provider needs a Fly API token (fly tokens create deploy) in its environment";

/** Thrown before any request when `FLY_API_TOKEN` is empty. */
export class FlyTokenMissingError extends Error {
    constructor() {
        super(MISSING_TOKEN_MESSAGE);
        this.name = "FlyTokenMissingError";
    }
}

/** What a request does, for error messages: `create machine "web-1" in app "fpsgame-api"`. */
export interface FlyOperation {
    /** A verb phrase: `create machine`, `set secrets`, `allocate v4 IP`. */
    action: string;
    app: string;
    /** The machine's name, when known. */
    machine?: string;
    /** The machine's id, when known. */
    machineId?: string;
    /** Any other object the operation is about (an IP, a hostname). */
    subject?: string;
}

export function describeOperation(op: FlyOperation): string {
    let target = "";
    if (op.machine !== undefined && op.machineId !== undefined && op.machine !== op.machineId) {
        target = ` "${op.machine}" (${op.machineId})`;
    } else if (op.machine !== undefined || op.machineId !== undefined) {
        target = ` "${op.machine ?? op.machineId}"`;
    } else if (op.subject !== undefined) {
        target = ` "${op.subject}"`;
    }
    if (op.action.endsWith(" app")) {
        return `${op.action} "${op.app}"`;
    }
    return `${op.action}${target} in app "${op.app}"`;
}

/** A failed Fly API call. `status` is the HTTP status (undefined for a network error). */
export class FlyApiError extends Error {
    readonly operation: string;
    readonly status?: number;
    /** Fly's machine-readable error code, e.g. `insufficient_capacity`, `name_taken`. */
    readonly flyStatus?: string;
    /** Fly's human-readable error. */
    readonly flyError?: string;

    constructor(op: FlyOperation, detail: { status?: number; flyStatus?: string; flyError?: string; cause?: string }) {
        const what = describeOperation(op);
        const parts: string[] = [];
        if (detail.status !== undefined) {
            parts.push(detail.flyStatus ? `${detail.status} ${detail.flyStatus}` : `${detail.status}`);
        }
        const text = detail.flyError ?? detail.cause;
        super(`Fly API: ${what} failed: ${parts.join("")}${parts.length && text ? ": " : ""}${text ?? ""}`.trimEnd());
        this.name = "FlyApiError";
        this.operation = what;
        this.status = detail.status;
        this.flyStatus = detail.flyStatus;
        this.flyError = detail.flyError;
    }
}

/**
 * A refusal for lack of capacity, as Fly sends it (the checks of fly-go's superfly/fly-go#306):
 * `status` `insufficient_capacity` or `volume_placement_capacity` (a create), a 409 with flyd's
 * text when the host cannot re-reserve a machine's resources (an update or start, which carries
 * no `status`), or a 403 for an organization's regional quota. Never a name clash or a lease.
 */
export function isCapacityError(e: unknown): e is FlyApiError {
    if (!(e instanceof FlyApiError)) return false;
    if (e.flyStatus === "insufficient_capacity" || e.flyStatus === "volume_placement_capacity") return true;
    const text = e.flyError ?? "";
    if (e.status === 409) {
        return /could not reserve resource|insufficient (memory|cpu|resources)|deploys to this host are temporarily disabled/i.test(
            text,
        );
    }
    return e.status === 403 && /over the allowed quota/i.test(text);
}

/** Another client holds the machine's lease (409 `lease currently held by`, the text flyctl matches). */
export function isLeaseHeld(e: unknown): boolean {
    return e instanceof FlyApiError && e.status === 409 && /lease currently held by/i.test(e.flyError ?? "");
}

export function isNotFound(e: unknown): boolean {
    return e instanceof FlyApiError && e.status === 404;
}

/** True for failures where the request may not have reached Fly, or Fly failed transiently. */
export function isTransient(e: unknown): boolean {
    return e instanceof FlyApiError && (e.status === undefined || e.status === 429 || e.status >= 500);
}

// --------------------------------------------------------------------------------------------
// Wire types (snake_case, as Fly sends and takes them). Only the fields the provider uses.

export interface FlyGuest {
    cpu_kind: string;
    cpus: number;
    memory_mb: number;
    [extra: string]: unknown;
}

export interface FlyServiceCheck {
    type: string;
    port?: number;
    method?: string;
    path?: string;
    protocol?: string;
    interval?: string | number;
    timeout?: string | number;
    grace_period?: string | number;
    [extra: string]: unknown;
}

export interface FlyServicePort {
    port?: number;
    handlers?: string[];
    force_https?: boolean;
    [extra: string]: unknown;
}

export interface FlyService {
    protocol: string;
    internal_port: number;
    ports?: FlyServicePort[];
    /** Sent as "off" | "stop" | "suspend"; Fly answers `false`/`true` for off/stop. */
    autostop?: string | boolean;
    autostart?: boolean;
    min_machines_running?: number;
    concurrency?: { type?: string; soft_limit?: number; hard_limit?: number; [extra: string]: unknown };
    checks?: FlyServiceCheck[];
    [extra: string]: unknown;
}

export interface FlyMachineConfig {
    image: string;
    env?: Record<string, string>;
    guest?: FlyGuest;
    services?: FlyService[];
    metrics?: { port: number; path: string; [extra: string]: unknown };
    metadata?: Record<string, string>;
    restart?: { policy: string; [extra: string]: unknown };
    [extra: string]: unknown;
}

export interface FlyCheckStatus {
    name: string;
    status: string;
    output?: string;
}

export interface FlyMachine {
    id: string;
    name: string;
    state: string;
    region: string;
    instance_id: string;
    private_ip?: string;
    config?: FlyMachineConfig;
    checks?: FlyCheckStatus[];
    [extra: string]: unknown;
}

export interface FlyCreateMachineRequest {
    name: string;
    region: string;
    config: FlyMachineConfig;
    min_secrets_version?: number;
}

export interface FlyUpdateMachineRequest {
    config: FlyMachineConfig;
    min_secrets_version?: number;
}

export interface FlyLease {
    nonce: string;
    expires_at?: number;
    owner?: string;
    description?: string;
}

export interface FlyApp {
    id: string;
    name: string;
    status?: string;
    organization?: { name?: string; slug?: string };
    network?: string;
    [extra: string]: unknown;
}

export interface FlySecretsResponse {
    version?: number;
    secrets?: { name: string; digest?: string }[];
}

export interface FlyIpAssignment {
    ip: string;
    region?: string;
    service_name?: string;
    shared?: boolean;
    created_at?: string;
}

export interface FlyCertificate {
    hostname: string;
    status?: string;
    configured?: boolean;
    dns_requirements?: { cname?: string; [extra: string]: unknown };
    [extra: string]: unknown;
}

// --------------------------------------------------------------------------------------------

export interface FlyClientOptions {
    /** Per-request timeout for ordinary requests. Default 30 000 ms. */
    requestTimeoutMs?: number;
    /** Retries after the first attempt, for network errors and 5xx. Default 4. */
    retries?: number;
    /** Retries of a rate-limited request (429). Default 10: about a minute with the default delays. */
    rateLimitRetries?: number;
    /** The first retry delay; it doubles each time (plus up to 20% jitter), up to 8 s. Default 500 ms. */
    retryBaseDelayMs?: number;
    /** Receives a line for each retry (operation, status, delay); never a header or a body. */
    log?: (message: string) => void;
}

/** The longest backoff between two retries (a `Retry-After` may ask for more). */
const MAX_RETRY_DELAY_MS = 8_000;

/** Whether a request may be repeated after a failure that Fly might have processed. */
type RetryPolicy = "idempotent" | "unprocessed-only";

interface RequestSpec {
    method: Method;
    path: string;
    query?: Record<string, string | number | boolean | undefined>;
    body?: unknown;
    nonce?: string;
    retry: RetryPolicy;
    timeoutMs?: number;
}

/** The base URL without a trailing slash or `/v1`, read from `FLY_API_URL` now. */
export function flyApiBaseUrl(): string {
    const raw = (process.env.FLY_API_URL ?? "").trim() || DEFAULT_FLY_API_URL;
    return raw.replace(/\/+$/, "").replace(/\/v1$/, "");
}

/** The Authorization header value for the token in the environment now. */
function authorization(): string {
    const token = (process.env.FLY_API_TOKEN ?? "").trim();
    if (token === "") {
        throw new FlyTokenMissingError();
    }
    // Macaroon tokens (`fly tokens create deploy` prints "FlyV1 fm2_...") use the FlyV1 scheme.
    if (/^FlyV1 /.test(token) || /^Bearer /.test(token)) {
        return token;
    }
    if (/^fm\d_/.test(token)) {
        return `FlyV1 ${token}`;
    }
    return `Bearer ${token}`;
}

function enc(s: string): string {
    return encodeURIComponent(s);
}

function errorCode(e: AxiosError): string | undefined {
    return typeof e.code === "string" ? e.code : undefined;
}

/** Retry when Fly cannot have processed the request: rate-limited, or the connection was refused. */
function retryUnprocessed(e: AxiosError): boolean {
    return e.response?.status === 429 || (e.response === undefined && errorCode(e) === "ECONNREFUSED");
}

/** Retry an idempotent request on any network error or timeout, 5xx or 429. */
function retryIdempotent(e: AxiosError): boolean {
    if (retryUnprocessed(e)) {
        return true;
    }
    const status = e.response?.status;
    if (status === undefined) {
        return errorCode(e) !== "ERR_CANCELED";
    }
    return status >= 500;
}

/** How many times axios-retry has retried this request so far. */
function retriesSoFar(e: AxiosError): number {
    const state = (e.config as { "axios-retry"?: { retryCount?: number } } | undefined)?.["axios-retry"];
    return state?.retryCount ?? 0;
}

export class FlyClient {
    /** Made on the first request (see {@link loadAxios}). */
    private http?: Promise<AxiosInstance>;
    private readonly baseDelayMs: number;
    private readonly log: FlyClientOptions["log"];
    private readonly timeoutMs: number;

    private readonly retries: number;
    private readonly rateLimitRetries: number;

    constructor(opts: FlyClientOptions = {}) {
        this.timeoutMs = opts.requestTimeoutMs ?? 30_000;
        this.retries = opts.retries ?? 4;
        this.rateLimitRetries = opts.rateLimitRetries ?? 10;
        this.baseDelayMs = opts.retryBaseDelayMs ?? 500;
        this.log = opts.log;
    }

    /** The axios instance with its retries, made once. */
    private httpClient(): Promise<AxiosInstance> {
        return (this.http ??= this.makeHttp());
    }

    private async makeHttp(): Promise<AxiosInstance> {
        const { axios, retries } = await loadAxios();
        const { default: axiosRetry, retryAfter } = retries;
        const baseDelay = this.baseDelayMs;
        const log = this.log;
        // No baseURL and no headers here: both are read from the environment per request.
        const http = axios.create({ maxRedirects: 0 });
        axiosRetry(http, {
            // The larger budget; each request's retryCondition applies the one that fits its error.
            retries: Math.max(this.retries, this.rateLimitRetries),
            shouldResetTimeout: true,
            retryDelay: (n, e) => {
                const backoff = Math.min(MAX_RETRY_DELAY_MS, baseDelay * 2 ** (n - 1));
                return Math.max(backoff + Math.random() * 0.2 * backoff, retryAfter(e));
            },
            retryCondition: retryIdempotent,
            onRetry: (n, e, config) => {
                const status = e.response?.status;
                const what = `${String(config.method ?? "").toUpperCase()} ${new URL(String(config.url)).pathname}`;
                const why =
                    status === 429 ? "rate limited by Fly (429)" : status ? `HTTP ${status}` : (e.code ?? e.message);
                log?.(`${what}: ${why}; retry ${n}`);
            },
        });
        return http;
    }

    /** Sends one request and returns its JSON body; throws {@link FlyApiError}. */
    private async request<T>(op: FlyOperation, spec: RequestSpec): Promise<T> {
        const headers: Record<string, string> = {
            Authorization: authorization(),
            Accept: "application/json",
        };
        if (spec.nonce !== undefined) {
            headers["fly-machine-lease-nonce"] = spec.nonce;
        }
        const config: AxiosRequestConfig = {
            method: spec.method,
            url: `${flyApiBaseUrl()}/v1${spec.path}`,
            params: spec.query,
            data: spec.body,
            headers,
            timeout: spec.timeoutMs ?? this.timeoutMs,
            "axios-retry": {
                retryCondition: (e: AxiosError) => {
                    const budget = e.response?.status === 429 ? this.rateLimitRetries : this.retries;
                    const retryable = spec.retry === "idempotent" ? retryIdempotent : retryUnprocessed;
                    return retriesSoFar(e) < budget && retryable(e);
                },
            },
        };
        try {
            const res = await (await this.httpClient()).request<T>(config);
            return res.data;
        } catch (e) {
            throw toFlyApiError(op, e);
        }
    }

    // ---- apps ---------------------------------------------------------------------------

    getApp(app: string): Promise<FlyApp> {
        return this.request(
            { action: "get app", app },
            { method: "GET", path: `/apps/${enc(app)}`, retry: "idempotent" },
        );
    }

    createApp(req: { app_name: string; org_slug: string; network?: string }): Promise<{ id?: string }> {
        return this.request(
            { action: "create app", app: req.app_name },
            // `name` too: fly-go sends `name`, the documented field is `app_name`.
            { method: "POST", path: "/apps", body: { ...req, name: req.app_name }, retry: "unprocessed-only" },
        );
    }

    async deleteApp(app: string): Promise<void> {
        await this.request(
            { action: "delete app", app },
            { method: "DELETE", path: `/apps/${enc(app)}`, retry: "idempotent" },
        );
    }

    // ---- machines -----------------------------------------------------------------------

    listMachines(app: string): Promise<FlyMachine[]> {
        return this.request(
            { action: "list machines", app },
            { method: "GET", path: `/apps/${enc(app)}/machines`, retry: "idempotent" },
        );
    }

    getMachine(app: string, id: string, name?: string): Promise<FlyMachine> {
        return this.request(
            { action: "get machine", app, machine: name, machineId: id },
            { method: "GET", path: `/apps/${enc(app)}/machines/${enc(id)}`, retry: "idempotent" },
        );
    }

    /** Not retried unless Fly surely did not process it: see `machine/crud.ts` for the safe retry by name. */
    createMachine(app: string, req: FlyCreateMachineRequest): Promise<FlyMachine> {
        return this.request(
            { action: "create machine", app, machine: req.name },
            { method: "POST", path: `/apps/${enc(app)}/machines`, body: req, retry: "unprocessed-only" },
        );
    }

    /** A full-config update: the same body twice leaves the same config, so it is retried. */
    updateMachine(
        app: string,
        id: string,
        name: string,
        req: FlyUpdateMachineRequest,
        nonce: string | undefined,
    ): Promise<FlyMachine> {
        return this.request(
            { action: "update machine", app, machine: name, machineId: id },
            { method: "POST", path: `/apps/${enc(app)}/machines/${enc(id)}`, body: req, nonce, retry: "idempotent" },
        );
    }

    /**
     * `GET .../wait`: resolves when the machine reaches `state` at `version` (its `instance_id`),
     * throws a FlyApiError (408 on Fly) when the timeout passes first. The timeout sent is whole
     * seconds from 1 to {@link MAX_WAIT_SECONDS} (rounded up), the only values Fly accepts.
     */
    async waitMachine(
        app: string,
        id: string,
        name: string,
        state: "started" | "stopped" | "destroyed",
        timeoutSeconds: number,
        version?: string,
    ): Promise<void> {
        const t = Math.max(1, Math.min(MAX_WAIT_SECONDS, Math.ceil(timeoutSeconds)));
        await this.request(
            { action: `wait for ${state} state of machine`, app, machine: name, machineId: id },
            {
                method: "GET",
                path: `/apps/${enc(app)}/machines/${enc(id)}/wait`,
                // `version`, not the deprecated `instance_id` (Fly's OpenAPI `Machines_wait`; fly-go sends `version`).
                query: { state, timeout: t, version },
                retry: "idempotent",
                timeoutMs: t * 1000 + 15_000,
            },
        );
    }

    async acquireLease(app: string, id: string, name: string, ttlSeconds: number): Promise<FlyLease> {
        const res = await this.request<{ data?: FlyLease; nonce?: string }>(
            { action: "acquire lease on machine", app, machine: name, machineId: id },
            {
                method: "POST",
                path: `/apps/${enc(app)}/machines/${enc(id)}/lease`,
                query: { ttl: ttlSeconds },
                body: { ttl: ttlSeconds, description: "pulumi fly provider" },
                retry: "unprocessed-only",
            },
        );
        const nonce = res.data?.nonce ?? res.nonce;
        if (!nonce) {
            throw new FlyApiError(
                { action: "acquire lease on machine", app, machine: name, machineId: id },
                { cause: "the response has no lease nonce" },
            );
        }
        return { ...res.data, nonce };
    }

    async releaseLease(app: string, id: string, name: string, nonce: string): Promise<void> {
        await this.request(
            { action: "release lease on machine", app, machine: name, machineId: id },
            { method: "DELETE", path: `/apps/${enc(app)}/machines/${enc(id)}/lease`, nonce, retry: "idempotent" },
        );
    }

    /** `DELETE ?kill=true` (what flyctl sends): destroys a running machine too. */
    async destroyMachine(app: string, id: string, name: string, nonce: string | undefined): Promise<void> {
        await this.request(
            { action: "destroy machine", app, machine: name, machineId: id },
            {
                method: "DELETE",
                path: `/apps/${enc(app)}/machines/${enc(id)}`,
                query: { kill: true },
                nonce,
                retry: "idempotent",
            },
        );
    }

    // ---- secrets ------------------------------------------------------------------------

    /** Bulk set/unset (`null` unsets). Idempotent: the same body gives the same secrets. */
    setSecrets(app: string, values: Record<string, string | null>): Promise<FlySecretsResponse> {
        return this.request(
            { action: "set secrets", app },
            { method: "POST", path: `/apps/${enc(app)}/secrets`, body: { values }, retry: "idempotent" },
        );
    }

    listSecrets(app: string): Promise<FlySecretsResponse> {
        return this.request(
            { action: "list secrets", app },
            { method: "GET", path: `/apps/${enc(app)}/secrets`, retry: "idempotent" },
        );
    }

    // ---- IPs ----------------------------------------------------------------------------

    async listIps(app: string): Promise<FlyIpAssignment[]> {
        const res = await this.request<{ ips?: FlyIpAssignment[] }>(
            { action: "list IPs", app },
            { method: "GET", path: `/apps/${enc(app)}/ip_assignments`, retry: "idempotent" },
        );
        return res.ips ?? [];
    }

    allocateIp(app: string, req: { type: string; region?: string }): Promise<FlyIpAssignment> {
        return this.request(
            { action: `allocate ${req.type} IP`, app },
            { method: "POST", path: `/apps/${enc(app)}/ip_assignments`, body: req, retry: "unprocessed-only" },
        );
    }

    async releaseIp(app: string, ip: string): Promise<void> {
        await this.request(
            { action: "release IP", app, subject: ip },
            { method: "DELETE", path: `/apps/${enc(app)}/ip_assignments/${enc(ip)}`, retry: "idempotent" },
        );
    }

    // ---- certificates -------------------------------------------------------------------

    requestAcmeCertificate(app: string, hostname: string): Promise<FlyCertificate> {
        return this.request(
            { action: "request certificate", app, subject: hostname },
            {
                method: "POST",
                path: `/apps/${enc(app)}/certificates/acme`,
                body: { hostname },
                retry: "unprocessed-only",
            },
        );
    }

    getCertificate(app: string, hostname: string): Promise<FlyCertificate> {
        return this.request(
            { action: "get certificate", app, subject: hostname },
            { method: "GET", path: `/apps/${enc(app)}/certificates/${enc(hostname)}`, retry: "idempotent" },
        );
    }

    /** `POST …/{hostname}/check`: Fly re-validates the hostname's DNS and answers the certificate with `dns_records`. */
    checkCertificate(app: string, hostname: string): Promise<FlyCertificate> {
        return this.request(
            { action: "check certificate", app, subject: hostname },
            {
                method: "POST",
                path: `/apps/${enc(app)}/certificates/${enc(hostname)}/check`,
                retry: "idempotent",
            },
        );
    }

    async deleteCertificate(app: string, hostname: string): Promise<void> {
        await this.request(
            { action: "delete certificate", app, subject: hostname },
            { method: "DELETE", path: `/apps/${enc(app)}/certificates/${enc(hostname)}`, retry: "idempotent" },
        );
    }
}

/** Converts anything thrown by axios to a FlyApiError that carries no request config or headers. */
function toFlyApiError(op: FlyOperation, e: unknown): Error {
    if (e instanceof FlyTokenMissingError || e instanceof FlyApiError) {
        return e;
    }
    // Only a loaded axios can have thrown one.
    if (axiosLoaded?.isAxiosError(e)) {
        const res = e.response;
        if (res) {
            const body: unknown = res.data;
            let flyStatus: string | undefined;
            let flyError: string | undefined;
            if (typeof body === "object" && body !== null) {
                const b = body as Record<string, unknown>;
                flyStatus = typeof b.status === "string" ? b.status : undefined;
                flyError =
                    typeof b.error === "string" ? b.error : typeof b.message === "string" ? b.message : undefined;
            } else if (typeof body === "string" && body.trim() !== "") {
                flyError = body.trim().slice(0, 300);
            }
            flyError = flyError ?? res.statusText;
            if (res.status === 401) {
                flyError = `${flyError} (Fly rejected the token in FLY_API_TOKEN)`;
            }
            return new FlyApiError(op, { status: res.status, flyStatus, flyError });
        }
        const code = errorCode(e);
        const timedOut = code === "ECONNABORTED" || code === "ETIMEDOUT";
        return new FlyApiError(op, {
            cause: timedOut
                ? `no response from ${flyApiBaseUrl()} in time (${code})`
                : `${e.message} (${flyApiBaseUrl()})`,
        });
    }
    return new FlyApiError(op, { cause: e instanceof Error ? e.message : String(e) });
}
