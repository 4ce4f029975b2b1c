/**
 * The neon stand-in's PostgreSQL side: object names derived from Neon ids, SCRAM verifiers (so a
 * plaintext password never reaches the server or its logs), and admin connections (TLS verified
 * against the local CA). Every identifier goes through escapeIdentifier and every literal
 * through escapeLiteral; nothing else is interpolated into SQL.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from "node:crypto";
import { Client, escapeIdentifier, escapeLiteral } from "pg";
import { pgAdminUrl } from "../../services/env";
import { servicePort } from "../../services/ports";

/** PostgreSQL's NAMEDATALEN - 1. */
const MAX_NAME_BYTES = 63;

/**
 * `<scope>.<name>`; when that exceeds 63 bytes, a prefix of it plus `~` and 8 hex digits of its
 * SHA-256, so distinct long names stay distinct and the result is stable.
 */
export function scopedName(scope: string, name: string): string {
    const full = `${scope}.${name}`;
    if (Buffer.byteLength(full) <= MAX_NAME_BYTES) return full;
    const hash = createHash("sha256").update(full).digest("hex").slice(0, 8);
    let head = full;
    while (Buffer.byteLength(head) > MAX_NAME_BYTES - 9) head = head.slice(0, -1);
    return `${head}~${hash}`;
}

/** The login role of Neon role `roleName` in a project (shared by the project's branches). */
export function pgRoleName(projectId: string, roleName: string): string {
    return scopedName(projectId, roleName);
}

/** The group role every login role of a project belongs to; it alone may connect to the project's databases. */
export function pgGroupName(projectId: string): string {
    return scopedName(projectId, "members");
}

/** The database of Neon database `dbName` on a branch. */
export function pgDatabaseName(branchId: string, dbName: string): string {
    return scopedName(branchId, dbName);
}

/** A SCRAM-SHA-256 verifier, the form PostgreSQL stores (`CREATE ROLE … PASSWORD 'SCRAM-SHA-256$…'`). */
export function scramVerifier(password: string, salt: Buffer = randomBytes(16), iterations = 4096): string {
    const salted = pbkdf2Sync(password.normalize("NFKC"), salt, iterations, 32, "sha256");
    const clientKey = createHmac("sha256", salted).update("Client Key").digest();
    const storedKey = createHash("sha256").update(clientKey).digest();
    const serverKey = createHmac("sha256", salted).update("Server Key").digest();
    return `SCRAM-SHA-256$${iterations}:${salt.toString("base64")}$${storedKey.toString("base64")}:${serverKey.toString("base64")}`;
}

export const ident = escapeIdentifier;
export const literal = escapeLiteral;

/** Runs fn with a superuser connection to `database` (TLS, verified), then closes it. */
export async function withAdmin<T>(fn: (c: Client) => Promise<T>, database = "postgres"): Promise<T> {
    const url = new URL(pgAdminUrl());
    url.pathname = `/${encodeURIComponent(database)}`;
    const client = new Client({ connectionString: url.toString(), application_name: "localcloud-neon" });
    try {
        await client.connect();
    } catch (e) {
        throw new Error(
            `cannot connect to the local PostgreSQL (start it with localcloud/services/postgres.sh start): ${(e as Error).message}`,
        );
    }
    try {
        return await fn(client);
    } finally {
        await client.end().catch(() => undefined);
    }
}

/** `postgres://<role>:<password>@127.0.0.1:<port>/<db>?sslmode=require`, the shape of Neon's URIs. */
export function connectionUri(pgRole: string, password: string, pgDb: string): string {
    const port = servicePort("postgres");
    return `postgres://${encodeURIComponent(pgRole)}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(pgDb)}?sslmode=require`;
}

/** Does a role exist? */
export async function roleExists(c: Client, role: string): Promise<boolean> {
    const r = await c.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [role]);
    return (r.rowCount ?? 0) > 0;
}

export async function databaseExists(c: Client, db: string): Promise<boolean> {
    const r = await c.query("SELECT 1 FROM pg_database WHERE datname = $1", [db]);
    return (r.rowCount ?? 0) > 0;
}

/** Creates the project's group role unless it exists. */
export async function ensureGroup(c: Client, group: string): Promise<void> {
    if (!(await roleExists(c, group))) await c.query(`CREATE ROLE ${ident(group)} NOLOGIN`);
}

/** Creates a login role in the group with the password (sent as a SCRAM verifier). */
export async function createLoginRole(c: Client, role: string, group: string, password: string): Promise<void> {
    await c.query(
        `CREATE ROLE ${ident(role)} LOGIN PASSWORD ${literal(scramVerifier(password))} IN ROLE ${ident(group)}`,
    );
}

/** Only the project's roles (its group) may connect; the owner owns it. */
async function restrictDatabase(c: Client, db: string, group: string): Promise<void> {
    await c.query(`REVOKE ALL ON DATABASE ${ident(db)} FROM PUBLIC`);
    await c.query(`GRANT CONNECT, TEMPORARY ON DATABASE ${ident(db)} TO ${ident(group)}`);
}

export async function createDatabase(c: Client, db: string, owner: string, group: string): Promise<void> {
    await c.query(`CREATE DATABASE ${ident(db)} OWNER ${ident(owner)}`);
    await restrictDatabase(c, db, group);
}

/**
 * `CREATE DATABASE new TEMPLATE source`: a real copy (schema and data). PostgreSQL refuses while
 * others are connected to the source (SQLSTATE 55006), so retry for a while, then fail with a hint.
 */
export async function copyDatabase(
    c: Client,
    source: string,
    target: string,
    owner: string,
    group: string,
): Promise<void> {
    for (let attempt = 0; ; attempt++) {
        try {
            await c.query(`CREATE DATABASE ${ident(target)} TEMPLATE ${ident(source)} OWNER ${ident(owner)}`);
            break;
        } catch (e) {
            if ((e as { code?: string }).code !== "55006" || attempt >= 20) {
                if ((e as { code?: string }).code === "55006") {
                    throw new Error(
                        `cannot branch database ${source}: other sessions are connected to it, and the local cloud copies a database with CREATE DATABASE … TEMPLATE, which needs it idle (disconnect the clients and retry)`,
                    );
                }
                throw e;
            }
            await new Promise((r) => setTimeout(r, 500));
        }
    }
    await restrictDatabase(c, target, group);
}

export async function dropDatabase(c: Client, db: string): Promise<void> {
    await c.query(`DROP DATABASE IF EXISTS ${ident(db)} WITH (FORCE)`);
}

/**
 * Drops a login/group role: first its objects and privileges in the given databases (DROP
 * OWNED), then the role itself.
 */
export async function dropRole(c: Client, role: string, databases: readonly string[]): Promise<void> {
    if (!(await roleExists(c, role))) return;
    for (const db of databases) {
        if (!(await databaseExists(c, db))) continue;
        await withAdmin((dc) => dc.query(`DROP OWNED BY ${ident(role)}`), db);
    }
    await c.query(`DROP OWNED BY ${ident(role)}`);
    await c.query(`DROP ROLE IF EXISTS ${ident(role)}`);
}

/** The current WAL position, as Neon reports a branch's parent LSN. */
export async function currentLsn(c: Client): Promise<string> {
    const r = await c.query<{ lsn: string }>("SELECT pg_current_wal_lsn()::text AS lsn");
    return r.rows[0].lsn;
}

/** Total size of the databases, in MiB (Neon's `logicalSize`). */
export async function sizeMiB(c: Client, databases: readonly string[]): Promise<number> {
    if (databases.length === 0) return 0;
    const r = await c.query<{ bytes: string | null }>(
        "SELECT sum(pg_database_size(datname))::text AS bytes FROM pg_database WHERE datname = ANY($1::text[])",
        [databases],
    );
    return Math.round(Number(r.rows[0].bytes ?? 0) / (1024 * 1024));
}
