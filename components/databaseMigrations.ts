import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as neon from "@sst-provider/neon";
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { RESTORE_POINT_BRANCH_PREFIX } from "../lib/facts/neon";

/** Arguments of {@link DatabaseMigrations}. */
export interface DatabaseMigrationsArgs {
    /** The database's connection string. Secret; passed to the runner in its environment only. */
    readonly databaseUrl: pulumi.Input<string>;
    /** The folder holding `NNN.do.*.sql` / `NNN.undo.*.sql` pairs. */
    readonly migrationsDir: string;
    /** Schema version to hold: `latest`, or a number to roll back (or forward) to. @default "latest" */
    readonly migrateTo: "latest" | number;
    /** Let a move down drop a table holding rows (else the runner refuses it). @default false */
    readonly allowDataLoss: boolean;
    /**
     * The Neon project and branch the restore point is a branch of. Left out (a review stack,
     * itself a disposable branch), no restore point is made and `restorePoint` is undefined.
     */
    readonly restorePointOf?: { readonly projectId: pulumi.Input<string>; readonly branchId: pulumi.Input<string> };
}

/** Where a bad migration is undone from: `npm run undo-migration` restores the database from it. */
export interface RestorePoint {
    readonly projectId: string;
    readonly branchId: string;
    readonly branchName: string;
    /** The parent branch it copies: the branch the database lives on. */
    readonly parentBranchId: string;
}

/**
 * Runs the SQL migrations against the database through `@pulumi/command` and postgrator.
 * The command is replaced, and so re-run, only when a migration file or the target version
 * changes; postgrator skips versions already applied, so a re-run is harmless.
 *
 * Before each run, a restore point: a Neon branch of the database, made just before the
 * migration (the command depends on it). Its resource name carries the run's fingerprint, so a
 * new run makes a new branch first and the engine deletes the previous one at the end of the
 * update: one restore point at a time, always from just before the last schema change.
 */
export class DatabaseMigrations extends pulumi.ComponentResource {
    public readonly command: command.local.Command;
    /** The runner's one-line summary, e.g. `schema at version 3; nothing to do`. */
    public readonly summary: pulumi.Output<string>;
    /** SHA-256 of the migration files: changes exactly when a migration changes. */
    public readonly migrationsHash: string;
    /** The branch made just before the last run; undefined without `restorePointOf`. */
    public readonly restorePoint?: pulumi.Output<RestorePoint>;

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
        const run = createHash("sha256")
            .update(`${hash}\0${String(args.migrateTo)}`)
            .digest("hex")
            .slice(0, 10);
        const branch =
            args.restorePointOf &&
            new neon.Branch(
                `${name}-restore-point-${run}`,
                {
                    projectId: args.restorePointOf.projectId,
                    parentId: args.restorePointOf.branchId,
                    name: `${RESTORE_POINT_BRANCH_PREFIX}${run}`,
                },
                { parent: this },
            );
        this.command = new command.local.Command(
            `${name}-apply`,
            {
                // Relative paths: the engine starts the command provider in the project folder,
                // and an absolute path would make every clone look like a change. The runner
                // starts through the project's own loader, as the program does: ts-node cost
                // about 0.5 CPU s per run to load a compiler for a file it only strips.
                create: `node --require ./lib/register.js migrations/runner.ts ${target}`,
                environment: {
                    DATABASE_URL: pulumi.secret(args.databaseUrl),
                    ...(args.allowDataLoss ? { MIGRATE_ALLOW_DATA_LOSS: "1" } : {}),
                },
                triggers: [hash, String(args.migrateTo)],
                // stdout is the runner's summary; stderr stays out of the state.
                logging: command.local.Logging.Stdout,
            },
            { parent: this, dependsOn: branch ? [branch] : [] },
        );
        this.migrationsHash = hash;
        this.summary = this.command.stdout;
        this.restorePoint =
            branch &&
            pulumi
                .all([branch.projectId, branch.id, branch.name, branch.parentId])
                .apply(([projectId, branchId, branchName, parentBranchId]) => ({
                    projectId,
                    branchId,
                    branchName,
                    parentBranchId,
                }));
        this.registerOutputs({ summary: this.summary, restorePoint: this.restorePoint });
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
