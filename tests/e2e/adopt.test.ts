/**
 * Taking over a production made by hand (`npm run adopt`), on the real engine and the local
 * cloud. Before Pulumi, the runbook's commands made: a Fly app with `fly deploy` machines in two
 * regions (flyctl's metadata and names), its secrets, and one more machine in a third region; a
 * Neon project whose schema came from `psql < migrations/…` with rows in it; an Upstash database
 * with keys; a Vercel project with env vars and a domain. Then, as the README's first real
 * deploy says: adopt (the plan), adopt --yes, preview, up.
 */
import { randomBytes } from "crypto";
import * as fs from "fs";
import { parse } from "yaml";
import { BOOTSTRAP_PLACEHOLDER } from "../../lib/credentials";
import { withRedis } from "../../localcloud/stand-ins/upstash/instances";
import { localcloudPaths } from "../../localcloud/services/env";
import { FlyTarget, HandmadeFly, makeHandmadeFly, removeHandmadeFly } from "../../localcloud/handmadeFly";
import { HandmadeProduction, makeHandmadeProduction, removeHandmadeProduction } from "../../localcloud/handmade";
import { localStackEnv } from "../../localcloud/stackEnv";
import {
    CommandResult,
    E2E_TIMEOUT_MS,
    E2EStack,
    flyAdmin,
    flyRequestMark,
    flySecretValues,
    flyRequestsSince,
    runCommand,
} from "./harness";

jest.setTimeout(E2E_TIMEOUT_MS);

const stack = new E2EStack("adopt");
let fly: HandmadeFly;
let made: HandmadeProduction;
/** The JWT secret step 3 set; the up puts it into the API's secrets. */
let jwtValue = "";

/** The stack file's config, which the hand-made production is made to match by name. */
function config(key: string): Record<string, any> {
    return parse(fs.readFileSync(stack.file, "utf8")).config[`fpsgame-infra:${key}`];
}

function adopt(...args: string[]): Promise<CommandResult> {
    return runCommand("adopt", stack.name, args);
}

const secretValues = () => flySecretValues(stack.appName);

/** A secret output as the export shows it with its secrets: `{<sig>: …, plaintext: "<JSON>"}`. */
function plain(v: unknown): string {
    const p = (v as { plaintext?: string } | undefined)?.plaintext;
    return typeof p === "string" ? (JSON.parse(p) as string) : String(v);
}

async function redisKeys(): Promise<string[]> {
    const db = (await stack.stateResources("upstash:index/redisDatabase:RedisDatabase", { secrets: true }))[0];
    return withRedis(
        {
            host: "127.0.0.1",
            port: Number(db.outputs.port),
            caFile: localcloudPaths().caFile,
            user: "default",
            password: plain(db.outputs.password),
        },
        async (r) => (await r.keys("*")).sort(),
    );
}

function flyTarget(): FlyTarget {
    const env = localStackEnv();
    return { url: String(env.FLY_API_URL), token: String(env.FLY_API_TOKEN) };
}

/**
 * What a run that died before its cleanup left in the services: `init` removes its stack, not
 * what was never imported. Also the cleanup after the tests, for the machine adopt left alone.
 */
const names = {
    neonProjectName: config("database").projectName as string,
    upstashDatabaseName: config("redis").databaseName as string,
    vercelProjectName: config("frontend").projectName as string,
};
async function clearLeftovers(): Promise<void> {
    await removeHandmadeFly(flyTarget(), stack.appName);
    await removeHandmadeProduction(names);
}

beforeAll(async () => {
    // Before init, which destroys a leftover stack: the app's delete would refuse while the
    // machine adopt leaves alone is in it.
    await clearLeftovers();
    await stack.init();
    const api = config("api");
    fly = await makeHandmadeFly(flyTarget(), {
        app: stack.appName,
        machines: { sjc: 2, iad: 2, ams: 1 },
        image: "registry.fly.io/fpsgame-api:v1.4.1",
        secrets: {
            JWT_SECRET: "hand-made-jwt",
            DATABASE_URL: "postgres://old",
            REDIS_URL: "rediss://old",
            SENTRY_DSN: "https://sentry.example/1",
        },
        internalPort: 8080,
    });
    expect(api.regions).toEqual({ sjc: 2, iad: 2 });
    const db = config("database");
    const redis = config("redis");
    const fe = config("frontend");
    made = await makeHandmadeProduction({
        neon: {
            projectName: db.projectName,
            regionId: db.regionId,
            pgVersion: db.pgVersion,
            historyRetentionDays: db.historyRetentionDays,
            autoscaling: db.autoscaling,
        },
        upstash: {
            databaseName: redis.databaseName,
            primaryRegion: redis.primaryRegion,
            readRegions: redis.readRegions,
            eviction: redis.eviction,
            budgetUsd: redis.budgetUsd,
        },
        vercel: {
            projectName: fe.projectName,
            framework: fe.framework,
            gitRepository: fe.gitRepository,
            env: { VITE_API_URL: "https://old.example", VITE_WS_URL: "wss://old.example/ws" },
            domain: fe.domain,
        },
    });
});

afterAll(async () => {
    // The machine adopt left alone is not the stack's: destroy it first, or the app's delete refuses.
    const extra = fly?.machines.ams[0];
    if (extra)
        await flyAdmin("DELETE", `/v1/apps/${stack.appName}/machines/${extra}?force=true`).catch(() => undefined);
    try {
        await stack.remove();
    } finally {
        await clearLeftovers();
    }
});

test("step 3 of the first real deploy: a secret set from stdin (no argv) is stored encrypted", async () => {
    const value = randomBytes(32).toString("base64");
    const r = await runCommand(
        "pulumi",
        stack.name,
        ["config", "set", "--secret", "fpsgame-infra:jwtSecret"],
        process.env,
        value,
    );
    expect(r).toExitZero();
    const file = fs.readFileSync(stack.file, "utf8");
    expect(file).not.toContain(value);
    expect(parse(file).config["fpsgame-infra:jwtSecret"]).toEqual({ secure: expect.stringMatching(/^v1:/) });
    jwtValue = value;
});

test("adopt prints the plan and the first preview after it, and changes nothing", async () => {
    const mark = await flyRequestMark();
    const r = await adopt();
    expect(r).toExitZero();
    const out = r.stderr;
    // Each region's fly deploy machines become api-<region>-1 and -2 (oldest first; flyctl made
    // both within a second, so which is first is not asserted).
    for (const region of ["iad", "sjc"]) {
        const mapped = fly.machines[region].map(
            (id) =>
                new RegExp(
                    `Fly machine ${id} "[a-z]+-[a-z]+-\\d+" in ${region} \\(fly deploy\\)  ->  (api-${region}-[12]) \\(fly:index:Machine\\)`,
                ).exec(out)?.[1],
        );
        expect(mapped.sort()).toEqual([`api-${region}-1`, `api-${region}-2`]);
    }
    expect(out).toMatch(
        new RegExp(
            `Fly machine ${fly.machines.ams[0].slice(0, 14)}.* in ams .*region ams is not in api.regions; left running, never destroyed by adopt`,
        ),
    );
    expect(out).toContain(
        `Neon project "${config("database").projectName}" (${made.neon.projectId})  ->  db-project (neon:index/project:Project)`,
    );
    expect(out).toMatch(/Upstash database .*  ->  redis-database \(upstash:index\/redisDatabase:RedisDatabase\)/);
    expect(out).toContain(
        `Vercel project "${config("frontend").projectName}" (${made.vercel.projectId})  ->  web-project`,
    );
    expect(out).toContain("Fly secret SENTRY_DSN");
    expect(out).toMatch(
        /Fly secrets set on the next up from the stack's config .*\n  - JWT_SECRET\n  - DATABASE_URL\n  - REDIS_URL/,
    );
    expect(out).toContain("Database: migrations 1..3 were applied by hand (psql)");
    expect(out).toContain("The first preview after the adoption (passes");
    expect(out).toContain("Nothing was imported or changed.");
    // State only: the stack still holds nothing, the scratch stack is gone, Fly saw only reads.
    expect(await stack.stateResources("fly:index:Machine")).toEqual([]);
    expect(fs.existsSync(stack.file.replace(".yaml", "-adopt-plan.yaml"))).toBe(false);
    const writes = (await flyRequestsSince(mark)).filter((q) => q.path.includes(stack.appName) && q.method !== "GET");
    expect(writes).toEqual([]);
});

test("adopt --yes imports; the preview after it creates nothing that existed and replaces or deletes no stateful resource", async () => {
    const r = await adopt("--yes", "--json");
    expect(r).toExitZero();
    const result = JSON.parse(r.stdout) as { adopted: boolean; plan: { adopt: { name: string }[] } };
    expect(result.adopted).toBe(true);
    expect(result.plan.adopt.map((a) => a.name).sort()).toEqual(
        [
            "api-app",
            "api-secrets",
            "api-ip-v4",
            "api-ip-v6",
            "api-iad-1",
            "api-iad-2",
            "api-sjc-1",
            "api-sjc-2",
            "db-project",
            "redis-database",
            "web-project",
            "web-domain",
            "web-env-vite-api-url-production",
            "web-env-vite-api-url-preview",
            "web-env-vite-ws-url-production",
            "web-env-vite-ws-url-preview",
        ].sort(),
    );
    expect((await stack.stateResources("fly:index:Machine")).map((m) => m.id).sort()).toEqual(
        [...fly.machines.iad, ...fly.machines.sjc].sort(),
    );
    expect(await stack.sql("SELECT version FROM schemaversion ORDER BY version")).toEqual(
        [0, 1, 2, 3].map((version) => ({ version: String(version) })),
    );

    const steps = await stack.previewSteps();
    const adopted = new Set(result.plan.adopt.map((a) => a.name));
    const name = (urn: string) => urn.split("::").pop()!;
    expect(steps.filter((s) => s.op === "create" && adopted.has(name(s.urn)))).toEqual([]);
    expect(
        steps.filter((s) => /replace|delete/.test(s.op) && /neon:index\/project|upstash:index/.test(s.type)),
    ).toEqual([]);
    // What did not exist: the migrations' restore point and command, the production deployment.
    expect([...new Set(steps.filter((s) => s.op === "create").map((s) => s.type))].sort()).toEqual(
        [
            "command:local:Command",
            "fpsgame:db:Migrations",
            "neon:index/branch:Branch",
            "pulumi:providers:command",
            "vercel:index/deployment:Deployment",
        ].sort(),
    );
    // The machines are brought to the config in place (image v1.4.1 -> v1.4.2, guest, checks…).
    const machineOps = steps.filter((s) => s.type === "fly:index:Machine").map((s) => [name(s.urn), s.op]);
    expect(machineOps.sort()).toEqual([
        ["api-iad-1", "update"],
        ["api-iad-2", "update"],
        ["api-sjc-1", "update"],
        ["api-sjc-2", "update"],
    ]);
});

test("up converges: rows, keys and the extra machine are still there, the secrets come from config", async () => {
    const rowsBefore = await stack.sql<{ n: string }>("SELECT count(*) AS n FROM players");
    const r = await runCommand("up", stack.name, ["--gate-window", "1"]);
    expect(r).toExitZero();
    expect(r.stderr).toContain("health gate passed.");
    expect(await stack.sql("SELECT count(*) AS n FROM players")).toEqual(rowsBefore);
    expect(Number(rowsBefore[0].n)).toBe(made.neon.rows.players);
    expect(await redisKeys()).toEqual([...made.upstash.keys].sort());
    const machines = (await stack.inventory())!.machines;
    expect(machines.filter((m) => m.region === "ams").map((m) => [m.id, m.state])).toEqual([
        [fly.machines.ams[0], "started"],
    ]);
    expect(await stack.machinesPerRegion()).toEqual({ ams: 1, iad: 2, sjc: 2 });
    const secrets = await secretValues();
    expect(secrets.SENTRY_DSN).toBe("https://sentry.example/1");
    expect(secrets.DATABASE_URL).toMatch(new RegExp(`^postgres(ql)?://${made.neon.projectId}\\.`));
    expect(secrets.JWT_SECRET).toBe(jwtValue);
    // Converged: nothing left to change.
    expect((await stack.previewSteps()).filter((s) => s.op !== "same")).toEqual([]);
});

test("adopt again changes nothing and says the stack manages everything", async () => {
    const r = await adopt("--yes");
    expect(r).toExitZero();
    expect(r.stderr).toContain(`Stack ${stack.name} already manages everything that exists; nothing to adopt.`);
    expect(r.stderr).toMatch(/in ams .*left running, never destroyed by adopt/);
});

test("a real stack whose secret is still the bootstrap placeholder is refused before any change", async () => {
    const real = new E2EStack("adopt-ph");
    await real.init();
    try {
        await real.configRemove("localCloud");
        await real.configSet("jwtSecret", BOOTSTRAP_PLACEHOLDER, { secret: true });
        const mark = await flyRequestMark();
        const r = await real.preview();
        expect(r.code).not.toBe(0);
        expect(r.stdout + r.stderr).toContain(
            `fpsgame-infra:jwtSecret: still the committed bootstrap placeholder; a real stack never deploys with it: set it from a prompt: \`pulumi config set --secret fpsgame-infra:jwtSecret --stack ${real.name}\``,
        );
        expect(await real.inventory()).toBeUndefined();
        expect((await flyRequestsSince(mark)).filter((q) => q.path.includes(real.appName))).toEqual([]);
    } finally {
        await real.remove();
    }
});
