/**
 * The Fly emulator's machines: `/v1/apps/{app}/machines` create, list, get, update, stop, start,
 * restart, suspend, signal, delete and wait, plus cordon and metadata.
 */
import { ulid } from "ulid";
import { checkResults, normalizeConfig } from "./config";
import { imageCheckStatus } from "./edge";
import type { Leases } from "./leases";
import { type Lifecycle, MAX_EVENTS, type Waiter } from "./lifecycle";
import { type Model, optionalBool, optionalNonNegativeInt, type Reply, requireObject, truthy } from "./model";
import { NEAREST_REGION, requireRegion } from "./regions";
import type { Secrets } from "./secrets";
import type { JsonObject, MachineState, StoredApp, StoredMachine, StoredVersion } from "./types";
import { SETTLED_STATES, WAITABLE_STATES, type WaitableState } from "./types";
import {
    ApiError,
    badRequest,
    isPlainObject,
    newMachineId,
    newMachineName,
    newPrivateIp,
    parseGoDuration,
    parseImageRef,
    rfc3339,
} from "./util";

/** Where a machine goes when it is created without a `region`. */
export const DEFAULT_REGION = NEAREST_REGION;
/** States in which a machine refuses a plain (non-forced) delete. */
const ACTIVE_STATES: MachineState[] = ["starting", "started", "updating", "restarting", "stopping", "suspending"];
const RUNNING_STATES: MachineState[] = ["starting", "started", "updating", "restarting"];

/** `GET .../events`: "The number of events to fetch (max of 50). If omitted, this is set to 20 by default." */
const DEFAULT_EVENTS_LIMIT = 20;
/** How many versions a machine keeps (Fly documents no limit; this bounds the state file). */
const MAX_VERSIONS = 50;
/** A deep copy of a stored config, so a reply never aliases the state. */
function clone(config: JsonObject): JsonObject {
    return JSON.parse(JSON.stringify(config)) as JsonObject;
}

/** A version (instance) id or an event id: a 26-character ULID. */
const ULID_RE = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/** The `state` parameters of a wait (repeated or comma-separated; `started` when none), or a 400. */
function waitStates(query: URLSearchParams): WaitableState[] {
    const states = query
        .getAll("state")
        .flatMap((s) => s.split(","))
        .filter((s) => s !== "");
    for (const s of states) {
        if (!(WAITABLE_STATES as readonly string[]).includes(s)) {
            throw badRequest(
                `invalid_argument: state ${JSON.stringify(s)} is not one of ${WAITABLE_STATES.join(", ")}`,
            );
        }
    }
    return states.length === 0 ? ["started"] : (states as WaitableState[]);
}

/** A 26-character id query parameter (`version`, `instance_id`, `from_event_id`), or a 400; `undefined` when absent. */
function eventOrVersionId(query: URLSearchParams, key: string): string | undefined {
    const value = query.get(key);
    if (value === null || value === "") return undefined;
    if (!ULID_RE.test(value))
        throw badRequest(`invalid_argument: ${key} ${JSON.stringify(value)} is not a 26-character ID`);
    return value;
}

/** `/v1/apps/{app}/machines`. */
export class Machines {
    constructor(
        private readonly model: Model,
        private readonly lifecycle: Lifecycle,
        private readonly leases: Leases,
        private readonly secrets: Secrets,
    ) {}

    listMachines(appName: string, query: URLSearchParams): Reply {
        const app = this.model.app(appName);
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
        const app = this.model.app(appName);
        const body = requireObject(rawBody);
        const config = normalizeConfig(body.config);
        const region = requireRegion(body.region);
        let name: string;
        if (body.name === undefined || body.name === null || body.name === "") {
            do name = newMachineName();
            while (this.model.liveMachines(app).some((m) => m.name === name));
        } else {
            if (typeof body.name !== "string" || body.name.length > 63)
                throw badRequest("invalid name: must be a string of at most 63 characters");
            name = body.name;
            if (this.model.liveMachines(app).some((m) => m.name === name)) {
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
        this.secrets.checkMinSecretsVersion(app, optionalNonNegativeInt(body, "min_secrets_version"));

        const now = rfc3339();
        const m: StoredMachine = {
            id: newMachineId(),
            name,
            region,
            state: "created",
            instance_id: ulid(),
            private_ip: newPrivateIp(app.id),
            created_at: now,
            updated_at: now,
            config,
            cordoned: skipRegistration,
            events: [],
            secrets_version: null,
            secret_values: {},
        };
        this.recordVersion(m);
        this.secrets.giveSecrets(app, m, skipSecrets);
        this.lifecycle.addEvent(m, "launch", "created", "user");
        app.machines.push(m);
        let nonce: string | undefined;
        if (leaseTtl !== undefined && leaseTtl > 0) {
            m.lease = this.leases.newLease(leaseTtl, "");
            nonce = m.lease.nonce;
        }
        if (!skipLaunch) this.lifecycle.begin(app, m, "starting");
        this.model.persist();
        return { status: 200, body: this.machineWire(app, m, nonce) };
    }

    /**
     * `GET .../events?limit=`: the machine's events, newest first, as `GET machine` shows them;
     * `limit` defaults to 20 and is capped at 50 (the published default and maximum).
     */
    listEvents(appName: string, id: string, query: URLSearchParams): Reply {
        const app = this.model.app(appName);
        const m = this.model.machine(app, id, { allowDestroyed: true });
        const raw = query.get("limit");
        let limit = DEFAULT_EVENTS_LIMIT;
        if (raw !== null) {
            limit = /^\d{1,9}$/.test(raw) ? Number(raw) : NaN;
            if (!(limit >= 1))
                throw badRequest(
                    `invalid_argument: limit ${JSON.stringify(raw)} is not a positive whole number (at most ${MAX_EVENTS} events are returned)`,
                );
        }
        return { status: 200, body: m.events.slice(0, Math.min(limit, MAX_EVENTS)).map((e) => ({ ...e })) };
    }

    /** `GET .../versions`: `[{version, user_config}]`, newest first, one per create and update. */
    listVersions(appName: string, id: string): Reply {
        const app = this.model.app(appName);
        const m = this.model.machine(app, id, { allowDestroyed: true });
        const versions: StoredVersion[] = m.versions ?? [{ version: m.instance_id, user_config: m.config }];
        return {
            status: 200,
            body: versions.map((v) => ({ version: v.version, user_config: clone(v.user_config) })),
        };
    }

    getMachine(appName: string, id: string): Reply {
        const app = this.model.app(appName);
        return { status: 200, body: this.machineWire(app, this.model.machine(app, id, { allowDestroyed: true })) };
    }

    updateMachine(appName: string, id: string, rawBody: unknown, nonce: string | undefined): Reply {
        const { app, m } = this.leased(appName, id, nonce);
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
        this.secrets.checkMinSecretsVersion(app, optionalNonNegativeInt(body, "min_secrets_version"));
        if (body.skip_service_registration === true) m.cordoned = true;

        m.config = config;
        m.instance_id = ulid();
        this.recordVersion(m);
        this.secrets.giveSecrets(app, m, skipSecrets);
        if (skipLaunch) {
            this.lifecycle.cancel(m);
            this.lifecycle.setState(m, m.state === "created" ? "created" : "stopped", "update", "user");
            this.lifecycle.notify(m);
        } else {
            this.lifecycle.begin(app, m, "updating");
        }
        this.model.persist();
        return { status: 200, body: this.machineWire(app, m) };
    }

    stopMachine(appName: string, id: string, rawBody: unknown, nonce: string | undefined): Reply {
        const { app, m } = this.leased(appName, id, nonce);
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
            this.lifecycle.begin(app, m, "stopping");
            this.model.persist();
        }
        return { status: 200, body: { ok: true } };
    }

    startMachine(appName: string, id: string, nonce: string | undefined): Reply {
        const { app, m } = this.leased(appName, id, nonce);
        const previous = m.state;
        if (!RUNNING_STATES.includes(m.state)) {
            this.lifecycle.begin(app, m, "starting");
            this.model.persist();
        }
        return { status: 200, body: { previous_state: previous, migrated: false, new_host: "" } };
    }

    restartMachine(appName: string, id: string, nonce: string | undefined): Reply {
        const { app, m } = this.leased(appName, id, nonce);
        if (!RUNNING_STATES.includes(m.state))
            throw new ApiError(412, `unable to restart machine ${m.id}: it is ${m.state}, not started`);
        this.lifecycle.begin(app, m, "restarting");
        this.model.persist();
        return { status: 200, body: { ok: true } };
    }

    suspendMachine(appName: string, id: string, nonce: string | undefined): Reply {
        const { app, m } = this.leased(appName, id, nonce);
        if (m.state !== "started")
            throw new ApiError(412, `unable to suspend machine ${m.id}: it is ${m.state}, not started`);
        this.lifecycle.begin(app, m, "suspending");
        this.model.persist();
        return { status: 200, body: { ok: true } };
    }

    signalMachine(appName: string, id: string, rawBody: unknown, nonce: string | undefined): Reply {
        const { app, m } = this.leased(appName, id, nonce);
        const body = requireObject(rawBody);
        const signal = body.signal;
        if (typeof signal !== "number" && typeof signal !== "string") throw badRequest("signal is required");
        if (!RUNNING_STATES.includes(m.state))
            throw new ApiError(412, `unable to signal machine ${m.id}: it is ${m.state}, not started`);
        if (signal === 9 || signal === "9" || signal === "SIGKILL") {
            this.lifecycle.begin(app, m, "stopping");
        } else {
            this.lifecycle.addEvent(m, "signal", m.state, "user");
        }
        this.model.persist();
        return { status: 200, body: { ok: true } };
    }

    deleteMachine(appName: string, id: string, query: URLSearchParams, nonce: string | undefined): Reply {
        const { m } = this.leased(appName, id, nonce);
        const force = truthy(query.get("force")) || truthy(query.get("kill"));
        if (ACTIVE_STATES.includes(m.state) && !force)
            throw new ApiError(412, "machine still active, refusing to delete");
        this.lifecycle.destroy(m, "user");
        this.model.persist();
        return { status: 200, body: { ok: true } };
    }

    /**
     * `GET .../wait`, as published (`Machines_wait`): answers `200 {ok, state, version, event_id}`
     * once the machine is in one of the `state`s (repeated or comma-separated; `settled` is any
     * state not on its way to another), at `version` (or the deprecated `instance_id`) if given,
     * through an event after `from_event_id` if given; or `408` with Fly's text after `timeout`
     * whole seconds (1 to 60, default 60). `onCancel` receives a function that drops the wait when
     * the client goes away.
     */
    waitMachine(
        appName: string,
        id: string,
        query: URLSearchParams,
        onCancel: (cancel: () => void) => void,
    ): Reply | Promise<Reply> {
        const app = this.model.app(appName);
        const m = this.model.machine(app, id, { allowDestroyed: true });
        const wanted = waitStates(query);
        const version = eventOrVersionId(query, "version") ?? eventOrVersionId(query, "instance_id");
        const fromEventId = eventOrVersionId(query, "from_event_id");
        const timeoutSeconds = this.lifecycle.waitTimeout(query.get("timeout"));
        const target = wanted.join(" or ");
        const reached = (): boolean =>
            wanted.some((s) => s === m.state || (s === "settled" && SETTLED_STATES.includes(m.state))) &&
            (version === undefined || m.instance_id === version || m.state === "destroyed") &&
            (fromEventId === undefined || m.events.some((e) => e.id > fromEventId && e.status === m.state));
        const evaluate = (): Reply | undefined => {
            if (reached()) {
                // The event that brought the machine into its state (events are newest first).
                const event = m.events.find((e) => e.status === m.state) ?? m.events[0];
                return {
                    status: 200,
                    body: { ok: true, state: m.state, version: m.instance_id, event_id: event?.id ?? "" },
                };
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
                this.lifecycle.removeWaiter(waiter);
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
            // Fly's own text (superfly/flyctl#1760), which flyctl matches on.
            const timer = setTimeout(
                () =>
                    finish(
                        new ApiError(
                            408,
                            `machine failed to reach desired state, ${target}, currently ${m.state}`,
                        ).toReply(),
                    ),
                timeoutSeconds * 1000,
            );
            this.lifecycle.addWaiter(waiter);
            onCancel(() => {
                clearTimeout(timer);
                this.lifecycle.removeWaiter(waiter);
            });
        });
    }

    cordon(appName: string, id: string, nonce: string | undefined, cordoned: boolean): Reply {
        const { m } = this.leased(appName, id, nonce);
        m.cordoned = cordoned;
        this.lifecycle.addEvent(m, cordoned ? "cordon" : "uncordon", m.state, "user");
        this.model.persist();
        return { status: 200, body: { ok: true } };
    }

    getMetadata(appName: string, id: string): Reply {
        const app = this.model.app(appName);
        const m = this.model.machine(app, id, { allowDestroyed: true });
        return { status: 200, body: isPlainObject(m.config.metadata) ? m.config.metadata : {} };
    }

    setMetadata(appName: string, id: string, key: string, rawBody: unknown): Reply {
        const app = this.model.app(appName);
        const m = this.model.machine(app, id);
        const body = requireObject(rawBody);
        if (typeof body.value !== "string") throw badRequest("value is required and must be a string");
        m.config.metadata = { ...(isPlainObject(m.config.metadata) ? m.config.metadata : {}), [key]: body.value };
        m.updated_at = rfc3339();
        this.model.persist();
        return { status: 204 };
    }

    deleteMetadata(appName: string, id: string, key: string): Reply {
        const app = this.model.app(appName);
        const m = this.model.machine(app, id);
        if (isPlainObject(m.config.metadata) && key in m.config.metadata) {
            const { [key]: _removed, ...rest } = m.config.metadata;
            m.config.metadata = rest;
            m.updated_at = rfc3339();
            this.model.persist();
        }
        return { status: 204 };
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
        const app = this.model.app(appName);
        const m = this.model.machine(app, id, { allowDestroyed: true });
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
        return this.model.state.apps.find((a) => a.name === appName)?.machines.find((m) => m.id === id)?.region;
    }

    /** Records the machine's current config as its newest version. */
    private recordVersion(m: StoredMachine): void {
        m.versions = [{ version: m.instance_id, user_config: clone(m.config) }, ...(m.versions ?? [])].slice(
            0,
            MAX_VERSIONS,
        );
    }

    /** The live machine a mutation is about, once the request has shown the nonce of its lease (if any). */
    private leased(appName: string, id: string, nonce: string | undefined): { app: StoredApp; m: StoredMachine } {
        const app = this.model.app(appName);
        const m = this.model.machine(app, id);
        this.leases.checkLease(m, nonce);
        return { app, m };
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
            config: clone(m.config),
            image_ref: parseImageRef(String(m.config.image)),
            events: m.events.map((e) => ({ ...e })),
        };
        const checks = checkResults(m.config, m.state, m.started_at_ms ?? 0, {
            now: Date.now(),
            timeFactor: this.model.opts.timeFactor,
            // A fault rule wins; else an image whose endpoints fail (`edge.ts`) fails its checks.
            forced:
                this.model.opts.faults.checkOverride(app.name, m.region) ?? imageCheckStatus(String(m.config.image)),
        });
        if (checks.length > 0) wire.checks = checks;
        wire.host_status = "ok";
        wire.cordoned = m.cordoned;
        if (nonce) wire.nonce = nonce;
        return wire;
    }
}
