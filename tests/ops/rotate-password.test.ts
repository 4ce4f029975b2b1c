/**
 * The password reset script (ops/rotate-password.ts) against a tiny HTTP server standing in for
 * Neon's and Upstash's APIs: the calls it makes, what it retries, how it fails, and that stdout is
 * the password alone.
 */
import { execFile } from "child_process";
import * as path from "path";
import { passwordFor, resetNeonPassword, resetUpstashPassword, RetryOptions } from "../../ops/rotate-password";
import { REPO_ROOT } from "../helpers/mockProgram";
import { ScriptedApi } from "../helpers/scriptedApi";

const api = new ScriptedApi();
/** Neon's base URL ends with /api/v2; Upstash's is the bare host, its paths start with /v2. */
let base: string;
let host: string;

beforeAll(async () => {
    await api.start();
    host = api.host;
    base = `${host}/api/v2`;
});
afterAll(() => api.stop());
beforeEach(() => api.reset());

const fast: RetryOptions = { retries: 3, retryDelay: () => 5, pollMs: 5, operationsTimeoutMs: 2000 };
const neon = () => ({
    baseUrl: base,
    apiKey: "neon-key-123",
    projectId: "proj-1",
    branchId: "br-main",
    roleName: "fpsgame_owner",
});
const upstash = () => ({ baseUrl: host, email: "ops@example.com", apiKey: "up-key-456", databaseId: "db-9" });
const RESET = "/api/v2/projects/proj-1/branches/br-main/roles/fpsgame_owner/reset_password";

describe("Neon", () => {
    test("POSTs reset_password with the bearer key, waits for the operations to finish, returns the password", async () => {
        api.answers = [
            {
                status: 200,
                body: {
                    role: { name: "fpsgame_owner", password: "n3wPass" },
                    operations: [{ id: "op-1", status: "running", action: "apply_config" }],
                },
            },
            { status: 200, body: { operation: { id: "op-1", status: "running" } } },
            { status: 200, body: { operation: { id: "op-1", status: "finished" } } },
        ];
        await expect(resetNeonPassword(neon(), fast)).resolves.toBe("n3wPass");
        expect(api.seen.map((s) => `${s.method} ${s.url}`)).toEqual([
            `POST ${RESET}`,
            "GET /api/v2/projects/proj-1/operations/op-1",
            "GET /api/v2/projects/proj-1/operations/op-1",
        ]);
        expect(api.seen.every((s) => s.authorization === "Bearer neon-key-123")).toBe(true);
    });

    test("retries a 423 (another operation running), a 503 and a dropped connection, then succeeds", async () => {
        api.answers = [
            { status: 423, body: { message: "project already has running operations" } },
            { status: 503 },
            "hang-up",
            { status: 200, body: { role: { password: "afterRetries" }, operations: [] } },
        ];
        await expect(resetNeonPassword(neon(), fast)).resolves.toBe("afterRetries");
        expect(api.seen).toHaveLength(4);
    });

    test("a 404 is not retried; the error names the call and Neon's message, never the key", async () => {
        api.answers = [{ status: 404, body: { code: "", message: "role not found" } }];
        const err = await resetNeonPassword(neon(), fast).catch((e: Error) => e);
        expect((err as Error).message).toBe(`Neon API POST ${RESET.replace("/api/v2", "")}: HTTP 404: role not found`);
        expect((err as Error).message).not.toContain("neon-key-123");
        expect(api.seen).toHaveLength(1);
    });

    test("gives up after the retries when the API keeps failing", async () => {
        api.answers = [{ status: 500, body: { message: "internal" } }];
        await expect(resetNeonPassword(neon(), fast)).rejects.toThrow("HTTP 500: internal");
        expect(api.seen).toHaveLength(4); // the try and 3 retries
    });

    test("an operation that fails is a failure: the password may not be in force", async () => {
        api.answers = [
            { status: 200, body: { role: { password: "x" }, operations: [{ id: "op-2", status: "running" }] } },
            { status: 200, body: { operation: { id: "op-2", status: "failed" } } },
        ];
        await expect(resetNeonPassword(neon(), fast)).rejects.toThrow("operation op-2 (reset_password) ended failed");
    });

    test("an answer without a password is a failure, not an empty password", async () => {
        api.answers = [{ status: 200, body: { role: { name: "fpsgame_owner" }, operations: [] } }];
        await expect(resetNeonPassword(neon(), fast)).rejects.toThrow("the answer holds no role.password");
    });
});

describe("Upstash", () => {
    test("POSTs /v2/redis/reset-password/{id} with basic auth email:apiKey and returns the new password", async () => {
        api.answers = [{ status: 200, body: { database_id: "db-9", password: "r3disPass", endpoint: "x.upstash.io" } }];
        await expect(resetUpstashPassword(upstash(), fast)).resolves.toBe("r3disPass");
        expect(api.seen).toEqual([
            {
                method: "POST",
                url: "/v2/redis/reset-password/db-9",
                authorization: `Basic ${Buffer.from("ops@example.com:up-key-456").toString("base64")}`,
            },
        ]);
    });

    test("a 401 names the call and stops; a 429 is retried", async () => {
        api.answers = [{ status: 401, body: "Unauthorized" }];
        await expect(resetUpstashPassword(upstash(), fast)).rejects.toThrow(
            "Upstash API POST /v2/redis/reset-password/db-9: HTTP 401: Unauthorized",
        );
        api.seen = [];
        api.answers = [{ status: 429 }, { status: 200, body: { password: "later" } }];
        await expect(resetUpstashPassword(upstash(), fast)).resolves.toBe("later");
        expect(api.seen).toHaveLength(2);
    });
});

describe("passwordFor (the command's modes)", () => {
    test("keep prints the previous run's password, which the engine passes in PULUMI_COMMAND_STDOUT", async () => {
        await expect(passwordFor("keep", { PULUMI_COMMAND_STDOUT: "prev" })).resolves.toBe("prev");
        await expect(passwordFor("keep", {})).rejects.toThrow(
            "PULUMI_COMMAND_STDOUT is not set in the command's environment",
        );
    });

    test("a missing variable is named, and nothing is called", async () => {
        await expect(
            passwordFor("neon", { NEON_API_URL: base, NEON_PROJECT_ID: "p", NEON_BRANCH_ID: "b", NEON_ROLE_NAME: "r" }),
        ).rejects.toThrow("NEON_API_KEY is not set in the command's environment");
        expect(api.seen).toHaveLength(0);
    });

    test("an unknown mode is refused", async () => {
        await expect(passwordFor("vault", {})).rejects.toThrow("allowed are neon, upstash, keep");
    });
});

describe("as the engine runs it", () => {
    const script = path.join("ops", "rotate-password.ts");
    const run = (env: NodeJS.ProcessEnv) =>
        new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
            execFile(
                process.execPath,
                ["--require", "./lib/register.js", script, "upstash"],
                { cwd: REPO_ROOT, env: { PATH: process.env.PATH, ...env } },
                (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
            );
        });
    const env = () => ({
        UPSTASH_API_URL: host,
        UPSTASH_EMAIL: "ops@example.com",
        UPSTASH_API_KEY: "up-key-456",
        UPSTASH_DATABASE_ID: "db-9",
    });

    test("stdout is the password and nothing else; stderr is empty", async () => {
        api.answers = [{ status: 200, body: { password: "onlyThis" } }];
        await expect(run(env())).resolves.toEqual({ code: 0, stdout: "onlyThis", stderr: "" });
    }, 30_000);

    test("a failed reset prints nothing on stdout, says why on stderr (no key) and exits 1", async () => {
        api.answers = [{ status: 403, body: { error: "forbidden" } }];
        const r = await run(env());
        expect(r.code).toBe(1);
        expect(r.stdout).toBe("");
        expect(r.stderr).toBe(
            "password rotation failed: Upstash API POST /v2/redis/reset-password/db-9: HTTP 403: forbidden\n",
        );
    }, 30_000);
});
