/**
 * A Fly app made the way the runbook made production, without Pulumi: `fly launch` (the app and
 * its shared IPv4 and IPv6), `fly secrets set`, then `fly deploy` and `fly scale count`, whose
 * machines carry the metadata flyctl writes on each machine of a release (`fly_release_id`,
 * `fly_platform_version`, `fly_process_group`) and flyctl's random two-word names. Sent to the
 * Fly emulator's Machines API, as flyctl sends them to Fly's; for tests of `npm run adopt`.
 */
import { randomBytes } from "node:crypto";

/** How to reach the emulator (the local stack's `FLY_API_URL` and `FLY_API_TOKEN`). */
export interface FlyTarget {
    readonly url: string;
    readonly token: string;
}

export interface HandmadeFlySpec {
    readonly app: string;
    readonly org?: string;
    /** Machines per region, as `fly scale count <n> --region <r>` left them. */
    readonly machines: Readonly<Record<string, number>>;
    readonly image: string;
    /** `fly secrets set K=V …` (values stay in the emulator, never printed). */
    readonly secrets: Readonly<Record<string, string>>;
    readonly internalPort?: number;
}

export interface HandmadeFly {
    readonly app: string;
    /** Machine ids per region, oldest first. */
    readonly machines: Readonly<Record<string, readonly string[]>>;
    readonly ips: readonly string[];
}

/** One request; a 429 (Fly's rate limits, which the emulator keeps) waits as flyctl does and retries. */
async function call(t: FlyTarget, method: string, p: string, body?: unknown): Promise<unknown> {
    for (let attempt = 0; ; attempt++) {
        const res = await fetch(`${t.url}${p}`, {
            method,
            headers: { Authorization: `Bearer ${t.token}`, "content-type": "application/json" },
            body: body === undefined ? undefined : JSON.stringify(body),
        });
        const text = await res.text();
        if (res.status === 429 && attempt < 20) {
            const wait = Number(res.headers.get("retry-after") ?? 1);
            await new Promise((r) => setTimeout(r, (Number.isFinite(wait) && wait > 0 ? wait : 1) * 1000));
            continue;
        }
        if (!res.ok) throw new Error(`Fly emulator: ${method} ${p}: HTTP ${res.status}: ${text.slice(0, 300)}`);
        return text ? JSON.parse(text) : undefined;
    }
}

/** Removes an app left by an earlier run (its machines first, as `fly apps destroy` does). */
export async function removeHandmadeFly(t: FlyTarget, app: string): Promise<void> {
    let machines: { id: string }[];
    try {
        machines = (await call(t, "GET", `/v1/apps/${app}/machines`)) as { id: string }[];
    } catch (e) {
        if (/HTTP 404/.test((e as Error).message)) return;
        throw e;
    }
    for (const m of machines) await call(t, "DELETE", `/v1/apps/${app}/machines/${m.id}?force=true`);
    await call(t, "DELETE", `/v1/apps/${app}`);
}

const WORDS = [
    "red",
    "quiet",
    "autumn",
    "lingering",
    "wandering",
    "misty",
    "bold",
    "silent",
    "sun",
    "river",
    "forest",
    "snow",
];
/** flyctl's kind of machine name: two words and a number. */
function flyctlName(): string {
    const b = randomBytes(3);
    return `${WORDS[b[0] % WORDS.length]}-${WORDS[b[1] % WORDS.length]}-${1000 + (b[2] % 9000)}`;
}

/** Makes the app, its IPs, its secrets and its machines; returns their ids. */
export async function makeHandmadeFly(t: FlyTarget, spec: HandmadeFlySpec): Promise<HandmadeFly> {
    const v1 = (p: string) => `/v1${p}`;
    await call(t, "POST", v1("/apps"), { app_name: spec.app, org_slug: spec.org ?? "personal" });
    const ips: string[] = [];
    for (const type of ["shared_v4", "v6"]) {
        const ip = (await call(t, "POST", v1(`/apps/${spec.app}/ip_assignments`), { type })) as { ip: string };
        ips.push(ip.ip);
    }
    await call(t, "POST", v1(`/apps/${spec.app}/secrets`), { values: spec.secrets });
    const port = spec.internalPort ?? 8080;
    const release = randomBytes(8).toString("hex");
    const machines: Record<string, string[]> = {};
    for (const [region, count] of Object.entries(spec.machines)) {
        machines[region] = [];
        for (let i = 0; i < count; i++) {
            const m = (await call(t, "POST", v1(`/apps/${spec.app}/machines`), {
                name: flyctlName(),
                region,
                config: {
                    image: spec.image,
                    guest: { cpu_kind: "shared", cpus: 1, memory_mb: 256 },
                    env: { PORT: String(port), PRIMARY_REGION: Object.keys(spec.machines)[0] },
                    services: [
                        {
                            protocol: "tcp",
                            internal_port: port,
                            autostop: "off",
                            autostart: true,
                            ports: [
                                { port: 80, handlers: ["http"], force_https: true },
                                { port: 443, handlers: ["tls", "http"] },
                            ],
                        },
                    ],
                    checks: {
                        healthz: {
                            type: "http",
                            port,
                            path: "/healthz",
                            interval: "15s",
                            timeout: "2s",
                            grace_period: "10s",
                        },
                    },
                    restart: { policy: "on-failure" },
                    metadata: {
                        fly_platform_version: "v2",
                        fly_process_group: "app",
                        fly_release_id: release,
                        fly_release_version: "7",
                        fly_flyctl_version: "0.3.214",
                    },
                },
            })) as { id: string };
            machines[region].push(m.id);
        }
    }
    return { app: spec.app, machines, ips };
}
