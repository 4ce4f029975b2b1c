/**
 * The part of Neon's HTTP API (`https://console.neon.tech/api/v2`) that the project's commands
 * call directly, outside Pulumi, served from the neon stand-in's store and its PostgreSQL (the
 * router `stand-ins/api.ts` serves it under `/api/v2`):
 *
 *   GET  /projects?search=&limit=&cursor=          {projects, pagination: {cursor}}
 *   GET  /projects/{project_id}                    {project}
 *   GET  /projects/{project_id}/branches           {branches}
 *   POST /projects/{project_id}/branches/{branch_id}/restore
 *        {"source_branch_id", "preserve_under_name"?}
 *   GET  /projects/{project_id}/branches/{branch_id}/databases   {databases}
 *   GET  /projects/{project_id}/branches/{branch_id}/roles       {roles}
 *   POST /projects/{project_id}/branches/{branch_id}/roles/{role_name}/reset_password
 *        {role: {…, password}, operations: []}
 *   GET  /projects/{project_id}/connection_uri?database_name=&role_name=&branch_id=&endpoint_id=&pooled=
 *        {uri}
 *
 * A restore, as on Neon: the branch keeps its id (so its connection strings stay valid) and
 * takes the source's current data; open connections to it are closed (Neon restarts its
 * compute); with `preserve_under_name`, its previous data becomes a new branch of that name,
 * which takes over its children. Neon requires that name when the branch has children.
 * A password reset changes the role's password in PostgreSQL (a SCRAM verifier, never the
 * plaintext in SQL) and in the record, and ends the role's open sessions (Neon drops the
 * compute's connections). A connection URI is the one the stand-in's PostgreSQL accepts for the
 * branch's database and role (the shape of the Project's `connectionUri` output): Neon reaches a
 * branch at its endpoint's host, the stand-in at the one local server under the names
 * `<projectId>.<role>` and `<branchId>.<db>`, which is why a client must ask for the URI rather
 * than build it. Differences: no point-in-time restore (`source_lsn`/`source_timestamp` are
 * refused), no pooler (`pooled=true` answers the direct URI, as the Project's
 * `connectionUriPooler` does), and any non-empty bearer token is accepted (a missing one is a 401).
 */
import { ApiError, ApiRequest, ApiResponse, bearerToken, jsonBody, match } from "../common/http";
import { newPassword } from "../common/ids";
import { BranchRecord, branchesWithRole, newBranchId, ProjectRecord, projectStore } from "./model";
import {
    connectionUri,
    copyDatabase,
    dropDatabase,
    ident,
    literal,
    pgDatabaseName,
    pgGroupName,
    pgRoleName,
    scramVerifier,
    withAdmin,
} from "./pg";

/** Neon's error body: `{code, message}` (code is often empty). */
function neonError(status: number, message: string): ApiError {
    return new ApiError(status, { code: "", message }, message);
}

/** Neon's `limit` of the project list: 1–400, default 10. */
const LIST_LIMIT = { default: 10, max: 400 } as const;

function branchJson(p: ProjectRecord, b: BranchRecord): Record<string, unknown> {
    return {
        id: b.id,
        project_id: p.id,
        name: b.name,
        parent_id: b.parentId ?? undefined,
        parent_lsn: b.parentLsn ?? undefined,
        parent_timestamp: b.parentTimestamp ? new Date(b.parentTimestamp * 1000).toISOString() : undefined,
        primary: b.primary,
        default: b.id === p.defaultBranchId,
        protected: b.protected === "yes",
        created_at: b.createdAt,
    };
}

/** A project as Neon's API shows it (the fields of its list items and of GET /projects/{id}). */
export function projectJson(p: ProjectRecord): Record<string, unknown> {
    const s = p.settings;
    const eps = (s.defaultEndpointSettings ?? {}) as Record<string, unknown>;
    const region = typeof s.regionId === "string" ? s.regionId : "aws-us-east-2";
    return {
        id: p.id,
        platform_id: region.split("-")[0],
        region_id: region,
        name: s.name,
        provisioner: s.computeProvisioner ?? "k8s-neonvm",
        default_endpoint_settings: {
            autoscaling_limit_min_cu: eps.autoscalingLimitMinCu ?? 0.25,
            autoscaling_limit_max_cu: eps.autoscalingLimitMaxCu ?? 0.25,
            suspend_timeout_seconds: eps.suspendTimeoutSeconds ?? 0,
        },
        pg_version: s.pgVersion ?? 17,
        proxy_host: "127.0.0.1",
        store_passwords: (s.storePassword ?? "yes") === "yes",
        history_retention_seconds: s.historyRetentionSeconds ?? 86400,
        creation_source: "console",
        default_branch_id: p.defaultBranchId,
        org_id: s.orgId || undefined,
        created_at: p.createdAt,
        updated_at: p.createdAt,
    };
}

/** What a record id may be (the store refuses anything else); other ids are simply not found. */
const RECORD_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

function project(id: string): ProjectRecord {
    const p = RECORD_ID.test(id) ? projectStore().get(id) : undefined;
    if (!p) throw neonError(404, "project not found");
    return p;
}

function branchOf(p: ProjectRecord, id: string): BranchRecord {
    const b = p.branches[id];
    if (!b) throw neonError(404, "branch not found");
    return b;
}

/** GET /projects: by `search` (part of the name or id), oldest first, `limit` a page after `cursor`. */
function listProjects(q: URLSearchParams): Record<string, unknown> {
    const limitText = q.get("limit");
    const limit = limitText === null ? LIST_LIMIT.default : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > LIST_LIMIT.max) {
        throw neonError(
            400,
            `limit must be a whole number from 1 to ${LIST_LIMIT.max} (got ${JSON.stringify(limitText)})`,
        );
    }
    const search = (q.get("search") ?? "").toLowerCase();
    const all = projectStore()
        .list()
        .filter(
            (p) =>
                search === "" ||
                p.id.toLowerCase().includes(search) ||
                String(p.settings.name ?? "")
                    .toLowerCase()
                    .includes(search),
        )
        .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
    const cursor = q.get("cursor");
    const start = cursor ? all.findIndex((p) => p.id === cursor) + 1 : 0;
    const page = all.slice(start, start + limit);
    // Neon's cursor is the last item of the page; the next request passes it back.
    return {
        projects: page.map(projectJson),
        pagination: { cursor: page.at(-1)?.id ?? cursor ?? "" },
        applications: {},
        integrations: {},
    };
}

function roleJson(b: BranchRecord, name: string, withPassword?: string): Record<string, unknown> {
    const r = b.roles[name];
    return {
        branch_id: b.id,
        name: r.name,
        ...(withPassword !== undefined ? { password: withPassword } : {}),
        protected: r.protected,
        authentication_method: "password",
        created_at: r.createdAt,
        updated_at: r.createdAt,
    };
}

/**
 * POST …/roles/{role}/reset_password: a new password for the PostgreSQL role (shared by the
 * project's branches, so every branch's record of it changes), its sessions ended.
 */
export async function resetRolePassword(
    projectId: string,
    branchId: string,
    roleName: string,
): Promise<Record<string, unknown>> {
    const store = projectStore();
    return store.locked(async () => {
        const p = project(projectId);
        const b = branchOf(p, branchId);
        if (!b.roles[roleName]) throw neonError(404, "role not found");
        const password = newPassword(32);
        const role = pgRoleName(p.id, roleName);
        await withAdmin(async (c) => {
            await c.query(`ALTER ROLE ${ident(role)} PASSWORD ${literal(scramVerifier(password))}`);
            await c.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = ${literal(role)}`);
        });
        for (const x of branchesWithRole(p, roleName)) x.roles[roleName].password = password;
        store.put(p.id, p);
        return { role: roleJson(b, roleName, password), operations: [] };
    });
}

/** Restores `branchId` from `sourceId`'s current data; see the file's comment. */
export async function restoreBranch(
    projectId: string,
    branchId: string,
    body: {
        source_branch_id?: unknown;
        preserve_under_name?: unknown;
        source_lsn?: unknown;
        source_timestamp?: unknown;
    },
): Promise<Record<string, unknown>> {
    const store = projectStore();
    return store.locked(async () => {
        const p = project(projectId);
        const target = p.branches[branchId];
        if (!target) throw neonError(404, "branch not found");
        if (typeof body.source_branch_id !== "string" || body.source_branch_id === "") {
            throw neonError(400, "source_branch_id is required");
        }
        if (body.source_lsn !== undefined || body.source_timestamp !== undefined) {
            throw neonError(
                400,
                "the local cloud cannot restore from a past point in time: omit source_lsn and source_timestamp",
            );
        }
        const source = p.branches[body.source_branch_id];
        if (!source) throw neonError(404, `source branch ${body.source_branch_id} not found`);
        if (source.id === target.id) {
            throw neonError(400, "restoring a branch from itself needs source_lsn or source_timestamp");
        }
        const preserveName = typeof body.preserve_under_name === "string" ? body.preserve_under_name : "";
        const children = Object.values(p.branches).filter((x) => x.parentId === target.id);
        if (children.length > 0 && !preserveName) {
            throw neonError(400, "the branch has children: preserve_under_name is required to restore it");
        }
        const group = pgGroupName(p.id);
        const preserved: BranchRecord | undefined = preserveName
            ? {
                  ...structuredClone(target),
                  id: newBranchId(),
                  name: preserveName,
                  primary: false,
                  protected: "no",
                  createdAt: new Date().toISOString(),
              }
            : undefined;
        await withAdmin(async (c) => {
            for (const d of Object.values(target.databases)) {
                const live = pgDatabaseName(target.id, d.name);
                // Neon restarts the branch's compute: its connections end.
                await c.query(
                    `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ${literal(live)}`,
                );
                if (preserved)
                    await c.query(
                        `ALTER DATABASE ${ident(live)} RENAME TO ${ident(pgDatabaseName(preserved.id, d.name))}`,
                    );
                else await dropDatabase(c, live);
            }
            for (const d of Object.values(source.databases)) {
                await copyDatabase(
                    c,
                    pgDatabaseName(source.id, d.name),
                    pgDatabaseName(target.id, d.name),
                    pgRoleName(p.id, d.ownerName),
                    group,
                );
            }
        });
        target.databases = structuredClone(source.databases);
        if (preserved) {
            p.branches[preserved.id] = preserved;
            for (const child of children) child.parentId = preserved.id;
        }
        store.put(p.id, p);
        return {
            branch: branchJson(p, target),
            ...(preserved ? { preserved_branch: branchJson(p, preserved) } : {}),
            operations: [],
        };
    });
}

/** A boolean query parameter (`true`/`false`; absent is `false`); anything else is Neon's 400. */
function booleanParam(q: URLSearchParams, name: string): boolean {
    const v = q.get(name);
    if (v === null || v === "false") return false;
    if (v === "true") return true;
    throw neonError(400, `${name} must be true or false (got ${JSON.stringify(v)})`);
}

/** A required query parameter, or Neon's 400 naming it. */
function requiredParam(q: URLSearchParams, name: string): string {
    const v = q.get(name);
    if (v === null || v === "") throw neonError(400, `query parameter ${name} is required`);
    return v;
}

/**
 * GET /projects/{project_id}/connection_uri: `{uri}` for `database_name` as `role_name` on
 * `branch_id` (the project's default branch when absent), through `endpoint_id` (the branch's
 * read_write endpoint when absent; one of another branch is a 400, as the two would name
 * different data). The URI is the one the local PostgreSQL accepts (the shape of the Project's
 * `connectionUri`), with the password of the branch's role record. `pooled=true` gives the same
 * URI: the local cloud has no pooler. A project that does not store passwords has none to give.
 */
export function connectionUriAnswer(projectId: string, q: URLSearchParams): { uri: string } {
    const databaseName = requiredParam(q, "database_name");
    const roleName = requiredParam(q, "role_name");
    booleanParam(q, "pooled");
    const p = project(projectId);
    const b = branchOf(p, q.get("branch_id") || p.defaultBranchId);
    const endpointId = q.get("endpoint_id");
    if (endpointId) {
        const e = p.endpoints[endpointId];
        if (!e) throw neonError(404, "endpoint not found");
        if (e.branchId !== b.id) {
            throw neonError(400, `endpoint ${endpointId} does not belong to branch ${b.id} (it serves ${e.branchId})`);
        }
    } else if (!Object.values(p.endpoints).some((e) => e.branchId === b.id && e.type === "read_write")) {
        throw neonError(404, `branch ${b.id} has no read_write endpoint`);
    }
    const db = b.databases[databaseName];
    if (!db) throw neonError(404, "database not found");
    const role = b.roles[roleName];
    if (!role) throw neonError(404, "role not found");
    if ((p.settings.storePassword ?? "yes") !== "yes") {
        throw neonError(400, "the project does not store passwords (store_passwords is false): no connection URI");
    }
    return { uri: connectionUri(pgRoleName(p.id, role.name), role.password, pgDatabaseName(b.id, db.name)) };
}

/** Neon's API under `/api/v2`. */
export async function neonApi(req: ApiRequest): Promise<ApiResponse | undefined> {
    if (bearerToken(req) === undefined) throw neonError(401, "authorization header: expected Bearer <api key>");
    const get = req.method === "GET";
    const post = req.method === "POST";
    let m: Record<string, string> | undefined;
    if (get && req.path === "/projects") return { status: 200, body: listProjects(req.query) };
    if (get && (m = match("/projects/:p", req.path)))
        return { status: 200, body: { project: projectJson(project(m.p)) } };
    if (get && (m = match("/projects/:p/branches", req.path))) {
        const p = project(m.p);
        return { status: 200, body: { branches: Object.values(p.branches).map((b) => branchJson(p, b)) } };
    }
    if (post && (m = match("/projects/:p/branches/:b/restore", req.path))) {
        const body = jsonBody(req, (why) => neonError(400, why));
        return { status: 200, body: await restoreBranch(m.p, m.b, body) };
    }
    if (get && (m = match("/projects/:p/branches/:b/databases", req.path))) {
        const p = project(m.p);
        const b = branchOf(p, m.b);
        const databases = Object.values(b.databases).map((d) => ({
            id: d.id,
            branch_id: b.id,
            name: d.name,
            owner_name: d.ownerName,
            created_at: d.createdAt,
            updated_at: d.createdAt,
        }));
        return { status: 200, body: { databases } };
    }
    if (get && (m = match("/projects/:p/branches/:b/roles", req.path))) {
        const b = branchOf(project(m.p), m.b);
        return { status: 200, body: { roles: Object.keys(b.roles).map((r) => roleJson(b, r)) } };
    }
    if (post && (m = match("/projects/:p/branches/:b/roles/:r/reset_password", req.path))) {
        return { status: 200, body: await resetRolePassword(m.p, m.b, m.r) };
    }
    if (get && (m = match("/projects/:p/connection_uri", req.path))) {
        return { status: 200, body: connectionUriAnswer(m.p, req.query) };
    }
    return undefined;
}
