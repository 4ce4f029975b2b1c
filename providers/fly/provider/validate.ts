/**
 * A small collector for `check` failures. Every failure names the property path, what is
 * allowed and the value it got, e.g.
 * `guest.memoryMb must be a multiple of 256 from 256 to 2048 MB for 1 shared CPU; got 300`.
 * Unknown values (preview) are never validated: each helper returns `undefined` for them.
 */
import { CheckFailure } from "@pulumi/pulumi/provider";
import { FLY_REGIONS } from "../../../lib/facts/fly";
import { isObject, isSecret, isUnknown, JsonObject, show } from "./values";

export class Checker {
    readonly failures: CheckFailure[] = [];

    /** Records a failure; `allowed` completes "<path> must be ...". */
    fail(path: string, allowed: string, got: unknown): void {
        this.failures.push({ property: path, reason: `${path} must be ${allowed}; got ${show(got)}` });
    }

    /** Records "<path> is required: <hint>". */
    missing(path: string, hint: string): void {
        this.failures.push({ property: path, reason: `${path} is required: ${hint}` });
    }

    /**
     * Reads `obj[key]`, unwrapping one secret level. Returns `undefined` when it is absent
     * (after recording a "required" failure if `required` is given) or unknown.
     */
    get(obj: JsonObject, key: string, path: string, required?: string): unknown {
        let v = obj[key];
        if (isSecret(v)) {
            v = v.value;
        }
        if (v === undefined || v === null) {
            if (required !== undefined) {
                this.missing(path, required);
            }
            return undefined;
        }
        if (isUnknown(v)) {
            return undefined;
        }
        return v;
    }

    string(obj: JsonObject, key: string, path: string, required?: string): string | undefined {
        const v = this.get(obj, key, path, required);
        if (v === undefined) {
            return undefined;
        }
        if (typeof v !== "string") {
            this.fail(path, "a string", v);
            return undefined;
        }
        if (required !== undefined && v.trim() === "") {
            this.missing(path, required);
            return undefined;
        }
        return v;
    }

    /** A string that must match `re`; `allowed` describes the format. */
    pattern(
        obj: JsonObject,
        key: string,
        path: string,
        re: RegExp,
        allowed: string,
        required?: string,
    ): string | undefined {
        const v = this.string(obj, key, path, required);
        if (v !== undefined && !re.test(v)) {
            this.fail(path, allowed, v);
            return undefined;
        }
        return v;
    }

    oneOf<T extends string>(
        obj: JsonObject,
        key: string,
        path: string,
        allowed: readonly T[],
        required?: string,
    ): T | undefined {
        const v = this.get(obj, key, path, required);
        if (v === undefined) {
            return undefined;
        }
        if (typeof v !== "string" || !(allowed as readonly string[]).includes(v)) {
            this.fail(path, `one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}`, v);
            return undefined;
        }
        return v as T;
    }

    integer(
        obj: JsonObject,
        key: string,
        path: string,
        min: number,
        max: number,
        required?: string,
    ): number | undefined {
        const v = this.get(obj, key, path, required);
        if (v === undefined) {
            return undefined;
        }
        if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
            this.fail(path, `an integer from ${min} to ${max}`, v);
            return undefined;
        }
        return v;
    }

    boolean(obj: JsonObject, key: string, path: string, required?: string): boolean | undefined {
        const v = this.get(obj, key, path, required);
        if (v === undefined) {
            return undefined;
        }
        if (typeof v !== "boolean") {
            this.fail(path, "true or false", v);
            return undefined;
        }
        return v;
    }

    object(obj: JsonObject, key: string, path: string, required?: string): JsonObject | undefined {
        const v = this.get(obj, key, path, required);
        if (v === undefined) {
            return undefined;
        }
        if (!isObject(v)) {
            this.fail(path, "an object", v);
            return undefined;
        }
        return v;
    }

    array(obj: JsonObject, key: string, path: string, required?: string): unknown[] | undefined {
        const v = this.get(obj, key, path, required);
        if (v === undefined) {
            return undefined;
        }
        if (!Array.isArray(v)) {
            this.fail(path, "a list", v);
            return undefined;
        }
        return v;
    }

    /** A map of strings whose keys match `keyRe` (described by `keyAllowed`). */
    stringMap(obj: JsonObject, key: string, path: string, keyRe: RegExp, keyAllowed: string, required?: string): void {
        const m = this.object(obj, key, path, required);
        if (m === undefined) {
            return;
        }
        for (const k of Object.keys(m)) {
            if (!keyRe.test(k)) {
                this.failures.push({
                    property: `${path}.${k}`,
                    reason: `${path} keys must be ${keyAllowed}; got ${JSON.stringify(k)}`,
                });
            }
            this.string(m, k, `${path}.${k}`);
        }
    }
}

/** A DNS-style name: lowercase letters, digits and dashes, not starting or ending with a dash. */
export const APP_NAME_RE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
export const APP_NAME_ALLOWED =
    "1 to 63 lowercase letters, digits and dashes, starting and ending with a letter or digit";
/** A Fly region code from `lib/facts/fly.ts`, the list the stack config validates against too. */
export const REGION_RE = new RegExp(`^(?:${FLY_REGIONS.join("|")})$`);
export const REGION_ALLOWED = `a Fly region: ${FLY_REGIONS.join(", ")}`;
