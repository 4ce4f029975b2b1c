/**
 * `fly:index:App`: a Fly app. App names are global across Fly, so a create that finds the
 * name taken adopts the app when it belongs to the same organization (a retried create, or
 * an app made by hand before Pulumi managed it) and fails clearly otherwise. A delete
 * refuses while the app still has machines: Pulumi deletes the machines first because they
 * depend on the app, so a machine left over means something outside Pulumi made it.
 */
import { CheckResult, CreateResult, DiffResult, ReadResult, UpdateResult } from "@pulumi/pulumi/provider";
import { AppInputs, AppOutputs } from "../types";
import { FlyApiError, FlyApp, isNotFound, isTransient } from "./client";
import { asObject, compact, diffInputs, diffResult, pick, ProviderContext, ResourceModule } from "./common";
import { APP_NAME_ALLOWED, APP_NAME_RE, Checker } from "./validate";
import { unwrapSecrets } from "./values";

export const APP_INPUT_KEYS = ["name", "org", "network"] as const;
/** Fly has no API to rename an app, move it to another org or change its network. */
export const APP_REPLACE_KEYS = ["name", "org", "network"] as const;

export function checkApp(_olds: unknown, news: unknown): CheckResult {
    const c = new Checker();
    const n = asObject(news);
    c.pattern(n, "name", "name", APP_NAME_RE, APP_NAME_ALLOWED, 'a globally unique app name, e.g. "fpsgame-api"');
    c.pattern(
        n,
        "org",
        "org",
        /^[a-z0-9][a-z0-9-]*$/,
        "an organization slug of lowercase letters, digits and dashes",
        'the organization slug, e.g. "personal"',
    );
    c.pattern(
        n,
        "network",
        "network",
        /^[a-z0-9][a-z0-9-]*$/,
        "a network name of lowercase letters, digits and dashes",
    );
    return c.failures.length ? { inputs: news, failures: c.failures } : { inputs: news };
}

/** Any change replaces the app; with the same name, the old app must be deleted first. */
export function diffApp(olds: unknown, news: unknown): DiffResult {
    const { changed, replaces } = diffInputs(olds, news, APP_INPUT_KEYS, APP_REPLACE_KEYS);
    return diffResult(changed, replaces, replaces.length > 0 && !replaces.includes("name"));
}

function appInputs(raw: unknown): AppInputs {
    const o = asObject(unwrapSecrets(raw));
    return {
        name: String(o.name ?? ""),
        org: String(o.org ?? ""),
        network: typeof o.network === "string" ? o.network : undefined,
    };
}

function outputs(inputs: AppInputs, app: FlyApp): AppOutputs {
    return compact({ ...inputs, appId: app.id, status: app.status ?? "pending" });
}

function orgOf(app: FlyApp): string | undefined {
    return app.organization?.slug;
}

async function createApp(ctx: ProviderContext, raw: unknown): Promise<CreateResult> {
    const a = appInputs(raw);
    try {
        await ctx.client.createApp({ app_name: a.name, org_slug: a.org, network: a.network });
    } catch (e) {
        const taken =
            e instanceof FlyApiError && (e.flyStatus === "name_taken" || e.status === 409 || e.status === 422);
        if (!taken && !isTransient(e)) {
            throw e;
        }
        // Taken, or a transient failure that may have created it: adopt it if it is ours.
        let existing: FlyApp;
        try {
            existing = await ctx.client.getApp(a.name);
        } catch (g) {
            if (taken && g instanceof FlyApiError && (g.status === 404 || g.status === 403)) {
                throw new Error(
                    `Fly: app name "${a.name}" is taken by an app outside org "${a.org}": app names are global, choose another`,
                );
            }
            throw isNotFound(g) ? e : g;
        }
        if (orgOf(existing) !== undefined && orgOf(existing) !== a.org) {
            throw new Error(
                `Fly: app name "${a.name}" is taken by an app in org "${orgOf(existing)}", not "${a.org}": app names are global, choose another`,
            );
        }
        ctx.log(`adopting existing app "${a.name}" in org "${a.org}"`);
        return { id: a.name, outs: outputs(a, existing) };
    }
    const app = await ctx.client.getApp(a.name);
    return { id: a.name, outs: outputs(a, app) };
}

async function readApp(ctx: ProviderContext, id: string, props: unknown): Promise<ReadResult> {
    let app: FlyApp;
    try {
        app = await ctx.client.getApp(id);
    } catch (e) {
        if (isNotFound(e)) {
            return { id: "", props: {} };
        }
        throw e;
    }
    const prior = appInputs(props);
    const inputs: AppInputs = compact({
        name: app.name ?? id,
        org: orgOf(app) ?? prior.org,
        network: prior.network,
    });
    return { id, props: outputs(inputs, app), inputs };
}

async function updateApp(_ctx: ProviderContext, _id: string, olds: unknown, news: unknown): Promise<UpdateResult> {
    // Every input replaces, so an update changes nothing on Fly.
    return { outs: compact({ ...pick(news, APP_INPUT_KEYS), ...pick(olds, ["appId", "status"]) }) };
}

async function deleteApp(ctx: ProviderContext, id: string): Promise<void> {
    let machines;
    try {
        machines = await ctx.client.listMachines(id);
    } catch (e) {
        if (isNotFound(e)) {
            return;
        }
        throw e;
    }
    const live = machines.filter((m) => !["destroyed", "destroying"].includes(m.state));
    if (live.length > 0) {
        const list = live.map((m) => `"${m.name}" (${m.id})`).join(", ");
        throw new Error(
            `Fly: cannot delete app "${id}": it still has ${live.length} machine(s): ${list}. ` +
                `Delete their fly:index:Machine resources first, or destroy machines made outside Pulumi with "fly machine destroy --force"`,
        );
    }
    try {
        await ctx.client.deleteApp(id);
    } catch (e) {
        if (!isNotFound(e)) {
            throw e;
        }
    }
}

export const app: ResourceModule = {
    check: checkApp,
    diff: diffApp,
    create: createApp,
    read: readApp,
    update: updateApp,
    delete: deleteApp,
};
