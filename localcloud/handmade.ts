/**
 * A "hand-made production" for the tests of `npm run adopt`: what the runbook's dashboard clicks
 * made before the stack existed, created WITHOUT Pulumi in the local cloud:
 *
 *   Neon     a project with its database and owner role, really in PostgreSQL, the schema of
 *            `migrations/NNN.do.*.sql` applied as `psql < file` would (no postgrator, so no
 *            `schemaversion` table), and a few rows
 *   Upstash  a global database with its own real Redis, and some keys
 *   Vercel   a project with env vars (one per key and target) and a domain
 *
 * The records are written by the stand-in plugins' own Check and Create (their handlers), so they
 * are exactly what the plugins would have written and an import through their Read finds them.
 * The inputs are built as the program's components build them from a stack's config, so a stack
 * configured with the same values previews with no diff after the import.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Client } from "pg";
import type { Ctx, Handler } from "./stand-ins/common/provider";
import { runCheck } from "./stand-ins/common/provider";
import { Props, unwrapProps } from "./stand-ins/common/values";
import { projectHandler as neonProjectHandler, TOKENS as NEON } from "./stand-ins/neon/resources";
import { projectStore as neonProjects } from "./stand-ins/neon/model";
import { connectionUri, pgDatabaseName, pgRoleName } from "./stand-ins/neon/pg";
import {
    databaseStore as upstashDatabases,
    handler as upstashHandler,
    TOKEN as UPSTASH,
} from "./stand-ins/upstash/resources";
import { withRedis } from "./stand-ins/upstash/instances";
import { localcloudPaths } from "./services/env";
import {
    domainHandler,
    envVarHandler,
    projectHandler as vercelProjectHandler,
    projectStore as vercelProjects,
    TOKENS as VERCEL,
} from "./stand-ins/vercel/resources";
import { REPO_ROOT } from "./stackEnv";
import { clientConnectionString } from "../migrations/runner";

/** The Neon project, as `fpsgame-infra:database` would say it (same names, same defaults). */
export interface HandmadeNeonArgs {
    readonly projectName: string;
    /** @default "aws-us-east-2" */
    readonly regionId?: string;
    /** @default 16 */
    readonly pgVersion?: number;
    /** @default 7 */
    readonly historyRetentionDays?: number;
    /** @default { minCu: 0.25, maxCu: 1 } */
    readonly autoscaling?: { readonly minCu: number; readonly maxCu: number };
    /** @default 0 */
    readonly suspendTimeoutSeconds?: number;
    /** @default "fpsgame" */
    readonly databaseName?: string;
    /** @default "fpsgame_owner" */
    readonly ownerRole?: string;
}

/** The Upstash database, as `fpsgame-infra:redis` would say it. */
export interface HandmadeUpstashArgs {
    readonly databaseName: string;
    readonly primaryRegion: string;
    /** @default [] */
    readonly readRegions?: readonly string[];
    /** @default false */
    readonly eviction?: boolean;
    /** @default 20 */
    readonly budgetUsd?: number;
    /** @default false */
    readonly autoScale?: boolean;
    /** Keys written to its Redis. @default { "session:demo": "1", "leaderboard:global": "[]" } */
    readonly keys?: Readonly<Record<string, string>>;
}

/** The Vercel project, as `fpsgame-infra:frontend` would say it, with the env values it holds. */
export interface HandmadeVercelArgs {
    readonly projectName: string;
    readonly framework?: string;
    readonly gitRepository: { readonly type: string; readonly repo: string; readonly productionBranch: string };
    /** Env var values by key; one variable per key and target, as the program declares them. */
    readonly env: Readonly<Record<string, string>>;
    /** Keys made sensitive (except on development, which Vercel forbids). @default [] */
    readonly sensitiveKeys?: readonly string[];
    /** @default ["production", "preview"] */
    readonly envTargets?: readonly string[];
    readonly domain?: string;
}

export interface HandmadeArgs {
    readonly neon: HandmadeNeonArgs;
    readonly upstash: HandmadeUpstashArgs;
    readonly vercel: HandmadeVercelArgs;
}

export interface HandmadeNeon {
    readonly projectId: string;
    readonly branchId: string;
    readonly databaseName: string;
    readonly roleName: string;
    /** The migration files applied, in order (e.g. `001.do.create-players.sql`). */
    readonly migrations: readonly string[];
    /** Rows inserted per table. */
    readonly rows: Readonly<Record<string, number>>;
}

export interface HandmadeUpstash {
    readonly databaseId: string;
    /** The Pulumi id the provider gives it: `upstash-database-<databaseId>`. */
    readonly id: string;
    readonly keys: readonly string[];
}

export interface HandmadeVercel {
    readonly projectId: string;
    /** Env var ids by `<KEY>-<target>`, e.g. `VITE_API_URL-production`. */
    readonly envIds: Readonly<Record<string, string>>;
    readonly domain?: string;
}

export interface HandmadeProduction {
    readonly neon: HandmadeNeon;
    readonly upstash: HandmadeUpstash;
    readonly vercel: HandmadeVercel;
}

/** Makes all three; see the file's comment. The ids are what `npm run adopt` must find. */
export async function makeHandmadeProduction(args: HandmadeArgs): Promise<HandmadeProduction> {
    const neon = await makeHandmadeNeon(args.neon);
    const upstash = await makeHandmadeUpstash(args.upstash);
    const vercel = await makeHandmadeVercel(args.vercel);
    return { neon, upstash, vercel };
}

/** The Neon project with its database, owner role, schema (migrations by plain SQL) and rows. */
export async function makeHandmadeNeon(a: HandmadeNeonArgs): Promise<HandmadeNeon> {
    const databaseName = a.databaseName ?? "fpsgame";
    const roleName = a.ownerRole ?? "fpsgame_owner";
    const autoscaling = a.autoscaling ?? { minCu: 0.25, maxCu: 1 };
    // As components/neonDatabase.ts builds them.
    const inputs = {
        name: a.projectName,
        regionId: a.regionId ?? "aws-us-east-2",
        pgVersion: a.pgVersion ?? 16,
        historyRetentionSeconds: (a.historyRetentionDays ?? 7) * 86400,
        defaultEndpointSettings: {
            autoscalingLimitMinCu: autoscaling.minCu,
            autoscalingLimitMaxCu: autoscaling.maxCu,
            suspendTimeoutSeconds: a.suspendTimeoutSeconds ?? 0,
        },
        branch: { name: "main", roleName, databaseName },
    };
    const { id: projectId } = await createLike(neonProjectHandler, NEON.project, `${a.projectName}-project`, inputs);
    const p = neonProjects().get(projectId);
    const role = p?.branches[p.defaultBranchId]?.roles[roleName];
    if (!p || !role)
        throw new Error(`handmade: the neon project ${projectId} has no role ${roleName} after its creation`);
    const uri = connectionUri(
        pgRoleName(p.id, roleName),
        role.password,
        pgDatabaseName(p.defaultBranchId, databaseName),
    );
    const migrations = migrationFiles();
    const rows: Record<string, number> = {};
    const client = new Client({
        connectionString: clientConnectionString(uri, localcloudPaths().caFile),
        application_name: "localcloud-handmade",
    });
    await client.connect();
    try {
        // As `psql < file`: each file's statements in one simple query, no migration table.
        for (const f of migrations) await client.query(fs.readFileSync(path.join(MIGRATIONS, f), "utf8"));
        await client.query(
            `INSERT INTO players (username, email, elo, region) VALUES
               ('ana', 'ana@example.com', 1210, 'sjc'), ('bo', 'bo@example.com', 990, 'iad'), ('cy', 'cy@example.com', 1005, 'sjc')`,
        );
        await client.query(
            `INSERT INTO matches (region, map, started_at, ended_at) VALUES ('sjc', 'dust', now() - interval '1 hour', now())`,
        );
        await client.query(
            `INSERT INTO match_players (match_id, player_id, kills, deaths) SELECT m.id, p.id, 5, 2 FROM matches m, players p`,
        );
        for (const t of ["players", "matches", "match_players"]) {
            const r = await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${t}`);
            rows[t] = Number(r.rows[0].n);
        }
    } finally {
        await client.end().catch(() => undefined);
    }
    return { projectId, branchId: p.defaultBranchId, databaseName, roleName, migrations, rows };
}

/** The Upstash database with its own Redis server, and some keys in it. */
export async function makeHandmadeUpstash(a: HandmadeUpstashArgs): Promise<HandmadeUpstash> {
    // As components/upstashRedis.ts builds them.
    const inputs = {
        databaseName: a.databaseName,
        region: "global",
        primaryRegion: a.primaryRegion,
        readRegions: [...(a.readRegions ?? [])],
        eviction: a.eviction ?? false,
        budget: a.budgetUsd ?? 20,
        autoScale: a.autoScale ?? false,
        tls: true,
    };
    const { id, outs } = await createLike(upstashHandler, UPSTASH, `${a.databaseName}-database`, inputs);
    const keys = a.keys ?? { "session:demo": "1", "leaderboard:global": "[]" };
    await withRedis(
        {
            host: "127.0.0.1",
            port: Number(outs.port),
            caFile: localcloudPaths().caFile,
            user: "default",
            password: String(outs.password),
        },
        async (r) => {
            for (const [k, v] of Object.entries(keys)) await r.set(k, v);
        },
    );
    return { databaseId: String(outs.databaseId), id, keys: Object.keys(keys) };
}

/** The Vercel project with one env var per key and target, and its domain. */
export async function makeHandmadeVercel(a: HandmadeVercelArgs): Promise<HandmadeVercel> {
    // As components/vercelFrontend.ts builds them.
    const project = {
        name: a.projectName,
        ...(a.framework ? { framework: a.framework } : {}),
        gitRepository: {
            type: a.gitRepository.type,
            repo: a.gitRepository.repo,
            productionBranch: a.gitRepository.productionBranch,
        },
    };
    const { id: projectId } = await createLike(
        vercelProjectHandler,
        VERCEL.project,
        `${a.projectName}-project`,
        project,
    );
    const envIds: Record<string, string> = {};
    for (const [key, value] of Object.entries(a.env)) {
        const sensitive = a.sensitiveKeys?.includes(key) ?? false;
        for (const target of a.envTargets ?? ["production", "preview"]) {
            const env = { projectId, key, value, sensitive: sensitive && target !== "development", targets: [target] };
            envIds[`${key}-${target}`] = (await createLike(envVarHandler, VERCEL.envVar, `${key}-${target}`, env)).id;
        }
    }
    if (a.domain) await createLike(domainHandler, VERCEL.domain, "domain", { projectId, domain: a.domain });
    return { projectId, envIds, ...(a.domain ? { domain: a.domain } : {}) };
}

const MIGRATIONS = path.join(REPO_ROOT, "migrations");

/** `NNN.do.<name>.sql`, in version order. */
function migrationFiles(): string[] {
    return fs
        .readdirSync(MIGRATIONS)
        .filter((f) => /^\d{3}\.do\..+\.sql$/.test(f))
        .sort();
}

/** The plugin's own Check then Create of `type`, so the record is what the plugin would write. */
async function createLike(h: Handler, type: string, name: string, inputs: Props): Promise<{ id: string; outs: Props }> {
    const ctx: Ctx = { urn: `urn:pulumi:handmade::fpsgame-infra::${type}::${name}`, type, name };
    const { inputs: checked, failures } = runCheck(h, ctx, {}, inputs);
    if (failures.length > 0) {
        const why = failures.map((f) => `${f.property}: ${f.reason}`).join("; ");
        throw new Error(`handmade: ${type} "${name}" fails the stand-in's check: ${why}`);
    }
    return h.create(ctx, unwrapProps(checked));
}

/** The names of a hand-made production, as {@link makeHandmadeProduction} was given them. */
export interface HandmadeNames {
    readonly neonProjectName: string;
    readonly upstashDatabaseName: string;
    readonly vercelProjectName: string;
}

/**
 * Removes what a hand-made production of these names left (a run that died before its
 * cleanup, or objects no stack imported), through the stand-ins' own Delete, so PostgreSQL
 * and Redis lose them too. Returns what it removed.
 */
export async function removeHandmadeProduction(n: HandmadeNames): Promise<string[]> {
    const removed: string[] = [];
    const ctx = (type: string, name: string): Ctx => ({
        urn: `urn:pulumi:handmade::fpsgame-infra::${type}::${name}`,
        type,
        name,
    });
    for (const p of neonProjects()
        .list()
        .filter((x) => x.settings.name === n.neonProjectName)) {
        await neonProjectHandler.delete(ctx(NEON.project, n.neonProjectName), p.id, {});
        removed.push(`neon project ${p.id}`);
    }
    for (const d of upstashDatabases()
        .list()
        .filter((x) => x.inputs.databaseName === n.upstashDatabaseName)) {
        await upstashHandler.delete(ctx(UPSTASH, n.upstashDatabaseName), `upstash-database-${d.databaseId}`, {});
        removed.push(`upstash database ${d.databaseId}`);
    }
    for (const p of vercelProjects()
        .list()
        .filter((x) => x.name === n.vercelProjectName)) {
        await vercelProjectHandler.delete(ctx(VERCEL.project, p.name), p.id, {});
        removed.push(`vercel project ${p.id}`);
    }
    return removed;
}
