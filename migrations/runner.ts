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

interface DatabaseOptions {
    /** The connection string (default: DATABASE_URL). */
    url?: string;
    /** A CA file to verify the server against (default: PGSSLROOTCERT, as libpq reads it). */
    rootCert?: string;
    /**
     * Run no migration script, only postgrator's own bookkeeping (its `execSqlScript` hook): a
     * baseline records migrations that were applied by hand.
     */
    skipScripts?: boolean;
    /** The action written to the log for each migration postgrator finishes (default: its own). */
    logAction?: string;
}

async function withDatabase<T>(
    fn: (p: PostgratorInstance, client: Client) => Promise<T>,
    opts: DatabaseOptions = {},
): Promise<T> {
    const url = opts.url ?? process.env.DATABASE_URL;
    if (!url) {
        throw new Error("DATABASE_URL is not set: the migration runner reads the connection string from it");
    }
    const client = new Client({ connectionString: clientConnectionString(url, opts.rootCert) });
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
            ...(opts.skipScripts ? { execSqlScript: async () => undefined } : {}),
        });
        postgrator.on("migration-started", (m) =>
            log(
                `${opts.skipScripts ? "recording as applied" : m.action === "undo" ? "rolling back" : "applying"} ${String(m.version).padStart(3, "0")} ${m.name}`,
            ),
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
                    opts.logAction ?? m.action,
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

/** SQLSTATEs of "it is there already": duplicate table, column, object, schema, function. */
const DUPLICATE_CODES = new Set(["42P07", "42701", "42710", "42P06", "42723"]);

function doScripts(dir: string): { version: number; file: string }[] {
    return fs
        .readdirSync(dir)
        .map((file) => ({ file, version: Number(/^(\d+)\.do\..*\.sql$/.exec(file)?.[1]) }))
        .filter(({ version }) => Number.isInteger(version))
        .sort((a, b) => a.version - b.version);
}

/** What a database made without the runner holds, as {@link handAppliedVersion} reads it. */
export interface HandAppliedSchema {
    /** postgrator's `schemaversion` table exists: the runner manages this database already. */
    readonly managed: boolean;
    /** Migrations 1..version are applied already (0: none). */
    readonly version: number;
    /** Tables of the application found (bookkeeping tables aside). */
    readonly tables: readonly string[];
}

/** The schema's objects (columns, indexes, constraints), to tell whether a script added any. */
async function catalog(client: Client): Promise<string> {
    const r = await client.query<{ o: string }>(
        `SELECT 'column ' || table_name || '.' || column_name AS o FROM information_schema.columns WHERE table_schema = current_schema()
         UNION ALL SELECT 'index ' || indexname FROM pg_indexes WHERE schemaname = current_schema()
         UNION ALL SELECT 'constraint ' || c.conname FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = current_schema()
         ORDER BY 1`,
    );
    return r.rows.map((x) => x.o).join("\n");
}

/**
 * Which migrations a database made by hand (`psql < migrations/00N.do.*.sql`, the runbook's way)
 * already has: each forward script, in order, is tried in one transaction that is rolled back.
 * One that fails because its objects exist (a duplicate table, column or object), or that runs
 * and adds nothing to the schema (an `IF NOT EXISTS` script whose objects are there), was
 * applied; the first that would add something ends the count. Nothing is changed. A script that
 * only changes data looks applied; this project's migrations all change the schema.
 */
export async function handAppliedVersion(client: Client, dir = MIGRATIONS_DIR): Promise<HandAppliedSchema> {
    const tables = (
        await client.query<{ t: string }>(
            `SELECT table_name AS t FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1`,
        )
    ).rows.map((r) => r.t);
    if (tables.includes("schemaversion")) return { managed: true, version: 0, tables };
    const appTables = tables.filter((t) => !BOOKKEEPING_TABLES.includes(t));
    let version = 0;
    await client.query("BEGIN");
    try {
        for (const { version: v, file } of doScripts(dir)) {
            const before = await catalog(client);
            await client.query("SAVEPOINT trial");
            try {
                await client.query(fs.readFileSync(path.join(dir, file), "utf8"));
            } catch (e) {
                if (!DUPLICATE_CODES.has(String((e as { code?: string }).code))) {
                    throw new Error(
                        `migration ${v} (${file}) neither applies to this database nor is already in it: ${(e as Error).message}`,
                    );
                }
                await client.query("ROLLBACK TO SAVEPOINT trial");
                version = v;
                continue;
            }
            const added = (await catalog(client)) !== before;
            await client.query("ROLLBACK TO SAVEPOINT trial");
            if (added) break;
            version = v;
        }
    } finally {
        await client.query("ROLLBACK");
    }
    return { managed: false, version, tables: appTables };
}

/**
 * Records migrations 1..`version` as applied without running them (a baseline), through
 * postgrator itself, so its table, checksums and later runs are exactly as if it had applied
 * them; each is logged as `baseline` in `schema_migration_log`. Refused when the database has
 * a migration history already or holds fewer migrations than `version`.
 */
export async function baselineTo(version: number, opts: DatabaseOptions = {}, dir = MIGRATIONS_DIR): Promise<void> {
    await withDatabase(
        async (postgrator, client) => {
            const found = await handAppliedVersion(client, dir);
            if (found.managed) {
                throw new Error(
                    "refused: the database has a migration history (schemaversion) already; nothing was changed",
                );
            }
            if (found.version < version) {
                throw new Error(
                    `refused: the database holds migrations up to ${found.version}, not ${version}; nothing was changed`,
                );
            }
            await postgrator.migrate(String(version));
            log(`baseline: migrations 1..${version} recorded as applied (they were applied by hand)`);
        },
        { ...opts, skipScripts: true, logAction: "baseline" },
    );
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
        .command("baseline <version>")
        .description("record migrations 1..<version>, applied by hand with psql, as applied (runs none of them)")
        .action(async (version: string) => {
            const v = Number(version);
            if (!Number.isInteger(v) || v < 1)
                throw new Error(`baseline version "${version}": allowed is a whole number from 1`);
            await baselineTo(v);
        });
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
