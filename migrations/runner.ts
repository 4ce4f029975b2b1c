/**
 * Applies the SQL migrations in `migrations/` with postgrator (forward `NNN.do.*.sql` and
 * rollback `NNN.undo.*.sql` pairs, the runbook's pattern). Run by the stack's migrations
 * command after the database exists, and usable by hand:
 *
 *   DATABASE_URL=… node … migrations/runner.ts up         # to the newest migration
 *   DATABASE_URL=… node … migrations/runner.ts to 2       # roll forward or back to version 2
 *   DATABASE_URL=… node … migrations/runner.ts status
 *
 * Safe to run twice: postgrator records applied versions (and their checksums) in the
 * `schemaversion` table and skips them; a Postgres advisory lock keeps two runs apart.
 * The connection string is read from the environment and never printed.
 *
 * Two guards of its own:
 * - Every migration applied or undone is appended to `schema_migration_log` (version, action,
 *   time), which postgrator's table cannot say: it forgets an undone version.
 * - A move down that would drop a table holding rows, or a column holding values, is refused
 *   before anything runs, unless allowed (`--allow-data-loss`, or MIGRATE_ALLOW_DATA_LOSS=1,
 *   which the stack sets from `database.allowDataLoss`). The undo scripts are first run in a
 *   transaction that is rolled back, and what they would remove is read from the catalog.
 */
import { Command } from "commander";
import * as fs from "fs";
import * as path from "path";
import { Client } from "pg";

const MIGRATIONS_DIR = path.resolve(__dirname);
// An arbitrary constant shared by every run against the same database.
const LOCK_KEY = 7_351_002;

interface PostgratorMigration {
    version: number;
    action: string;
    name: string;
}
interface PostgratorInstance {
    migrate(target?: string): Promise<PostgratorMigration[]>;
    getDatabaseVersion(): Promise<number>;
    getMaxVersion(): Promise<number>;
    on(event: string, cb: (m: PostgratorMigration) => void): void;
}
type PostgratorCtor = new (opts: Record<string, unknown>) => PostgratorInstance;

function log(line: string): void {
    process.stderr.write(`[migrate] ${line}\n`);
}

/**
 * The connection string for node-postgres: it treats `sslmode=require` as verify-full and warns,
 * so say verify-full; with `rootCert` (a CA file, e.g. PGSSLROOTCERT, which libpq reads from the
 * environment and node-postgres only from the URL), verify against it unless the URL names one.
 */
export function clientConnectionString(url: string, rootCert?: string): string {
    const u = new URL(url);
    if (u.searchParams.get("sslmode") === "require") u.searchParams.set("sslmode", "verify-full");
    if (rootCert && !u.searchParams.has("sslrootcert")) u.searchParams.set("sslrootcert", rootCert);
    return u.toString();
}

/** The runner's own record of every migration applied or undone (postgrator forgets undone ones). */
const LOG_TABLE = "schema_migration_log";
/** tables the runner and postgrator own: never counted as data a migration would lose. */
const BOOKKEEPING_TABLES = ["schemaversion", LOG_TABLE];

async function withDatabase<T>(fn: (p: PostgratorInstance, client: Client) => Promise<T>): Promise<T> {
    const url = process.env.DATABASE_URL;
    if (!url) {
        throw new Error("DATABASE_URL is not set: the migration runner reads the connection string from it");
    }
    const client = new Client({ connectionString: clientConnectionString(url) });
    await client.connect();
    try {
        await client.query("SELECT pg_advisory_lock($1)", [LOCK_KEY]);
        // postgrator 7 is an ES module; Node 22 loads it through require().
        const mod = (await import("postgrator")) as unknown as { default: PostgratorCtor };
        const Postgrator = mod.default;
        const postgrator = new Postgrator({
            migrationPattern: path.join(MIGRATIONS_DIR, "*.sql"),
            driver: "pg",
            database: client.database,
            schemaTable: "schemaversion",
            execQuery: (query: string) => client.query(query),
        });
        postgrator.on("migration-started", (m) =>
            log(`${m.action === "undo" ? "rolling back" : "applying"} ${String(m.version).padStart(3, "0")} ${m.name}`),
        );
        await client.query(
            `CREATE TABLE IF NOT EXISTS ${LOG_TABLE} (id BIGSERIAL PRIMARY KEY, version INTEGER NOT NULL, action TEXT NOT NULL, name TEXT NOT NULL, at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp())`,
        );
        // pg queues a client's queries, so these run in order, each after its migration.
        const logged: Promise<unknown>[] = [];
        postgrator.on("migration-finished", (m) => {
            logged.push(
                client.query(`INSERT INTO ${LOG_TABLE} (version, action, name) VALUES ($1, $2, $3)`, [
                    m.version,
                    m.action,
                    m.name,
                ]),
            );
        });
        try {
            return await fn(postgrator, client);
        } finally {
            await Promise.all(logged);
        }
    } finally {
        await client.query("SELECT pg_advisory_unlock($1)", [LOCK_KEY]).catch(() => undefined);
        await client.end();
    }
}

/** What a move down would remove that holds data: `table players (12 rows)`, `column players.region (3 values)`. */
export async function dataLossOf(client: Client, from: number, to: number, dir = MIGRATIONS_DIR): Promise<string[]> {
    const undo = fs
        .readdirSync(dir)
        .map((f) => ({ f, v: Number(/^(\d+)\.undo\..*\.sql$/.exec(f)?.[1]) }))
        .filter(({ v }) => Number.isInteger(v) && v > to && v <= from)
        .sort((a, b) => b.v - a.v);
    if (undo.length === 0) return [];
    const columns = async (): Promise<Set<string>> =>
        new Set(
            (
                await client.query<{ t: string; c: string }>(
                    `SELECT table_name AS t, column_name AS c FROM information_schema.columns WHERE table_schema = current_schema()`,
                )
            ).rows.map((r) => `${r.t}.${r.c}`),
        );
    const before = await columns();
    let after: Set<string>;
    await client.query("BEGIN");
    try {
        for (const { f } of undo) await client.query(fs.readFileSync(path.join(dir, f), "utf8"));
        after = await columns();
    } finally {
        await client.query("ROLLBACK");
    }
    const gone = [...before].filter((tc) => !after.has(tc) && !BOOKKEEPING_TABLES.includes(tc.split(".")[0]));
    const tablesAfter = new Set([...after].map((tc) => tc.split(".")[0]));
    const lost: string[] = [];
    const q = (id: string) => client.escapeIdentifier(id);
    for (const table of [...new Set(gone.map((tc) => tc.split(".")[0]))].sort()) {
        if (!tablesAfter.has(table)) {
            const n = Number((await client.query(`SELECT count(*) AS n FROM ${q(table)}`)).rows[0].n);
            if (n > 0) lost.push(`table ${table} (${n} row${n === 1 ? "" : "s"})`);
            continue;
        }
        for (const tc of gone.filter((x) => x.startsWith(`${table}.`)).sort()) {
            const col = tc.slice(table.length + 1);
            const n = Number((await client.query(`SELECT count(${q(col)}) AS n FROM ${q(table)}`)).rows[0].n);
            if (n > 0) lost.push(`column ${tc} (${n} value${n === 1 ? "" : "s"})`);
        }
    }
    return lost;
}

async function migrateTo(target: string, allowDataLoss: boolean): Promise<void> {
    await withDatabase(async (postgrator, client) => {
        const before = await postgrator.getDatabaseVersion();
        const max = await postgrator.getMaxVersion();
        const want = target === "max" ? max : Number(target);
        if (!Number.isInteger(want) || want < 0 || want > max) {
            throw new Error(`migration target "${target}" is not allowed: use "latest" or a version from 0 to ${max}`);
        }
        if (want < before) {
            const lost = await dataLossOf(client, before, want);
            if (lost.length > 0 && !allowDataLoss) {
                throw new Error(
                    `refused: moving the schema down from version ${before} to ${want} would drop ${lost.join(", ")}. ` +
                        "Nothing was changed. Back up first (npm run backup), then allow it for this one update with " +
                        "database.allowDataLoss: true in the stack config (or --allow-data-loss by hand)",
                );
            }
            if (lost.length > 0) log(`allowed data loss: ${lost.join(", ")}`);
        }
        const applied = await postgrator.migrate(target === "max" ? "max" : String(want));
        const after = await postgrator.getDatabaseVersion();
        // One line on stdout: the command's output in the stack state (no secrets in it).
        const summary =
            applied.length === 0
                ? `schema at version ${after}; nothing to do`
                : `schema moved from version ${before} to ${after} (${applied.map((m) => `${m.action} ${m.version}`).join(", ")})`;
        log(summary);
        process.stdout.write(`${summary}\n`);
    });
}

async function main(argv: string[]): Promise<void> {
    const program = new Command("migrate").description("Apply or roll back the SQL migrations in migrations/.");
    const allowed = (o: { allowDataLoss?: boolean }): boolean =>
        o.allowDataLoss === true || process.env.MIGRATE_ALLOW_DATA_LOSS === "1";
    program
        .command("up")
        .description("apply every pending migration")
        .action(() => migrateTo("max", false));
    program
        .command("to <version>")
        .description('move the schema to <version> ("latest" or a number; lower numbers roll back)')
        .option("--allow-data-loss", "move down even when that drops a table holding rows or a column holding values")
        .action((version: string, o: { allowDataLoss?: boolean }) =>
            migrateTo(version === "latest" ? "max" : version, allowed(o)),
        );
    program
        .command("status")
        .description("print the schema version and the newest available")
        .action(() =>
            withDatabase(async (p) => {
                process.stdout.write(
                    `schema at version ${await p.getDatabaseVersion()} of ${await p.getMaxVersion()}\n`,
                );
            }),
        );
    await program.parseAsync(argv);
}

if (require.main === module) {
    main(process.argv).catch((err: Error) => {
        log(`failed: ${err.message}`);
        process.exit(1);
    });
}
