/**
 * `fly:index:AppSecrets`: an app's secrets, set and unset in one bulk request
 * (`POST /v1/apps/{app}/secrets {"values": {...}}`, `null` unsets). Fly only keeps digests,
 * so the values live in Pulumi state, always wrapped as secrets so the engine encrypts them.
 * The output `version` is Fly's secrets version after the change; machines take it as
 * `minSecretsVersion`, so a rotation restarts them with the new values.
 */
import { CheckResult, CreateResult, DiffResult, ReadResult, UpdateResult } from "@pulumi/pulumi/provider";
import { AppSecretsOutputs } from "../types";
import { FlyApiError, isNotFound } from "./client";
import { asObject, compact, diffInputs, diffResult, ProviderContext, ResourceModule } from "./common";
import { APP_NAME_ALLOWED, APP_NAME_RE, Checker } from "./validate";
import { isObject, isSecret, isUnknown, unwrapSecrets, wrapSecret } from "./values";

export const SECRETS_INPUT_KEYS = ["app", "values"] as const;
export const SECRETS_REPLACE_KEYS = ["app"] as const;
const SECRET_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function checkSecrets(_olds: unknown, news: unknown): CheckResult {
    const c = new Checker();
    const n = asObject(news);
    c.pattern(n, "app", "app", APP_NAME_RE, APP_NAME_ALLOWED, 'the Fly app name, e.g. "fpsgame-api"');
    const values = c.object(n, "values", "values", "a map of secret name to value");
    if (values !== undefined) {
        for (const [k, v] of Object.entries(values)) {
            if (!SECRET_NAME_RE.test(k)) {
                c.failures.push({
                    property: `values.${k}`,
                    reason: `values keys must be environment variable names (letters, digits and _, not starting with a digit); got ${JSON.stringify(k)}`,
                });
            }
            const plain = isSecret(v) ? v.value : v;
            if (!isUnknown(plain) && typeof plain !== "string") {
                // Never echo a secret value back: name the key and the type only.
                c.failures.push({
                    property: `values.${k}`,
                    reason: `values.${k} must be a string; got a ${typeof plain}`,
                });
            }
        }
    }
    return c.failures.length ? { inputs: news, failures: c.failures } : { inputs: news };
}

/** `app` replaces; a change of `values` (added, removed or rotated keys) is an update. */
export function diffSecrets(olds: unknown, news: unknown): DiffResult {
    const { changed, replaces } = diffInputs(olds, news, SECRETS_INPUT_KEYS, SECRETS_REPLACE_KEYS);
    return diffResult(changed, replaces);
}

function plainValues(raw: unknown): Record<string, string> {
    const v = unwrapSecrets(asObject(raw).values);
    const out: Record<string, string> = {};
    if (isObject(v)) {
        for (const [k, x] of Object.entries(v)) {
            if (typeof x === "string") {
                out[k] = x;
            }
        }
    }
    return out;
}

function appOf(raw: unknown): string {
    const app = unwrapSecrets(asObject(raw).app);
    return typeof app === "string" ? app : "";
}

async function versionAfter(ctx: ProviderContext, app: string, version: number | undefined): Promise<number> {
    if (typeof version === "number") {
        return version;
    }
    const listed = await ctx.client.listSecrets(app);
    if (typeof listed.version === "number") {
        return listed.version;
    }
    throw new FlyApiError({ action: "set secrets", app }, { cause: "Fly did not report the new secrets version" });
}

function outputs(app: string, values: Record<string, string>, version: number): AppSecretsOutputsWire {
    return compact({ app, values: wrapSecret(values), version, names: Object.keys(values).sort() });
}

/** The outputs as the engine receives them: `values` wrapped as a secret. */
type AppSecretsOutputsWire = Omit<AppSecretsOutputs, "values"> & { values: ReturnType<typeof wrapSecret> };

async function createSecrets(ctx: ProviderContext, inputs: unknown): Promise<CreateResult> {
    const app = appOf(inputs);
    const values = plainValues(inputs);
    if (Object.keys(values).length === 0) {
        // Nothing to set (Fly refuses an empty bulk request); no version to wait for either.
        return { id: app, outs: outputs(app, values, 0) };
    }
    const res = await ctx.client.setSecrets(app, values);
    const version = await versionAfter(ctx, app, res.version);
    return { id: app, outs: outputs(app, values, version) };
}

async function updateSecrets(ctx: ProviderContext, _id: string, olds: unknown, news: unknown): Promise<UpdateResult> {
    const app = appOf(news);
    const values = plainValues(news);
    const body: Record<string, string | null> = { ...values };
    for (const k of Object.keys(plainValues(olds))) {
        if (!(k in values)) {
            body[k] = null;
        }
    }
    for (const k of (asObject(olds).names as unknown[] | undefined) ?? []) {
        if (typeof k === "string" && !(k in values)) {
            body[k] = null;
        }
    }
    if (Object.keys(body).length === 0) {
        const prior = asObject(olds).version;
        return { outs: outputs(app, values, typeof prior === "number" ? prior : 0) };
    }
    const res = await ctx.client.setSecrets(app, body);
    const version = await versionAfter(ctx, app, res.version);
    return { outs: outputs(app, values, version) };
}

async function readSecrets(ctx: ProviderContext, id: string, props: unknown): Promise<ReadResult> {
    const app = appOf(props) || id;
    let listed;
    try {
        listed = await ctx.client.listSecrets(app);
    } catch (e) {
        if (isNotFound(e)) {
            return { id: "", props: {} };
        }
        throw e;
    }
    const present = new Set((listed.secrets ?? []).map((s) => s.name));
    // Fly returns digests, not values: keep the recorded values of the names still set, so a
    // secret unset outside Pulumi shows up as a change and the next update sets it again.
    const values: Record<string, string> = {};
    for (const [k, v] of Object.entries(plainValues(props))) {
        if (present.has(k)) {
            values[k] = v;
        }
    }
    const prior = asObject(props).version;
    const version = typeof listed.version === "number" ? listed.version : typeof prior === "number" ? prior : 0;
    const outs = outputs(app, values, version);
    return { id: app, props: outs, inputs: { app, values: outs.values } };
}

async function deleteSecrets(ctx: ProviderContext, _id: string, props: unknown): Promise<void> {
    const app = appOf(props);
    const names = new Set(Object.keys(plainValues(props)));
    for (const k of (asObject(props).names as unknown[] | undefined) ?? []) {
        if (typeof k === "string") {
            names.add(k);
        }
    }
    if (names.size === 0) {
        return;
    }
    const body: Record<string, null> = {};
    for (const k of names) {
        body[k] = null;
    }
    try {
        await ctx.client.setSecrets(app, body);
    } catch (e) {
        if (!isNotFound(e)) {
            throw e;
        }
    }
}

export const secrets: ResourceModule = {
    check: checkSecrets,
    diff: diffSecrets,
    create: createSecrets,
    read: readSecrets,
    update: updateSecrets,
    delete: deleteSecrets,
};
