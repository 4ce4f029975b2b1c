/**
 * Safe migrations on the real engine against the local cloud, with a variant of the program that
 * carries a bad migration 004 (it zeroes every player's rating and drops a column):
 * - a move down that would drop a column holding values is refused, with nothing changed;
 * - every migration run gets a restore point first: a Neon branch, a real copy of the database;
 * - `npm run undo-migration` restores the database from it: the rows written before the bad
 *   migration are back as they were, and the data from just before the undo is kept in a branch.
 */
import * as fs from "fs";
import { pgDatabaseName, withAdmin } from "../../localcloud/stand-ins/neon/pg";
import { CommandResult, E2E_TIMEOUT_MS, E2EStack, programVariant, runCommand } from "./harness";

jest.setTimeout(E2E_TIMEOUT_MS);

const program = programVariant("migrations", {
    "migrations/004.do.reset-ratings.sql":
        "-- A bad migration: it was meant to add a column, and resets every rating instead.\n" +
        "UPDATE players SET elo = 0;\nALTER TABLE players DROP COLUMN last_seen_at;\n",
    "migrations/004.undo.reset-ratings.sql": "ALTER TABLE players ADD COLUMN IF NOT EXISTS last_seen_at TIMESTAMPTZ;\n",
});
const stack = new E2EStack("migrations", program);

const PLAYERS = [
    { username: "ana", email: "ana@example.com", elo: 1510, region: "sjc" },
    { username: "bo", email: "bo@example.com", elo: 1220, region: "iad" },
    { username: "cy", email: "cy@example.com", elo: 980, region: "sjc" },
];

async function players(): Promise<Record<string, unknown>[]> {
    return stack.sql("SELECT username, elo, region, last_seen_at IS NOT NULL AS seen FROM players ORDER BY username");
}
async function schemaVersion(): Promise<number> {
    return Number((await stack.sql<{ v: number }>("SELECT max(version) AS v FROM schemaversion"))[0].v);
}
async function restorePointBranches(): Promise<string[]> {
    return (await stack.stateResources("neon:index/branch:Branch")).map((r) => String(r.outputs.name));
}

beforeAll(async () => {
    await stack.init();
    await stack.configSet("database.migrateTo", "3");
    await stack.upOk();
    for (const p of PLAYERS) {
        await stack.sql(
            "INSERT INTO players (username, email, elo, region, last_seen_at) VALUES ($1, $2, $3, $4, now())",
            [p.username, p.email, p.elo, p.region],
        );
    }
});
afterAll(async () => {
    await stack.remove();
    fs.rmSync(program, { recursive: true, force: true });
});

test("a move down that would drop a column holding values is refused, and nothing changes", async () => {
    const before = await players();
    await stack.configSet("database.migrateTo", "1");
    const r = await stack.up();
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toContain(
        "refused: moving the schema down from version 3 to 1 would drop column players.region (3 values). Nothing was changed.",
    );
    expect(await schemaVersion()).toBe(3);
    expect(await players()).toEqual(before);
    await stack.configSet("database.migrateTo", "3");
    await stack.upOk();
});

test("the bad migration runs after its restore point; undo-migration brings the rows back, and keeps the later data in a branch", async () => {
    const before = await players();
    const [pointBefore] = await restorePointBranches();
    await stack.configRemove("database.migrateTo");
    await stack.upOk();
    expect(await schemaVersion()).toBe(4);
    expect((await stack.sql("SELECT elo FROM players")).map((r) => r.elo)).toEqual([0, 0, 0]);
    // A new restore point replaced the old one: one at a time, from just before this run.
    const points = await restorePointBranches();
    expect(points).toHaveLength(1);
    expect(points[0]).not.toBe(pointBefore);
    // Written after the migration: not in the restored database, kept in the preserved branch.
    await stack.sql("INSERT INTO players (username, email, region) VALUES ('late', 'late@example.com', 'iad')");

    const r: CommandResult = await runCommand("undo-migration", stack.name, ["--yes", "--json"]);
    expect(r).toExitZero();
    const summary = JSON.parse(r.stdout) as {
        restorePoint: { name: string };
        preservedBranch: { id: string; name: string };
        schemaBefore: number;
        schemaAfter: number;
        undone: string[];
    };
    expect(summary.restorePoint.name).toBe(points[0]);
    expect([summary.schemaBefore, summary.schemaAfter]).toEqual([4, 3]);
    expect(summary.undone).toEqual(["do 4 reset-ratings"]);
    expect(summary.preservedBranch.name).toMatch(/^before-undo-/);
    expect(summary.preservedBranch.id).toMatch(/^br-/);
    expect(r.stderr).toContain(`Database restored from ${points[0]}`);

    expect(await schemaVersion()).toBe(3);
    expect(await players()).toEqual(before);
    expect(before.map((p) => p.elo)).toEqual([1510, 1220, 980]);
    // The data from just before the undo, the late row with it, is in the preserved branch (read
    // as the Neon stand-in's PostgreSQL holds it: the branch's copy of the database).
    const preserved = await withAdmin(
        (c) => c.query<{ username: string; elo: number }>("SELECT username, elo FROM players ORDER BY username"),
        pgDatabaseName(summary.preservedBranch.id, "fpsgame"),
    );
    expect(preserved.rows).toEqual([
        { username: "ana", elo: 0 },
        { username: "bo", elo: 0 },
        { username: "cy", elo: 0 },
        { username: "late", elo: 1000 },
    ]);
    expect(before.every((p) => p.seen === true)).toBe(true);
});

test("undo-migration without --yes and no terminal asks for --yes, and changes nothing", async () => {
    const before = await players();
    const r = await runCommand("undo-migration", stack.name, []);
    // With stderr, so a failure of another kind says what it was.
    expect([r.code, r.stderr]).toEqual([
        2,
        expect.stringContaining(
            "undo-migration refused: no terminal to confirm on: pass --yes to restore without asking. Nothing was changed.",
        ),
    ]);
    expect(await players()).toEqual(before);
});

test("with database.allowDataLoss the same move down runs, and the runner's log records each undo", async () => {
    await stack.configSet("database.allowDataLoss", "true");
    await stack.configSet("database.migrateTo", "1");
    await stack.upOk();
    const outputs = await (await stack.stack()).stack.outputs();
    expect(outputs.schema.value).toBe("schema moved from version 3 to 1 (undo 3, undo 2)");
    expect(await schemaVersion()).toBe(1);
    const columns = await stack.sql<{ c: string }>(
        "SELECT column_name AS c FROM information_schema.columns WHERE table_name = 'players' ORDER BY column_name",
    );
    expect(columns.map((x) => x.c)).not.toContain("region");
    expect((await stack.sql("SELECT count(*)::int AS n FROM players"))[0].n).toBe(3);
    const log = await stack.sql<{ step: string }>(
        "SELECT action || ' ' || version AS step FROM schema_migration_log ORDER BY id DESC LIMIT 2",
    );
    expect(log.map((x) => x.step)).toEqual(["undo 2", "undo 3"]);
});
