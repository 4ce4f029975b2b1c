/**
 * A small declarative model of a resource's input properties, enough to reproduce what the real
 * (Terraform-bridged) providers do in `Check` and `Diff`: required properties, defaults,
 * auto-naming of `name`, enums, "Optional + Computed" properties (an absent input keeps the
 * current value) and ForceNew/RequiresReplace properties. Pure: no I/O.
 */
import { randomBytes } from "node:crypto";
import type { CheckFailure } from "@pulumi/pulumi/provider";
import { containsUnknown, isAbsent, isSecret, Props, UNKNOWN, unwrap } from "./values";

export type FieldType = "string" | "number" | "boolean" | "stringList" | "stringSet" | "object" | "any";

export interface FieldSpec {
    readonly type: FieldType;
    /** The SDK/provider rejects a resource without it. */
    readonly required?: boolean;
    /** A change replaces the resource (Terraform ForceNew / RequiresReplace). */
    readonly replace?: boolean;
    /**
     * Optional + Computed: leaving the input out keeps the current value instead of diffing
     * against "unset" (the provider or the service picks a value).
     */
    readonly computed?: boolean;
    /** Applied by `check` when the input is absent (Terraform `Default`). */
    readonly default?: unknown;
    /** Allowed values (strings) for `string` and the elements of `stringList`/`stringSet`. */
    readonly enum?: readonly string[];
    /**
     * Auto-name like the bridge's `SetAutonaming`: when absent, reuse the old value, else
     * `<resource name>-<7 hex>` (truncated to maxLength).
     */
    readonly autoname?: { readonly maxLength: number; readonly lowercase?: boolean };
}

export type Fields = Readonly<Record<string, FieldSpec>>;

export interface CheckOutcome {
    /** The inputs to store: the raw news (secret wrappers kept) plus defaults and auto-names. */
    readonly inputs: Props;
    readonly failures: CheckFailure[];
}

/** Applies defaults/auto-names and validates types, enums and required properties. */
export function checkFields(fields: Fields, resourceName: string, olds: Props, news: Props): CheckOutcome {
    const inputs: Props = { ...news };
    const failures: CheckFailure[] = [];
    for (const [key, spec] of Object.entries(fields)) {
        let raw = inputs[key];
        if (isAbsent(raw)) {
            if (spec.autoname) {
                const old = olds[key];
                raw = !isAbsent(old) ? old : autoName(resourceName, spec.autoname.maxLength, spec.autoname.lowercase);
                inputs[key] = raw;
            } else if (spec.default !== undefined) {
                raw = spec.default;
                inputs[key] = raw;
            } else {
                delete inputs[key];
                if (spec.required) failures.push({ property: key, reason: `Missing required property '${key}'` });
                continue;
            }
        }
        const reason = typeError(spec, unwrap(raw));
        if (reason) failures.push({ property: key, reason: `${key}: ${reason}` });
    }
    return { inputs, failures };
}

/** `<name>-<7 hex>` (Pulumi's auto-naming), cut to maxLength. */
export function autoName(name: string, maxLength: number, lowercase = false): string {
    const base = lowercase ? name.toLowerCase() : name;
    const suffix = randomBytes(4).toString("hex").slice(0, 7);
    const head = base.slice(0, Math.max(1, maxLength - suffix.length - 1));
    return `${head}-${suffix}`;
}

function typeError(spec: FieldSpec, v: unknown): string | undefined {
    if (v === UNKNOWN || containsUnknown(v)) return undefined;
    switch (spec.type) {
        case "string":
            if (typeof v !== "string") return `expected a string, got ${describe(v)}`;
            if (spec.enum && !spec.enum.includes(v))
                return `expected one of ${spec.enum.map((e) => JSON.stringify(e)).join(", ")}, got ${JSON.stringify(v)}`;
            return undefined;
        case "number":
            return typeof v === "number" && Number.isFinite(v) ? undefined : `expected a number, got ${describe(v)}`;
        case "boolean":
            return typeof v === "boolean" ? undefined : `expected a boolean, got ${describe(v)}`;
        case "stringList":
        case "stringSet": {
            if (!Array.isArray(v)) return `expected a list of strings, got ${describe(v)}`;
            for (const x of v) {
                if (typeof x !== "string") return `expected a list of strings, got an element ${describe(x)}`;
                if (spec.enum && !spec.enum.includes(x))
                    return `expected elements in ${spec.enum.map((e) => JSON.stringify(e)).join(", ")}, got ${JSON.stringify(x)}`;
            }
            return undefined;
        }
        case "object":
            return typeof v === "object" && v !== null && !Array.isArray(v)
                ? undefined
                : `expected an object, got ${describe(v)}`;
        case "any":
            return undefined;
    }
}

function describe(v: unknown): string {
    if (v === null) return "null";
    if (Array.isArray(v)) return "a list";
    return typeof v === "string" ? JSON.stringify(v) : typeof v;
}

export interface DiffOutcome {
    /** Properties whose value changes. */
    readonly changed: string[];
    /** The subset of `changed` that forces a replacement. */
    readonly replaces: string[];
}

/**
 * Compares the checked new inputs against the old state (outputs, which echo the inputs), for
 * the declared fields only. An unknown new value counts as a change.
 */
export function diffFields(fields: Fields, olds: Props, news: Props): DiffOutcome {
    const changed: string[] = [];
    const replaces: string[] = [];
    for (const [key, spec] of Object.entries(fields)) {
        const n = news[key];
        if (isAbsent(n) && spec.computed) continue;
        let differs: boolean;
        if (containsUnknown(n)) differs = true;
        else differs = !valuesEqual(spec, unwrap(olds[key]), unwrap(n));
        if (differs) {
            changed.push(key);
            if (spec.replace) replaces.push(key);
        }
    }
    return { changed, replaces };
}

/** Equality after normalising: null ≡ undefined ≡ [] for lists, sets compare unordered, objects deep. */
export function valuesEqual(spec: FieldSpec, a: unknown, b: unknown): boolean {
    const na = normalize(spec, a);
    const nb = normalize(spec, b);
    if (spec.type === "object" && spec.computed && isPlainObject(na) && isPlainObject(nb)) {
        // Optional + Computed blocks: only the sub-properties the program sets are compared.
        return Object.entries(nb).every(([k, v]) => deepEqual(na[k], v));
    }
    return deepEqual(na, nb);
}

function normalize(spec: FieldSpec, v: unknown): unknown {
    if (isAbsent(v)) return undefined;
    // Terraform (SDKv2) does not tell "" from unset for optional strings.
    if (spec.type === "string" && v === "") return undefined;
    if ((spec.type === "stringList" || spec.type === "stringSet") && Array.isArray(v)) {
        if (v.length === 0) return undefined;
        return spec.type === "stringSet" ? [...new Set(v.map(String))].sort() : v;
    }
    return stripNulls(v);
}

function stripNulls(v: unknown): unknown {
    if (Array.isArray(v)) return v.map(stripNulls);
    if (isPlainObject(v)) {
        const out: Props = {};
        for (const [k, x] of Object.entries(v)) {
            if (!isAbsent(x)) out[k] = stripNulls(x);
        }
        return out;
    }
    return v;
}

function isPlainObject(v: unknown): v is Props {
    return typeof v === "object" && v !== null && !Array.isArray(v) && !isSecret(v);
}

export function deepEqual(a: unknown, b: unknown): boolean {
    if (a === b) return true;
    if (isAbsent(a) || isAbsent(b)) return isAbsent(a) && isAbsent(b);
    if (Array.isArray(a) || Array.isArray(b)) {
        if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
        return a.every((x, i) => deepEqual(x, b[i]));
    }
    if (isPlainObject(a) && isPlainObject(b)) {
        const ka = Object.keys(a).filter((k) => !isAbsent(a[k]));
        const kb = Object.keys(b).filter((k) => !isAbsent(b[k]));
        if (ka.length !== kb.length) return false;
        return ka.every((k) => deepEqual(a[k], b[k]));
    }
    return false;
}

/** Reads an input as a string (after unwrapping); undefined when absent or unknown. */
export function str(p: Props, key: string): string | undefined {
    const v = unwrap(p[key]);
    return typeof v === "string" && v !== UNKNOWN ? v : undefined;
}

export function num(p: Props, key: string): number | undefined {
    const v = unwrap(p[key]);
    return typeof v === "number" ? v : undefined;
}

export function bool(p: Props, key: string): boolean | undefined {
    const v = unwrap(p[key]);
    return typeof v === "boolean" ? v : undefined;
}

export function strList(p: Props, key: string): string[] | undefined {
    const v = unwrap(p[key]);
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : undefined;
}

export function obj(p: Props, key: string): Props | undefined {
    const v = unwrap(p[key]);
    return isPlainObject(v) ? v : undefined;
}

/** Is the raw input present and not (containing) an unknown? */
export function known(p: Props, key: string): boolean {
    return !isAbsent(p[key]) && !containsUnknown(p[key]);
}
