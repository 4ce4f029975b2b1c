/**
 * The API stand-ins' routes that need no PostgreSQL or Redis (auth, shapes, search and
 * pagination, Vercel's env values), through the real HTTP server on an ephemeral port and
 * records in a temporary state directory. The password resets, which change real servers, are
 * tested end to end in tests/e2e/adopt.test.ts.
 */
import * as fs from "node:fs";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import type * as http from "node:http";
import { server } from "../stand-ins/api";
import { provider as vercel } from "../stand-ins/vercel/index";
import { TOKENS } from "../stand-ins/vercel/resources";
import { projectStore, ProjectRecord } from "../stand-ins/neon/model";
import { databaseStore } from "../stand-ins/upstash/resources";
import { secret } from "../stand-ins/common/values";

let stateDir: string;
let srv: http.Server;
let base: string;

const BEARER = { Authorization: "Bearer test-token" };
const BASIC = { Authorization: `Basic ${Buffer.from("ops@example.com:key-1").toString("base64")}` };

async function get(p: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
    const res = await fetch(`${base}${p}`, { headers });
    return { status: res.status, body: await res.json() };
}

function neonProject(id: string, name: string, createdAt: string): ProjectRecord {
    return {
        id,
        settings: { name, regionId: "aws-us-west-2", pgVersion: 15, historyRetentionSeconds: 86400 },
        createdAt,
        defaultBranchId: `br-${id}`,
        defaultEndpointId: `ep-${id}`,
        nextDatabaseId: 2,
        branches: {
            [`br-${id}`]: {
                id: `br-${id}`,
                name: "main",
                parentId: null,
                parentLsn: null,
                parentTimestamp: null,
                protected: "no",
                primary: true,
                createdAt,
                roles: { fpsgame_owner: { name: "fpsgame_owner", password: "pw-hidden", protected: false, createdAt } },
                databases: { fpsgame: { id: 1, name: "fpsgame", ownerName: "fpsgame_owner", createdAt } },
            },
        },
        endpoints: {},
    };
}

beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "localcloud-apis-"));
    process.env.LOCALCLOUD_STATE_DIR = stateDir;
    srv = server();
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
    projectStore().put("aged-dust-11111111", neonProject("aged-dust-11111111", "fpsgame-prod", "2026-01-01T00:00:00Z"));
    projectStore().put(
        "cold-leaf-22222222",
        neonProject("cold-leaf-22222222", "fpsgame-staging", "2026-01-02T00:00:00Z"),
    );
    projectStore().put("dry-moon-33333333", neonProject("dry-moon-33333333", "other", "2026-01-03T00:00:00Z"));
});
afterAll(async () => {
    await new Promise((r) => srv.close(r));
    delete process.env.LOCALCLOUD_STATE_DIR;
    fs.rmSync(stateDir, { recursive: true, force: true });
});

describe("router", () => {
    test("a path of no service is a 404 naming it", async () => {
        const r = await get("/v1/nothing", BEARER);
        expect(r.status).toBe(404);
        expect(r.body.message).toContain("GET /v1/nothing");
    });
});

describe("neon", () => {
    test("no bearer token is a 401", async () => {
        expect((await get("/api/v2/projects")).status).toBe(401);
        expect((await get("/api/v2/projects", { Authorization: "Basic eDp5" })).status).toBe(401);
    });

    test("GET /projects?search= finds by part of the name, with Neon's pagination shape", async () => {
        const r = await get("/api/v2/projects?search=fpsgame", BEARER);
        expect(r.status).toBe(200);
        expect(r.body.projects.map((p: { name: string }) => p.name)).toEqual(["fpsgame-prod", "fpsgame-staging"]);
        expect(r.body.pagination).toEqual({ cursor: "cold-leaf-22222222" });
        expect(r.body.projects[0]).toMatchObject({
            id: "aged-dust-11111111",
            region_id: "aws-us-west-2",
            pg_version: 15,
        });
        expect(JSON.stringify(r.body)).not.toContain("pw-hidden");
    });

    test("limit and cursor page through every project", async () => {
        const first = await get("/api/v2/projects?limit=2", BEARER);
        expect(first.body.projects).toHaveLength(2);
        const next = await get(`/api/v2/projects?limit=2&cursor=${first.body.pagination.cursor}`, BEARER);
        expect(next.body.projects.map((p: { id: string }) => p.id)).toEqual(["dry-moon-33333333"]);
        const bad = await get("/api/v2/projects?limit=401", BEARER);
        expect(bad.status).toBe(400);
        expect(bad.body.message).toMatch(/limit must be a whole number from 1 to 400 \(got "401"\)/);
    });

    test("GET /projects/{id}, its databases and roles (no password in the list)", async () => {
        const p = await get("/api/v2/projects/aged-dust-11111111", BEARER);
        expect(p.body.project).toMatchObject({
            id: "aged-dust-11111111",
            name: "fpsgame-prod",
            default_branch_id: "br-aged-dust-11111111",
        });
        const dbs = await get("/api/v2/projects/aged-dust-11111111/branches/br-aged-dust-11111111/databases", BEARER);
        expect(dbs.body.databases).toEqual([
            expect.objectContaining({
                id: 1,
                name: "fpsgame",
                owner_name: "fpsgame_owner",
                branch_id: "br-aged-dust-11111111",
            }),
        ]);
        const roles = await get("/api/v2/projects/aged-dust-11111111/branches/br-aged-dust-11111111/roles", BEARER);
        expect(roles.body.roles).toEqual([expect.objectContaining({ name: "fpsgame_owner", protected: false })]);
        expect(roles.body.roles[0]).not.toHaveProperty("password");
    });

    test("unknown project, branch or role: Neon's 404", async () => {
        expect(await get("/api/v2/projects/nope-00000000", BEARER)).toEqual({
            status: 404,
            body: { code: "", message: "project not found" },
        });
        expect((await get("/api/v2/projects/aged-dust-11111111/branches/br-x/roles", BEARER)).status).toBe(404);
        const res = await fetch(
            `${base}/api/v2/projects/aged-dust-11111111/branches/br-aged-dust-11111111/roles/ghost/reset_password`,
            {
                method: "POST",
                headers: BEARER,
            },
        );
        expect(res.status).toBe(404);
        expect(((await res.json()) as { message: string }).message).toBe("role not found");
    });
});

describe("neon connection_uri", () => {
    // A branch of the staging project with an endpoint of its own, as a review stack makes one.
    const id = "cold-leaf-22222222";
    const uriOf = (q: string) => get(`/api/v2/projects/${id}/connection_uri?${q}`, BEARER);
    beforeAll(() => {
        process.env.LOCALCLOUD_PG_PORT = "55432";
        const p = projectStore().get(id)!;
        const createdAt = "2026-01-05T00:00:00Z";
        p.branches["br-pr-7"] = {
            ...p.branches[`br-${id}`],
            id: "br-pr-7",
            name: "pr-7",
            parentId: `br-${id}`,
            primary: false,
            roles: { fpsgame_owner: { name: "fpsgame_owner", password: "pw-branch", protected: false, createdAt } },
        };
        p.endpoints["ep-pr-7"] = { id: "ep-pr-7", branchId: "br-pr-7", type: "read_write", settings: {}, createdAt };
        p.endpoints[`ep-${id}`] = { id: `ep-${id}`, branchId: `br-${id}`, type: "read_write", settings: {}, createdAt };
        projectStore().put(id, p);
    });
    afterAll(() => delete process.env.LOCALCLOUD_PG_PORT);

    test("the branch's URI through its endpoint: the names the local PostgreSQL knows, the branch role's password", async () => {
        const r = await uriOf("branch_id=br-pr-7&endpoint_id=ep-pr-7&database_name=fpsgame&role_name=fpsgame_owner");
        expect(r).toEqual({
            status: 200,
            body: { uri: `postgres://${id}.fpsgame_owner:pw-branch@127.0.0.1:55432/br-pr-7.fpsgame?sslmode=require` },
        });
    });

    test("without branch_id, the default branch's; pooled=true gives the same URI (no pooler here)", async () => {
        const direct = await uriOf("database_name=fpsgame&role_name=fpsgame_owner");
        expect(direct.body.uri).toBe(
            `postgres://${id}.fpsgame_owner:pw-hidden@127.0.0.1:55432/br-${id}.fpsgame?sslmode=require`,
        );
        expect((await uriOf("database_name=fpsgame&role_name=fpsgame_owner&pooled=true")).body).toEqual(direct.body);
    });

    test("an endpoint of another branch is a 400; a missing database_name a 400; an unknown role a 404", async () => {
        const other = await uriOf(
            `branch_id=br-pr-7&endpoint_id=ep-${id}&database_name=fpsgame&role_name=fpsgame_owner`,
        );
        expect(other.status).toBe(400);
        expect(other.body.message).toBe(`endpoint ep-${id} does not belong to branch br-pr-7 (it serves br-${id})`);
        const noDb = await uriOf("branch_id=br-pr-7&role_name=fpsgame_owner");
        expect(noDb.status).toBe(400);
        expect(noDb.body.message).toMatch(/database_name/);
        expect((await uriOf("branch_id=br-pr-7&database_name=fpsgame&role_name=ghost")).body).toEqual({
            code: "",
            message: "role not found",
        });
    });

    test("a branch with no read_write endpoint has no URI", async () => {
        const r = await get(
            "/api/v2/projects/dry-moon-33333333/connection_uri?database_name=fpsgame&role_name=fpsgame_owner",
            BEARER,
        );
        expect(r.status).toBe(404);
        expect(r.body.message).toBe("branch br-dry-moon-33333333 has no read_write endpoint");
    });
});

describe("upstash", () => {
    beforeAll(() => {
        databaseStore().put("6c0a1f7e-2b7c-4a43-9a57-2f1c3e2d9b10", {
            databaseId: "6c0a1f7e-2b7c-4a43-9a57-2f1c3e2d9b10",
            port: 26390,
            password: "pwhidden",
            restToken: "Aresthidden",
            readOnlyRestToken: "Arohidden",
            creationTime: 1760000000,
            inputs: {
                databaseName: "fpsgame-cache",
                region: "global",
                primaryRegion: "us-east-1",
                readRegions: ["eu-west-1"],
                tls: true,
            },
        });
    });

    test("missing or malformed basic auth is a 401", async () => {
        expect((await get("/upstash/v2/redis/databases")).status).toBe(401);
        expect((await get("/upstash/v2/redis/databases", BEARER)).status).toBe(401);
        const noKey = { Authorization: `Basic ${Buffer.from("ops@example.com:").toString("base64")}` };
        expect((await get("/upstash/v2/redis/databases", noKey)).status).toBe(401);
    });

    test("GET /v2/redis/databases lists them in Upstash's shape, with the password as Upstash gives it", async () => {
        const r = await get("/upstash/v2/redis/databases", BASIC);
        expect(r.status).toBe(200);
        expect(r.body).toEqual([
            expect.objectContaining({
                database_id: "6c0a1f7e-2b7c-4a43-9a57-2f1c3e2d9b10",
                database_name: "fpsgame-cache",
                region: "global",
                primary_region: "us-east-1",
                read_regions: ["eu-west-1"],
                endpoint: "127.0.0.1",
                port: 26390,
                tls: true,
                password: "pwhidden",
            }),
        ]);
    });

    test("GET /v2/redis/database/{id}; credentials=hide leaves out the password and tokens; unknown is a 404", async () => {
        const r = await get("/upstash/v2/redis/database/6c0a1f7e-2b7c-4a43-9a57-2f1c3e2d9b10?credentials=hide", BASIC);
        expect(r.body.database_name).toBe("fpsgame-cache");
        expect(JSON.stringify(r.body)).not.toMatch(/hidden/);
        expect((await get("/upstash/v2/redis/database/4b1f0000-0000-4000-8000-000000000000", BASIC)).status).toBe(404);
        expect((await get("/upstash/v2/redis/database/..%2F..%2Fx", BASIC)).status).toBe(404);
    });
});

describe("vercel", () => {
    const urn = (type: string, name: string) => `urn:pulumi:dev::fpsgame::c$${type}::${name}`;
    let projectId: string;
    let plainId: string;

    beforeAll(async () => {
        const P = urn(TOKENS.project, "p");
        const E = urn(TOKENS.envVar, "e");
        const D = urn(TOKENS.domain, "d");
        const project = {
            name: "fpsgame-web",
            framework: "vite",
            gitRepository: { type: "github", repo: "fpsgame/web", productionBranch: "main" },
        };
        projectId = (await vercel.create!(P, (await vercel.check!(P, {}, project)).inputs)).id!;
        const plain = {
            projectId,
            key: "API_URL",
            value: "https://api.example",
            sensitive: false,
            targets: ["production"],
        };
        plainId = (await vercel.create!(E, (await vercel.check!(E, {}, plain)).inputs)).id!;
        const hidden = {
            projectId,
            key: "TOKEN",
            value: secret("hidden-token-value"),
            sensitive: true,
            targets: ["production"],
        };
        await vercel.create!(E, (await vercel.check!(E, {}, hidden)).inputs);
        await vercel.create!(D, (await vercel.check!(D, {}, { projectId, domain: "play.example.com" })).inputs);
    });

    test("no bearer token: Vercel's 403 forbidden", async () => {
        const r = await get(`/vercel/v9/projects/${projectId}`);
        expect(r.status).toBe(403);
        expect(r.body.error.code).toBe("forbidden");
    });

    test("GET /v9/projects/{idOrName} by id and by name; unknown is Vercel's 404", async () => {
        const byId = await get(`/vercel/v9/projects/${projectId}`, BEARER);
        expect(byId.body).toMatchObject({
            id: projectId,
            name: "fpsgame-web",
            framework: "vite",
            link: { type: "github", org: "fpsgame", repo: "web", productionBranch: "main" },
        });
        expect((await get("/vercel/v9/projects/fpsgame-web", BEARER)).body.id).toBe(projectId);
        expect(await get("/vercel/v9/projects/nope", BEARER)).toEqual({
            status: 404,
            body: { error: { code: "not_found", message: "Project not found." } },
        });
        expect((await get(`/vercel/v9/projects/${projectId}?teamId=team_other`, BEARER)).status).toBe(404);
    });

    test("GET …/env: a sensitive value never, an encrypted one as ciphertext, in clear only with decrypt=true", async () => {
        const r = await get(`/vercel/v9/projects/${projectId}/env`, BEARER);
        const byKey = Object.fromEntries(r.body.envs.map((e: { key: string }) => [e.key, e]));
        expect(byKey.API_URL).toMatchObject({
            id: plainId,
            type: "encrypted",
            target: ["production"],
            decrypted: false,
        });
        expect(byKey.API_URL.value).not.toBe("https://api.example");
        expect(byKey.TOKEN.type).toBe("sensitive");
        expect(byKey.TOKEN).not.toHaveProperty("value");
        expect(JSON.stringify(r.body)).not.toContain("hidden-token-value");
        const clear = await get(`/vercel/v9/projects/${projectId}/env?decrypt=true`, BEARER);
        const api = clear.body.envs.find((e: { key: string }) => e.key === "API_URL");
        expect(api).toMatchObject({ value: "https://api.example", decrypted: true });
        expect(JSON.stringify(clear.body)).not.toContain("hidden-token-value");
    });

    test("GET …/domains", async () => {
        const r = await get(`/vercel/v9/projects/${projectId}/domains`, BEARER);
        expect(r.body.domains).toEqual([
            expect.objectContaining({ name: "play.example.com", apexName: "example.com", projectId, verified: true }),
        ]);
    });
});
