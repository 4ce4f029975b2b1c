/**
 * The raw values a `@pulumi/pulumi/provider` server hands to a provider: plain JSON in which
 * secrets are `{"4dabf…": "1b47…", value}` objects and unknown (preview-time) values are the
 * string "04da6b54-…". Pure helpers, no I/O.
 */

import { SECRET_SIG, SECRET_SIG_KEY, UNKNOWN } from "../../../lib/facts/sentinels";

// The sentinels come from the SDK through lib/facts; re-exported for the stand-ins' modules.
export { SECRET_SIG, SECRET_SIG_KEY, UNKNOWN };

export type Props = Record<string, unknown>;

export interface SecretValue {
    [SECRET_SIG_KEY]: typeof SECRET_SIG;
    value: unknown;
}

export function isSecret(v: unknown): v is SecretValue {
    return typeof v === "object" && v !== null && (v as Record<string, unknown>)[SECRET_SIG_KEY] === SECRET_SIG;
}

/** Wraps a value as a secret (unless it is already one, or null/undefined). */
export function secret(v: unknown): unknown {
    if (v === undefined || v === null || isSecret(v)) return v;
    return { [SECRET_SIG_KEY]: SECRET_SIG, value: v };
}

/** Removes every secret wrapper, deeply. */
export function unwrap(v: unknown): unknown {
    if (isSecret(v)) return unwrap(v.value);
    if (Array.isArray(v)) return v.map(unwrap);
    if (typeof v === "object" && v !== null) {
        const out: Props = {};
        for (const [k, x] of Object.entries(v)) out[k] = unwrap(x);
        return out;
    }
    return v;
}

export function unwrapProps(p: Props | undefined | null): Props {
    return (unwrap(p ?? {}) as Props) ?? {};
}

/** True when the value is, or contains, an unknown. */
export function containsUnknown(v: unknown): boolean {
    if (v === UNKNOWN) return true;
    if (isSecret(v)) return containsUnknown(v.value);
    if (Array.isArray(v)) return v.some(containsUnknown);
    if (typeof v === "object" && v !== null) return Object.values(v).some(containsUnknown);
    return false;
}

/** True when the value is null or undefined. */
export function isAbsent(v: unknown): v is null | undefined {
    return v === undefined || v === null;
}

/** Drops undefined members (a protobuf Struct cannot hold them), deeply. */
export function stripUndefined<T>(v: T): T {
    if (Array.isArray(v)) return v.map((x) => stripUndefined(x)) as unknown as T;
    if (typeof v === "object" && v !== null) {
        const out: Props = {};
        for (const [k, x] of Object.entries(v)) {
            if (x !== undefined) out[k] = stripUndefined(x);
        }
        return out as T;
    }
    return v;
}

/** Wraps the named top-level outputs as secrets. */
export function wrapSecrets(outs: Props, keys: readonly string[]): Props {
    const out: Props = { ...outs };
    for (const k of keys) {
        if (k in out) out[k] = secret(out[k]);
    }
    return out;
}
