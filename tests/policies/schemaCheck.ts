/**
 * A tiny JSON-schema check for policy config: the keywords the pack's `configSchema`s use
 * (type, enum, minimum/maximum, exclusiveMinimum, minLength, pattern, minItems, items,
 * properties, required, additionalProperties). It returns every problem as `path: message`,
 * and throws on a keyword it does not know, so a schema can't silently outgrow it.
 */
import type { PolicyConfigSchema } from "../../policies/src";

type Schema = Record<string, unknown>;

const KNOWN = new Set([
    "type",
    "enum",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "minLength",
    "pattern",
    "minItems",
    "items",
    "properties",
    "required",
    "additionalProperties",
    "default",
    "description",
]);

function typeOf(v: unknown): string {
    if (v === null) return "null";
    if (Array.isArray(v)) return "array";
    if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
    return typeof v;
}

/** Problems of `value` against `schema`, each prefixed with `path`. */
export function check(value: unknown, schema: Schema | boolean, path: string): string[] {
    if (schema === true) return [];
    if (schema === false) return [`${path}: is not allowed`];
    for (const k of Object.keys(schema))
        if (!KNOWN.has(k)) throw new Error(`schemaCheck does not support "${k}" (at ${path})`);
    const t = typeOf(value);
    const want = schema.type as string | undefined;
    if (want && !(t === want || (want === "number" && t === "integer"))) return [`${path}: must be ${want}, got ${t}`];
    const problems: string[] = [];
    const s = schema as {
        enum?: unknown[];
        minimum?: number;
        maximum?: number;
        exclusiveMinimum?: number;
        minLength?: number;
        pattern?: string;
        minItems?: number;
        items?: Schema;
        properties?: Record<string, Schema>;
        required?: string[];
        additionalProperties?: Schema | boolean;
    };
    if (s.enum && !s.enum.includes(value)) problems.push(`${path}: must be one of ${s.enum.join(", ")}`);
    if (typeof value === "number") {
        if (s.minimum !== undefined && value < s.minimum) problems.push(`${path}: must be >= ${s.minimum}`);
        if (s.maximum !== undefined && value > s.maximum) problems.push(`${path}: must be <= ${s.maximum}`);
        if (s.exclusiveMinimum !== undefined && value <= s.exclusiveMinimum)
            problems.push(`${path}: must be > ${s.exclusiveMinimum}`);
    }
    if (typeof value === "string") {
        if (s.minLength !== undefined && value.length < s.minLength)
            problems.push(`${path}: must have at least ${s.minLength} characters`);
        if (s.pattern !== undefined && !new RegExp(s.pattern).test(value))
            problems.push(`${path}: must match ${s.pattern}`);
    }
    if (Array.isArray(value)) {
        if (s.minItems !== undefined && value.length < s.minItems)
            problems.push(`${path}: must have at least ${s.minItems} items`);
        if (s.items) value.forEach((v, i) => problems.push(...check(v, s.items as Schema, `${path}[${i}]`)));
    }
    if (t === "object") {
        const obj = value as Record<string, unknown>;
        for (const r of s.required ?? []) if (!(r in obj)) problems.push(`${path}.${r}: is required`);
        for (const [k, v] of Object.entries(obj)) {
            const sub = s.properties?.[k] ?? s.additionalProperties;
            if (sub !== undefined) problems.push(...check(v, sub, `${path}.${k}`));
        }
    }
    return problems;
}

/**
 * Problems of one `--policy-pack-config` entry against a policy's `configSchema`: unknown keys
 * (the CLI rejects them too), bad values, and a bad `enforcementLevel`.
 */
export function checkPolicyConfig(
    policyName: string,
    entry: unknown,
    schema: PolicyConfigSchema | undefined,
): string[] {
    if (typeof entry === "string") entry = { enforcementLevel: entry };
    const { enforcementLevel, ...config } = entry as Record<string, unknown>;
    const problems = check(
        enforcementLevel,
        { enum: ["advisory", "mandatory", "remediate", "disabled"] },
        `${policyName}.enforcementLevel`,
    );
    const objectSchema = {
        type: "object",
        properties: schema?.properties ?? {},
        required: schema?.required,
        additionalProperties: false,
    };
    return [...problems, ...check(config, objectSchema as Schema, policyName)];
}
