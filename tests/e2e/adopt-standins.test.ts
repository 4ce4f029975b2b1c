/**
 * What `npm run adopt` will stand on, against the real local cloud: a hand-made production
 * (localcloud/handmade.ts: a Neon project with schema and rows in PostgreSQL, an Upstash database
 * with its Redis and keys, a Vercel project with env vars and a domain, made without Pulumi), found
 * by the discovery clients (ops/adopt/) through the API stand-ins, importable through the plugins'
 * Read, and the two password resets, checked against the real servers: the old password is
 * refused, the new one accepted (and, for Redis, still after a restart of its server).
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Client } from "pg";
import { clientConnectionString } from "../../migrations/runner";
import { HandmadeProduction, makeHandmadeProduction } from "../../localcloud/handmade";
import { localStackEnv } from "../../localcloud/stackEnv";
import { localcloudPaths } from "../../localcloud/services/env";
import { provider as neonProvider } from "../../localcloud/stand-ins/neon/index";
import { provider as upstashProvider } from "../../localcloud/stand-ins/upstash/index";
import { provider as vercelProvider } from "../../localcloud/stand-ins/vercel/index";
import { projectHandler as neonProject, TOKENS as NEON } from "../../localcloud/stand-ins/neon/resources";
import { projectStore as neonProjects } from "../../localcloud/stand-ins/neon/model";
import { connectionUri, pgDatabaseName, pgRoleName } from "../../localcloud/stand-ins/neon/pg";
import {
    databaseStore,
    handler as upstashDatabase,
    TOKEN as UPSTASH,
} from "../../localcloud/stand-ins/upstash/resources";
import { startInstance, stopInstance, withRedis } from "../../localcloud/stand-ins/upstash/instances";
import { projectHandler as vercelProject, TOKENS as VERCEL } from "../../localcloud/stand-ins/vercel/resources";
import { unwrap } from "../../localcloud/stand-ins/common/values";
import { findNeonProject } from "../../ops/adopt/neon";
import { findUpstashDatabase } from "../../ops/adopt/upstash";
import { findVercelProject } from "../../ops/adopt/vercel";

const suffix = randomBytes(3).toString("hex");
const NAMES = { neon: `handmade-${suffix}`, redis: `handmade-${suffix}`, web: `handmade-web-${suffix}` };
const urn = (type: string, name: string) => `urn:pulumi:e2e::fpsgame-infra::c$${type}::${name}`;
const ctx = (type: string) => ({ urn: urn(type, "cleanup"), type, name: "cleanup" });
const env = localStackEnv();
const KEY = "local-demo-key";
const UPSTASH_AUTH = { email: "ops@fpsgame.localhost", apiKey: KEY };

let made: HandmadeProduction;

beforeAll(async () => {
    made = await makeHandmadeProduction({
        neon: { projectName: NAMES.neon, regionId: "aws-us-west-2", pgVersion: 15, historyRetentionDays: 1 },
        upstash: { databaseName: NAMES.redis, primaryRegion: "us-west-1", readRegions: ["us-east-1"], budgetUsd: 20 },
        vercel: {
            projectName: NAMES.web,
            framework: "vite",
            gitRepository: { type: "github", repo: "fpsgame/fpsgame-web", productionBranch: "main" },
            env: { VITE_API_URL: "https://api.example", VITE_WS_URL: "wss://api.example/ws", SESSION_KEY: "k3y-local" },
            sensitiveKeys: ["SESSION_KEY"],
            envTargets: ["production", "preview"],
            domain: `play-${suffix}.fpsgame.localhost`,
        },
    });
}, 120_000);

afterAll(async () => {
    if (!made) return;
    await neonProject.delete(ctx(NEON.project), made.neon.projectId, {});
    await upstashDatabase.delete(ctx(UPSTASH), made.upstash.id, { databaseId: made.upstash.databaseId });
    await vercelProject.delete(ctx(VERCEL.project), made.vercel.projectId, {});
}, 60_000);

/** The owner's URI as the stand-in's record has it now (verified TLS to the local server). */
function ownerUri(password?: string): string {
    const p = neonProjects().get(made.neon.projectId)!;
    const role = p.branches[p.defaultBranchId].roles[made.neon.roleName];
    const uri = connectionUri(
        pgRoleName(p.id, made.neon.roleName),
        password ?? role.password,
        pgDatabaseName(p.defaultBranchId, made.neon.databaseName),
    );
    return clientConnectionString(uri, localcloudPaths().caFile);
}

async function query<T extends Record<string, unknown>>(uri: string, sql: string): Promise<T[]> {
    const c = new Client({ connectionString: uri });
    await c.connect();
    try {
        return (await c.query<T>(sql)).rows;
    } finally {
        await c.end();
    }
}

function redisAs(password: string) {
    const rec = databaseStore().get(made.upstash.databaseId)!;
    return { host: "127.0.0.1", port: rec.port, caFile: localcloudPaths().caFile, user: "default", password };
}

describe("the hand-made production", () => {
    test("Neon: the migrations' tables and the rows, applied as psql would (no schemaversion table)", async () => {
        expect(made.neon.migrations).toEqual([
            "001.do.create-players.sql",
            "002.do.add-player-region.sql",
            "003.do.create-matches.sql",
        ]);
        const tables = await query<{ t: string }>(
            ownerUri(),
            "SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
        );
        expect(tables.map((r) => r.t)).toEqual(["match_players", "matches", "players"]);
        const players = await query<{ n: string }>(
            ownerUri(),
            "SELECT count(*)::text AS n FROM players WHERE region IS NOT NULL",
        );
        expect(players[0].n).toBe("3");
        expect(made.neon.rows).toEqual({ players: 3, matches: 1, match_players: 3 });
    });

    test("Upstash: its own Redis holds the keys", async () => {
        const rec = databaseStore().get(made.upstash.databaseId)!;
        const value = await withRedis(redisAs(rec.password), (r) => r.get("session:demo"));
        expect(value).toBe("1");
        expect(made.upstash.keys).toEqual(["session:demo", "leaderboard:global"]);
    });

    test("every object imports through the plugins' Read with the inputs the program would pass", async () => {
        const n = await neonProvider.read!(made.neon.projectId, urn(NEON.project, "db"), {});
        expect(n.id).toBe(made.neon.projectId);
        expect(n.inputs).toMatchObject({
            name: NAMES.neon,
            regionId: "aws-us-west-2",
            pgVersion: 15,
            historyRetentionSeconds: 86400,
            branch: { name: "main", roleName: "fpsgame_owner", databaseName: "fpsgame" },
        });
        const u = await upstashProvider.read!(made.upstash.databaseId, urn(UPSTASH, "redis"), {});
        expect(u.id).toBe(made.upstash.id);
        expect(u.inputs).toMatchObject({
            databaseName: NAMES.redis,
            primaryRegion: "us-west-1",
            readRegions: ["us-east-1"],
        });
        const envId = made.vercel.envIds["VITE_API_URL-production"];
        const e = await vercelProvider.read!(`${made.vercel.projectId}/${envId}`, urn(VERCEL.envVar, "env"), {});
        expect(e.id).toBe(envId);
        expect(unwrap(e.inputs)).toMatchObject({
            key: "VITE_API_URL",
            value: "https://api.example",
            targets: ["production"],
        });
        const d = await vercelProvider.read!(
            `${made.vercel.projectId}/${made.vercel.domain}`,
            urn(VERCEL.domain, "d"),
            {},
        );
        expect(d.inputs).toEqual({ projectId: made.vercel.projectId, domain: made.vercel.domain });
    });

    test("the discovery clients find each by name through the API stand-ins", async () => {
        const n = await findNeonProject({ name: NAMES.neon, apiKey: KEY, baseUrl: env.NEON_API_URL });
        expect(n).toMatchObject({
            projectId: made.neon.projectId,
            regionId: "aws-us-west-2",
            defaultBranch: { id: made.neon.branchId, name: "main" },
            databases: [{ name: "fpsgame", ownerName: "fpsgame_owner" }],
            roles: [{ name: "fpsgame_owner" }],
        });
        const u = await findUpstashDatabase({ name: NAMES.redis, ...UPSTASH_AUTH, baseUrl: env.UPSTASH_API_URL });
        expect(u).toMatchObject({
            databaseId: made.upstash.databaseId,
            id: made.upstash.id,
            primaryRegion: "us-west-1",
        });
        const v = await findVercelProject({ name: NAMES.web, token: KEY, baseUrl: env.VERCEL_API_URL });
        expect(v?.projectId).toBe(made.vercel.projectId);
        expect(Object.fromEntries(v!.envs.map((x) => [`${x.key}-${x.targets.join(",")}`, x.id]))).toEqual(
            made.vercel.envIds,
        );
        expect(v?.domains).toEqual([{ name: made.vercel.domain }]);
    });
});

describe("password resets through the API stand-ins", () => {
    test("Neon: after reset_password PostgreSQL refuses the old password and takes the new; a refresh sees it", async () => {
        const before = neonProjects().get(made.neon.projectId)!;
        const oldPassword = before.branches[before.defaultBranchId].roles[made.neon.roleName].password;
        await expect(query(ownerUri(oldPassword), "SELECT 1")).resolves.toHaveLength(1);
        const res = await fetch(
            `${env.NEON_API_URL}/projects/${made.neon.projectId}/branches/${made.neon.branchId}/roles/${made.neon.roleName}/reset_password`,
            { method: "POST", headers: { Authorization: `Bearer ${KEY}` } },
        );
        expect(res.status).toBe(200);
        const body = (await res.json()) as {
            role: { name: string; password: string; branch_id: string };
            operations: unknown[];
        };
        expect(body).toMatchObject({
            role: { name: made.neon.roleName, branch_id: made.neon.branchId },
            operations: [],
        });
        expect(body.role.password).not.toBe(oldPassword);
        await expect(query(ownerUri(oldPassword), "SELECT 1")).rejects.toThrow(/password authentication failed/);
        await expect(query(ownerUri(body.role.password), "SELECT count(*) FROM players")).resolves.toHaveLength(1);
        // The plugin's next refresh reads the new password and a connection URI that works.
        const refreshed = await neonProvider.read!(made.neon.projectId, urn(NEON.project, "db"), {
            id: made.neon.projectId,
        });
        const uri = String(unwrap(refreshed.props.connectionUri));
        expect(new URL(uri).password).toBe(encodeURIComponent(body.role.password));
        await expect(query(clientConnectionString(uri, localcloudPaths().caFile), "SELECT 1")).resolves.toHaveLength(1);
    });

    test("Upstash: after reset-password its Redis refuses the old password and takes the new, also after a restart", async () => {
        const old = databaseStore().get(made.upstash.databaseId)!;
        await expect(withRedis(redisAs(old.password), (r) => r.ping())).resolves.toBe("PONG");
        const auth = Buffer.from(`${UPSTASH_AUTH.email}:${KEY}`).toString("base64");
        const res = await fetch(`${env.UPSTASH_API_URL}/v2/redis/reset-password/${made.upstash.databaseId}`, {
            method: "POST",
            headers: { Authorization: `Basic ${auth}` },
        });
        expect(res.status).toBe(200);
        const body = (await res.json()) as { database_id: string; password: string; rest_token: string };
        expect(body.database_id).toBe(made.upstash.databaseId);
        expect(body.password).not.toBe(old.password);
        expect(body.rest_token).not.toBe(old.restToken);
        await expect(withRedis(redisAs(old.password), (r) => r.ping())).rejects.toThrow(/WRONGPASS/);
        await expect(withRedis(redisAs(body.password), (r) => r.get("session:demo"))).resolves.toBe("1");
        const rec = databaseStore().get(made.upstash.databaseId)!;
        expect(rec.password).toBe(body.password);
        // The server's configuration has the new password too: a restart keeps it.
        await stopInstance(rec.databaseId);
        await startInstance(rec.databaseId, { port: rec.port, password: rec.password, eviction: false });
        await expect(withRedis(redisAs(body.password), (r) => r.ping())).resolves.toBe("PONG");
        await expect(withRedis(redisAs(old.password), (r) => r.ping())).rejects.toThrow(/WRONGPASS/);
        // The plugin's refresh reads the new password.
        const refreshed = await upstashProvider.read!(made.upstash.id, urn(UPSTASH, "redis"), {
            databaseId: rec.databaseId,
        });
        expect(unwrap(refreshed.props.password)).toBe(body.password);
    });
});

describe("the real engine", () => {
    // A project of its own in a temporary directory, with its own file backend: `pulumi import`
    // runs no program, so the import goes through the stand-ins' Read and the engine's Check.
    test("`pulumi import` takes the vercel and upstash objects; a sensitive env var comes without its value", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "adopt-import-"));
        try {
            fs.mkdirSync(path.join(dir, "backend"));
            fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: adopt-import-check\nruntime: nodejs\n");
            const v = made.vercel;
            const plain = v.envIds["VITE_API_URL-production"];
            const hidden = v.envIds["SESSION_KEY-production"];
            const resources = [
                { type: VERCEL.project, name: "web", id: v.projectId },
                { type: VERCEL.envVar, name: "env-api", id: `${v.projectId}/${plain}` },
                { type: VERCEL.envVar, name: "env-session", id: `${v.projectId}/${hidden}` },
                { type: VERCEL.domain, name: "domain", id: `${v.projectId}/${v.domain}` },
                { type: UPSTASH, name: "redis", id: made.upstash.databaseId },
            ];
            fs.writeFileSync(path.join(dir, "import.json"), JSON.stringify({ resources }));
            const pulumiEnv = {
                ...env,
                PULUMI_BACKEND_URL: `file://${path.join(dir, "backend")}`,
                PULUMI_CONFIG_PASSPHRASE: "adopt-import-check",
            };
            const pulumi = (...args: string[]) =>
                execFileSync("pulumi", [...args, "--non-interactive"], {
                    cwd: dir,
                    env: pulumiEnv,
                    encoding: "utf8",
                    stdio: ["ignore", "pipe", "pipe"],
                });
            pulumi("stack", "init", "dev");
            pulumi(
                "import",
                "--file",
                path.join(dir, "import.json"),
                "--yes",
                "--generate-code=false",
                "--stack",
                "dev",
            );
            const state = JSON.parse(pulumi("stack", "export", "--stack", "dev")) as {
                deployment: { resources: { type: string; id?: string; inputs?: object; outputs?: object }[] };
            };
            const byId = new Map(
                state.deployment.resources
                    .filter((r) => r.id && !r.type.startsWith("pulumi:providers:"))
                    .map((r) => [r.id!, r]),
            );
            expect([...byId.keys()].sort()).toEqual([v.projectId, plain, hidden, v.domain!, made.upstash.id].sort());
            expect(Object.keys(byId.get(plain)!.inputs!).sort()).toEqual([
                "key",
                "projectId",
                "sensitive",
                "targets",
                "value",
            ]);
            expect(Object.keys(byId.get(hidden)!.inputs!).sort()).toEqual(["key", "projectId", "sensitive", "targets"]);
            expect(byId.get(hidden)!.outputs).not.toHaveProperty("value");
            expect(JSON.stringify(state)).not.toContain("k3y-local");
            expect(byId.get(made.upstash.id)!.inputs).toMatchObject({
                databaseName: NAMES.redis,
                primaryRegion: "us-west-1",
            });
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    }, 120_000);
});
