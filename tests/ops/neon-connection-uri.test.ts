/**
 * The branch connection-string script (ops/neon-connection-uri.ts) against a tiny HTTP server
 * standing in for Neon's API: the call it makes, what it retries, how it fails, and that stdout
 * is the string alone. The stand-in's answer to the same call is asserted in
 * localcloud/tests/api-stand-ins.test.ts.
 */
import { execFile } from "child_process";
import * as path from "path";
import { connectionUriFromEnv, neonConnectionUri } from "../../ops/neon-connection-uri";
import { REPO_ROOT } from "../helpers/mockProgram";
import { ScriptedApi } from "../helpers/scriptedApi";

const api = new ScriptedApi();
beforeAll(() => api.start());
afterAll(() => api.stop());
beforeEach(() => api.reset());

const URI = "postgresql://fpsgame_owner:branchPw@ep-br-1.us-east-2.aws.neon.tech/fpsgame?sslmode=require";
const fast = { retries: 3, retryDelay: () => 5 };
const request = () => ({
    baseUrl: `${api.host}/api/v2`,
    apiKey: "neon-key-123",
    projectId: "proj-1",
    branchId: "br-pr-7",
    endpointId: "ep-br-1",
    databaseName: "fpsgame",
    roleName: "fpsgame_owner",
});
const env = () => ({
    NEON_API_URL: `${api.host}/api/v2`,
    NEON_API_KEY: "neon-key-123",
    NEON_PROJECT_ID: "proj-1",
    NEON_BRANCH_ID: "br-pr-7",
    NEON_ENDPOINT_ID: "ep-br-1",
    NEON_DATABASE_NAME: "fpsgame",
    NEON_ROLE_NAME: "fpsgame_owner",
});

test("GETs connection_uri for the branch, its endpoint, the database and the role, with the bearer key", async () => {
    api.answers = [{ status: 200, body: { uri: URI } }];
    await expect(neonConnectionUri(request(), fast)).resolves.toBe(URI);
    expect(api.seen).toEqual([
        {
            method: "GET",
            url: "/api/v2/projects/proj-1/connection_uri?branch_id=br-pr-7&endpoint_id=ep-br-1&database_name=fpsgame&role_name=fpsgame_owner&pooled=false",
            authorization: "Bearer neon-key-123",
        },
    ]);
});

test("retries a 423, a 503 and a dropped connection, then succeeds", async () => {
    api.answers = [{ status: 423 }, { status: 503 }, "hang-up", { status: 200, body: { uri: URI } }];
    await expect(neonConnectionUri(request(), fast)).resolves.toBe(URI);
    expect(api.seen).toHaveLength(4);
});

test("a 404 is not retried; the error names the call and Neon's message, never the key", async () => {
    api.answers = [{ status: 404, body: { message: "endpoint not found" } }];
    const err = await neonConnectionUri(request(), fast).catch((e: Error) => e);
    expect((err as Error).message).toBe("Neon API GET /projects/proj-1/connection_uri: HTTP 404: endpoint not found");
    expect((err as Error).message).not.toContain("neon-key-123");
    expect(api.seen).toHaveLength(1);
});

test("an answer without a postgresql:// uri is a failure, and the error does not echo it", async () => {
    api.answers = [{ status: 200, body: { uri: "mysql://u:secretPw@h/db" } }];
    const err = (await neonConnectionUri(request(), fast).catch((e: Error) => e)) as Error;
    expect(err.message).toBe("Neon API GET /projects/proj-1/connection_uri: the answer holds no uri (postgresql://…)");
});

test("a missing variable is named, and nothing is called", async () => {
    const { NEON_ENDPOINT_ID: _, ...partial } = env();
    await expect(connectionUriFromEnv(partial, fast)).rejects.toThrow(
        "NEON_ENDPOINT_ID is not set in the command's environment",
    );
    expect(api.seen).toEqual([]);
});

describe("as the command the engine runs", () => {
    const script = path.join("ops", "neon-connection-uri.ts");
    const run = (vars: Record<string, string>) =>
        new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
            execFile(
                process.execPath,
                ["--require", "./lib/register.js", script],
                { cwd: REPO_ROOT, env: { PATH: process.env.PATH, ...vars } },
                (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
            );
        });

    test("stdout is the connection string and nothing else; stderr is empty", async () => {
        api.answers = [{ status: 200, body: { uri: URI } }];
        await expect(run(env())).resolves.toEqual({ code: 0, stdout: URI, stderr: "" });
    }, 30_000);

    test("a failed call prints nothing on stdout, says why on stderr (no key) and exits 1", async () => {
        api.answers = [{ status: 401, body: { message: "authorization failed" } }];
        await expect(run(env())).resolves.toEqual({
            code: 1,
            stdout: "",
            stderr: "reading the branch's connection string failed: Neon API GET /projects/proj-1/connection_uri: HTTP 401: authorization failed\n",
        });
    }, 30_000);
});
