/**
 * Password rotation as a config diff, under mocks with the real staging stack file: a raised
 * `database.passwordRotation` / `redis.passwordRotation` adds one reset command per service, the
 * new password reaches the Fly secrets and the migrations, and no credential is plain anywhere.
 */
import { plainTextLeaks, T } from "../helpers/facts";
import {
    named,
    ofType,
    ProgramRun,
    readStackConfig,
    RecordedResource,
    ROTATED_PREFIX,
    runProgram,
} from "../helpers/mockProgram";

const { config } = readStackConfig("staging");
const database = JSON.parse(config["fpsgame-infra:database"]) as Record<string, unknown>;
const redis = JSON.parse(config["fpsgame-infra:redis"]) as Record<string, unknown>;

/** The staging stack with the rotation keys set (undefined: the key absent, as today). */
function rotated(db?: number, r?: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
        "fpsgame-infra:database": db === undefined ? database : { ...database, passwordRotation: db },
        "fpsgame-infra:redis": r === undefined ? redis : { ...redis, passwordRotation: r },
        ...extra,
    };
}

const appSecrets = (run: ProgramRun) => named(run, "api-secrets").inputs.values as Record<string, string>;
const password = (url: string) => decodeURIComponent(new URL(url).password);
/** True when the input at `path` arrived inside a secret (itself, or an object holding it). */
const secretAt = (r: RecordedResource, path: string) =>
    r.secretPaths.some((s) => path === s || path.startsWith(`${s}.`));

describe("no rotation key (every stack today)", () => {
    let run: ProgramRun;
    beforeAll(async () => {
        run = await runProgram("staging", rotated());
    });

    test("declares no reset command, so an existing stack's preview shows no change", () => {
        expect(ofType(run, T.command).map((c) => c.name)).toEqual(["migrations-apply"]);
    });

    test("the Fly secrets carry the passwords the services were created with", () => {
        expect(password(appSecrets(run).DATABASE_URL)).toBe("mockpw-db-project");
        expect(password(appSecrets(run).REDIS_URL)).toBe("mockredis-redis-database");
    });
});

describe("database.passwordRotation: 1, redis.passwordRotation: 3", () => {
    let run: ProgramRun;
    beforeAll(async () => {
        run = await runProgram("staging", rotated(1, 3));
    });

    test("one reset command per service, parented to its component", () => {
        const db = named(run, "db-password-rotation");
        const r = named(run, "redis-password-rotation");
        expect([db.type, db.parent, db.parentType]).toEqual([T.command, "db", "fpsgame:neon:Database"]);
        expect([r.type, r.parent, r.parentType]).toEqual([T.command, "redis", "fpsgame:upstash:Redis"]);
        expect(db.inputs.create).toBe("node --require ./lib/register.js ops/rotate-password.ts neon");
        expect(r.inputs.create).toBe("node --require ./lib/register.js ops/rotate-password.ts upstash");
        // A changed API key alone prints the same password again instead of issuing another.
        expect(db.inputs.update).toBe("node --require ./lib/register.js ops/rotate-password.ts keep");
        expect(r.inputs.update).toBe("node --require ./lib/register.js ops/rotate-password.ts keep");
    });

    test("the triggers are the rotation number and what is reset (a new one, or a new project, replaces it)", () => {
        expect(named(run, "db-password-rotation").inputs.triggers).toEqual([
            1,
            "db-project-id",
            "br-mock-db-project",
            "fpsgame_owner",
        ]);
        expect(named(run, "redis-password-rotation").inputs.triggers).toEqual([3, "mockdb-redis-database"]);
    });

    test("the reset's stdout is encrypted by the engine and never logged", () => {
        for (const name of ["db-password-rotation", "redis-password-rotation"]) {
            expect(named(run, name).additionalSecretOutputs).toEqual(["stdout"]);
            expect(named(run, name).inputs.logging).toBe("none");
        }
    });

    test("the API keys reach the commands as secrets in their environment, never in the command line", () => {
        const db = named(run, "db-password-rotation");
        const r = named(run, "redis-password-rotation");
        expect((db.inputs.environment as Record<string, string>).NEON_API_KEY).toBe(run.secretValues["neon:apiKey"]);
        expect(secretAt(db, "environment.NEON_API_KEY")).toBe(true);
        expect((r.inputs.environment as Record<string, string>).UPSTASH_API_KEY).toBe(
            run.secretValues["upstash:apiKey"],
        );
        expect((r.inputs.environment as Record<string, string>).UPSTASH_EMAIL).toBe("ops@fpsgame.example");
        expect(secretAt(r, "environment.UPSTASH_API_KEY")).toBe(true);
        for (const c of [db, r]) {
            expect(String(c.inputs.create)).not.toMatch(/KEY|test-/);
        }
    });

    test("the Fly secrets get the new passwords, DATABASE_URL still with sslmode=require", () => {
        const values = appSecrets(run);
        expect(password(values.DATABASE_URL)).toBe(`${ROTATED_PREFIX}db-password-rotation`);
        expect(new URL(values.DATABASE_URL).searchParams.get("sslmode")).toBe("require");
        expect(password(values.REDIS_URL)).toBe(`${ROTATED_PREFIX}redis-password-rotation`);
        expect(values.REDIS_URL).toMatch(/^rediss:\/\/default:[^@]+@fpsgame-staging\.upstash\.io:6379$/);
        expect(named(run, "api-secrets").secretPaths).toContain("values");
    });

    test("the migrations run with the new database password (after the reset, before the machines)", () => {
        const env = named(run, "migrations-apply").inputs.environment as Record<string, string>;
        expect(password(env.DATABASE_URL)).toBe(`${ROTATED_PREFIX}db-password-rotation`);
        expect(secretAt(named(run, "migrations-apply"), "environment.DATABASE_URL")).toBe(true);
    });

    test("no API key or password is plain in any input or output", () => {
        const values = [
            run.secretValues["neon:apiKey"],
            run.secretValues["upstash:apiKey"],
            `${ROTATED_PREFIX}db-password-rotation`,
            `${ROTATED_PREFIX}redis-password-rotation`,
        ];
        for (const v of values) {
            expect(plainTextLeaks(run, v)).toEqual([]);
            expect(JSON.stringify(run.outputs)).not.toContain(v);
        }
    });
});

test("raising the number changes the database reset's triggers only, and the Redis one stays", async () => {
    const one = await runProgram("staging", rotated(1, 3));
    const two = await runProgram("staging", rotated(2, 3));
    expect(named(two, "db-password-rotation").inputs.triggers).not.toEqual(
        named(one, "db-password-rotation").inputs.triggers,
    );
    expect(named(two, "redis-password-rotation").inputs.triggers).toEqual(
        named(one, "redis-password-rotation").inputs.triggers,
    );
});

test("a rotation without the provider's API key fails the preview, naming the key to set", async () => {
    await expect(runProgram("staging", rotated(1, undefined, { "neon:apiKey": undefined }))).rejects.toThrow(
        "fpsgame-infra:database.passwordRotation = 1: the reset calls Neon's API with neon:apiKey, which the stack does not set",
    );
});
