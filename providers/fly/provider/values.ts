/**
 * Helpers for the raw property values the provider server hands us. The server passes
 * `Struct.toJavaScript()` output, so:
 *
 * - a secret arrives as `{ [SECRET_SIG_KEY]: SECRET_SIG, value }` (the engine's wire form);
 * - an unknown (a value not yet computed, during preview) arrives as the string `UNKNOWN`;
 * - `null` stands for an absent value.
 *
 * Everything here is pure and has no dependency on the network.
 */

import { SECRET_SIG, SECRET_SIG_KEY, UNKNOWN } from "../../../lib/facts/sentinels";

// Durations have one implementation, shared with the stack config; re-exported for this provider's modules.
export { formatGoDuration, parseGoDuration } from "../../../lib/facts/durations";

/** A plain JSON object. */
export type JsonObject = { [key: string]: unknown };

/** A secret value in the engine's wire form. */
export interface WrappedSecret<T = unknown> {
    [SECRET_SIG_KEY]: typeof SECRET_SIG;
    value: T;
}

export function isObject(v: unknown): v is JsonObject {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function isSecret(v: unknown): v is WrappedSecret {
    return isObject(v) && v[SECRET_SIG_KEY] === SECRET_SIG;
}

/** Wraps a value so that the engine stores it encrypted and shows it as `[secret]`. */
export function wrapSecret<T>(value: T): WrappedSecret<T> {
    return { [SECRET_SIG_KEY]: SECRET_SIG, value };
}

/** True if `v` is the unknown sentinel, possibly inside a secret wrapper. */
export function isUnknown(v: unknown): boolean {
    if (v === UNKNOWN) {
        return true;
    }
    return isSecret(v) && isUnknown(v.value);
}

/** True if `v` is unknown or contains an unknown anywhere inside it. */
export function containsUnknown(v: unknown): boolean {
    if (v === UNKNOWN) {
        return true;
    }
    if (Array.isArray(v)) {
        return v.some(containsUnknown);
    }
    if (isObject(v)) {
        return Object.values(v).some(containsUnknown);
    }
    return false;
}

/** True if `v` is a secret or contains one anywhere inside it. */
export function containsSecret(v: unknown): boolean {
    if (isSecret(v)) {
        return true;
    }
    if (Array.isArray(v)) {
        return v.some(containsSecret);
    }
    if (isObject(v)) {
        return Object.values(v).some(containsSecret);
    }
    return false;
}

/** Removes every secret wrapper, deeply. The result is the plain value. */
export function unwrapSecrets(v: unknown): unknown {
    if (isSecret(v)) {
        return unwrapSecrets(v.value);
    }
    if (Array.isArray(v)) {
        return v.map(unwrapSecrets);
    }
    if (isObject(v)) {
        const out: JsonObject = {};
        for (const [k, x] of Object.entries(v)) {
            out[k] = unwrapSecrets(x);
        }
        return out;
    }
    return v;
}

/** `null` and `undefined` both mean "absent" in provider properties. */
function isAbsent(v: unknown): boolean {
    return v === undefined || v === null;
}

/**
 * Deep equality for property values: object key order is ignored, an absent key equals a
 * key holding `null`/`undefined`, and secret wrappers are ignored (a secret equals the same
 * plain value). Unknowns are compared as strings, so callers must test for unknowns first.
 */
export function deepEqual(a: unknown, b: unknown): boolean {
    a = isSecret(a) ? a.value : a;
    b = isSecret(b) ? b.value : b;
    if (isAbsent(a) || isAbsent(b)) {
        return isAbsent(a) && isAbsent(b);
    }
    if (Array.isArray(a) || Array.isArray(b)) {
        if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) {
            return false;
        }
        return a.every((x, i) => deepEqual(x, b[i]));
    }
    if (isObject(a) || isObject(b)) {
        if (!isObject(a) || !isObject(b)) {
            return false;
        }
        const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
        for (const k of keys) {
            if (!deepEqual(a[k], b[k])) {
                return false;
            }
        }
        return true;
    }
    return a === b;
}

/** Renders a value for an error message: strings quoted, the rest as JSON. */
export function show(v: unknown): string {
    if (v === undefined) {
        return "undefined";
    }
    if (isSecret(v)) {
        return "[secret]";
    }
    return JSON.stringify(v);
}
