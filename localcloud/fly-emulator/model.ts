/**
 * The Fly emulator's shared model: the persisted state, the lookups every resource uses (an app by
 * name, a machine by id) and the parsing of request bodies. Each resource file (`apps.ts`,
 * `machines.ts`, `leases.ts`, `secrets.ts`, `network.ts`) works on one `Model`.
 */
import type { FaultSet } from "./faults";
import { loadState, saveState } from "./store";
import type { JsonObject, StoredApp, StoredMachine, StoredState } from "./types";
import { ApiError, badRequest, isPlainObject } from "./util";

/** An HTTP answer: a status and a JSON body (none for 202/204). */
export interface Reply {
    status: number;
    body?: unknown;
    /** Extra response headers (e.g. `Retry-After` on a 429). */
    headers?: Record<string, string>;
}

/** How the emulator is set up: where its state lives, how fast machines settle and checks report, its fault rules. */
export interface CoreOptions {
    stateDir: string;
    /** How long transient states (`starting`, `stopping`, ...) last before they settle. */
    transitionDelayMs: number;
    /**
     * Multiplies the health checks' grace periods and intervals (1 = Fly's own timing; the local
     * cloud runs at 0.05 so a 10 s grace period passes in half a second).
     */
    timeFactor: number;
    faults: FaultSet;
}

/** The emulator's state and the lookups shared by its resources. */
export class Model {
    readonly state: StoredState;

    constructor(readonly opts: CoreOptions) {
        this.state = loadState(opts.stateDir);
    }

    /** Writes the state file; called after every mutation. */
    persist(): void {
        saveState(this.opts.stateDir, this.state);
    }

    /** The app of this name, or a 404. */
    app(name: string): StoredApp {
        const app = this.state.apps.find((a) => a.name === name);
        if (!app) throw new ApiError(404, "app not found");
        return app;
    }

    /** A machine of the app; destroyed machines count as not found unless `allowDestroyed`. */
    machine(app: StoredApp, id: string, opts: { allowDestroyed?: boolean } = {}): StoredMachine {
        const m = app.machines.find((x) => x.id === id);
        if (!m || (m.state === "destroyed" && !opts.allowDestroyed)) throw new ApiError(404, "machine not found");
        return m;
    }

    /** The app's machines that are not destroyed. */
    liveMachines(app: StoredApp): StoredMachine[] {
        return app.machines.filter((m) => m.state !== "destroyed");
    }
}

/** Whether a query flag is set (`true` or `1`). */
export function truthy(value: string | null): boolean {
    return value === "true" || value === "1";
}

/** A boolean body field; absent means false. */
export function optionalBool(body: JsonObject, key: string): boolean {
    const value = body[key];
    if (value === undefined || value === null) return false;
    if (typeof value !== "boolean") throw badRequest(`invalid ${key}: must be a boolean`);
    return value;
}

/** A non-negative integer body field, or `undefined` when absent. */
export function optionalNonNegativeInt(body: JsonObject, key: string): number | undefined {
    const value = body[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "number" || !Number.isInteger(value) || value < 0)
        throw badRequest(`invalid ${key}: must be a non-negative integer`);
    return value;
}

/** The request body as a JSON object, or a 400. */
export function requireObject(body: unknown): JsonObject {
    if (!isPlainObject(body)) throw badRequest("invalid request body: a JSON object is required");
    return body;
}
