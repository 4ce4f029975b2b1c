/**
 * What the per-resource modules share: the module interface the provider dispatches to,
 * the context each operation gets, the generic input diff and the output helpers.
 */
import { DiffResult } from "@pulumi/pulumi/provider";
import type { ResourceModule as PluginResourceModule } from "../../plugin";
import { FlyClient } from "./client";
import { containsUnknown, deepEqual, isObject, JsonObject, unwrapSecrets } from "./values";

/** Per-process state shared by every operation of one provider instance. */
export interface ProviderContext {
    client: FlyClient;
    /** How often to poll a machine's checks. */
    pollIntervalMs: number;
    /** Writes a progress line for the engine's plugin log (stderr; never stdout, which carries the port). */
    log(message: string): void;
}

/** One resource type's implementation (the shape in `providers/plugin.ts`). `check` and `diff` are pure. */
export type ResourceModule = PluginResourceModule<ProviderContext>;

export function asObject(v: unknown): JsonObject {
    const plain = isObject(v) ? v : {};
    return plain;
}

/**
 * Compares the input properties `keys` of the old state and the new inputs. A key whose new
 * value is (or contains) an unknown counts as changed; if it is also in `replaceKeys`, it
 * forces a replacement (its value may turn out different once known). Secret wrappers are
 * ignored and key order does not matter.
 */
export function diffInputs(
    olds: unknown,
    news: unknown,
    keys: readonly string[],
    replaceKeys: readonly string[],
): { changed: string[]; replaces: string[] } {
    const o = asObject(olds);
    const n = asObject(news);
    const changed: string[] = [];
    for (const k of keys) {
        if (containsUnknown(n[k]) || !deepEqual(unwrapSecrets(o[k]), unwrapSecrets(n[k]))) {
            changed.push(k);
        }
    }
    return { changed, replaces: changed.filter((k) => replaceKeys.includes(k)) };
}

/** The DiffResult for a change set: `changes:false` when nothing changed. */
export function diffResult(changed: string[], replaces: string[], deleteBeforeReplace = false): DiffResult {
    if (changed.length === 0) {
        return { changes: false };
    }
    if (replaces.length === 0) {
        return { changes: true };
    }
    return deleteBeforeReplace ? { changes: true, replaces, deleteBeforeReplace: true } : { changes: true, replaces };
}

/**
 * Removes `undefined` values deeply: `Struct.fromJavaScript` rejects them, so outputs must
 * not hold any.
 */
export function compact<T>(v: T): T {
    if (Array.isArray(v)) {
        return v.map(compact) as unknown as T;
    }
    if (isObject(v)) {
        const out: JsonObject = {};
        for (const [k, x] of Object.entries(v)) {
            if (x !== undefined) {
                out[k] = compact(x);
            }
        }
        return out as T;
    }
    return v;
}

/** Picks `keys` from a raw property bag (keeping secret wrappers), dropping absent ones. */
export function pick(v: unknown, keys: readonly string[]): JsonObject {
    const o = asObject(v);
    const out: JsonObject = {};
    for (const k of keys) {
        if (o[k] !== undefined && o[k] !== null) {
            out[k] = o[k];
        }
    }
    return out;
}

export function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
}
