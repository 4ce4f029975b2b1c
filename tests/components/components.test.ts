/** Pure helpers of the components, tested without mocks. */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { hashMigrations, newestMigration } from "../../components/databaseMigrations";
import { batchSize, rolloutOrder } from "../../components/flyApiApp";
import { requireSsl } from "../../components/neonDatabase";
import { redisUrl } from "../../components/upstashRedis";
import { withPassword } from "../../lib/connection";

describe("rolloutOrder", () => {
    test("interleaves regions so each batch takes machines from every region in turn", () => {
        expect(rolloutOrder({ sjc: 2, iad: 3 }).map((m) => `${m.region}-${m.index}`)).toEqual([
            "iad-1",
            "sjc-1",
            "iad-2",
            "sjc-2",
            "iad-3",
        ]);
    });
    test("adding a machine to one region appends it without moving the others", () => {
        const before = rolloutOrder({ sjc: 2, iad: 2 }).map((m) => `${m.region}-${m.index}`);
        const after = rolloutOrder({ sjc: 3, iad: 2 }).map((m) => `${m.region}-${m.index}`);
        expect(after.slice(0, before.length)).toEqual(before);
        expect(after.slice(before.length)).toEqual(["sjc-3"]);
    });
});

describe("batchSize", () => {
    test.each([
        [6, {}, 1],
        [6, { maxParallel: 2 }, 2],
        [6, { fraction: 0.5 }, 3],
        [5, { fraction: 0.5 }, 3],
        [3, { fraction: 0.1 }, 1],
    ])("%i machines with %j roll %i at a time", (total, rollout, expected) => {
        expect(batchSize(total, rollout)).toBe(expected);
    });
});

describe("requireSsl", () => {
    test("adds sslmode=require", () => {
        expect(requireSsl("postgresql://u:p@h/db")).toBe("postgresql://u:p@h/db?sslmode=require");
    });
    test("overrides a weaker sslmode and keeps other parameters", () => {
        expect(requireSsl("postgresql://u:p@h/db?sslmode=disable&application_name=api")).toBe(
            "postgresql://u:p@h/db?sslmode=require&application_name=api",
        );
    });
});

describe("withPassword", () => {
    test("replaces only the password, escaping what a URL needs", () => {
        const uri = withPassword("postgresql://owner:old@h.neon.tech/fpsgame?sslmode=require", "n/w@p:ss");
        const url = new URL(uri);
        expect(decodeURIComponent(url.password)).toBe("n/w@p:ss");
        expect(uri.replace(url.password, "X")).toBe("postgresql://owner:X@h.neon.tech/fpsgame?sslmode=require");
    });
    test("an empty password is refused, never a URL without one", () => {
        expect(() => withPassword("postgresql://owner:old@h/db", "")).toThrow("printed no password");
    });
});

test("redisUrl uses TLS and the default user, and escapes the password", () => {
    expect(redisUrl("x.upstash.io", 6379, "p@ss/w")).toBe("rediss://default:p%40ss%2Fw@x.upstash.io:6379");
});

describe("hashMigrations", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "migrations-"));
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    test("changes exactly when a migration file changes", () => {
        fs.writeFileSync(path.join(dir, "001.do.a.sql"), "CREATE TABLE a ();");
        fs.writeFileSync(path.join(dir, "README.md"), "not a migration");
        const first = hashMigrations(dir);
        fs.writeFileSync(path.join(dir, "README.md"), "edited");
        expect(hashMigrations(dir)).toBe(first);
        fs.writeFileSync(path.join(dir, "001.do.a.sql"), "CREATE TABLE a (id int);");
        expect(hashMigrations(dir)).not.toBe(first);
    });

    test("refuses a folder with no migrations", () => {
        const empty = fs.mkdtempSync(path.join(os.tmpdir(), "empty-"));
        expect(() => hashMigrations(empty)).toThrow(
            `no migrations found in ${empty}: expected NNN.do.<name>.sql files`,
        );
    });
});

test("newestMigration reads the highest NNN of the do files", () => {
    expect(newestMigration(path.join(__dirname, "..", "..", "migrations"))).toBe(3);
});
