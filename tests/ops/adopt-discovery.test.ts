/**
 * The discovery clients of `npm run adopt` (ops/adopt/) against the local cloud's API stand-ins
 * (the real HTTP server, records in a temporary state directory), and their errors against a
 * tiny server that fails.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { findNeonProject } from "../../ops/adopt/neon";
import { findUpstashDatabase } from "../../ops/adopt/upstash";
import { findVercelProject } from "../../ops/adopt/vercel";
import { ServiceApiError } from "../../ops/adopt/http";
import { server } from "../../localcloud/stand-ins/api";
import { projectStore, ProjectRecord } from "../../localcloud/stand-ins/neon/model";
import { databaseStore, DatabaseRecord } from "../../localcloud/stand-ins/upstash/resources";
import { provider as vercel } from "../../localcloud/stand-ins/vercel/index";
import { TOKENS } from "../../localcloud/stand-ins/vercel/resources";
import { secret } from "../../localcloud/stand-ins/common/values";

const TOKEN = "tok-must-never-show-123";
let stateDir: string;
let srv: http.Server;
let base: string;

async function listen(s: http.Server): Promise<string> {
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

function neonProject(id: string, name: string, createdAt: string): ProjectRecord {
    const br = `br-${id}`;
    return {
        id,
        settings: {
            name,
            regionId: "aws-us-west-2",
            pgVersion: 16,
            historyRetentionSeconds: 604800,
            defaultEndpointSettings: {
                autoscalingLimitMinCu: 0.25,
                autoscalingLimitMaxCu: 2,
                suspendTimeoutSeconds: 300,
            },
        },
        createdAt,
        defaultBranchId: br,
        defaultEndpointId: `ep-${id}`,
        nextDatabaseId: 2,
        branches: {
            [br]: {
                id: br,
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

function upstashDb(databaseId: string, databaseName: string): DatabaseRecord {
    return {
        databaseId,
        port: 26400,
        password: "pwhidden",
        restToken: "Ahidden",
        readOnlyRestToken: "Ahidden2",
        creationTime: 1760000000,
        inputs: {
            databaseName,
            region: "global",
            primaryRegion: "us-west-1",
            readRegions: ["us-east-1", "eu-west-1"],
            eviction: true,
            budget: 50,
            tls: true,
        },
    };
}

beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "adopt-discovery-"));
    process.env.LOCALCLOUD_STATE_DIR = stateDir;
    srv = server();
    base = await listen(srv);
});
afterAll(async () => {
    await new Promise((r) => srv.close(r));
    delete process.env.LOCALCLOUD_STATE_DIR;
    fs.rmSync(stateDir, { recursive: true, force: true });
});

describe("findNeonProject", () => {
    const baseUrl = () => `${base}/api/v2`;
    beforeAll(() => {
        // More projects matching the search than one page (400) holds, the wanted one last.
        for (let i = 0; i < 405; i++) {
            const id = `old-name-${String(i).padStart(8, "0")}`;
            projectStore().put(
                id,
                neonProject(id, `fpsgame-prod-copy-${i}`, `2026-01-01T00:00:${String(i % 60).padStart(2, "0")}Z`),
            );
        }
        projectStore().put(
            "aged-dust-32653049",
            neonProject("aged-dust-32653049", "fpsgame-prod", "2026-02-01T00:00:00Z"),
        );
        projectStore().put("twin-a-00000001", neonProject("twin-a-00000001", "twin", "2026-02-02T00:00:00Z"));
        projectStore().put("twin-b-00000002", neonProject("twin-b-00000002", "twin", "2026-02-03T00:00:00Z"));
    });

    test("finds the project of that exact name past the first page, with its branch, databases and roles", async () => {
        const found = await findNeonProject({ name: "fpsgame-prod", apiKey: TOKEN, baseUrl: baseUrl() });
        expect(found).toEqual({
            projectId: "aged-dust-32653049",
            name: "fpsgame-prod",
            regionId: "aws-us-west-2",
            pgVersion: 16,
            historyRetentionSeconds: 604800,
            defaultEndpointSettings: {
                autoscalingLimitMinCu: 0.25,
                autoscalingLimitMaxCu: 2,
                suspendTimeoutSeconds: 300,
            },
            defaultBranch: { id: "br-aged-dust-32653049", name: "main" },
            databases: [{ name: "fpsgame", ownerName: "fpsgame_owner" }],
            roles: [{ name: "fpsgame_owner", protected: false }],
        });
        expect(JSON.stringify(found)).not.toContain("pw-hidden");
    });

    test("undefined when no project has that name; two of that name are an error naming both ids", async () => {
        await expect(findNeonProject({ name: "fpsgame", apiKey: TOKEN, baseUrl: baseUrl() })).resolves.toBeUndefined();
        await expect(findNeonProject({ name: "twin", apiKey: TOKEN, baseUrl: baseUrl() })).rejects.toThrow(
            'Neon: 2 projects are named "twin" (twin-a-00000001, twin-b-00000002)',
        );
    });

    test("a refused key: the service, the path and the status", async () => {
        const e = await findNeonProject({ name: "x", apiKey: "", baseUrl: baseUrl() }).catch((x: unknown) => x);
        expect(e).toBeInstanceOf(ServiceApiError);
        expect((e as ServiceApiError).status).toBe(401);
        expect((e as Error).message).toMatch(/^Neon API: GET \/projects\?search=x&limit=400 answered HTTP 401/);
    });
});

describe("findUpstashDatabase", () => {
    const baseUrl = () => `${base}/upstash`;
    beforeAll(() => {
        databaseStore().put(
            "6c0a1f7e-2b7c-4a43-9a57-2f1c3e2d9b10",
            upstashDb("6c0a1f7e-2b7c-4a43-9a57-2f1c3e2d9b10", "fpsgame-cache"),
        );
        databaseStore().put(
            "7d0a1f7e-2b7c-4a43-9a57-2f1c3e2d9b11",
            upstashDb("7d0a1f7e-2b7c-4a43-9a57-2f1c3e2d9b11", "dup"),
        );
        databaseStore().put(
            "8e0a1f7e-2b7c-4a43-9a57-2f1c3e2d9b12",
            upstashDb("8e0a1f7e-2b7c-4a43-9a57-2f1c3e2d9b12", "dup"),
        );
    });

    test("finds the database by name, with its regions and endpoint, never its password", async () => {
        const found = await findUpstashDatabase({
            name: "fpsgame-cache",
            email: "ops@example.com",
            apiKey: TOKEN,
            baseUrl: baseUrl(),
        });
        expect(found).toEqual({
            databaseId: "6c0a1f7e-2b7c-4a43-9a57-2f1c3e2d9b10",
            id: "upstash-database-6c0a1f7e-2b7c-4a43-9a57-2f1c3e2d9b10",
            name: "fpsgame-cache",
            region: "global",
            primaryRegion: "us-west-1",
            readRegions: ["eu-west-1", "us-east-1"],
            endpoint: "127.0.0.1",
            port: 26400,
            tls: true,
            eviction: true,
            budget: 50,
        });
        expect(JSON.stringify(found)).not.toContain("hidden");
    });

    test("undefined for no such name; duplicates are an error; no email is Upstash's 401", async () => {
        const args = { email: "ops@example.com", apiKey: TOKEN, baseUrl: baseUrl() };
        await expect(findUpstashDatabase({ ...args, name: "nope" })).resolves.toBeUndefined();
        await expect(findUpstashDatabase({ ...args, name: "dup" })).rejects.toThrow(
            /Upstash: 2 databases are named "dup"/,
        );
        await expect(findUpstashDatabase({ ...args, name: "x", email: "" })).rejects.toThrow(
            "Upstash API: GET /v2/redis/databases answered HTTP 401: Unauthorized",
        );
    });
});

describe("findVercelProject", () => {
    const baseUrl = () => `${base}/vercel`;
    let projectId: string;
    let envIds: string[];

    beforeAll(async () => {
        const urn = (type: string, name: string) => `urn:pulumi:dev::fpsgame::c$${type}::${name}`;
        const P = urn(TOKENS.project, "p");
        const E = urn(TOKENS.envVar, "e");
        const D = urn(TOKENS.domain, "d");
        const project = {
            name: "fpsgame-web",
            framework: "vite",
            gitRepository: { type: "github", repo: "fpsgame/web", productionBranch: "main" },
        };
        projectId = (await vercel.create!(P, (await vercel.check!(P, {}, project)).inputs)).id!;
        envIds = [];
        for (const [key, value, sensitive] of [
            ["VITE_API_URL", "https://api.example", false],
            ["SECRET_KEY", secret("value-never-shown"), true],
        ] as const) {
            const e = { projectId, key, value, sensitive, targets: ["production"] };
            envIds.push((await vercel.create!(E, (await vercel.check!(E, {}, e)).inputs)).id!);
        }
        await vercel.create!(D, (await vercel.check!(D, {}, { projectId, domain: "play.example.com" })).inputs);
    });

    test("finds the project by name with its repository, env var ids and keys (no values) and domains", async () => {
        const found = await findVercelProject({ name: "fpsgame-web", token: TOKEN, baseUrl: baseUrl() });
        expect(found).toEqual({
            projectId,
            name: "fpsgame-web",
            framework: "vite",
            gitRepository: { type: "github", repo: "fpsgame/web", productionBranch: "main" },
            envs: [
                { id: envIds[0], key: "VITE_API_URL", targets: ["production"], type: "encrypted", sensitive: false },
                { id: envIds[1], key: "SECRET_KEY", targets: ["production"], type: "sensitive", sensitive: true },
            ],
            domains: [{ name: "play.example.com" }],
        });
        expect(JSON.stringify(found)).not.toMatch(/value-never-shown|api\.example"/);
    });

    test("undefined when no project has that name, even when it is another project's id", async () => {
        await expect(findVercelProject({ name: "other", token: TOKEN, baseUrl: baseUrl() })).resolves.toBeUndefined();
        await expect(findVercelProject({ name: projectId, token: TOKEN, baseUrl: baseUrl() })).resolves.toBeUndefined();
    });
});

describe("errors", () => {
    let failing: http.Server;
    let failingUrl: string;
    beforeAll(async () => {
        failing = http.createServer((_req, res) => {
            res.writeHead(503, { "content-type": "application/json" });
            res.end(JSON.stringify({ error: { code: "unavailable", message: "try later" } }));
        });
        failingUrl = await listen(failing);
    });
    afterAll(async () => new Promise((r) => failing.close(r)));

    test("a failing service: the service, method, path, status and its message, never the token", async () => {
        const e = (await findVercelProject({ name: "web", token: TOKEN, baseUrl: failingUrl }).catch(
            (x: unknown) => x,
        )) as ServiceApiError;
        expect(e.message).toBe("Vercel API: GET /v9/projects/web answered HTTP 503: try later");
        expect(e.status).toBe(503);
        const u = (await findUpstashDatabase({
            name: "c",
            email: "ops@example.com",
            apiKey: TOKEN,
            baseUrl: failingUrl,
        }).catch((x: unknown) => x)) as Error;
        expect(u.message).toBe("Upstash API: GET /v2/redis/databases answered HTTP 503: try later");
        for (const m of [e.message, u.message, JSON.stringify(e)]) expect(m).not.toContain(TOKEN);
    });

    test("no answer at all: the service, the path and why", async () => {
        const closed = http.createServer();
        const url = await listen(closed);
        await new Promise((r) => closed.close(r));
        const e = (await findNeonProject({ name: "p", apiKey: TOKEN, baseUrl: url }).catch(
            (x: unknown) => x,
        )) as ServiceApiError;
        expect(e.status).toBeUndefined();
        expect(e.message).toMatch(/^Neon API: GET \/projects\?search=p&limit=400 failed: /);
        expect(e.message).not.toContain(TOKEN);
    });
});
