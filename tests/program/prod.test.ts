/**
 * The whole program under mocks with the real prod stack file: the facts an operator relies
 * on, plus the rollout and custom-domain variants of prod.
 */
import * as path from "path";
import { hashMigrations } from "../../components/databaseMigrations";
import { machinesPerRegion, plainTextLeaks, T } from "../helpers/facts";
import { named, ofType, ProgramRun, readStackConfig, REPO_ROOT, runProgram } from "../helpers/mockProgram";

describe("prod stack", () => {
    let run: ProgramRun;
    beforeAll(async () => {
        run = await runProgram("prod");
    });

    test("runs three machines in each of sjc and iad, named by region and parented to the API component", () => {
        expect(machinesPerRegion(run)).toEqual({
            iad: ["api-iad-1", "api-iad-2", "api-iad-3"],
            sjc: ["api-sjc-1", "api-sjc-2", "api-sjc-3"],
        });
        for (const m of ofType(run, T.machine)) {
            expect(m.parent).toBe("api");
            expect(m.parentType).toBe("fpsgame:fly:ApiApp");
            expect(m.inputs.name).toBe(`fpsgame-api-${String(m.inputs.region)}-${m.name.split("-").pop()}`);
        }
    });

    test("every machine has 2 shared CPUs and 1024 MB and the pinned image", () => {
        for (const m of ofType(run, T.machine)) {
            expect(m.inputs.guest).toEqual({ cpuKind: "shared", cpus: 2, memoryMb: 1024 });
            expect(m.inputs.image).toMatch(/^registry\.fly\.io\/fpsgame-api:v1\.4\.2@sha256:[a-f0-9]{64}$/);
        }
    });

    test("the HTTP service forces HTTPS, terminates TLS, counts connections and checks /healthz and /readyz", () => {
        for (const m of ofType(run, T.machine)) {
            const [service] = m.inputs.services as Record<string, unknown>[];
            expect(service.ports).toEqual([
                { port: 80, handlers: ["http"], forceHttps: true },
                { port: 443, handlers: ["tls", "http"] },
            ]);
            expect(service.concurrency).toEqual({ type: "connections", softLimit: 200, hardLimit: 250 });
            expect((service.checks as Record<string, unknown>[]).map((c) => [c.type, c.path])).toEqual([
                ["http", "/healthz"],
                ["http", "/readyz"],
            ]);
            expect([service.autostop, service.autostart, service.minMachinesRunning]).toEqual(["stop", true, 1]);
            expect(m.inputs.metrics).toEqual({ port: 8080, path: "/metrics" });
            expect((m.inputs.env as Record<string, string>).WS_PATH).toBe("/ws");
        }
    });

    test("app secrets carry JWT_SECRET, DATABASE_URL (sslmode=require) and REDIS_URL (rediss://), all secret", () => {
        const secrets = named(run, "api-secrets");
        expect(secrets.secretPaths).toContain("values");
        const values = secrets.inputs.values as Record<string, string>;
        expect(Object.keys(values).sort()).toEqual(["DATABASE_URL", "JWT_SECRET", "REDIS_URL"]);
        expect(values.JWT_SECRET).toBe(run.secretValues["fpsgame-infra:jwtSecret"]);
        expect(new URL(values.DATABASE_URL).searchParams.get("sslmode")).toBe("require");
        expect(values.REDIS_URL).toMatch(
            /^rediss:\/\/default:mockredis-redis-database@fpsgame-prod\.upstash\.io:6379$/,
        );
    });

    test("no secret value appears in plain text in any resource input or stack output", () => {
        const secrets = [...Object.values(run.secretValues), "mockpw-db-project", "mockredis-redis-database"];
        for (const secret of secrets) {
            expect(plainTextLeaks(run, secret)).toEqual([]);
            expect(JSON.stringify(run.outputs)).not.toContain(secret);
        }
        // And none of them sits in a machine's plain env.
        for (const m of ofType(run, T.machine)) {
            expect(Object.keys(m.inputs.env as object).sort()).toEqual([
                "HEALTH_PATH",
                "LOG_LEVEL",
                "METRICS_PATH",
                "NODE_ENV",
                "PORT",
                "READY_PATH",
                "WS_PATH",
            ]);
        }
    });

    test("machines wait for the secrets version and, in the first batch, for the migrations", () => {
        for (const m of ofType(run, T.machine)) expect(m.inputs.minSecretsVersion).toBe(1);
        expect(named(run, "api-iad-1").dependsOn).toEqual(["migrations"]);
        // One machine at a time, interleaving regions.
        expect(named(run, "api-sjc-1").dependsOn).toEqual(["api-iad-1"]);
        expect(named(run, "api-iad-2").dependsOn).toEqual(["api-sjc-1"]);
        expect(named(run, "api-sjc-3").dependsOn).toEqual(["api-iad-3"]);
    });

    test("the app gets a shared IPv4 and an IPv6 address", () => {
        expect(ofType(run, T.ip).map((r) => [r.name, r.inputs.type])).toEqual([
            ["api-ip-v4", "shared_v4"],
            ["api-ip-v6", "v6"],
        ]);
    });

    test("Vercel gets the API's https:// and wss:// URLs per target, replaced delete-first", () => {
        const vars = ofType(run, T.envVar).map((v) => [
            v.inputs.key,
            (v.inputs.targets as string[]).join(),
            v.inputs.value,
            v.inputs.sensitive,
            v.deleteBeforeReplace,
        ]);
        expect(vars).toEqual([
            ["VITE_API_URL", "production", "https://fpsgame-api.fly.dev", false, true],
            ["VITE_API_URL", "preview", "https://fpsgame-api.fly.dev", false, true],
            ["VITE_WS_URL", "production", "wss://fpsgame-api.fly.dev/ws", false, true],
            ["VITE_WS_URL", "preview", "wss://fpsgame-api.fly.dev/ws", false, true],
        ]);
        const project = named(run, "web-project");
        expect(project.inputs.gitRepository).toEqual({
            type: "github",
            repo: "fpsgame/fpsgame-web",
            productionBranch: "main",
        });
        expect(named(run, "web-domain").inputs.domain).toBe("play.fpsgame.example");
    });

    test("the Neon project keeps 7 days of history, autoscales 0.5–4 CU, owns database fpsgame, and is protected", () => {
        const p = named(run, "db-project");
        expect(p.protect).toBe(true);
        expect(p.inputs.historyRetentionSeconds).toBe(7 * 86400);
        expect(p.inputs.defaultEndpointSettings).toEqual({
            autoscalingLimitMinCu: 0.5,
            autoscalingLimitMaxCu: 4,
            suspendTimeoutSeconds: 0,
        });
        expect(p.inputs.branch).toEqual({ name: "main", roleName: "fpsgame_owner", databaseName: "fpsgame" });
    });

    test("Upstash Redis is global with primary us-west-1, read region us-east-1, eviction and budget set", () => {
        const r = named(run, "redis-database");
        expect([
            r.inputs.region,
            r.inputs.primaryRegion,
            r.inputs.readRegions,
            r.inputs.eviction,
            r.inputs.budget,
            r.inputs.tls,
        ]).toEqual(["global", "us-west-1", ["us-east-1"], true, 50, true]);
    });

    test("migrations run through the command provider, keyed by the migration files' hash, with a secret DATABASE_URL", () => {
        const c = named(run, "migrations-apply");
        expect(c.parent).toBe("migrations");
        expect(c.inputs.create).toBe("node --require ./lib/register.js migrations/runner.ts up");
        expect(c.inputs.triggers).toEqual([hashMigrations(path.join(REPO_ROOT, "migrations")), "latest"]);
        // The SDK marks the whole environment secret once one value in it is.
        expect(c.secretPaths).toContain("environment");
    });

    test("stack outputs give the URLs, machines per region, and the database host without a password", () => {
        const plain = Object.fromEntries(Object.entries(run.outputs).map(([k, v]) => [k, v.value]));
        expect(plain).toEqual({
            apiUrl: "https://fpsgame-api.fly.dev",
            websocketUrl: "wss://fpsgame-api.fly.dev/ws",
            healthUrl: "https://fpsgame-api.fly.dev/healthz",
            readyUrl: "https://fpsgame-api.fly.dev/readyz",
            metricsUrl: "https://fpsgame-api.fly.dev/metrics",
            frontendUrl: "https://play.fpsgame.example",
            frontendRef: "4b8e1d2c9a7f3e6b5d0c1a2f3e4d5c6b7a8f9e0d",
            machinesPerRegion: { sjc: 3, iad: 3 },
            databaseHost: "ep-mock.aws-us-west-2.aws.neon.tech",
            redisEndpoint: "fpsgame-prod.upstash.io",
            schema: "schema at version 3; nothing to do",
            restorePoint: {
                projectId: "db-project-id",
                branchId: expect.stringMatching(/^migrations-restore-point-[0-9a-f]{10}-id$/),
                branchName: expect.stringMatching(/^restore-point-[0-9a-f]{10}$/),
                parentBranchId: "br-mock-db-project", // the project's default branch, as the mocks give it
            },
            // What a review stack of this one branches and previews on.
            databaseProjectId: "db-project-id",
            databaseBranchId: "br-mock-db-project",
            frontendProjectId: "web-project-id",
        });
        expect(Object.values(run.outputs).every((o) => !o.secret)).toBe(true);
    });
});

describe("rollout batches", () => {
    test("a fraction of 0.5 of six machines rolls three at a time", async () => {
        const api = JSON.parse(readStackConfig("prod").config["fpsgame-infra:api"]);
        const run = await runProgram("prod", { "fpsgame-infra:api": { ...api, rollout: { fraction: 0.5 } } });
        expect(named(run, "api-iad-1").dependsOn).toEqual(["migrations"]);
        expect(named(run, "api-iad-2").dependsOn).toEqual(["migrations"]);
        expect(named(run, "api-sjc-2").dependsOn).toEqual(["api-iad-1", "api-sjc-1", "api-iad-2"]);
        expect(named(run, "api-sjc-3").dependsOn).toEqual(["api-iad-1", "api-sjc-1", "api-iad-2"]);
    });
});

describe("custom domain", () => {
    test("a custom domain gets a certificate and becomes the public host", async () => {
        const api = JSON.parse(readStackConfig("prod").config["fpsgame-infra:api"]);
        const run = await runProgram("prod", { "fpsgame-infra:api": { ...api, customDomain: "api.fpsgame.example" } });
        expect(named(run, "api-cert").inputs.hostname).toBe("api.fpsgame.example");
        expect(run.outputs.websocketUrl.value).toBe("wss://api.fpsgame.example/ws");
    });
});

describe("migration target", () => {
    test("a migrateTo above the newest migration is refused before any resource changes", async () => {
        const db = JSON.parse(readStackConfig("prod").config["fpsgame-infra:database"]);
        await expect(runProgram("prod", { "fpsgame-infra:database": { ...db, migrateTo: 99 } })).rejects.toThrow(
            'fpsgame-infra:database.migrateTo = 99: there is no such migration; allowed: "latest" or 0 to 3',
        );
    });
});
