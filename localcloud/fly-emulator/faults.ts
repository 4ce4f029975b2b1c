/**
 * Fault injection for the Fly emulator: rules that fail, slow down or sicken requests and
 * machines, added by tests programmatically or through `POST /__emulator/faults`. Rules live in
 * memory only; a restarted emulator starts without faults.
 */
import { STATUS_CODES } from "node:http";
import type { CheckStatus, FaultRule } from "./types";
import { ApiError, badRequest, isPlainObject } from "./util";

/** What a request looks like to the rule matcher. */
export interface FaultTarget {
    method: string;
    path: string;
    app?: string;
    region?: string;
}

interface ActiveRule {
    rule: FaultRule;
    pathRe?: RegExp;
    /** Remaining uses; `Infinity` when the rule has no `times`. */
    remaining: number;
}

const CHECK_STATUSES: CheckStatus[] = ["passing", "warning", "critical"];

/** Checks one rule's fields and throws `ApiError` 400 naming the bad one. */
export function validateFaultRule(raw: unknown, index: number): FaultRule {
    const where = `rules[${index}]`;
    if (!isPlainObject(raw)) throw badRequest(`invalid ${where}: must be an object`);
    const known = [
        "method",
        "path",
        "app",
        "region",
        "times",
        "status",
        "error",
        "message",
        "delayMs",
        "checks",
        "edge",
    ];
    const unknown = Object.keys(raw).filter((k) => !known.includes(k));
    if (unknown.length > 0)
        throw badRequest(`invalid ${where}: unknown field(s) ${unknown.join(", ")} (allowed: ${known.join(", ")})`);
    for (const key of ["method", "path", "app", "region", "error", "message"]) {
        if (raw[key] !== undefined && typeof raw[key] !== "string")
            throw badRequest(`invalid ${where}.${key}: must be a string`);
    }
    if (typeof raw.path === "string") {
        try {
            new RegExp(raw.path);
        } catch (e) {
            throw badRequest(`invalid ${where}.path: ${(e as Error).message}`);
        }
    }
    if (raw.times !== undefined && (typeof raw.times !== "number" || !Number.isInteger(raw.times) || raw.times < 1)) {
        throw badRequest(`invalid ${where}.times: must be a positive integer`);
    }
    if (
        raw.status !== undefined &&
        (typeof raw.status !== "number" || !Number.isInteger(raw.status) || raw.status < 100 || raw.status > 599)
    ) {
        throw badRequest(`invalid ${where}.status: must be an HTTP status code (100-599)`);
    }
    if (
        raw.delayMs !== undefined &&
        (typeof raw.delayMs !== "number" || !(raw.delayMs >= 0) || raw.delayMs > 600_000)
    ) {
        throw badRequest(`invalid ${where}.delayMs: must be a number of milliseconds between 0 and 600000`);
    }
    if (raw.checks !== undefined && !CHECK_STATUSES.includes(raw.checks as CheckStatus)) {
        throw badRequest(`invalid ${where}.checks: must be one of ${CHECK_STATUSES.join(", ")}`);
    }
    if (raw.edge !== undefined && typeof raw.edge !== "boolean")
        throw badRequest(`invalid ${where}.edge: must be a boolean`);
    if (raw.edge === true && (raw.checks !== undefined || raw.error !== undefined || raw.delayMs !== undefined)) {
        throw badRequest(`invalid ${where}: an edge rule answers with status only (no checks, error or delayMs)`);
    }
    if (
        raw.edge !== true &&
        raw.checks === undefined &&
        raw.status === undefined &&
        raw.error === undefined &&
        raw.delayMs === undefined
    ) {
        throw badRequest(`invalid ${where}: a rule needs at least one of status, error, delayMs or checks`);
    }
    return raw as FaultRule;
}

/**
 * The injected error for a rule with `status` and/or `error`. A capacity refusal looks as Fly
 * sends it: on a create, region-wide, with `status: insufficient_capacity` (HTTP 412 here; Fly
 * does not publish the code); on any other request (update, start, restart), the host could not
 * re-reserve the machine's resources: 409 with no `status`, only flyd's text, which is what
 * fly-go (superfly/fly-go#306) and flyctl match on.
 */
export function faultError(rule: FaultRule, request: { createsMachine: boolean }): ApiError {
    const code = rule.error;
    if (code === "insufficient_capacity" && !request.createsMachine) {
        return new ApiError(
            rule.status ?? 409,
            rule.message ??
                "aborted: could not reserve resource for machine: insufficient memory available to fulfill request",
        );
    }
    if (code === "insufficient_capacity") {
        return new ApiError(
            rule.status ?? 412,
            rule.message ??
                "insufficient resources available to fulfill request: could not reserve resource for machine: insufficient memory available to fulfill request",
            code,
        );
    }
    if (code === "name_taken")
        return new ApiError(rule.status ?? 422, rule.message ?? "Name has already been taken", code);
    if (code !== undefined) return new ApiError(rule.status ?? 500, rule.message ?? `injected error: ${code}`, code);
    const status = rule.status ?? 500;
    const text = (STATUS_CODES[status] ?? "error").toLowerCase();
    return new ApiError(status, rule.message ?? `${text} (injected by the fly emulator)`);
}

/** The ordered set of active fault rules. */
export class FaultSet {
    private rules: ActiveRule[] = [];
    /** The requests a rule's `delayMs` holds now, with the app of that rule. */
    private readonly holds = new Set<{ app?: string; release: () => void }>();

    add(rules: FaultRule[]): void {
        const checked = rules.map((r, i) => validateFaultRule(r, i));
        for (const rule of checked) {
            this.rules.push({
                rule: { ...rule },
                pathRe: rule.path !== undefined ? new RegExp(rule.path) : undefined,
                remaining: rule.times ?? Infinity,
            });
        }
    }

    /**
     * Removes every rule, or only the rules scoped to `app`, and lets through at once the
     * requests those rules are holding (see {@link hold}).
     */
    clear(app?: string): void {
        this.rules = app === undefined ? [] : this.rules.filter(({ rule }) => rule.app !== app);
        for (const h of [...this.holds]) if (app === undefined || h.app === app) h.release();
    }

    /**
     * Holds a request `rule` matched until `delay` (its `delayMs`) ends or the rules are cleared
     * (all, or those of the rule's app), whichever comes first: a test can hold a request for as
     * long as it needs something else to happen, then let it through at once.
     */
    hold(rule: FaultRule, delay: Promise<void>): Promise<void> {
        return new Promise((resolve) => {
            const h = {
                app: rule.app,
                release: () => {
                    this.holds.delete(h);
                    resolve();
                },
            };
            this.holds.add(h);
            void delay.then(h.release);
        });
    }

    /** The rules still active, with `times` showing the uses left. */
    list(): FaultRule[] {
        return this.rules.map(({ rule, remaining }) =>
            Number.isFinite(remaining) ? { ...rule, times: remaining } : { ...rule },
        );
    }

    /** True when some request rule could match a request of this app/path, so the caller should resolve its region. */
    hasRequestRules(): boolean {
        return this.rules.some((r) => r.rule.checks === undefined && r.rule.edge !== true);
    }

    /** Finds the first rule `matches` accepts, uses one of its `times` (removed when spent), and returns it. */
    private takeFirst(matches: (active: ActiveRule) => boolean): FaultRule | undefined {
        const i = this.rules.findIndex(matches);
        if (i < 0) return undefined;
        const active = this.rules[i];
        active.remaining--;
        if (active.remaining <= 0) this.rules.splice(i, 1);
        return active.rule;
    }

    /** True when a rule's `path`, `app` and `region` (each where set) match. */
    private static scoped(active: ActiveRule, path: string, app?: string, region?: string): boolean {
        const { rule } = active;
        if (active.pathRe !== undefined && !active.pathRe.test(path)) return false;
        if (rule.app !== undefined && rule.app !== app) return false;
        return rule.region === undefined || rule.region === region;
    }

    /**
     * Finds the first request rule (not a `checks` or `edge` rule) matching the request, uses one
     * of its `times`, and returns it; `undefined` when none matches.
     */
    take(target: FaultTarget): FaultRule | undefined {
        return this.takeFirst(
            (a) =>
                a.rule.checks === undefined &&
                a.rule.edge !== true &&
                (a.rule.method === undefined || a.rule.method.toUpperCase() === target.method.toUpperCase()) &&
                FaultSet.scoped(a, target.path, target.app, target.region),
        );
    }

    /** The status an edge rule answers a request of this app, region and path with (uses one of its `times`). */
    takeEdge(app: string, region: string, path: string): number | undefined {
        const rule = this.takeFirst((a) => a.rule.edge === true && FaultSet.scoped(a, path, app, region));
        return rule === undefined ? undefined : (rule.status ?? 503);
    }

    /** The check status forced on a started machine of this app and region, if a `checks` rule applies. */
    checkOverride(app: string, region: string): CheckStatus | undefined {
        for (const { rule } of this.rules) {
            if (rule.checks === undefined) continue;
            if (rule.app !== undefined && rule.app !== app) continue;
            if (rule.region !== undefined && rule.region !== region) continue;
            return rule.checks;
        }
        return undefined;
    }
}
