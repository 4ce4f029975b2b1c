/**
 * What exists of a Fly app, read through the Machines API with the Fly provider's own client
 * (the same requests, retries and rate-limit handling as `pulumi up`): the app, its live
 * machines, its IP addresses, its certificate and the names of its secrets (Fly never returns
 * a secret's value).
 */
import {
    FlyApp,
    FlyCertificate,
    FlyClient,
    FlyIpAssignment,
    FlyMachine,
    isNotFound,
} from "../../providers/fly/provider/client";

/** A Fly app as found, or nothing of that name. */
export interface FlyFound {
    readonly app: FlyApp;
    /** Live machines (not destroyed), oldest first. */
    readonly machines: readonly FlyMachine[];
    readonly ips: readonly FlyIpAssignment[];
    /** The certificate of `hostname`, when one was asked for and exists. */
    readonly certificate?: FlyCertificate;
    /** The names of the app's secrets. */
    readonly secretNames: readonly string[];
}

/** `fly deploy` marks the machines of a release with these metadata keys (flyctl's `machine.go`). */
export function madeByFlyDeploy(m: FlyMachine): boolean {
    const md = m.config?.metadata ?? {};
    return typeof md.fly_release_id === "string" || typeof md.fly_platform_version === "string";
}

const GONE = new Set(["destroyed", "destroying", "replaced", "migrated"]);

/**
 * Reads app `appName` and what it holds; `undefined` when Fly has no such app. The client
 * takes its URL and token from `FLY_API_URL` and `FLY_API_TOKEN`, as the provider does.
 */
export async function findFlyApp(client: FlyClient, appName: string, hostname?: string): Promise<FlyFound | undefined> {
    let app: FlyApp;
    try {
        app = await client.getApp(appName);
    } catch (e) {
        if (isNotFound(e)) return undefined;
        throw e;
    }
    const machines = (await client.listMachines(appName))
        .filter((m) => !GONE.has(m.state))
        .sort(
            (a, b) => String(a.created_at ?? "").localeCompare(String(b.created_at ?? "")) || a.id.localeCompare(b.id),
        );
    const ips = await client.listIps(appName);
    let certificate: FlyCertificate | undefined;
    if (hostname) {
        try {
            certificate = await client.getCertificate(appName, hostname);
        } catch (e) {
            if (!isNotFound(e)) throw e;
        }
    }
    const secrets = await client.listSecrets(appName);
    return {
        app,
        machines,
        ips,
        certificate,
        secretNames: (secrets.secrets ?? []).map((s) => s.name).sort(),
    };
}
