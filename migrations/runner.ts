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
 */
import { Command } from "commander";
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

/** pg treats `sslmode=require` as verify-full and warns; say verify-full so it doesn't. */
export function clientConnectionString(url: string): string {
    const u = new URL(url);
    if (u.searchParams.get("sslmode") === "require") u.searchParams.set("sslmode", "verify-full");
    return u.toString();
}

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
        postgrator.on("migration-started", (m) => log(`${m.action === "undo" ? "rolling back" : "applying"} ${String(m.version).padStart(3, "0")} ${m.name}`));
        return await fn(postgrator, client);
    } finally {
        await client.query("SELECT pg_advisory_unlock($1)", [LOCK_KEY]).catch(() => undefined);
        await client.end();
    }
}

async function migrateTo(target: string): Promise<void> {
    await withDatabase(async (postgrator) => {
        const before = await postgrator.getDatabaseVersion();
        const max = await postgrator.getMaxVersion();
        const want = target === "max" ? max : Number(target);
        if (!Number.isInteger(want) || want < 0 || want > max) {
            throw new Error(`migration target "${target}" is not allowed: use "latest" or a version from 0 to ${max}`);
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
    program.command("up").description("apply every pending migration").action(() => migrateTo("max"));
    program
        .command("to <version>")
        .description('move the schema to <version> ("latest" or a number; lower numbers roll back)')
        .action((version: string) => migrateTo(version === "latest" ? "max" : version));
    program
        .command("status")
        .description("print the schema version and the newest available")
        .action(() =>
            withDatabase(async (p) => {
                process.stdout.write(`schema at version ${await p.getDatabaseVersion()} of ${await p.getMaxVersion()}\n`);
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
