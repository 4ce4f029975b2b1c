/**
 * Password rotation as a config diff, on the real engine against the local cloud: raising
 * `database.passwordRotation` and `redis.passwordRotation` makes the `up` reset both passwords
 * through the services' APIs (the local cloud's stand-ins: ALTER ROLE in PostgreSQL, the `default`
 * ACL user in Redis), and roll the API's machines onto the new DATABASE_URL and REDIS_URL. The
 * old passwords are refused by the real servers, the new ones work, and no file of the stack
 * holds either in plain text. A reset that fails changes nothing.
 */
import * as fs from "fs";
import * as path from "path";
import { Client } from "pg";
import { localcloudPaths, redisPing } from "../../localcloud/services/env";
import { clientConnectionString } from "../../migrations/runner";
import { runPulumi } from "../../ops/workspace";
import { E2E_TIMEOUT_MS, E2EStack, flySecretValues, runCommand } from "./harness";

jest.setTimeout(E2E_TIMEOUT_MS);

const stack = new E2EStack("rotation");

/** The API's secrets as the Fly emulator holds them (it keeps the values). */
const flySecrets = () => flySecretValues(stack.appName);

/** `SELECT 1` through a connection string, TLS verified against the local CA. */
async function pgSelect(url: string): Promise<number> {
    const c = new Client({ connectionString: clientConnectionString(url, localcloudPaths().caFile) });
    await c.connect();
    try {
        return Number((await c.query<{ one: number }>("SELECT 1 AS one")).rows[0].one);
    } finally {
        await c.end().catch(() => undefined);
    }
}

/** PING through a `rediss://` URL, TLS verified against the local CA; no reconnects. */
const password = (url: string) => decodeURIComponent(new URL(url).password);

/** Machines of the app: id -> instance id (a new one after each update) and secrets version. */
async function machines(): Promise<Record<string, { instance: string; secretsVersion: number | null }>> {
    const app = await stack.inventory();
    return Object.fromEntries(
        (app?.machines ?? []).map((m) => [m.id, { instance: m.instance_id, secretsVersion: m.secrets_version }]),
    );
}

/** Every file of the stack in the file backend: its state, its backups, its history. */
function stackFiles(): string[] {
    const root = path.join(stack.env.PULUMI_BACKEND_URL!.replace(/^file:\/\//, ""), ".pulumi");
    const out: string[] = [];
    const walk = (dir: string) => {
        for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
            const p = path.join(dir, e.name);
            if (e.isDirectory()) walk(p);
            else if (p.includes(stack.name)) out.push(p);
        }
    };
    walk(root);
    return out;
}

/** The files and outputs that contain `secret` in plain text (none, or the test fails naming them). */
async function plainCopies(secret: string): Promise<string[]> {
    const files = [stack.file, ...stackFiles()].filter((f) => fs.readFileSync(f, "utf8").includes(secret));
    const outputs = JSON.stringify(await (await stack.stack()).stack.outputs());
    return outputs.includes(secret) ? [...files, "stack outputs"] : files;
}

let before: Record<string, string>;
let machinesBefore: Awaited<ReturnType<typeof machines>>;

beforeAll(async () => {
    await stack.init();
    await stack.upOk();
    before = await flySecrets();
    machinesBefore = await machines();
});
afterAll(async () => {
    await stack.remove();
});

test("without the rotation keys nothing is planned, and the created passwords work", async () => {
    expect(await stack.previewSteps()).toEqual([]);
    expect(await pgSelect(before.DATABASE_URL)).toBe(1);
    expect(await redisPing(before.REDIS_URL)).toBe("PONG");
});

describe("database.passwordRotation: 1 (npm run rotate) and redis.passwordRotation: 1", () => {
    let after: Record<string, string>;
    let engineOutput: string;

    beforeAll(async () => {
        // As an operator does it: the runbook's command for one, a config edit for the other.
        const edit = await runCommand("rotate", stack.name, ["--no-policy", "--secret", "databasePassword"]);
        expect(edit).toExitZero();
        expect(edit.stderr).toContain(`Pulumi.${stack.name}.yaml: database.passwordRotation = 1`);
        await stack.configSet("redis.passwordRotation", "1");
        const r = await stack.upOk();
        engineOutput = r.stdout + r.stderr;
        after = await flySecrets();
    });

    test("the Fly app's secrets hold new passwords in the same URLs", () => {
        expect(password(after.DATABASE_URL)).not.toBe(password(before.DATABASE_URL));
        expect(password(after.REDIS_URL)).not.toBe(password(before.REDIS_URL));
        const same = (u: string) => {
            const url = new URL(u);
            url.password = "";
            return url.toString();
        };
        expect(same(after.DATABASE_URL)).toBe(same(before.DATABASE_URL));
        expect(same(after.REDIS_URL)).toBe(same(before.REDIS_URL));
    });

    test("PostgreSQL refuses the old password and takes the new one", async () => {
        await expect(pgSelect(before.DATABASE_URL)).rejects.toThrow(/password authentication failed/);
        expect(await pgSelect(after.DATABASE_URL)).toBe(1);
    });

    test("Redis refuses the old password and takes the new one", async () => {
        await expect(redisPing(before.REDIS_URL)).rejects.toThrow(/WRONGPASS|invalid username-password/);
        expect(await redisPing(after.REDIS_URL)).toBe("PONG");
    });

    test("every machine was restarted onto the new secrets", async () => {
        const now = await machines();
        const app = await stack.inventory();
        expect(Object.keys(now).sort()).toEqual(Object.keys(machinesBefore).sort());
        for (const [id, m] of Object.entries(now)) {
            expect(m.instance).not.toBe(machinesBefore[id].instance);
            expect(m.secretsVersion).toBe(app?.secrets_version);
            expect(m.secretsVersion).not.toBe(machinesBefore[id].secretsVersion);
        }
    });

    test("the project's commands reach the database with the new password", async () => {
        expect(await stack.sql<{ one: number }>("SELECT 1 AS one")).toEqual([{ one: 1 }]);
    });

    test("no file of the stack, no output and no engine line holds a password in plain text", async () => {
        for (const secret of [after.DATABASE_URL, after.REDIS_URL, before.DATABASE_URL, before.REDIS_URL].map(
            password,
        )) {
            expect(await plainCopies(secret)).toEqual([]);
            expect(engineOutput).not.toContain(secret);
        }
    });

    test("the next preview plans nothing: the reset ran once", async () => {
        expect(await stack.previewSteps()).toEqual([]);
    });

    test("the drift check finds nothing: a rotation is not drift", async () => {
        const r = await runCommand("drift", stack.name, ["--json"]);
        expect(JSON.parse(r.stdout)).toEqual({ stack: stack.name, drifted: [], errors: [] });
        expect(r).toExitZero();
    });
});

describe("a reset that fails", () => {
    test("changes nothing: the old password stays in use and working, and the next up completes it", async () => {
        const current = await flySecrets();
        const machinesNow = await machines();
        await stack.configSet("redis.passwordRotation", "2");
        // Upstash's API unreachable for this up only: every retry refused.
        const failed = await runPulumi(
            stack.name,
            ["up", "--yes", "--skip-preview", "--non-interactive", "--stack", stack.name],
            { capture: true },
            { ...stack.env, UPSTASH_API_URL: "http://127.0.0.1:1/upstash" },
        );
        expect(failed.code).not.toBe(0);
        expect(failed.stdout + failed.stderr).toContain(
            "password rotation failed: Upstash API POST /v2/redis/reset-password/",
        );
        expect(await flySecrets()).toEqual(current);
        expect(await redisPing(current.REDIS_URL)).toBe("PONG");
        expect(await machines()).toEqual(machinesNow);

        await stack.upOk();
        const done = await flySecrets();
        expect(done.DATABASE_URL).toBe(current.DATABASE_URL);
        expect(password(done.REDIS_URL)).not.toBe(password(current.REDIS_URL));
        await expect(redisPing(current.REDIS_URL)).rejects.toThrow(/WRONGPASS|invalid username-password/);
        expect(await redisPing(done.REDIS_URL)).toBe("PONG");
    });
});
