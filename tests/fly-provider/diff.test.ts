/**
 * Pure tests of the Fly provider's `check` and `diff` (no HTTP): which changes replace a
 * resource, which update it in place, that equal values in another key order or wrapped as
 * secrets are no change, how unknowns (preview) are treated, and the exact check failures.
 */
import { checkApp, diffApp } from "../../providers/fly/provider/app";
import { checkCertificate, diffCertificate } from "../../providers/fly/provider/certificate";
import { checkIp, diffIp } from "../../providers/fly/provider/ip";
import { checkMachine, diffMachine, managedView, toMachineConfig } from "../../providers/fly/provider/machine";
import { FlyProvider, typeOfUrn } from "../../providers/fly/provider/provider";
import { checkSecrets, diffSecrets } from "../../providers/fly/provider/secrets";
import { FLY_REGIONS } from "../../lib/facts/fly";
import { SECRET_SIG, SECRET_SIG_KEY, UNKNOWN } from "../../lib/facts/sentinels";
import { deepEqual, unwrapSecrets, wrapSecret } from "../../providers/fly/provider/values";
import { MachineInputs } from "../../providers/fly/types";

const secret = <T>(value: T) => ({ [SECRET_SIG_KEY]: SECRET_SIG, value });

/** A valid machine: the happy path every test changes in one field. */
function machineInputs(): MachineInputs {
    return {
        app: "fpsgame-api",
        region: "iad",
        name: "fpsgame-api-iad-1",
        image: "registry.fly.io/fpsgame-api:v1",
        guest: { cpuKind: "shared", cpus: 1, memoryMb: 512 },
        env: { NODE_ENV: "production", PORT: "8080" },
        services: [
            {
                protocol: "tcp",
                internalPort: 8080,
                ports: [
                    { port: 80, handlers: ["http"], forceHttps: true },
                    { port: 443, handlers: ["tls", "http"] },
                ],
                autostop: "off",
                autostart: true,
                minMachinesRunning: 1,
                concurrency: { type: "connections", softLimit: 200, hardLimit: 250 },
                checks: [
                    {
                        type: "http",
                        path: "/healthz",
                        method: "GET",
                        interval: "15s",
                        timeout: "2s",
                        gracePeriod: "5s",
                    },
                ],
            },
        ],
        metrics: { port: 9091, path: "/metrics" },
        minSecretsVersion: 3,
    };
}

/** The same inputs as an old state (outputs) would carry them. */
function machineState(): Record<string, unknown> {
    return {
        ...machineInputs(),
        machineId: "1857156b526dd8",
        instanceId: "01J0000000000000000000000",
        state: "started",
        privateIp: "fdaa:0:1::2",
    };
}

/** The same value with every object's keys in reverse order. */
function reverseKeys(v: unknown): unknown {
    if (Array.isArray(v)) return v.map(reverseKeys);
    if (typeof v === "object" && v !== null) {
        return Object.fromEntries(
            Object.entries(v)
                .reverse()
                .map(([k, x]) => [k, reverseKeys(x)]),
        );
    }
    return v;
}

function reasons(result: { failures?: { property: string; reason: string }[] }): string[] {
    return (result.failures ?? []).map((f) => f.reason);
}

describe("Machine diff", () => {
    test("identical inputs are no change, whatever the key order", () => {
        const reordered = reverseKeys(machineInputs()) as Record<string, unknown>;
        expect(Object.keys(reordered)[0]).toBe("minSecretsVersion");
        expect(diffMachine(machineState(), reordered)).toEqual({ changes: false });
    });

    test("an env value wrapped as a secret equals the same plain value", () => {
        const n = { ...machineInputs(), env: { NODE_ENV: secret("production"), PORT: "8080" } };
        expect(diffMachine(machineState(), n)).toEqual({ changes: false });
        const wrappedWhole = { ...machineInputs(), env: secret({ PORT: "8080", NODE_ENV: "production" }) };
        expect(diffMachine(machineState(), wrappedWhole)).toEqual({ changes: false });
    });

    test.each([
        ["region", { region: "ord" }, ["region"]],
        ["app", { app: "fpsgame-api-2" }, ["app"]],
        ["app and region", { app: "fpsgame-api-2", region: "ord" }, ["app", "region"]],
    ])("a change of %s replaces the machine, deleting the old one first (same name)", (_what, change, replaces) => {
        expect(diffMachine(machineState(), { ...machineInputs(), ...change })).toEqual({
            changes: true,
            replaces,
            deleteBeforeReplace: true,
        });
    });

    test("a change of name replaces the machine, creating the new one first", () => {
        expect(diffMachine(machineState(), { ...machineInputs(), name: "fpsgame-api-iad-9" })).toEqual({
            changes: true,
            replaces: ["name"],
        });
        expect(diffMachine(machineState(), { ...machineInputs(), name: "fpsgame-api-ord-1", region: "ord" })).toEqual({
            changes: true,
            replaces: ["region", "name"],
        });
    });

    test.each<[string, Partial<MachineInputs>]>([
        ["image", { image: "registry.fly.io/fpsgame-api:v2" }],
        ["guest", { guest: { cpuKind: "shared", cpus: 2, memoryMb: 1024 } }],
        ["env", { env: { NODE_ENV: "production", PORT: "8080", LOG_LEVEL: "debug" } }],
        ["metrics", { metrics: { port: 9091, path: "/prom" } }],
        ["metadata", { metadata: { team: "netcode" } }],
        ["minSecretsVersion", { minSecretsVersion: 4 }],
        ["restartPolicy", { restartPolicy: "always" }],
        ["waitTimeoutSeconds", { waitTimeoutSeconds: 300 }],
    ])("a change of %s is an in-place update", (_what, change) => {
        expect(diffMachine(machineState(), { ...machineInputs(), ...change })).toEqual({ changes: true });
    });

    test("a change deep inside services is an in-place update", () => {
        const n = machineInputs();
        n.services[0].concurrency.softLimit = 150;
        expect(diffMachine(machineState(), n)).toEqual({ changes: true });
        const n2 = machineInputs();
        n2.services[0].checks[0].path = "/ready";
        expect(diffMachine(machineState(), n2)).toEqual({ changes: true });
    });

    test("an unknown value is a change; an unknown app/region/name is a replacement", () => {
        expect(diffMachine(machineState(), { ...machineInputs(), image: UNKNOWN })).toEqual({ changes: true });
        expect(diffMachine(machineState(), { ...machineInputs(), env: { NODE_ENV: UNKNOWN, PORT: "8080" } })).toEqual({
            changes: true,
        });
        expect(diffMachine(machineState(), { ...machineInputs(), minSecretsVersion: secret(UNKNOWN) })).toEqual({
            changes: true,
        });
        expect(diffMachine(machineState(), { ...machineInputs(), app: UNKNOWN })).toEqual({
            changes: true,
            replaces: ["app"],
            deleteBeforeReplace: true,
        });
    });
});

describe("App, AppSecrets, IpAddress and Certificate diffs", () => {
    const appState = { name: "fpsgame-api", org: "personal", appId: "z4k69dxd8r31p5mx", status: "deployed" };
    test("App: no change; name replaces; org replaces after deleting the old app", () => {
        expect(diffApp(appState, { org: "personal", name: "fpsgame-api" })).toEqual({ changes: false });
        expect(diffApp(appState, { name: "fpsgame-api-2", org: "personal" })).toEqual({
            changes: true,
            replaces: ["name"],
        });
        expect(diffApp(appState, { name: "fpsgame-api", org: "acme" })).toEqual({
            changes: true,
            replaces: ["org"],
            deleteBeforeReplace: true,
        });
        expect(diffApp(appState, { name: "fpsgame-api-2", org: "acme" })).toEqual({
            changes: true,
            replaces: ["name", "org"],
        });
    });

    const secretsState = {
        app: "fpsgame-api",
        values: secret({ JWT_SECRET: "s1", DATABASE_URL: "postgres://u:p@h/db" }),
        version: 2,
        names: ["DATABASE_URL", "JWT_SECRET"],
    };
    test("AppSecrets: equal values (wrapped whole or per value, any order) are no change", () => {
        expect(
            diffSecrets(secretsState, {
                app: "fpsgame-api",
                values: secret({ DATABASE_URL: "postgres://u:p@h/db", JWT_SECRET: "s1" }),
            }),
        ).toEqual({ changes: false });
        expect(
            diffSecrets(secretsState, {
                app: "fpsgame-api",
                values: { JWT_SECRET: secret("s1"), DATABASE_URL: secret("postgres://u:p@h/db") },
            }),
        ).toEqual({ changes: false });
    });
    test("AppSecrets: a rotated, added or removed value is an update; app replaces", () => {
        expect(
            diffSecrets(secretsState, {
                app: "fpsgame-api",
                values: secret({ JWT_SECRET: "s2", DATABASE_URL: "postgres://u:p@h/db" }),
            }),
        ).toEqual({
            changes: true,
        });
        expect(diffSecrets(secretsState, { app: "fpsgame-api", values: secret({ JWT_SECRET: "s1" }) })).toEqual({
            changes: true,
        });
        expect(diffSecrets(secretsState, { app: "fpsgame-api", values: secret(UNKNOWN) })).toEqual({ changes: true });
        expect(diffSecrets(secretsState, { app: "other", values: secretsState.values })).toEqual({
            changes: true,
            replaces: ["app"],
        });
    });

    test("IpAddress: every change replaces; shared_v4 is deleted before it is replaced", () => {
        const ip = { app: "fpsgame-api", type: "v6", address: "2a09:8280:1::1" };
        expect(diffIp(ip, { app: "fpsgame-api", type: "v6" })).toEqual({ changes: false });
        expect(diffIp(ip, { app: "fpsgame-api", type: "v4" })).toEqual({ changes: true, replaces: ["type"] });
        expect(diffIp(ip, { app: "fpsgame-api", type: "v6", region: "iad" })).toEqual({
            changes: true,
            replaces: ["region"],
        });
        expect(diffIp({ app: "a", type: "shared_v4", address: "1.2.3.4" }, { app: "b", type: "shared_v4" })).toEqual({
            changes: true,
            replaces: ["app"],
            deleteBeforeReplace: true,
        });
    });

    test("Certificate: app and hostname replace", () => {
        const cert = {
            app: "fpsgame-api",
            hostname: "api.example.com",
            status: "active",
            cnameTarget: "fpsgame-api.fly.dev",
        };
        expect(diffCertificate(cert, { hostname: "api.example.com", app: "fpsgame-api" })).toEqual({ changes: false });
        expect(diffCertificate(cert, { app: "fpsgame-api", hostname: "play.example.com" })).toEqual({
            changes: true,
            replaces: ["hostname"],
        });
        expect(diffCertificate(cert, { app: "fpsgame-api-2", hostname: "api.example.com" })).toEqual({
            changes: true,
            replaces: ["app"],
            deleteBeforeReplace: true,
        });
    });
});

describe("check", () => {
    test("valid machine inputs pass and are returned as given (secrets still wrapped)", () => {
        const n = { ...machineInputs(), env: { NODE_ENV: secret("production") } };
        expect(checkMachine({}, n)).toEqual({ inputs: n });
    });

    test("region, guest and concurrency failures name the property, the value and what is allowed", () => {
        const n = machineInputs();
        n.region = "US-East";
        n.guest = { cpuKind: "shared", cpus: 1, memoryMb: 300 };
        (n.services[0].concurrency as { type: string }).type = "sessions";
        const result = checkMachine({}, n);
        expect(result.failures?.map((f) => f.property)).toEqual([
            "region",
            "guest.memoryMb",
            "services[0].concurrency.type",
        ]);
        expect(reasons(result)).toEqual([
            `region must be a Fly region: ${FLY_REGIONS.join(", ")}; got "US-East"`,
            "guest.memoryMb must be a multiple of 256 from 256 to 2048 MB for 1 shared CPU; got 300",
            'services[0].concurrency.type must be one of "connections", "requests"; got "sessions"',
        ]);
    });

    test("memory ranges per CPU kind", () => {
        const perf = { ...machineInputs(), guest: { cpuKind: "performance", cpus: 2, memoryMb: 2048 } };
        expect(reasons(checkMachine({}, perf))).toEqual([
            "guest.memoryMb must be a multiple of 256 from 4096 to 16384 MB for 2 performance CPUs; got 2048",
        ]);
        const big = { ...machineInputs(), guest: { cpuKind: "shared", cpus: 2, memoryMb: 4352 } };
        expect(reasons(checkMachine({}, big))).toEqual([
            "guest.memoryMb must be a multiple of 256 from 512 to 4096 MB for 2 shared CPUs; got 4352",
        ]);
        const cpus = { ...machineInputs(), guest: { cpuKind: "shared", cpus: 3, memoryMb: 768 } };
        expect(reasons(checkMachine({}, cpus))).toEqual([
            "guest.cpus must be one of 1, 2, 4, 6, 8 for shared CPUs; got 3",
        ]);
        expect(
            checkMachine({}, { ...machineInputs(), guest: { cpuKind: "performance", cpus: 1, memoryMb: 8192 } })
                .failures,
        ).toBeUndefined();
    });

    test("service, check and missing-property failures", () => {
        const n = machineInputs() as unknown as Record<string, unknown>;
        delete n.image;
        const svc = (n.services as Record<string, unknown>[])[0];
        svc.autostop = true;
        svc.internalPort = 70000;
        (svc.checks as Record<string, unknown>[])[0].interval = "15 seconds";
        (svc.ports as Record<string, unknown>[])[1].handlers = ["tls", "websocket"];
        expect(reasons(checkMachine({}, n))).toEqual([
            'image is required: a container image reference, e.g. "registry.fly.io/fpsgame-api:v1"',
            "services[0].internalPort must be an integer from 1 to 65535; got 70000",
            'services[0].ports[1].handlers[1] must be one of "http", "tls", "tcp", "proxy_proto", "pg_tls", "edge_http"; got "websocket"',
            'services[0].autostop must be one of "off", "stop", "suspend"; got true',
            'services[0].checks[0].interval must be a Go duration string such as "15s", "500ms" or "1m30s"; got "15 seconds"',
        ]);
    });

    test("reserved metadata keys are refused", () => {
        expect(reasons(checkMachine({}, { ...machineInputs(), metadata: { managed_by: "me" } }))).toEqual([
            'metadata.managed_by must be left unset: the provider sets metadata.managed_by itself; got "me"',
        ]);
    });

    test("unknown values are not validated during preview", () => {
        const n = {
            ...machineInputs(),
            app: UNKNOWN,
            region: UNKNOWN,
            image: secret(UNKNOWN),
            guest: { cpuKind: "shared", cpus: UNKNOWN, memoryMb: 65536 },
            services: [UNKNOWN],
        };
        expect(checkMachine({}, n).failures).toBeUndefined();
        expect(checkMachine({}, { ...machineInputs(), guest: UNKNOWN }).failures).toBeUndefined();
    });

    test("App, AppSecrets, IpAddress and Certificate", () => {
        expect(reasons(checkApp({}, { name: "FPS_Game", org: "personal" }))).toEqual([
            'name must be 1 to 63 lowercase letters, digits and dashes, starting and ending with a letter or digit; got "FPS_Game"',
        ]);
        expect(reasons(checkApp({}, { name: "fpsgame-api" }))).toEqual([
            'org is required: the organization slug, e.g. "personal"',
        ]);
        expect(reasons(checkSecrets({}, { app: "fpsgame-api", values: secret({ "jwt-secret": "x", N: 5 }) }))).toEqual([
            'values keys must be environment variable names (letters, digits and _, not starting with a digit); got "jwt-secret"',
            "values.N must be a string; got a number",
        ]);
        expect(reasons(checkIp({}, { app: "fpsgame-api", type: "v5" }))).toEqual([
            'type must be one of "v4", "v6", "shared_v4"; got "v5"',
        ]);
        expect(reasons(checkCertificate({}, { app: "fpsgame-api", hostname: "API.example.com" }))).toEqual([
            'hostname must be a lowercase DNS name such as "api.example.com" (or "*.example.com"); got "API.example.com"',
        ]);
    });

    test("a secret value never appears in a failure", () => {
        const result = checkSecrets({}, { app: "fpsgame-api", values: { JWT: secret(12345678) } });
        expect(JSON.stringify(result.failures)).not.toContain("12345678");
    });
});

describe("MachineConfig translation", () => {
    test("camelCase inputs become Fly's snake_case config with the managed metadata", () => {
        const config = toMachineConfig({ ...machineInputs(), restartPolicy: "always", metadata: { team: "netcode" } });
        expect(config).toEqual({
            image: "registry.fly.io/fpsgame-api:v1",
            guest: { cpu_kind: "shared", cpus: 1, memory_mb: 512 },
            env: { NODE_ENV: "production", PORT: "8080" },
            services: [
                {
                    protocol: "tcp",
                    internal_port: 8080,
                    ports: [
                        { port: 80, handlers: ["http"], force_https: true },
                        { port: 443, handlers: ["tls", "http"] },
                    ],
                    autostop: "off",
                    autostart: true,
                    min_machines_running: 1,
                    concurrency: { type: "connections", soft_limit: 200, hard_limit: 250 },
                    checks: [
                        {
                            type: "http",
                            path: "/healthz",
                            method: "GET",
                            interval: "15s",
                            timeout: "2s",
                            grace_period: "5s",
                        },
                    ],
                },
            ],
            metrics: { port: 9091, path: "/metrics" },
            metadata: { team: "netcode", fly_platform_version: "v2", fly_process_group: "app", managed_by: "pulumi" },
            restart: { policy: "always" },
        });
    });

    test("Fly's answer (autostop as bool, durations in ns, default check port) means the same config", () => {
        const sent = toMachineConfig(machineInputs());
        const answered = JSON.parse(JSON.stringify(sent));
        answered.services[0].autostop = false;
        answered.services[0].checks[0].interval = 15e9;
        answered.services[0].checks[0].port = 8080;
        answered.init = {};
        answered.guest.kernel_args = [];
        expect(deepEqual(managedView(sent), managedView(answered))).toBe(true);
        answered.services[0].autostop = true;
        expect(deepEqual(managedView(sent), managedView(answered))).toBe(false);
    });

    test("secret helpers", () => {
        expect(wrapSecret("x")).toEqual(secret("x"));
        expect(unwrapSecrets({ a: secret({ b: secret("c") }) })).toEqual({ a: { b: "c" } });
    });
});

describe("provider dispatch", () => {
    test("the type token comes from the URN, parent types included", () => {
        expect(typeOfUrn("urn:pulumi:dev::fpsgame::fly:index:Machine::api-iad-1")).toBe("fly:index:Machine");
        expect(typeOfUrn("urn:pulumi:dev::fpsgame::game:index:Backend$fly:index:App::api")).toBe("fly:index:App");
    });

    test("check and diff are reachable through the provider; an unknown type fails clearly", async () => {
        const p = new FlyProvider();
        const urn = "urn:pulumi:dev::fpsgame::fly:index:Machine::m";
        await expect(p.diff("id", urn, machineState(), machineInputs())).resolves.toEqual({ changes: false });
        await expect(p.check("urn:pulumi:dev::fpsgame::fly:index:Volume::v", {}, {})).rejects.toThrow(
            'the fly provider has no resource type "fly:index:Volume"',
        );
    });
});
