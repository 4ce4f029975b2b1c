/**
 * The Fly emulator's model: apps, machines and their state transitions, leases, secrets, IP
 * assignments and certificates, persisted after every mutation. Each operation takes already
 * parsed request parts and returns a `Reply` (or throws `ApiError`); `server.ts` does the HTTP.
 */
import { checkStatuses, normalizeConfig } from "./config";
import type { FaultSet } from "./faults";
import { loadState, saveState } from "./store";
import type {
    Inventory,
    IpAssignment,
    JsonObject,
    MachineState,
    StoredApp,
    StoredCertificate,
    StoredIp,
    StoredLease,
    StoredMachine,
    StoredState,
} from "./types";
import { WAITABLE_STATES } from "./types";
import {
    ApiError,
    badRequest,
    isPlainObject,
    newAppId,
    newMachineId,
    newMachineName,
    newNonce,
    newPrivateIp,
    newUlid,
    parseGoDuration,
    parseImageRef,
    rfc3339,
    secretDigest,
} from "./util";

/** An HTTP answer: a status and a JSON body (none for 202/204). */
export interface Reply {
    status: number;
    body?: unknown;
}

export interface CoreOptions {
    stateDir: string;
    /** How long transient states (`starting`, `stopping`, ...) last before they settle. */
    transitionDelayMs: number;
    faults: FaultSet;
}

/** Where a machine goes when it is created without a `region`. */
export const DEFAULT_REGION = "iad";
/** The one shared IPv4 address every app's `shared_v4` assignment gets. */
export const SHARED_V4_ADDRESS = "66.241.124.100";
const DEFAULT_LEASE_TTL_SECONDS = 30;
const MAX_EVENTS = 50;
const MAX_WAIT_SECONDS = 60;
const LEASE_OWNER = "local@fly-emulator";

/** Transient states and where they settle. */
const SETTLES_TO: Partial<Record<MachineState, MachineState>> = {
    starting: "started",
    updating: "started",
    restarting: "started",
    stopping: "stopped",
    suspending: "suspended",
    destroying: "destroyed",
};
const EVENT_TYPE_OF_TRANSIENT: Partial<Record<MachineState, string>> = {
    starting: "start",
    updating: "update",
    restarting: "restart",
    stopping: "stop",
    suspending: "suspend",
    destroying: "destroy",
};
/** States in which a machine refuses a plain (non-forced) delete. */
const ACTIVE_STATES: MachineState[] = ["starting", "started", "updating", "restarting", "stopping", "suspending"];
const RUNNING_STATES: MachineState[] = ["starting", "started", "updating", "restarting"];

const APP_NAME_RE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const REGION_RE = /^[a-z]{3}$/;
const SECRET_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const HOSTNAME_RE = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

interface Waiter {
    machineId: string;
    recheck: () => void;
    abort: () => void;
}

function truthy(value: string | null): boolean {
    return value === "true" || value === "1";
}

function optionalBool(body: JsonObject, key: string): boolean {
    const value = body[key];
    if (value === undefined || value === null) return false;
    if (typeof value !== "boolean") throw badRequest(`invalid ${key}: must be a boolean`);
    return value;
}

function optionalNonNegativeInt(body: JsonObject, key: string): number | undefined {
    const value = body[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "number" || !Number.isInteger(value) || value < 0)
        throw badRequest(`invalid ${key}: must be a non-negative integer`);
    return value;
}

function requireObject(body: unknown): JsonObject {
    if (!isPlainObject(body)) throw badRequest("invalid request body: a JSON object is required");
    return body;
}

export class FlyCore {
    private state: StoredState;
    private readonly timers = new Map<string, NodeJS.Timeout>();
    private readonly waiters = new Set<Waiter>();

    constructor(private readonly opts: CoreOptions) {
        this.state = loadState(opts.stateDir);
        // Machines saved mid-transition settle as if the emulator had never stopped.
        for (const app of this.state.apps) {
            for (const m of app.machines) this.scheduleSettle(app, m);
        }
        this.persist();
    }

    /** Cancels pending transitions and answers pending waits (the server is going away). */
    close(): void {
        for (const t of this.timers.values()) clearTimeout(t);
        this.timers.clear();
        for (const w of [...this.waiters]) w.abort();
        this.waiters.clear();
    }

    // -----------------------------------------------------------------------------------------
    // Apps
    // -----------------------------------------------------------------------------------------

    createApp(rawBody: unknown): Reply {
        const body = requireObject(rawBody);
        const name = body.app_name ?? body.name;
        if (typeof name !== "string" || name === "") throw badRequest("app_name is required");
        if (!APP_NAME_RE.test(name)) {
            throw badRequest(
                `invalid app_name ${JSON.stringify(name)}: use 1-63 lowercase letters, digits and dashes, not starting or ending with a dash`,
            );
        }
        const org = body.org_slug;
        if (typeof org !== "string" || org === "") throw badRequest("org_slug is required");
        if (this.state.apps.some((a) => a.name === name)) {
            // App names are global across all organizations on Fly.
            throw new ApiError(422, "Name has already been taken", "name_taken");
        }
        const network = typeof body.network === "string" ? body.network : "";
        const app: StoredApp = {
            id: newAppId(),
            name,
            org_slug: org,
            network,
            internal_numeric_id: ++this.state.counters.app_numeric_id,
            created_at_ms: Date.now(),
            secrets_version: 0,
            secrets: [],
            machines: [],
            ips: [],
            certificates: [],
        };
        this.state.apps.push(app);
        this.persist();
        return { status: 201, body: { ...this.appWire(app), created_at: app.created_at_ms } };
    }

    getApp(name: string): Reply {
        return { status: 200, body: this.appWire(this.app(name)) };
    }

    listApps(query: URLSearchParams): Reply {
        const org = query.get("org_slug");
        const apps = this.state.apps
            .filter((a) => !org || a.org_slug === org)
            .map((a) => ({
                id: a.id,
                name: a.name,
                machine_count: this.liveMachines(a).length,
                volume_count: 0,
                network: a.network,
            }));
        return { status: 200, body: { total_apps: apps.length, apps } };
    }

    deleteApp(name: string, query: URLSearchParams): Reply {
        const app = this.app(name);
        const live = this.liveMachines(app);
        if (live.length > 0 && !truthy(query.get("force"))) {
            throw new ApiError(
                412,
                `app ${name} still has ${live.length} machine(s); destroy them first or delete the app with force=true`,
            );
        }
        for (const m of live) this.destroy(m, "user");
        this.state.apps = this.state.apps.filter((a) => a !== app);
        this.persist();
        return { status: 202 };
    }

    // -----------------------------------------------------------------------------------------
    // Machines
    // -----------------------------------------------------------------------------------------

    listMachines(appName: string, query: URLSearchParams): Reply {
        const app = this.app(appName);
        const includeDeleted = truthy(query.get("include_deleted"));
        const region = query.get("region");
        const states = (query.get("state") ?? "").split(",").filter((s) => s !== "");
        const metadata: [string, string][] = [];
        for (const [key, value] of query) {
            if (key.startsWith("metadata.")) metadata.push([key.slice("metadata.".length), value]);
        }
        const machines = app.machines.filter((m) => {
            if (!includeDeleted && m.state === "destroyed") return false;
            if (region && m.region !== region) return false;
            if (states.length > 0 && !states.includes(m.state)) return false;
            const md = isPlainObject(m.config.metadata) ? m.config.metadata : {};
            return metadata.every(([k, v]) => md[k] === v);
        });
        return { status: 200, body: machines.map((m) => this.machineWire(app, m)) };
    }

    createMachine(appName: string, rawBody: unknown): Reply {
        const app = this.app(appName);
        const body = requireObject(rawBody);
        const config = normalizeConfig(body.config);
        const region =
            body.region === undefined || body.region === null || body.region === "" ? DEFAULT_REGION : body.region;
        if (typeof region !== "string" || !REGION_RE.test(region))
            throw badRequest(`invalid region ${JSON.stringify(region)}: use a three-letter Fly region code`);
        let name: string;
        if (body.name === undefined || body.name === null || body.name === "") {
            do name = newMachineName();
            while (this.liveMachines(app).some((m) => m.name === name));
        } else {
            if (typeof body.name !== "string" || body.name.length > 63)
                throw badRequest("invalid name: must be a string of at most 63 characters");
            name = body.name;
            if (this.liveMachines(app).some((m) => m.name === name)) {
                throw new ApiError(
                    409,
                    `a machine named ${JSON.stringify(name)} already exists in app ${app.name}`,
                    "name_taken",
                );
            }
        }
        const skipLaunch = optionalBool(body, "skip_launch");
        const skipRegistration = optionalBool(body, "skip_service_registration");
        const skipSecrets = optionalBool(body, "skip_secrets");
        const leaseTtl = optionalNonNegativeInt(body, "lease_ttl");
        this.checkMinSecretsVersion(app, optionalNonNegativeInt(body, "min_secrets_version"));

        const now = rfc3339();
        const m: StoredMachine = {
            id: newMachineId(),
            name,
            region,
            state: "created",
            instance_id: newUlid(),
            private_ip: newPrivateIp(app.id),
            created_at: now,
            updated_at: now,
            config,
            cordoned: skipRegistration,
            events: [],
            secrets_version: null,
            secret_values: {},
        };
        this.giveSecrets(app, m, skipSecrets);
        this.addEvent(m, "launch", "created", "user");
        app.machines.push(m);
        let nonce: string | undefined;
        if (leaseTtl !== undefined && leaseTtl > 0) {
            m.lease = this.newLease(leaseTtl, "");
            nonce = m.lease.nonce;
        }
        if (!skipLaunch) this.begin(app, m, "starting");
        this.persist();
        return { status: 200, body: this.machineWire(app, m, nonce) };
    }

    getMachine(appName: string, id: string): Reply {
        const app = this.app(appName);
        return { status: 200, body: this.machineWire(app, this.machine(app, id, { allowDestroyed: true })) };
    }

    updateMachine(appName: string, id: string, rawBody: unknown, nonce: string | undefined): Reply {
        const app = this.app(appName);
        const m = this.machine(app, id);
        this.checkLease(m, nonce);
        const body = requireObject(rawBody);
        const config = normalizeConfig(body.config);
        if (body.region !== undefined && body.region !== null && body.region !== "" && body.region !== m.region) {
            throw badRequest(
                `region is immutable: machine ${m.id} is in ${m.region}, not ${String(body.region)}; create a new machine instead`,
            );
        }
        if (body.name !== undefined && body.name !== null && body.name !== "" && body.name !== m.name) {
            throw badRequest(`name is immutable: machine ${m.id} is named ${m.name}, not ${String(body.name)}`);
        }
        if (
            typeof body.current_version === "string" &&
            body.current_version !== "" &&
            body.current_version !== m.instance_id
        ) {
            throw new ApiError(412, `machine ${m.id} is at version ${m.instance_id}, not ${body.current_version}`);
        }
        const skipLaunch = optionalBool(body, "skip_launch");
        const skipSecrets = optionalBool(body, "skip_secrets");
        this.checkMinSecretsVersion(app, optionalNonNegativeInt(body, "min_secrets_version"));
        if (body.skip_service_registration === true) m.cordoned = true;

        m.config = config;
        m.instance_id = newUlid();
        this.giveSecrets(app, m, skipSecrets);
        if (skipLaunch) {
            this.cancel(m);
            this.setState(m, m.state === "created" ? "created" : "stopped", "update", "user");
            this.notify(m);
        } else {
            this.begin(app, m, "updating");
        }
        this.persist();
        return { status: 200, body: this.machineWire(app, m) };
    }

    stopMachine(appName: string, id: string, rawBody: unknown, nonce: string | undefined): Reply {
        const app = this.app(appName);
        const m = this.machine(app, id);
        this.checkLease(m, nonce);
        if (rawBody !== undefined) {
            const body = requireObject(rawBody);
            if (
                body.timeout !== undefined &&
                body.timeout !== null &&
                typeof body.timeout === "string" &&
                parseGoDuration(body.timeout) === undefined
            ) {
                throw badRequest(`invalid timeout: ${JSON.stringify(body.timeout)} is not a duration`);
            }
        }
        if (m.state !== "stopped" && m.state !== "created") {
            this.begin(app, m, "stopping");
            this.persist();
        }
        return { status: 200, body: { ok: true } };
    }

    startMachine(appName: string, id: string, nonce: string | undefined): Reply {
        const app = this.app(appName);
        const m = this.machine(app, id);
        this.checkLease(m, nonce);
        const previous = m.state;
        if (!RUNNING_STATES.includes(m.state)) {
            this.begin(app, m, "starting");
            this.persist();
        }
        return { status: 200, body: { previous_state: previous, migrated: false, new_host: "" } };
    }

    restartMachine(appName: string, id: string, nonce: string | undefined): Reply {
        const app = this.app(appName);
        const m = this.machine(app, id);
        this.checkLease(m, nonce);
        if (!RUNNING_STATES.includes(m.state))
            throw new ApiError(412, `unable to restart machine ${m.id}: it is ${m.state}, not started`);
        this.begin(app, m, "restarting");
        this.persist();
        return { status: 200, body: { ok: true } };
    }

    suspendMachine(appName: string, id: string, nonce: string | undefined): Reply {
        const app = this.app(appName);
        const m = this.machine(app, id);
        this.checkLease(m, nonce);
        if (m.state !== "started")
            throw new ApiError(412, `unable to suspend machine ${m.id}: it is ${m.state}, not started`);
        this.begin(app, m, "suspending");
        this.persist();
        return { status: 200, body: { ok: true } };
    }

    signalMachine(appName: string, id: string, rawBody: unknown, nonce: string | undefined): Reply {
        const app = this.app(appName);
        const m = this.machine(app, id);
        this.checkLease(m, nonce);
        const body = requireObject(rawBody);
        const signal = body.signal;
        if (typeof signal !== "number" && typeof signal !== "string") throw badRequest("signal is required");
        if (!RUNNING_STATES.includes(m.state))
            throw new ApiError(412, `unable to signal machine ${m.id}: it is ${m.state}, not started`);
        if (signal === 9 || signal === "9" || signal === "SIGKILL") {
            this.begin(app, m, "stopping");
        } else {
            this.addEvent(m, "signal", m.state, "user");
        }
        this.persist();
        return { status: 200, body: { ok: true } };
    }

    deleteMachine(appName: string, id: string, query: URLSearchParams, nonce: string | undefined): Reply {
        const app = this.app(appName);
        const m = this.machine(app, id);
        this.checkLease(m, nonce);
        const force = truthy(query.get("force")) || truthy(query.get("kill"));
        if (ACTIVE_STATES.includes(m.state) && !force)
            throw new ApiError(412, "machine still active, refusing to delete");
        this.destroy(m, "user");
        this.persist();
        return { status: 200, body: { ok: true } };
    }

    /**
     * `GET .../wait`: resolves when the machine is in one of the states (and at `instance_id`,
     * if given), or with 408 after `timeout` seconds (at most 60). `onCancel` receives a
     * function that drops the wait when the client goes away.
     */
    waitMachine(
        appName: string,
        id: string,
        query: URLSearchParams,
        onCancel: (cancel: () => void) => void,
    ): Reply | Promise<Reply> {
        const app = this.app(appName);
        const m = this.machine(app, id, { allowDestroyed: true });
        const states = query
            .getAll("state")
            .flatMap((s) => s.split(","))
            .filter((s) => s !== "");
        if (states.length === 0) states.push("started");
        for (const s of states) {
            if (!(WAITABLE_STATES as readonly string[]).includes(s)) {
                throw badRequest(`invalid state ${JSON.stringify(s)}: wait supports ${WAITABLE_STATES.join(", ")}`);
            }
        }
        const instanceId = query.get("instance_id") || query.get("version") || undefined;
        const timeoutSeconds = this.waitTimeout(query.get("timeout"));
        const target = states.join(", ");
        const evaluate = (): Reply | undefined => {
            if (
                states.includes(m.state) &&
                (instanceId === undefined || m.instance_id === instanceId || m.state === "destroyed")
            ) {
                return { status: 200, body: { ok: true } };
            }
            if (m.state === "destroyed") {
                return new ApiError(412, `machine ${m.id} was destroyed while waiting for state ${target}`).toReply();
            }
            return undefined;
        };
        const now = evaluate();
        if (now) return now;
        return new Promise<Reply>((resolve) => {
            const finish = (reply: Reply): void => {
                clearTimeout(timer);
                this.waiters.delete(waiter);
                resolve(reply);
            };
            const waiter: Waiter = {
                machineId: m.id,
                recheck: () => {
                    const reply = evaluate();
                    if (reply) finish(reply);
                },
                abort: () => finish(new ApiError(503, "the fly emulator is shutting down").toReply()),
            };
            const timer = setTimeout(
                () =>
                    finish(
                        new ApiError(
                            408,
                            `deadline_exceeded: machine ${m.id} did not reach state ${target}${instanceId ? ` at instance ${instanceId}` : ""} within ${timeoutSeconds}s (it is ${m.state})`,
                        ).toReply(),
                    ),
                timeoutSeconds * 1000,
            );
            this.waiters.add(waiter);
            onCancel(() => {
                clearTimeout(timer);
                this.waiters.delete(waiter);
            });
        });
    }

    // -----------------------------------------------------------------------------------------
    // Leases, cordon, metadata
    // -----------------------------------------------------------------------------------------

    acquireLease(
        appName: string,
        id: string,
        query: URLSearchParams,
        rawBody: unknown,
        nonce: string | undefined,
    ): Reply {
        const app = this.app(appName);
        const m = this.machine(app, id);
        const body = rawBody === undefined ? {} : requireObject(rawBody);
        const ttlRaw = query.get("ttl") ?? body.ttl ?? DEFAULT_LEASE_TTL_SECONDS;
        const ttl = typeof ttlRaw === "string" ? Number(ttlRaw) : ttlRaw;
        if (typeof ttl !== "number" || !Number.isInteger(ttl) || ttl < 1)
            throw badRequest("invalid ttl: must be a positive integer number of seconds");
        const description = typeof body.description === "string" ? body.description : "";
        const current = this.activeLease(m);
        if (current) {
            if (nonce !== current.nonce) throw this.leaseConflict(m, current);
            current.expires_at_ms = Date.now() + ttl * 1000;
            current.version = newUlid();
            if (description) current.description = description;
            this.persist();
            return { status: 200, body: this.leaseWire(current) };
        }
        m.lease = this.newLease(ttl, description);
        this.persist();
        return { status: 201, body: this.leaseWire(m.lease) };
    }

    getLease(appName: string, id: string): Reply {
        const app = this.app(appName);
        const lease = this.activeLease(this.machine(app, id));
        if (!lease) throw new ApiError(404, "lease not found");
        return { status: 200, body: this.leaseWire(lease) };
    }

    releaseLease(appName: string, id: string, nonce: string | undefined): Reply {
        const app = this.app(appName);
        // Releasing after a destroy is routine (flyctl defers the release), so destroyed machines are accepted.
        const m = this.machine(app, id, { allowDestroyed: true });
        const lease = this.activeLease(m);
        if (lease) {
            if (nonce !== lease.nonce) throw this.leaseConflict(m, lease);
            delete m.lease;
            this.persist();
        }
        return { status: 200, body: { status: "success", data: { ok: true } } };
    }

    cordon(appName: string, id: string, nonce: string | undefined, cordoned: boolean): Reply {
        const app = this.app(appName);
        const m = this.machine(app, id);
        this.checkLease(m, nonce);
        m.cordoned = cordoned;
        this.addEvent(m, cordoned ? "cordon" : "uncordon", m.state, "user");
        this.persist();
        return { status: 200, body: { ok: true } };
    }

    getMetadata(appName: string, id: string): Reply {
        const app = this.app(appName);
        const m = this.machine(app, id, { allowDestroyed: true });
        return { status: 200, body: isPlainObject(m.config.metadata) ? m.config.metadata : {} };
    }

    setMetadata(appName: string, id: string, key: string, rawBody: unknown): Reply {
        const app = this.app(appName);
        const m = this.machine(app, id);
        const body = requireObject(rawBody);
        if (typeof body.value !== "string") throw badRequest("value is required and must be a string");
        m.config.metadata = { ...(isPlainObject(m.config.metadata) ? m.config.metadata : {}), [key]: body.value };
        m.updated_at = rfc3339();
        this.persist();
        return { status: 204 };
    }

    deleteMetadata(appName: string, id: string, key: string): Reply {
        const app = this.app(appName);
        const m = this.machine(app, id);
        if (isPlainObject(m.config.metadata) && key in m.config.metadata) {
            const { [key]: _removed, ...rest } = m.config.metadata;
            m.config.metadata = rest;
            m.updated_at = rfc3339();
            this.persist();
        }
        return { status: 204 };
    }

    // -----------------------------------------------------------------------------------------
    // Secrets
    // -----------------------------------------------------------------------------------------

    listSecrets(appName: string, query: URLSearchParams): Reply {
        const app = this.app(appName);
        this.checkSecretsReadVersion(app, query);
        const show = truthy(query.get("show_secrets"));
        return { status: 200, body: { secrets: app.secrets.map((s) => this.secretWire(s, show)) } };
    }

    getSecret(appName: string, name: string, query: URLSearchParams): Reply {
        const app = this.app(appName);
        this.checkSecretsReadVersion(app, query);
        const secret = app.secrets.find((s) => s.name === name);
        if (!secret) throw new ApiError(404, "secret not found");
        return { status: 200, body: this.secretWire(secret, truthy(query.get("show_secrets"))) };
    }

    setSecret(appName: string, name: string, rawBody: unknown): Reply {
        const app = this.app(appName);
        const body = requireObject(rawBody);
        if (typeof body.value !== "string") throw badRequest("value is required and must be a string");
        this.applySecrets(app, { [name]: body.value });
        const secret = app.secrets.find((s) => s.name === name);
        return { status: 200, body: { ...this.secretWire(secret!, false), version: app.secrets_version } };
    }

    deleteSecret(appName: string, name: string): Reply {
        const app = this.app(appName);
        if (!app.secrets.some((s) => s.name === name)) throw new ApiError(404, "secret not found");
        this.applySecrets(app, { [name]: null });
        return { status: 200, body: { version: app.secrets_version } };
    }

    updateSecrets(appName: string, rawBody: unknown): Reply {
        const app = this.app(appName);
        const body = requireObject(rawBody);
        if (!isPlainObject(body.values))
            throw badRequest("values is required: an object of secret name to value (null unsets)");
        const changes: Record<string, string | null> = {};
        for (const [name, value] of Object.entries(body.values)) {
            if (value !== null && typeof value !== "string")
                throw badRequest(`invalid value for secret ${name}: must be a string, or null to unset`);
            changes[name] = value;
        }
        if (Object.keys(changes).length === 0) throw badRequest("values must name at least one secret");
        this.applySecrets(app, changes);
        return {
            status: 200,
            body: { secrets: app.secrets.map((s) => this.secretWire(s, false)), version: app.secrets_version },
        };
    }

    // -----------------------------------------------------------------------------------------
    // IP assignments
    // -----------------------------------------------------------------------------------------

    listIps(appName: string): Reply {
        const app = this.app(appName);
        return { status: 200, body: { ips: app.ips.map((ip) => this.ipWire(ip)) } };
    }

    assignIp(appName: string, rawBody: unknown): Reply {
        const app = this.app(appName);
        const body = requireObject(rawBody);
        const type = body.type;
        if (type !== "v4" && type !== "v6" && type !== "shared_v4" && type !== "private_v6") {
            throw badRequest(`invalid type ${JSON.stringify(type)}: use v4, v6, shared_v4 or private_v6`);
        }
        const region = typeof body.region === "string" && body.region !== "" ? body.region : "global";
        const serviceName = typeof body.service_name === "string" ? body.service_name : "";
        if (type === "shared_v4") {
            const existing = app.ips.find((ip) => ip.type === "shared_v4");
            if (existing) return { status: 200, body: this.ipWire(existing) };
        }
        const c = this.state.counters;
        let address: string;
        if (type === "shared_v4") address = SHARED_V4_ADDRESS;
        else if (type === "v4") {
            const n = ++c.v4;
            address = `137.66.${Math.floor(n / 254) % 256}.${(n % 254) + 1}`;
        } else if (type === "v6") address = `2a09:8280:1::${(++c.v6).toString(16)}`;
        else
            address = `fdaa:0:${(app.internal_numeric_id % 0xffff).toString(16)}:0:1::${(++c.private_v6).toString(16)}`;
        const ip: StoredIp = {
            ip: address,
            type,
            region,
            service_name: serviceName,
            shared: type === "shared_v4",
            created_at: rfc3339(),
        };
        app.ips.push(ip);
        this.persist();
        return { status: 200, body: this.ipWire(ip) };
    }

    releaseIp(appName: string, address: string): Reply {
        const app = this.app(appName);
        const index = app.ips.findIndex((ip) => ip.ip === address);
        if (index < 0) throw new ApiError(404, "ip assignment not found");
        app.ips.splice(index, 1);
        this.persist();
        return { status: 204 };
    }

    // -----------------------------------------------------------------------------------------
    // Certificates
    // -----------------------------------------------------------------------------------------

    listCertificates(appName: string, query: URLSearchParams): Reply {
        const app = this.app(appName);
        const filter = query.get("filter") ?? "";
        const certificates = app.certificates
            .filter((c) => c.hostname.includes(filter))
            .map((c) => this.certificateSummary(c));
        return { status: 200, body: { certificates, total_count: certificates.length } };
    }

    requestAcmeCertificate(appName: string, rawBody: unknown): Reply {
        const app = this.app(appName);
        const body = requireObject(rawBody);
        const hostname = typeof body.hostname === "string" ? body.hostname.trim().toLowerCase() : "";
        if (!HOSTNAME_RE.test(hostname)) throw badRequest(`invalid hostname ${JSON.stringify(body.hostname)}`);
        if (hostname.endsWith(".fly.dev"))
            throw badRequest(`${hostname} is a fly.dev hostname; certificates are only for custom domains`);
        const owner = this.state.apps.find((a) => a.certificates.some((c) => c.hostname === hostname));
        if (owner && owner !== app)
            throw new ApiError(409, `hostname ${hostname} already has a certificate on another app`);
        const existing = app.certificates.find((c) => c.hostname === hostname);
        if (existing) return { status: 200, body: this.certificateDetail(app, existing) };
        const now = Date.now();
        const cert: StoredCertificate = {
            hostname,
            created_at: rfc3339(now),
            updated_at: rfc3339(now),
            ready_at_ms: now + this.opts.transitionDelayMs,
        };
        app.certificates.push(cert);
        this.persist();
        return { status: 201, body: this.certificateDetail(app, cert) };
    }

    getCertificate(appName: string, hostname: string, check: boolean): Reply {
        const app = this.app(appName);
        const cert = this.certificate(app, hostname);
        const detail = this.certificateDetail(app, cert);
        if (check) {
            const active = Date.now() >= cert.ready_at_ms;
            const a = app.ips.filter((ip) => ip.type === "v4" || ip.type === "shared_v4").map((ip) => ip.ip);
            const aaaa = app.ips.filter((ip) => ip.type === "v6").map((ip) => ip.ip);
            detail.dns_records = {
                a: active ? a : [],
                aaaa: active ? aaaa : [],
                cname: active ? [`${app.name}.fly.dev`] : [],
                resolved_addresses: active ? [...a, ...aaaa] : [],
                soa: null,
                acme_challenge_cname: null,
                ownership_txt: null,
            };
        }
        return { status: 200, body: detail };
    }

    deleteCertificate(appName: string, hostname: string): Reply {
        const app = this.app(appName);
        const cert = this.certificate(app, hostname);
        app.certificates = app.certificates.filter((c) => c !== cert);
        this.persist();
        return { status: 204 };
    }

    // -----------------------------------------------------------------------------------------
    // Test-only views
    // -----------------------------------------------------------------------------------------

    inventory(): Inventory {
        return {
            apps: this.state.apps.map((app) => ({
                name: app.name,
                id: app.id,
                org: app.org_slug,
                secrets_version: app.secrets_version,
                secret_names: app.secrets.map((s) => s.name),
                machines: this.liveMachines(app).map((m) => ({
                    id: m.id,
                    name: m.name,
                    region: m.region,
                    state: m.state,
                    instance_id: m.instance_id,
                    image: String(m.config.image),
                    guest: m.config.guest,
                    secrets_version: m.secrets_version,
                    cordoned: m.cordoned,
                    config: JSON.parse(JSON.stringify(m.config)) as JsonObject,
                })),
                ips: app.ips.map((ip) => this.ipWire(ip)),
                certificates: app.certificates.map((c) => ({
                    hostname: c.hostname,
                    status: this.certificateStatus(c),
                })),
            })),
        };
    }

    /** The app's current secret values and version (test-only; never on the `/v1` API). */
    secretValues(appName: string): { app: string; version: number; values: Record<string, string> } {
        const app = this.app(appName);
        return {
            app: app.name,
            version: app.secrets_version,
            values: Object.fromEntries(app.secrets.map((s) => [s.name, s.value])),
        };
    }

    /** The secrets version and values a machine was given at its last create/update (test-only). */
    machineSecretValues(
        appName: string,
        id: string,
    ): {
        app: string;
        machine_id: string;
        instance_id: string;
        secrets_version: number | null;
        values: Record<string, string>;
    } {
        const app = this.app(appName);
        const m = this.machine(app, id, { allowDestroyed: true });
        return {
            app: app.name,
            machine_id: m.id,
            instance_id: m.instance_id,
            secrets_version: m.secrets_version,
            values: { ...m.secret_values },
        };
    }

    /** The region of a machine, for region-scoped fault rules; `undefined` if unknown. */
    machineRegion(appName: string, id: string): string | undefined {
        return this.state.apps.find((a) => a.name === appName)?.machines.find((m) => m.id === id)?.region;
    }

    // -----------------------------------------------------------------------------------------
    // Internals
    // -----------------------------------------------------------------------------------------

    private persist(): void {
        saveState(this.opts.stateDir, this.state);
    }

    private app(name: string): StoredApp {
        const app = this.state.apps.find((a) => a.name === name);
        if (!app) throw new ApiError(404, "app not found");
        return app;
    }

    /** A machine of the app; destroyed machines count as not found unless `allowDestroyed`. */
    private machine(app: StoredApp, id: string, opts: { allowDestroyed?: boolean } = {}): StoredMachine {
        const m = app.machines.find((x) => x.id === id);
        if (!m || (m.state === "destroyed" && !opts.allowDestroyed)) throw new ApiError(404, "machine not found");
        return m;
    }

    private liveMachines(app: StoredApp): StoredMachine[] {
        return app.machines.filter((m) => m.state !== "destroyed");
    }

    private certificate(app: StoredApp, hostname: string): StoredCertificate {
        const cert = app.certificates.find((c) => c.hostname === hostname.toLowerCase());
        if (!cert) throw new ApiError(404, "certificate not found");
        return cert;
    }

    private addEvent(
        m: StoredMachine,
        type: string,
        status: string,
        source: "user" | "flyd",
        request?: JsonObject,
    ): void {
        const event = { id: newUlid(), type, status, source, timestamp: Date.now(), ...(request ? { request } : {}) };
        m.events.unshift(event);
        if (m.events.length > MAX_EVENTS) m.events.length = MAX_EVENTS;
    }

    private setState(
        m: StoredMachine,
        state: MachineState,
        eventType: string,
        source: "user" | "flyd",
        request?: JsonObject,
    ): void {
        m.state = state;
        m.updated_at = rfc3339();
        this.addEvent(m, eventType, state, source, request);
    }

    private cancel(m: StoredMachine): void {
        const t = this.timers.get(m.id);
        if (t) {
            clearTimeout(t);
            this.timers.delete(m.id);
        }
    }

    /** Enters a transient state now and settles it after `transitionDelayMs`. */
    private begin(app: StoredApp, m: StoredMachine, transient: MachineState): void {
        this.cancel(m);
        this.setState(m, transient, EVENT_TYPE_OF_TRANSIENT[transient] ?? transient, "user");
        this.notify(m);
        this.scheduleSettle(app, m);
    }

    private scheduleSettle(app: StoredApp, m: StoredMachine): void {
        const transient = m.state;
        const settled = SETTLES_TO[transient];
        if (!settled) return;
        const eventType = EVENT_TYPE_OF_TRANSIENT[transient] ?? transient;
        const timer = setTimeout(() => {
            this.timers.delete(m.id);
            if (m.state !== transient || !app.machines.includes(m)) return;
            const request =
                settled === "stopped"
                    ? {
                          exit_event: {
                              exit_code: 0,
                              oom_killed: false,
                              requested_stop: true,
                              restarting: false,
                              signal: -1,
                              exited_at: rfc3339(),
                          },
                      }
                    : undefined;
            this.setState(m, settled, settled === "stopped" ? "exit" : eventType, "flyd", request);
            this.persist();
            this.notify(m);
        }, this.opts.transitionDelayMs);
        timer.unref();
        this.timers.set(m.id, timer);
    }

    private destroy(m: StoredMachine, source: "user" | "flyd"): void {
        this.cancel(m);
        delete m.lease;
        this.setState(m, "destroying", "destroy", source);
        this.setState(m, "destroyed", "destroy", "flyd");
        this.notify(m);
    }

    private notify(m: StoredMachine): void {
        for (const w of [...this.waiters]) if (w.machineId === m.id) w.recheck();
    }

    private waitTimeout(raw: string | null): number {
        if (raw === null || raw === "") return MAX_WAIT_SECONDS;
        let seconds = Number(raw);
        if (!Number.isFinite(seconds)) {
            const ns = parseGoDuration(raw);
            if (ns === undefined) throw badRequest(`invalid timeout ${JSON.stringify(raw)}: use a number of seconds`);
            seconds = ns / 1e9;
        }
        if (seconds <= 0) return MAX_WAIT_SECONDS;
        return Math.min(seconds, MAX_WAIT_SECONDS);
    }

    private activeLease(m: StoredMachine): StoredLease | undefined {
        if (m.lease && m.lease.expires_at_ms > Date.now()) return m.lease;
        delete m.lease;
        return undefined;
    }

    private newLease(ttlSeconds: number, description: string): StoredLease {
        return {
            nonce: newNonce(),
            expires_at_ms: Date.now() + ttlSeconds * 1000,
            owner: LEASE_OWNER,
            description,
            version: newUlid(),
        };
    }

    private leaseConflict(m: StoredMachine, lease: StoredLease): ApiError {
        return new ApiError(
            409,
            `machine ID ${m.id} lease currently held by ${lease.owner}, expires at ${rfc3339(lease.expires_at_ms)}; send its nonce in the fly-machine-lease-nonce header`,
        );
    }

    /** Mutations of a leased machine need the lease's nonce. */
    private checkLease(m: StoredMachine, nonce: string | undefined): void {
        const lease = this.activeLease(m);
        if (lease && nonce !== lease.nonce) throw this.leaseConflict(m, lease);
    }

    private leaseWire(lease: StoredLease): unknown {
        return {
            status: "success",
            data: {
                nonce: lease.nonce,
                expires_at: Math.floor(lease.expires_at_ms / 1000),
                owner: lease.owner,
                description: lease.description,
                version: lease.version,
            },
        };
    }

    private checkMinSecretsVersion(app: StoredApp, min: number | undefined): void {
        if (min !== undefined && min > app.secrets_version) {
            throw new ApiError(
                422,
                `min_secrets_version ${min} is newer than app ${app.name}'s secrets version ${app.secrets_version}`,
            );
        }
    }

    private checkSecretsReadVersion(app: StoredApp, query: URLSearchParams): void {
        const raw = query.get("version");
        if (raw === null || raw === "") return;
        const version = Number(raw);
        if (!Number.isInteger(version) || version < 0) throw badRequest(`invalid version ${JSON.stringify(raw)}`);
        if (version > app.secrets_version) {
            throw new ApiError(
                422,
                `secrets version ${version} is newer than app ${app.name}'s secrets version ${app.secrets_version}`,
            );
        }
    }

    /** Machines pick secrets up only on create/update: record the version and values they were given. */
    private giveSecrets(app: StoredApp, m: StoredMachine, skip: boolean): void {
        m.secrets_version = skip ? null : app.secrets_version;
        m.secret_values = skip ? {} : Object.fromEntries(app.secrets.map((s) => [s.name, s.value]));
    }

    /** Sets (string) or unsets (null) secrets, bumping the app's secrets version once. */
    private applySecrets(app: StoredApp, changes: Record<string, string | null>): void {
        for (const name of Object.keys(changes)) {
            if (!SECRET_NAME_RE.test(name)) {
                throw badRequest(
                    `invalid secret name ${JSON.stringify(name)}: use letters, digits and underscores, not starting with a digit`,
                );
            }
        }
        const now = rfc3339();
        for (const [name, value] of Object.entries(changes)) {
            const index = app.secrets.findIndex((s) => s.name === name);
            if (value === null) {
                if (index >= 0) app.secrets.splice(index, 1);
            } else if (index >= 0) {
                app.secrets[index] = { ...app.secrets[index], value, digest: secretDigest(value), updated_at: now };
            } else {
                app.secrets.push({ name, value, digest: secretDigest(value), created_at: now, updated_at: now });
            }
        }
        app.secrets.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
        app.secrets_version++;
        this.persist();
    }

    private secretWire(
        s: { name: string; value: string; digest: string; created_at: string; updated_at: string },
        showValue: boolean,
    ): JsonObject {
        const wire: JsonObject = { name: s.name, digest: s.digest, created_at: s.created_at, updated_at: s.updated_at };
        if (showValue) wire.value = s.value;
        return wire;
    }

    private ipWire(ip: StoredIp): IpAssignment {
        return {
            ip: ip.ip,
            region: ip.region,
            service_name: ip.service_name,
            shared: ip.shared,
            created_at: ip.created_at,
        };
    }

    private certificateStatus(c: StoredCertificate): string {
        return Date.now() >= c.ready_at_ms ? "active" : "pending_validation";
    }

    private certificateSummary(c: StoredCertificate): JsonObject {
        const active = Date.now() >= c.ready_at_ms;
        return {
            hostname: c.hostname,
            status: this.certificateStatus(c),
            acme_dns_configured: active,
            acme_alpn_configured: active,
            acme_http_configured: false,
            ownership_txt_configured: false,
            configured: active,
            acme_requested: true,
            has_custom_certificate: false,
            has_fly_certificate: active,
            created_at: c.created_at,
            updated_at: active ? rfc3339(Math.max(c.ready_at_ms, Date.parse(c.updated_at))) : c.updated_at,
        };
    }

    private certificateDetail(app: StoredApp, c: StoredCertificate): JsonObject {
        const active = Date.now() >= c.ready_at_ms;
        const issuedAt = Math.max(c.ready_at_ms, Date.parse(c.created_at));
        const expiresAt = rfc3339(issuedAt + 90 * 24 * 3600 * 1000);
        const bare = c.hostname.replace(/^\*\./, "");
        return {
            hostname: c.hostname,
            configured: active,
            acme_requested: true,
            status: this.certificateStatus(c),
            dns_provider: "unknown",
            certificates: active
                ? [
                      {
                          source: "fly",
                          status: "active",
                          created_at: rfc3339(issuedAt),
                          expires_at: expiresAt,
                          issuer: "C=US, O=Let's Encrypt, CN=E6",
                          issued: [
                              { type: "ecdsa", expires_at: expiresAt, certificate_authority: "lets_encrypt" },
                              { type: "rsa", expires_at: expiresAt, certificate_authority: "lets_encrypt" },
                          ],
                      },
                  ]
                : [],
            validation: {
                dns_configured: active,
                alpn_configured: active,
                http_configured: false,
                ownership_txt_configured: false,
            },
            dns_requirements: {
                a: app.ips.filter((ip) => ip.type === "v4" || ip.type === "shared_v4").map((ip) => ip.ip),
                aaaa: app.ips.filter((ip) => ip.type === "v6").map((ip) => ip.ip),
                cname: `${app.name}.fly.dev`,
                acme_challenge: { name: `_acme-challenge.${bare}`, target: `${bare}.${app.id.slice(0, 6)}.flydns.net` },
                ownership: {
                    name: `_fly-ownership.${bare}`,
                    app_value: `app-${app.id}`,
                    org_value: `org-${app.org_slug}`,
                },
            },
            validation_errors: [],
        };
    }

    private appWire(app: StoredApp): JsonObject {
        const live = this.liveMachines(app);
        return {
            id: app.id,
            name: app.name,
            status: live.length > 0 ? "deployed" : "pending",
            organization: { name: app.org_slug, slug: app.org_slug },
            internal_numeric_id: app.internal_numeric_id,
            network: app.network,
            machine_count: live.length,
            volume_count: 0,
            cname_target: `${app.name}.fly.dev`,
            app_role: "",
        };
    }

    private machineWire(app: StoredApp, m: StoredMachine, nonce?: string): JsonObject {
        const wire: JsonObject = {
            id: m.id,
            name: m.name,
            state: m.state,
            region: m.region,
            instance_id: m.instance_id,
            version: m.instance_id,
            private_ip: m.private_ip,
            created_at: m.created_at,
            updated_at: m.updated_at,
            config: JSON.parse(JSON.stringify(m.config)) as JsonObject,
            image_ref: parseImageRef(String(m.config.image)),
            events: m.events.map((e) => ({ ...e })),
        };
        const checks = checkStatuses(
            m.config,
            m.state,
            m.updated_at,
            this.opts.faults.checkOverride(app.name, m.region),
        );
        if (checks.length > 0) wire.checks = checks;
        wire.host_status = "ok";
        wire.cordoned = m.cordoned;
        if (nonce) wire.nonce = nonce;
        return wire;
    }
}
