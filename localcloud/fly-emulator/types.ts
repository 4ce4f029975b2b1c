/**
 * Types of the Fly Machines API emulator: what it keeps on disk (`Stored*`), what tests
 * program it with (`FaultRule`), and what it reports to them (`Inventory`, `RequestLogEntry`).
 * Wire shapes follow the published Machines API (https://fly.io/docs/machines/api/) (snake_case, as Fly sends them).
 */

/** A JSON object as it arrived on the wire (a machine config is kept verbatim, after normalising). */
export type JsonObject = { [key: string]: unknown };

/** Machine states (Fly docs `machine-states.mdx`) that the emulator goes through. */
export type MachineState =
    | "created"
    | "starting"
    | "started"
    | "stopping"
    | "stopped"
    | "suspending"
    | "suspended"
    | "restarting"
    | "updating"
    | "destroying"
    | "destroyed"
    | "failed";

/** The states `GET .../wait?state=` accepts (the published enum of `Machines_wait`). */
export const WAITABLE_STATES = ["started", "stopped", "suspended", "destroyed", "failed", "settled"] as const;

/** A state `GET .../wait?state=` accepts. */
export type WaitableState = (typeof WAITABLE_STATES)[number];

/** The states `state=settled` waits for: every state that is not on its way to another. */
export const SETTLED_STATES: readonly MachineState[] = ["started", "stopped", "suspended", "failed", "destroyed"];

/** A check status, as it appears in a `Machine`'s `checks` array. */
export type CheckStatus = "passing" | "warning" | "critical";

/**
 * One fault to inject. A rule either disturbs requests (`status`, `error`, `delayMs`, matched
 * by `method`, `path`, `app`, `region`) or, when `checks` is set, changes the health-check
 * status that started machines report (matched by `app` and `region` only).
 *
 * @example { method: "POST", path: "^/v1/apps/[^/]+/machines$", times: 1, status: 503 }
 * @example { method: "POST", path: "/machines$", region: "iad", error: "insufficient_capacity" }
 * @example { path: "^/v1/apps/[^/]+/machines/[^/]+$", method: "POST", delayMs: 5000, times: 1 }
 * @example { checks: "critical", region: "iad" }
 */
export interface FaultRule {
    /** HTTP method to match, case-insensitive. Any method when omitted. */
    method?: string;
    /** A regular expression (source text) tested against the request path, without the query string. Any path when omitted. */
    path?: string;
    /** Only requests whose path names this app (`/v1/apps/{app}...`); for `checks` rules, only this app's machines. */
    app?: string;
    /**
     * Only requests aimed at this region: the `region` of a machine-create body, or the region of
     * the machine a `/machines/{id}...` path names. For `checks` rules, only machines in this region.
     */
    region?: string;
    /** How many matching requests the rule disturbs before it is used up. Unlimited when omitted; ignored by `checks` rules. */
    times?: number;
    /** Answer with this HTTP status (body `{"error": ...}`) instead of handling the request. */
    status?: number;
    /**
     * Answer with this Fly error code in the body's `status` field instead of handling the request:
     * `insufficient_capacity` (HTTP 412 unless `status` is given), `name_taken` (422), anything else (500).
     */
    error?: string;
    /** The `error` text of the injected error body; a realistic default otherwise. */
    message?: string;
    /**
     * Hold the request this long first (to trigger client timeouts). Without `status`/`error` the
     * request is then handled normally, even if the client has gone: as on a real server, a
     * timed-out request may still have taken effect.
     */
    delayMs?: number;
    /** Started machines matching `app`/`region` report every check with this status (e.g. `critical`). */
    checks?: CheckStatus;
    /**
     * Apply to requests through the edge (the app's own URLs) instead of the Machines API: `path`
     * matches the request's path, and it is answered with `status` (503 by default) by whichever
     * machine takes it. The machines' own checks are not affected: what a fault in the public
     * path looks like (a route, a dependency only the live traffic touches) while Fly's checks pass.
     */
    edge?: boolean;
}

/** One `/v1` request the emulator answered (no bodies, no headers). */
export interface RequestLogEntry {
    /** Grows by one per request, never reused (not even after a reset): `GET /__emulator/requests?since=<seq>`. */
    seq: number;
    method: string;
    /** The path without the query string, e.g. `/v1/apps/fpsgame-api/machines/1857156b526dd8`. */
    path: string;
    /** The raw query string without `?`, or `""`. */
    query: string;
    status: number;
    /** When it was answered (ISO 8601, ms): to order it against what happened elsewhere. */
    at: string;
}

/** A machine as `inventory()` reports it. */
export interface InventoryMachine {
    id: string;
    name: string;
    region: string;
    state: MachineState;
    instance_id: string;
    image: string;
    guest: unknown;
    /** The app's secrets version the machine saw at its last create/update; `null` if created with `skip_secrets`. */
    secrets_version: number | null;
    cordoned: boolean;
    config: JsonObject;
}

/** An app as `inventory()` reports it. Never carries secret values. */
export interface InventoryApp {
    name: string;
    id: string;
    org: string;
    secrets_version: number;
    secret_names: string[];
    /** Machines that are not destroyed, in creation order. */
    machines: InventoryMachine[];
    ips: IpAssignment[];
    certificates: { hostname: string; status: string }[];
}

/** Everything the emulator holds, without secret values. */
export interface Inventory {
    apps: InventoryApp[];
}

/** The wire shape of an IP assignment (fly-go `flaps.IPAssignment`). */
export interface IpAssignment {
    ip: string;
    region: string;
    service_name: string;
    shared: boolean;
    created_at: string;
}

// ---------------------------------------------------------------------------------------------
// On-disk state
// ---------------------------------------------------------------------------------------------

export interface StoredSecret {
    name: string;
    value: string;
    digest: string;
    created_at: string;
    updated_at: string;
}

export interface StoredLease {
    nonce: string;
    /** Unix milliseconds. */
    expires_at_ms: number;
    owner: string;
    description: string;
    version: string;
}

export interface StoredEvent {
    id: string;
    type: string;
    status: string;
    source: "user" | "flyd";
    /** Unix milliseconds. */
    timestamp: number;
    request?: JsonObject;
}

/** One version of a machine: the config a create or an update gave it (`GET .../versions`). */
export interface StoredVersion {
    /** The machine's `instance_id` at that version. */
    version: string;
    user_config: JsonObject;
}

export interface StoredMachine {
    id: string;
    name: string;
    region: string;
    state: MachineState;
    instance_id: string;
    private_ip: string;
    created_at: string;
    updated_at: string;
    config: JsonObject;
    cordoned: boolean;
    /** Newest first, capped. */
    events: StoredEvent[];
    /** The configs it ran, newest first, capped; absent in state files written before versions were kept. */
    versions?: StoredVersion[];
    lease?: StoredLease;
    /** The app's secrets version at the machine's last create/update (`null`: created or updated with `skip_secrets`). */
    secrets_version: number | null;
    /** The secret values the machine was given at that create/update (test-only view). */
    secret_values: Record<string, string>;
    /**
     * Unix milliseconds at which the current instance last reached `started`: its checks report
     * from a grace period and an interval after that. Absent in older state files (long started).
     */
    started_at_ms?: number;
}

export interface StoredIp extends IpAssignment {
    type: "v4" | "v6" | "shared_v4" | "private_v6";
}

export interface StoredCertificate {
    hostname: string;
    created_at: string;
    updated_at: string;
    /**
     * Unix milliseconds at which the certificate turns `active`; `null` while its DNS is not
     * valid (it stays `pending_validation`). Set once the hostname's DNS is marked valid.
     */
    ready_at_ms: number | null;
}

export interface StoredApp {
    id: string;
    name: string;
    org_slug: string;
    network: string;
    internal_numeric_id: number;
    /** Unix milliseconds. */
    created_at_ms: number;
    secrets_version: number;
    /** Sorted by name when written. */
    secrets: StoredSecret[];
    /** In creation order; destroyed machines stay (for `include_deleted`) until the app is deleted. */
    machines: StoredMachine[];
    ips: StoredIp[];
    certificates: StoredCertificate[];
}

export interface StoredState {
    format: 1;
    apps: StoredApp[];
    counters: { app_numeric_id: number; v4: number; v6: number; private_v6: number };
    /**
     * Hostnames whose DNS records a test has marked as pointing at Fly (`POST /__emulator/dns`):
     * the emulator resolves nothing, so this stands in for the world's DNS.
     */
    dns_valid?: string[];
}
