/**
 * Happy-path resources as the fpsgame program declares them (prod sizes). Each test takes one,
 * changes one field, and expects exactly the violation that field causes.
 */
import { SECRET_SIG, SECRET_SIG_KEY } from "../../lib/facts/sentinels";
import { Types } from "../../policies/src";
import type { TestResource } from "./harness";

/** The secret marker Pulumi's wire format and mocks use: `{ [SIG]: SECRET, value }`. */
export const secretWire = (value: unknown) => ({ [SECRET_SIG_KEY]: SECRET_SIG, value });

/** A `@pulumi/policy` `Secret`, as remediations and secret-preserving proxies hold it. */
export class Secret {
    constructor(public readonly value: unknown) {}
}

export const DIGEST_IMAGE = `registry.fly.io/fpsgame-api@sha256:${"a1".repeat(32)}`;

/** One service as `FlyApiApp` builds it. */
export function service(): Record<string, unknown> {
    const check = (path: string) => ({
        type: "http",
        port: 8080,
        method: "GET",
        path,
        protocol: "http",
        interval: "15s",
        timeout: "2s",
        gracePeriod: "10s",
    });
    return {
        protocol: "tcp",
        internalPort: 8080,
        ports: [
            { port: 80, handlers: ["http"], forceHttps: true },
            { port: 443, handlers: ["tls", "http"] },
        ],
        autostop: "stop",
        autostart: true,
        minMachinesRunning: 1,
        concurrency: { type: "connections", softLimit: 200, hardLimit: 250 },
        checks: [check("/healthz"), check("/readyz")],
    };
}

/** Machine inputs; `overrides` replace top-level fields. */
export function machineProps(
    region = "sjc",
    index = 1,
    overrides: Record<string, unknown> = {},
): Record<string, unknown> {
    return {
        app: "fpsgame-api",
        region,
        name: `fpsgame-api-${region}-${index}`,
        image: DIGEST_IMAGE,
        guest: { cpuKind: "shared", cpus: 2, memoryMb: 1024 },
        env: {
            PORT: "8080",
            WS_PATH: "/ws",
            HEALTH_PATH: "/healthz",
            READY_PATH: "/readyz",
            METRICS_PATH: "/metrics",
            NODE_ENV: "production",
        },
        services: [service()],
        metrics: { port: 8080, path: "/metrics" },
        metadata: { fpsgame_region_index: String(index) },
        minSecretsVersion: 1,
        ...overrides,
    };
}

export function machine(region = "sjc", index = 1, overrides: Record<string, unknown> = {}): TestResource {
    return { type: Types.flyMachine, name: `api-${region}-${index}`, props: machineProps(region, index, overrides) };
}

/** Prod's topology: sjc and iad, two machines each. */
export function prodMachines(): TestResource[] {
    return [machine("sjc", 1), machine("iad", 1), machine("sjc", 2), machine("iad", 2)];
}

/** A machine with its single service changed by `change`. */
export function machineWithService(change: (s: Record<string, unknown>) => void): TestResource {
    const s = service();
    change(s);
    return machine("sjc", 1, { services: [s] });
}

export function appSecrets(values: Record<string, unknown> = {}): TestResource {
    return {
        type: Types.flyAppSecrets,
        name: "api-secrets",
        props: {
            app: "fpsgame-api",
            values: {
                JWT_SECRET: "s3cret",
                DATABASE_URL: "postgresql://fpsgame_owner:pw@ep-x.us-west-2.aws.neon.tech/fpsgame?sslmode=require",
                REDIS_URL: "rediss://default:pw@fpsgame.upstash.io:6379",
                ...values,
            },
        },
    };
}

export function neonProject(overrides: Record<string, unknown> = {}, protect = true): TestResource {
    return {
        type: Types.neonProject,
        name: "database-project",
        protect,
        props: {
            name: "fpsgame",
            regionId: "aws-us-west-2",
            pgVersion: 16,
            historyRetentionSeconds: 604800,
            defaultEndpointSettings: {
                autoscalingLimitMinCu: 0.25,
                autoscalingLimitMaxCu: 2,
                suspendTimeoutSeconds: 0,
            },
            branch: { name: "main", roleName: "fpsgame_owner", databaseName: "fpsgame" },
            ...overrides,
        },
    };
}

export function redis(overrides: Record<string, unknown> = {}): TestResource {
    return {
        type: Types.upstashRedis,
        name: "cache-redis",
        props: {
            databaseName: "fpsgame",
            region: "global",
            primaryRegion: "us-west-1",
            readRegions: ["us-east-1"],
            eviction: true,
            budget: 50,
            autoScale: false,
            tls: true,
            ...overrides,
        },
    };
}

export function vercelProject(overrides: Record<string, unknown> = {}): TestResource {
    return {
        type: Types.vercelProject,
        name: "web-project",
        props: {
            name: "fpsgame-web",
            framework: "vite",
            gitRepository: { type: "github", repo: "fpsgame/web", productionBranch: "main" },
            ...overrides,
        },
    };
}

export function envVar(key: string, value: unknown, overrides: Record<string, unknown> = {}): TestResource {
    return {
        type: Types.vercelEnvVar,
        name: `web-env-${key.toLowerCase()}`,
        props: { projectId: "prj_123", key, value, sensitive: false, targets: ["production", "preview"], ...overrides },
    };
}
