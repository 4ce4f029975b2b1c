import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";

/** Arguments of {@link DatabaseMigrations}. */
export interface DatabaseMigrationsArgs {
    /** The database's connection string. Secret; passed to the runner in its environment only. */
    readonly databaseUrl: pulumi.Input<string>;
    /** The folder holding `NNN.do.*.sql` / `NNN.undo.*.sql` pairs. */
    readonly migrationsDir: string;
    /** Schema version to hold: `latest`, or a number to roll back (or forward) to. @default "latest" */
    readonly migrateTo: "latest" | number;
}

/**
 * Runs the SQL migrations against the database through `@pulumi/command` and postgrator.
 * The command is replaced, and so re-run, only when a migration file or the target version
 * changes; postgrator skips versions already applied, so a re-run is harmless.
 */
export class DatabaseMigrations extends pulumi.ComponentResource {
    public readonly command: command.local.Command;
    /** The runner's one-line summary, e.g. `schema at version 3; nothing to do`. */
    public readonly summary: pulumi.Output<string>;
    /** SHA-256 of the migration files: changes exactly when a migration changes. */
    public readonly migrationsHash: string;

    constructor(name: string, args: DatabaseMigrationsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("fpsgame:db:Migrations", name, {}, opts);

        const hash = hashMigrations(args.migrationsDir);
        const newest = newestMigration(args.migrationsDir);
        if (typeof args.migrateTo === "number" && args.migrateTo > newest) {
            // Refused here, before any resource changes, rather than by the runner mid-update.
            throw new pulumi.RunError(
                `fpsgame-infra:database.migrateTo = ${args.migrateTo}: there is no such migration; allowed: "latest" or 0 to ${newest}`,
            );
        }
        const target = args.migrateTo === "latest" ? "up" : `to ${args.migrateTo}`;
        this.command = new command.local.Command(
            `${name}-apply`,
            {
                // Relative paths: the engine starts the command provider in the project folder,
                // and an absolute path would make every clone look like a change.
                create: `node node_modules/ts-node/dist/bin.js --transpile-only migrations/runner.ts ${target}`,
                environment: { DATABASE_URL: pulumi.secret(args.databaseUrl) },
                triggers: [hash, String(args.migrateTo)],
                // stdout is the runner's summary; stderr stays out of the state.
                logging: command.local.Logging.Stdout,
            },
            { parent: this },
        );
        this.migrationsHash = hash;
        this.summary = this.command.stdout;
        this.registerOutputs({ summary: this.summary });
    }
}

/** Hashes the `.sql` files of a folder (names and contents, in name order). */
export function hashMigrations(dir: string): string {
    const files = fs
        .readdirSync(dir)
        .filter((f) => f.endsWith(".sql"))
        .sort();
    if (files.length === 0) {
        throw new Error(`no migrations found in ${dir}: expected NNN.do.<name>.sql files`);
    }
    const h = createHash("sha256");
    for (const f of files) {
        h.update(f)
            .update("\0")
            .update(fs.readFileSync(path.join(dir, f)))
            .update("\0");
    }
    return h.digest("hex");
}

/** The highest version among the `NNN.do.<name>.sql` files of a folder. */
export function newestMigration(dir: string): number {
    return Math.max(
        0,
        ...fs
            .readdirSync(dir)
            .map((f) => /^(\d+)\.do\..*\.sql$/.exec(f)?.[1])
            .filter((v): v is string => v !== undefined)
            .map(Number),
    );
}
