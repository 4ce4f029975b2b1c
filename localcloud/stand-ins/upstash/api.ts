/**
 * The part of Upstash's developer API (`https://api.upstash.com`, HTTP basic auth with the
 * account's email and API key) that discovery and a password reset need, served from the upstash
 * stand-in's records and its Redis servers (the router `stand-ins/api.ts` serves it under
 * `/upstash`):
 *
 *   GET  /v2/redis/databases              [database, …]
 *   GET  /v2/redis/database/{id}          database (`?credentials=hide` leaves out the password and tokens)
 *   POST /v2/redis/reset-password/{id}    database, with its new password
 *
 * A reset gives the database's `default` user a new password in its Redis server, live (`ACL
 * SETUSER`, its open sessions ended with `CLIENT KILL USER default`) and in the server's
 * configuration (so a restart keeps it), and new REST tokens (Upstash's tokens carry the
 * password, so a reset revokes them). Differences: any email and key are accepted (missing or
 * malformed basic auth is a 401); errors are JSON strings.
 */
import { ApiError, ApiRequest, ApiResponse, basicCredentials, match } from "../common/http";
import { newPassword } from "../common/ids";
import { adminTarget, isRunning, MAXCLIENTS, MAXMEMORY_BYTES, withRedis, writeInstance } from "./instances";
import { DatabaseRecord, databaseStore } from "./resources";

function upstashError(status: number, message: string): ApiError {
    return new ApiError(status, message);
}

/** A database as Upstash's developer API shows it. */
export function databaseJson(rec: DatabaseRecord, hideCredentials = false): Record<string, unknown> {
    const i = rec.inputs;
    return {
        database_id: rec.databaseId,
        database_name: i.databaseName,
        database_type: "Pay as You Go",
        region: i.region,
        type: "paid",
        port: rec.port,
        creation_time: rec.creationTime,
        budget: i.budget ?? 20,
        state: "active",
        ...(hideCredentials ? {} : { password: rec.password }),
        user_email: "localcloud@localhost",
        endpoint: "127.0.0.1",
        tls: true,
        eviction: i.eviction ?? false,
        auto_upgrade: i.autoScale ?? false,
        consistent: false,
        ...(hideCredentials ? {} : { rest_token: rec.restToken, read_only_rest_token: rec.readOnlyRestToken }),
        primary_region: i.primaryRegion ?? "",
        read_regions: i.readRegions ?? [],
        db_max_clients: MAXCLIENTS,
        db_max_request_size: 10 * 1024 * 1024,
        db_disk_threshold: 100 * 1024 * 1024 * 1024,
        db_max_entry_size: 100 * 1024 * 1024,
        db_memory_threshold: MAXMEMORY_BYTES,
        db_daily_bandwidth_limit: 200 * 1024 * 1024 * 1024,
        db_max_commands_per_second: 10000,
        modifying_state: "",
    };
}

function database(id: string): DatabaseRecord {
    // The store refuses ids that are not record names; those are simply not found.
    const rec = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/.test(id) ? databaseStore().get(id) : undefined;
    if (!rec) throw upstashError(404, "database not found");
    return rec;
}

/** POST /v2/redis/reset-password/{id}; see the file's comment. */
export async function resetPassword(id: string): Promise<Record<string, unknown>> {
    const store = databaseStore();
    return store.locked(async () => {
        const rec = database(id);
        const password = newPassword(32);
        const eviction = rec.inputs.eviction === true;
        // The configuration first, so a restart never brings the old password back.
        writeInstance(rec.databaseId, { port: rec.port, password, eviction });
        if (isRunning(rec.databaseId)) {
            try {
                await withRedis(adminTarget(rec.port), async (r) => {
                    await r.call("ACL", "SETUSER", "default", "resetpass", `>${password}`);
                    await r.call("CLIENT", "KILL", "USER", "default");
                });
            } catch (e) {
                writeInstance(rec.databaseId, { port: rec.port, password: rec.password, eviction });
                throw e;
            }
        }
        rec.password = password;
        rec.restToken = `A${newPassword(59)}`;
        rec.readOnlyRestToken = `A${newPassword(59)}`;
        store.put(rec.databaseId, rec);
        return databaseJson(rec);
    });
}

/** Upstash's developer API under `/upstash`. */
export async function upstashApi(req: ApiRequest): Promise<ApiResponse | undefined> {
    if (basicCredentials(req) === undefined) throw upstashError(401, "Unauthorized");
    let m: Record<string, string> | undefined;
    if (req.method === "GET" && req.path === "/v2/redis/databases") {
        return {
            status: 200,
            body: databaseStore()
                .list()
                .map((d) => databaseJson(d)),
        };
    }
    if (req.method === "GET" && (m = match("/v2/redis/database/:id", req.path))) {
        return { status: 200, body: databaseJson(database(m.id), req.query.get("credentials") === "hide") };
    }
    if (req.method === "POST" && (m = match("/v2/redis/reset-password/:id", req.path))) {
        return { status: 200, body: await resetPassword(m.id) };
    }
    return undefined;
}
