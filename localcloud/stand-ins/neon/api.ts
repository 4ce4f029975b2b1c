/**
 * The part of Neon's HTTP API (`https://console.neon.tech/api/v2`) that the project's commands
 * call directly, outside Pulumi: listing a project's branches and restoring a branch from
 * another (`npm run undo-migration` restores the database from its restore point). It serves
 * the same projects as the neon stand-in plugin, from the same store and the same PostgreSQL.
 *
 *   GET  /api/v2/projects/{project_id}/branches
 *   POST /api/v2/projects/{project_id}/branches/{branch_id}/restore
 *        {"source_branch_id", "preserve_under_name"?}
 *
 * A restore, as on Neon: the branch keeps its id (so its connection strings stay valid) and
 * takes the source's current data; open connections to it are closed (Neon restarts its
 * compute); with `preserve_under_name`, its previous data becomes a new branch of that name,
 * which takes over its children. Neon requires that name when the branch has children.
 * Differences: no point-in-time restore (`source_lsn`/`source_timestamp` are refused), and any
 * non-empty bearer token is accepted.
 *
 *   node --require lib/register.js localcloud/stand-ins/neon/api.ts --port <port>
 */
import * as http from "node:http";
import { Command } from "commander";
import { BranchRecord, newBranchId, ProjectRecord, projectStore } from "./model";
import { copyDatabase, dropDatabase, ident, literal, pgDatabaseName, pgGroupName, pgRoleName, withAdmin } from "./pg";

class ApiError extends Error {
    constructor(
        readonly status: number,
        readonly code: string,
        message: string,
    ) {
        super(message);
    }
}

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

function project(id: string): ProjectRecord {
    const p = projectStore().get(id);
    if (!p) throw new ApiError(404, "", `project not found`);
    return p;
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
        if (!target) throw new ApiError(404, "", `branch not found`);
        if (typeof body.source_branch_id !== "string" || body.source_branch_id === "") {
            throw new ApiError(400, "", "source_branch_id is required");
        }
        if (body.source_lsn !== undefined || body.source_timestamp !== undefined) {
            throw new ApiError(
                400,
                "",
                "the local cloud cannot restore from a past point in time: omit source_lsn and source_timestamp",
            );
        }
        const source = p.branches[body.source_branch_id];
        if (!source) throw new ApiError(404, "", `source branch ${body.source_branch_id} not found`);
        if (source.id === target.id) {
            throw new ApiError(400, "", "restoring a branch from itself needs source_lsn or source_timestamp");
        }
        const preserveName = typeof body.preserve_under_name === "string" ? body.preserve_under_name : "";
        const children = Object.values(p.branches).filter((x) => x.parentId === target.id);
        if (children.length > 0 && !preserveName) {
            throw new ApiError(400, "", "the branch has children: preserve_under_name is required to restore it");
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

async function handle(req: http.IncomingMessage, body: string): Promise<{ status: number; body: unknown }> {
    if (!/^Bearer \S+/.test(req.headers.authorization ?? "")) {
        throw new ApiError(401, "", "authorization header: expected Bearer <api key>");
    }
    const url = new URL(req.url ?? "/", "http://localhost");
    const list = /^\/api\/v2\/projects\/([^/]+)\/branches$/.exec(url.pathname);
    if (list && req.method === "GET") {
        const p = project(decodeURIComponent(list[1]));
        return { status: 200, body: { branches: Object.values(p.branches).map((b) => branchJson(p, b)) } };
    }
    const restore = /^\/api\/v2\/projects\/([^/]+)\/branches\/([^/]+)\/restore$/.exec(url.pathname);
    if (restore && req.method === "POST") {
        let parsed: Record<string, unknown>;
        try {
            parsed = JSON.parse(body || "{}") as Record<string, unknown>;
        } catch {
            throw new ApiError(400, "", "the request body is not JSON");
        }
        return {
            status: 200,
            body: await restoreBranch(decodeURIComponent(restore[1]), decodeURIComponent(restore[2]), parsed),
        };
    }
    throw new ApiError(404, "", `the local cloud's Neon API does not serve ${req.method} ${url.pathname}`);
}

export function server(): http.Server {
    return http.createServer((req, res) => {
        let body = "";
        req.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
        req.on("end", () => {
            handle(req, body)
                .catch((e: unknown) =>
                    e instanceof ApiError
                        ? { status: e.status, body: { code: e.code, message: e.message } }
                        : { status: 500, body: { code: "", message: (e as Error).message } },
                )
                .then(({ status, body: out }) => {
                    res.writeHead(status, { "content-type": "application/json" });
                    res.end(JSON.stringify(out));
                });
        });
    });
}

if (require.main === module) {
    const o = new Command("neon-api")
        .requiredOption("--port <port>", "loopback port to listen on", (v) => Number(v))
        .parse(process.argv)
        .opts<{ port: number }>();
    server().listen(o.port, "127.0.0.1", () =>
        process.stderr.write(`neon API stand-in on http://127.0.0.1:${o.port}\n`),
    );
}
