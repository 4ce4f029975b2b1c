/**
 * `fly:index:IpAddress`: a public IP for an app, through `POST/DELETE
 * /v1/apps/{app}/ip_assignments`. Any change replaces it. The new address is allocated
 * before the old one is released, except for `shared_v4`: an app has one shared IPv4, so
 * allocating it again would return the same address that the delete then releases.
 */
import { CheckResult, CreateResult, DiffResult, ReadResult, UpdateResult } from "@pulumi/pulumi/provider";
import { IpAddressInputs, IpAddressOutputs } from "../types";
import { FlyIpAssignment, isNotFound } from "./client";
import { asObject, compact, diffInputs, diffResult, pick, ProviderContext, ResourceModule } from "./common";
import { APP_NAME_ALLOWED, APP_NAME_RE, Checker, REGION_ALLOWED, REGION_RE } from "./validate";
import { unwrapSecrets } from "./values";

export const IP_INPUT_KEYS = ["app", "type", "region"] as const;

export function checkIp(_olds: unknown, news: unknown): CheckResult {
    const c = new Checker();
    const n = asObject(news);
    c.pattern(n, "app", "app", APP_NAME_RE, APP_NAME_ALLOWED, 'the Fly app name, e.g. "fpsgame-api"');
    c.oneOf(
        n,
        "type",
        "type",
        ["v4", "v6", "shared_v4"] as const,
        '"v4" (dedicated, needed for UDP), "v6" or "shared_v4"',
    );
    c.pattern(n, "region", "region", REGION_RE, REGION_ALLOWED);
    return c.failures.length ? { inputs: news, failures: c.failures } : { inputs: news };
}

/** Everything replaces. */
export function diffIp(olds: unknown, news: unknown): DiffResult {
    const { changed } = diffInputs(olds, news, IP_INPUT_KEYS, IP_INPUT_KEYS);
    const shared = asObject(olds).type === "shared_v4" || asObject(news).type === "shared_v4";
    return diffResult(changed, changed, shared);
}

function ipInputs(raw: unknown): IpAddressInputs {
    const o = asObject(unwrapSecrets(raw));
    return compact({
        app: String(o.app ?? ""),
        type: String(o.type ?? "") as IpAddressInputs["type"],
        region: typeof o.region === "string" ? o.region : undefined,
    });
}

function outputs(inputs: IpAddressInputs, ip: FlyIpAssignment): IpAddressOutputs {
    return compact({ ...inputs, address: ip.ip });
}

async function createIp(ctx: ProviderContext, raw: unknown): Promise<CreateResult> {
    const i = ipInputs(raw);
    const ip = await ctx.client.allocateIp(i.app, compact({ type: i.type, region: i.region }));
    return { id: ip.ip, outs: outputs(i, ip) };
}

/** The type an assignment has: Fly lists a shared IPv4 with `shared: true`. */
export function ipTypeOf(ip: FlyIpAssignment): IpAddressInputs["type"] {
    if (ip.shared) return "shared_v4";
    return ip.ip.includes(":") ? "v6" : "v4";
}

/** Reads the address back; an `<app>/<address>` id imports it (`pulumi import`), its type from Fly. */
async function readIp(ctx: ProviderContext, id: string, props: unknown): Promise<ReadResult> {
    let i = ipInputs(props);
    const importing = i.app === "" && id.includes("/");
    if (importing) {
        const slash = id.indexOf("/");
        i = { app: id.slice(0, slash), type: i.type };
        id = id.slice(slash + 1);
    }
    if (i.app === "") {
        throw new Error(`Fly: cannot read IP address "${id}": its app is unknown; import it as "<app>/<address>"`);
    }
    let ips: FlyIpAssignment[];
    try {
        ips = await ctx.client.listIps(i.app);
    } catch (e) {
        if (isNotFound(e)) {
            return { id: "", props: {} };
        }
        throw e;
    }
    const ip = ips.find((x) => x.ip === id);
    if (!ip) {
        return { id: "", props: {} };
    }
    if (importing) {
        i = compact({
            app: i.app,
            type: ipTypeOf(ip),
            region: ip.shared || !ip.region || ip.region === "global" ? undefined : ip.region,
        });
    }
    return { id, props: outputs(i, ip), inputs: { ...i } };
}

async function updateIp(_ctx: ProviderContext, _id: string, olds: unknown, news: unknown): Promise<UpdateResult> {
    return { outs: compact({ ...pick(news, IP_INPUT_KEYS), ...pick(olds, ["address"]) }) };
}

async function deleteIp(ctx: ProviderContext, id: string, props: unknown): Promise<void> {
    const i = ipInputs(props);
    try {
        await ctx.client.releaseIp(i.app, id);
    } catch (e) {
        if (!isNotFound(e)) {
            throw e;
        }
    }
}

export const ip: ResourceModule = {
    check: checkIp,
    diff: diffIp,
    create: createIp,
    read: readIp,
    update: updateIp,
    delete: deleteIp,
};
