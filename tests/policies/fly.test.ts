import {
    DEFAULT_ALLOWED_GUESTS,
    flyAllowedGuestSizes,
    flyForceHttps,
    flyHealthChecks,
    flyImageDigest,
    flyMinMachinesPerRegion,
    flyMinMachinesRunning,
    flyMinMemory,
    flyMinRegions,
    flyNoPlainSecrets,
    flyWebsocketConcurrency,
    guestSize,
} from "../../policies/src";
import { machine, machineWithService, prodMachines, redis, secretWire } from "./fixtures";
import { validate } from "./harness";

describe("fly-min-regions", () => {
    it("passes two regions", async () => {
        expect(await validate(flyMinRegions, prodMachines())).toEqual([]);
    });

    it("reports an app in one region, with the default of 2", async () => {
        expect(await validate(flyMinRegions, [machine("sjc", 1), machine("sjc", 2)])).toEqual([
            "Fly app fpsgame-api must run machines in at least 2 regions; it runs in 1 (sjc).",
        ]);
    });

    it("takes minRegions from config", async () => {
        expect(await validate(flyMinRegions, [machine("sjc", 1)], { minRegions: 1 })).toEqual([]);
        expect(await validate(flyMinRegions, prodMachines(), { minRegions: 3 })).toEqual([
            "Fly app fpsgame-api must run machines in at least 3 regions; it runs in 2 (iad, sjc).",
        ]);
    });

    it("counts regions per app", async () => {
        const other = machine("ams", 1, { app: "fpsgame-admin" });
        expect(await validate(flyMinRegions, [...prodMachines(), other])).toEqual([
            "Fly app fpsgame-admin must run machines in at least 2 regions; it runs in 1 (ams).",
        ]);
    });

    it("ignores other resource types", async () => {
        expect(await validate(flyMinRegions, [redis()])).toEqual([]);
    });
});

describe("fly-min-machines-per-region", () => {
    it("passes two machines in each region", async () => {
        expect(await validate(flyMinMachinesPerRegion, prodMachines())).toEqual([]);
    });

    it("reports a region below the default of 2", async () => {
        expect(
            await validate(flyMinMachinesPerRegion, [machine("sjc", 1), machine("sjc", 2), machine("iad", 1)]),
        ).toEqual(["Fly app fpsgame-api must keep at least 2 machines in region iad; it has 1."]);
    });

    it("takes minMachinesPerRegion from config", async () => {
        expect(await validate(flyMinMachinesPerRegion, [machine("sjc", 1)], { minMachinesPerRegion: 1 })).toEqual([]);
        expect(await validate(flyMinMachinesPerRegion, prodMachines(), { minMachinesPerRegion: 3 })).toEqual([
            "Fly app fpsgame-api must keep at least 3 machines in region iad; it has 2.",
            "Fly app fpsgame-api must keep at least 3 machines in region sjc; it has 2.",
        ]);
    });
});

describe("fly-min-machines-running", () => {
    it("passes minMachinesRunning 1", async () => {
        expect(await validate(flyMinMachinesRunning, machine())).toEqual([]);
    });

    it("reports a service that may stop every machine", async () => {
        expect(
            await validate(
                flyMinMachinesRunning,
                machineWithService((s) => (s.minMachinesRunning = 0)),
            ),
        ).toEqual([
            "The service on internal port 8080 of machine api-sjc-1 must keep at least 1 machine running (minMachinesRunning is 0).",
        ]);
    });

    it("reports a service without minMachinesRunning", async () => {
        expect(
            await validate(
                flyMinMachinesRunning,
                machineWithService((s) => delete s.minMachinesRunning),
            ),
        ).toEqual([
            "The service on internal port 8080 of machine api-sjc-1 must keep at least 1 machine running (minMachinesRunning is not set).",
        ]);
    });

    it("takes minMachinesRunning from config", async () => {
        expect(
            await validate(
                flyMinMachinesRunning,
                machineWithService((s) => (s.minMachinesRunning = 0)),
                { minMachinesRunning: 0 },
            ),
        ).toEqual([]);
        expect(await validate(flyMinMachinesRunning, machine(), { minMachinesRunning: 2 })).toEqual([
            "The service on internal port 8080 of machine api-sjc-1 must keep at least 2 machines running (minMachinesRunning is 1).",
        ]);
    });

    it("does not apply to other types", async () => {
        expect(await validate(flyMinMachinesRunning, redis())).toEqual("n/a");
    });
});

describe("fly-min-memory", () => {
    it("passes 1024 MB with the default floor", async () => {
        expect(await validate(flyMinMemory, machine())).toEqual([]);
    });

    it("reports memory below the floor", async () => {
        const small = machine("sjc", 1, { guest: { cpuKind: "shared", cpus: 1, memoryMb: 512 } });
        expect(await validate(flyMinMemory, small)).toEqual([
            "Machine api-sjc-1 must have at least 1024 MB of memory (guest.memoryMb is 512).",
        ]);
    });

    it("reports a machine without guest", async () => {
        expect(await validate(flyMinMemory, machine("sjc", 1, { guest: undefined }))).toEqual([
            "Machine api-sjc-1 must have at least 1024 MB of memory (guest.memoryMb is not set).",
        ]);
    });

    it("takes minMemoryMb from config", async () => {
        const small = machine("sjc", 1, { guest: { cpuKind: "shared", cpus: 1, memoryMb: 256 } });
        expect(await validate(flyMinMemory, small, { minMemoryMb: 256 })).toEqual([]);
        expect(await validate(flyMinMemory, machine(), { minMemoryMb: 2048 })).toEqual([
            "Machine api-sjc-1 must have at least 2048 MB of memory (guest.memoryMb is 1024).",
        ]);
    });
});

describe("fly-allowed-guest-sizes", () => {
    it("names sizes <cpuKind>-<cpus>x-<memoryMb>", () => {
        expect(guestSize({ cpuKind: "performance", cpus: 2, memoryMb: 4096 })).toBe("performance-2x-4096");
    });

    it("passes a size on the default list", async () => {
        expect(await validate(flyAllowedGuestSizes, machine())).toEqual([]);
    });

    it("reports a size off the list", async () => {
        const big = machine("sjc", 1, { guest: { cpuKind: "performance", cpus: 16, memoryMb: 32768 } });
        expect(
            await validate(flyAllowedGuestSizes, big, { allowedGuests: ["shared-2x-1024", "shared-2x-2048"] }),
        ).toEqual([
            "Machine api-sjc-1 must use an allowed guest size; performance-16x-32768 is not one of shared-2x-1024, shared-2x-2048.",
        ]);
    });

    it("reports a local size against the default (prod) list and passes it with a local list", async () => {
        const local = machine("sjc", 1, { guest: { cpuKind: "shared", cpus: 1, memoryMb: 256 } });
        expect(await validate(flyAllowedGuestSizes, local)).toEqual([
            `Machine api-sjc-1 must use an allowed guest size; shared-1x-256 is not one of ${DEFAULT_ALLOWED_GUESTS.join(", ")}.`,
        ]);
        expect(
            await validate(flyAllowedGuestSizes, local, { allowedGuests: ["shared-1x-256", "shared-1x-512"] }),
        ).toEqual([]);
    });
});

describe("fly-health-checks", () => {
    it("passes checks on /healthz and /readyz", async () => {
        expect(await validate(flyHealthChecks, machine())).toEqual([]);
    });

    it("reports a missing readiness check", async () => {
        const m = machineWithService(
            (s) => (s.checks = (s.checks as { path: string }[]).filter((c) => c.path !== "/readyz")),
        );
        expect(await validate(flyHealthChecks, m)).toEqual([
            "The service on internal port 8080 of machine api-sjc-1 must have an HTTP check on /readyz.",
        ]);
    });

    it("reports TCP checks as missing HTTP checks", async () => {
        const m = machineWithService((s) => (s.checks = [{ type: "tcp", interval: "15s", timeout: "2s" }]));
        expect(await validate(flyHealthChecks, m)).toEqual([
            "The service on internal port 8080 of machine api-sjc-1 must have an HTTP check on /healthz.",
            "The service on internal port 8080 of machine api-sjc-1 must have an HTTP check on /readyz.",
        ]);
    });

    it("reports an HTTP check on another path", async () => {
        const m = machineWithService((s) => ((s.checks as { path: string }[])[0].path = "/health"));
        expect(await validate(flyHealthChecks, m)).toEqual([
            "The service on internal port 8080 of machine api-sjc-1 must have an HTTP check on /healthz.",
        ]);
    });

    it("takes requiredCheckPaths from config", async () => {
        expect(await validate(flyHealthChecks, machine(), { requiredCheckPaths: ["/livez"] })).toEqual([
            "The service on internal port 8080 of machine api-sjc-1 must have an HTTP check on /livez.",
        ]);
    });
});

describe("fly-force-https", () => {
    type Port = { port: number; handlers: string[]; forceHttps?: boolean };
    const ports = (s: Record<string, unknown>) => s.ports as Port[];

    it("passes 80 -> https and TLS on 443", async () => {
        expect(await validate(flyForceHttps, machine())).toEqual([]);
    });

    it("reports port 80 without forceHttps", async () => {
        expect(
            await validate(
                flyForceHttps,
                machineWithService((s) => (ports(s)[0].forceHttps = false)),
            ),
        ).toEqual(["Port 80 of the service on internal port 8080 of machine api-sjc-1 must set forceHttps: true."]);
    });

    it("reports port 443 without the tls handler", async () => {
        expect(
            await validate(
                flyForceHttps,
                machineWithService((s) => (ports(s)[1].handlers = ["http"])),
            ),
        ).toEqual(["Port 443 of the service on internal port 8080 of machine api-sjc-1 must have the tls handler."]);
    });

    it("reports an HTTP service without port 443", async () => {
        expect(
            await validate(
                flyForceHttps,
                machineWithService((s) => (s.ports = [ports(s)[0]])),
            ),
        ).toEqual([
            "The service on internal port 8080 of machine api-sjc-1 must expose port 443 with the tls handler.",
        ]);
    });

    it("leaves a raw TCP service alone", async () => {
        expect(
            await validate(
                flyForceHttps,
                machineWithService((s) => (s.ports = [{ port: 7777, handlers: [] }])),
            ),
        ).toEqual([]);
    });
});

describe("fly-websocket-concurrency", () => {
    it("passes connections", async () => {
        expect(await validate(flyWebsocketConcurrency, machine())).toEqual([]);
    });

    it("reports requests", async () => {
        const m = machineWithService((s) => (s.concurrency = { type: "requests", softLimit: 200, hardLimit: 250 }));
        expect(await validate(flyWebsocketConcurrency, m)).toEqual([
            "The service on internal port 8080 of machine api-sjc-1 must count concurrency in connections (concurrency.type is requests).",
        ]);
    });

    it("reports a service without concurrency", async () => {
        expect(
            await validate(
                flyWebsocketConcurrency,
                machineWithService((s) => delete s.concurrency),
            ),
        ).toEqual([
            "The service on internal port 8080 of machine api-sjc-1 must count concurrency in connections (concurrency.type is not set).",
        ]);
    });
});

describe("fly-no-plain-secrets", () => {
    const withEnv = (env: Record<string, unknown>) => machine("sjc", 1, { env: { PORT: "8080", ...env } });

    it("passes plain settings", async () => {
        expect(await validate(flyNoPlainSecrets, machine())).toEqual([]);
    });

    it.each([
        "JWT_SECRET",
        "GITHUB_TOKEN",
        "STRIPE_API_KEY",
        "ADMIN_PASSWORD",
        "DB_PASSWORD_FILE",
        "DATABASE_URL",
        "REDIS_URL",
        "jwt_secret",
    ])("reports %s", async (key) => {
        expect(await validate(flyNoPlainSecrets, withEnv({ [key]: "x" }))).toEqual([
            `Env var ${key} of machine api-sjc-1 must be set through fly:index:AppSecrets, not plain env.`,
        ]);
    });

    it("reports a URL with a password under an innocent name", async () => {
        expect(
            await validate(flyNoPlainSecrets, withEnv({ CACHE: "rediss://default:hunter2@cache.upstash.io:6379" })),
        ).toEqual([
            "Env var CACHE of machine api-sjc-1 must not embed a password in a URL; set it through fly:index:AppSecrets.",
        ]);
    });

    it("reads a secret-wrapped value", async () => {
        expect(await validate(flyNoPlainSecrets, withEnv({ UPSTREAM: secretWire("https://u:p@example.com") }))).toEqual(
            [
                "Env var UPSTREAM of machine api-sjc-1 must not embed a password in a URL; set it through fly:index:AppSecrets.",
            ],
        );
    });

    it("does not flag names that merely contain KEY or TOKEN", async () => {
        expect(
            await validate(
                flyNoPlainSecrets,
                withEnv({ KEYBOARD_LAYOUT: "qwerty", TOKENS_PER_MATCH: "3", PUBLIC_URL: "https://api.example.com" }),
            ),
        ).toEqual([]);
    });

    it("takes secretKeyPatterns from config", async () => {
        expect(
            await validate(flyNoPlainSecrets, withEnv({ SENTRY_DSN: "https://abc@sentry.io/1" }), {
                secretKeyPatterns: ["_DSN$"],
            }),
        ).toEqual(["Env var SENTRY_DSN of machine api-sjc-1 must be set through fly:index:AppSecrets, not plain env."]);
        expect(
            await validate(flyNoPlainSecrets, withEnv({ JWT_SECRET: "x" }), { secretKeyPatterns: ["_DSN$"] }),
        ).toEqual([]);
    });
});

describe("fly-image-digest", () => {
    const tagged = machine("sjc", 1, { image: "registry.fly.io/fpsgame-api:v1.4.2" });

    it("passes an image pinned by digest", async () => {
        expect(await validate(flyImageDigest, machine())).toEqual([]);
    });

    it("reports a tag by default", async () => {
        expect(await validate(flyImageDigest, tagged)).toEqual([
            "Machine api-sjc-1 must pin its image by digest (@sha256:<64 hex>); registry.fly.io/fpsgame-api:v1.4.2 is not.",
        ]);
    });

    it("accepts a tag when requireImageDigest is false", async () => {
        expect(await validate(flyImageDigest, tagged, { requireImageDigest: false })).toEqual([]);
    });
});
