/**
 * `npm run undo-migration -- --stack <s>`: undoes a bad migration by restoring the database from
 * its restore point, the Neon branch the stack makes just before every schema change
 * (components/databaseMigrations.ts).
 *
 * It calls Neon's branch restore (`POST /projects/{id}/branches/{branch}/restore`): the database's
 * branch keeps its id and connection strings and takes the restore point's data, so everything
 * written before the migration is back as it was. Its state just before the undo is kept as a
 * branch of its own (`before-undo-<time>`), so nothing written since the migration is lost
 * either: it is there to copy rows from, and to delete when no longer needed.
 *
 * The stack is not changed: the migration command stays in the state as run, and the next `up`
 * runs the migrations again only when their files change, which is the fix (correct or delete
 * the bad migration, then deploy).
 */
import { Client } from "pg";
import { NEON_API_URL } from "../lib/facts/neon";
import { clientConnectionString } from "../migrations/runner";
import { configOrEnv, ProjectStack, stackOutputs } from "./workspace";
import { databaseUrl } from "./runbook";

/** Neon's API, or the local cloud's stand-in of it (NEON_API_URL in a local stack's environment). */
export { NEON_API_URL };

export interface RestorePointOutput {
    projectId: string;
    branchId: string;
    branchName: string;
    parentBranchId: string;
}

interface NeonBranch {
    id: string;
    name: string;
    parent_id?: string;
    created_at: string;
    default?: boolean;
}

export interface UndoResult {
    restorePoint: { branchId: string; name: string; createdAt: string };
    preservedBranch: { id: string; name: string };
    schemaBefore: number;
    schemaAfter: number;
    /** The migrations the restore took back, from the runner's log: `do 4 bad-change`. */
    undone: string[];
}

export interface UndoIo {
    log: (line: string) => void;
    /** Asks a yes/no question; `undefined` when nobody can answer (no terminal). */
    confirm: (question: string) => Promise<boolean | undefined>;
    yes: boolean;
}

/** A refusal: nothing was changed. */
export class UndoRefused extends Error {}

async function neon<T>(base: string, key: string, method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${base}${path}`, {
        method,
        headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json", Accept: "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(120_000),
    });
    const text = await res.text();
    if (!res.ok) {
        let message = text;
        try {
            message = (JSON.parse(text) as { message?: string }).message ?? text;
        } catch {
            // not JSON: the text as it is
        }
        throw new Error(`Neon API ${method} ${path}: HTTP ${res.status}: ${message}`);
    }
    return JSON.parse(text) as T;
}

/**
 * The schema version and the runner's log since `since`, read with the API's own connection
 * string, its certificate verified (against PGSSLROOTCERT when the environment names a CA, as
 * libpq does; node-postgres reads it only from the URL).
 */
async function schemaState(
    url: string,
    since: string,
    env: NodeJS.ProcessEnv,
): Promise<{ version: number; since: string[] }> {
    const c = new Client({
        connectionString: clientConnectionString(url, env.PGSSLROOTCERT),
        application_name: "fpsgame-undo-migration",
    });
    await c.connect();
    try {
        const exists = async (t: string) =>
            (await c.query("SELECT to_regclass($1) IS NOT NULL AS ok", [t])).rows[0].ok as boolean;
        const version = (await exists("schemaversion"))
            ? Number((await c.query("SELECT coalesce(max(version), 0) AS v FROM schemaversion")).rows[0].v)
            : 0;
        const log = (await exists("schema_migration_log"))
            ? (
                  await c.query<{ action: string; version: number; name: string }>(
                      "SELECT action, version, name FROM schema_migration_log WHERE at >= $1 ORDER BY id",
                      [since],
                  )
              ).rows.map((r) => `${r.action} ${r.version} ${r.name}`)
            : [];
        return { version, since: log };
    } finally {
        await c.end().catch(() => undefined);
    }
}

export async function undoMigration(ps: ProjectStack, io: UndoIo): Promise<UndoResult> {
    const outputs = await stackOutputs(ps.stack);
    const rp = outputs.restorePoint?.value as RestorePointOutput | undefined;
    if (!rp?.branchId) {
        throw new UndoRefused(
            `stack ${ps.name} has no restore point: one is made by each up that runs the migrations (npm run up -- --stack ${ps.name}). Nothing was changed.`,
        );
    }
    const key = await configOrEnv(ps, "neon:apiKey", "NEON_API_KEY");
    if (!key) {
        throw new UndoRefused(
            `stack ${ps.name} has no neon:apiKey in its config and NEON_API_KEY is unset: the restore calls Neon's API with it. Nothing was changed.`,
        );
    }
    const base = (ps.env.NEON_API_URL ?? NEON_API_URL).replace(/\/$/, "");
    const { branches } = await neon<{ branches: NeonBranch[] }>(base, key, "GET", `/projects/${rp.projectId}/branches`);
    const point = branches.find((b) => b.id === rp.branchId);
    const live = branches.find((b) => b.id === rp.parentBranchId);
    if (!point || !live) {
        throw new UndoRefused(
            `the restore point ${rp.branchName} (${rp.branchId}) or its database branch ${rp.parentBranchId} is gone from Neon project ${rp.projectId}. Nothing was changed.`,
        );
    }
    const url = await databaseUrl(ps);
    const before = await schemaState(url, point.created_at, ps.env);
    io.log(
        `Restore point ${point.name} (${point.id}), made ${point.created_at} just before the last schema change.\n` +
            `  the database is at schema version ${before.version}; since the restore point the runner logged: ${before.since.join(", ") || "nothing"}\n` +
            `  the restore brings back the data as it was then; what was written since is kept in a branch of its own.`,
    );
    if (!io.yes) {
        const answer = await io.confirm(`Restore ${ps.name}'s database from ${point.name}?`);
        if (answer !== true) {
            throw new UndoRefused(
                `${answer === undefined ? "no terminal to confirm on: pass --yes to restore without asking" : "not confirmed"}. Nothing was changed.`,
            );
        }
    }
    const preserveName = `before-undo-${new Date().toISOString().replace(/[:.]/g, "-")}`;
    io.log(
        `restoring branch ${live.name} (${live.id}) from ${point.name}; its current data is kept as ${preserveName}`,
    );
    const restored = await neon<{ preserved_branch?: { id: string; name: string } }>(
        base,
        key,
        "POST",
        `/projects/${rp.projectId}/branches/${live.id}/restore`,
        { source_branch_id: point.id, preserve_under_name: preserveName },
    );
    // Neon answers with the restored branch; the preserved one is found by name when not named back.
    const preserved =
        restored.preserved_branch ??
        (await neon<{ branches: NeonBranch[] }>(base, key, "GET", `/projects/${rp.projectId}/branches`)).branches.find(
            (b) => b.name === preserveName,
        );
    const after = await schemaState(url, point.created_at, ps.env);
    return {
        restorePoint: { branchId: point.id, name: point.name, createdAt: point.created_at },
        preservedBranch: { id: preserved?.id ?? "", name: preserveName },
        schemaBefore: before.version,
        schemaAfter: after.version,
        undone: before.since,
    };
}
