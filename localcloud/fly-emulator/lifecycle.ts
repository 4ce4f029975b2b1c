/**
 * A machine's state transitions: transient states (`starting`, `stopping`, ...) that settle after
 * `transitionDelayMs`, the event log, and the waiters of `GET .../wait` woken on every change.
 */
import { monotonicFactory } from "ulid";
import type { Model } from "./model";
import type { JsonObject, MachineState, StoredApp, StoredMachine } from "./types";
import { badRequest, rfc3339 } from "./util";

/** How many events a machine keeps (the most `GET .../events?limit=` can return). */
export const MAX_EVENTS = 50;
/** Fly's cap on one wait: "This request will block for up to 60 seconds" (`Machines_wait`). */
export const MAX_WAIT_SECONDS = 60;

/**
 * Event ids are ULIDs that increase strictly, even within one millisecond (a destroy writes two
 * events at once), so "the events after `from_event_id`" is a comparison of their text.
 */
const nextEventId = monotonicFactory();

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

/** A pending `GET .../wait`, rechecked whenever its machine changes. */
export interface Waiter {
    machineId: string;
    recheck: () => void;
    abort: () => void;
}

/** Moves machines through their states and wakes the waiters. */
export class Lifecycle {
    private readonly timers = new Map<string, NodeJS.Timeout>();
    private readonly waiters = new Set<Waiter>();

    constructor(private readonly model: Model) {
        // Machines saved mid-transition settle as if the emulator had never stopped.
        for (const app of model.state.apps) {
            for (const m of app.machines) this.scheduleSettle(app, m);
        }
    }

    /** Cancels pending transitions and answers pending waits (the server is going away). */
    close(): void {
        for (const t of this.timers.values()) clearTimeout(t);
        this.timers.clear();
        for (const w of [...this.waiters]) w.abort();
        this.waiters.clear();
    }

    /** Registers a wait; `notify` rechecks it. */
    addWaiter(w: Waiter): void {
        this.waiters.add(w);
    }

    /** Drops a wait that finished or whose client went away. */
    removeWaiter(w: Waiter): void {
        this.waiters.delete(w);
    }

    addEvent(m: StoredMachine, type: string, status: string, source: "user" | "flyd", request?: JsonObject): void {
        const event = {
            id: nextEventId(),
            type,
            status,
            source,
            timestamp: Date.now(),
            ...(request ? { request } : {}),
        };
        m.events.unshift(event);
        if (m.events.length > MAX_EVENTS) m.events.length = MAX_EVENTS;
    }

    setState(
        m: StoredMachine,
        state: MachineState,
        eventType: string,
        source: "user" | "flyd",
        request?: JsonObject,
    ): void {
        m.state = state;
        m.updated_at = rfc3339();
        if (state === "started") m.started_at_ms = Date.now();
        this.addEvent(m, eventType, state, source, request);
    }

    cancel(m: StoredMachine): void {
        const t = this.timers.get(m.id);
        if (t) {
            clearTimeout(t);
            this.timers.delete(m.id);
        }
    }

    /** Enters a transient state now and settles it after `transitionDelayMs`. */
    begin(app: StoredApp, m: StoredMachine, transient: MachineState): void {
        this.cancel(m);
        this.setState(m, transient, EVENT_TYPE_OF_TRANSIENT[transient] ?? transient, "user");
        this.notify(m);
        this.scheduleSettle(app, m);
    }

    scheduleSettle(app: StoredApp, m: StoredMachine): void {
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
            this.model.persist();
            this.notify(m);
        }, this.model.opts.transitionDelayMs);
        timer.unref();
        this.timers.set(m.id, timer);
    }

    destroy(m: StoredMachine, source: "user" | "flyd"): void {
        this.cancel(m);
        delete m.lease;
        this.setState(m, "destroying", "destroy", source);
        this.setState(m, "destroyed", "destroy", "flyd");
        this.notify(m);
    }

    notify(m: StoredMachine): void {
        for (const w of [...this.waiters]) if (w.machineId === m.id) w.recheck();
    }

    /**
     * The `timeout` of a wait: absent means 60; otherwise a whole number of seconds from 1 to 60.
     * Fly refuses anything else rather than clamp it (fly-go clamps on its side for that reason).
     */
    waitTimeout(raw: string | null): number {
        if (raw === null) return MAX_WAIT_SECONDS;
        const seconds = /^\d{1,3}$/.test(raw) ? Number(raw) : NaN;
        if (!(seconds >= 1 && seconds <= MAX_WAIT_SECONDS)) {
            throw badRequest(
                `invalid_argument: timeout must be between 1s and 1m0s: got ${JSON.stringify(raw)} (a whole number of seconds from 1 to ${MAX_WAIT_SECONDS})`,
            );
        }
        return seconds;
    }
}
