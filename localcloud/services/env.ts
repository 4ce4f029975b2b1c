/**
 * Where the local cloud keeps its state, and the environment its stand-in provider plugins (and
 * anything else that talks to the local PostgreSQL and Redis) need.
 *
 * Everything lives under `LOCALCLOUD_DIR` (default `<repo>/.local`, git-ignored):
 *
 *   tls/ca.pem, ca-key.pem, server.pem, server-key.pem   the local CA and the 127.0.0.1/localhost cert
 *   secrets/pg-admin-password, redis-admin-password        generated once, mode 600, never printed
 *   postgres/{data,run,tls,port,postgres.log}              the PostgreSQL cluster (owned by `postgres`)
 *   redis/{main,databases/<id>,tls,port}                   the admin Redis and one Redis per Upstash database
 *   state/{vercel,upstash,neon}                            the stand-in providers' records (`LOCALCLOUD_STATE_DIR`)
 *   pulumi-home/                                           the isolated `PULUMI_HOME` with the stand-in plugins
 *
 * Run as a script (`node --require ./lib/register.js localcloud/services/env.ts`), it prints the
 * variable names and their non-secret values; `--export-file <path>` writes every variable,
 * secrets included, as `export` lines to a new file of mode 600 (`--export-file -`: to stdout,
 * for `eval "$(…)"`, refused when stdout is a terminal).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as tls from "node:tls";
import { servicePort } from "./ports";

/** The role initdb creates as the cluster's superuser; its password is `secrets/pg-admin-password`. */
export const PG_ADMIN_USER = "localcloud_admin";
/** The ACL user with every permission on each local Redis; its password is `secrets/redis-admin-password`. */
export const REDIS_ADMIN_USER = "localcloud-admin";

/** The file layout of one local cloud. */
export interface LocalcloudPaths {
    readonly repoRoot: string;
    /** `LOCALCLOUD_DIR`. */
    readonly dir: string;
    /** `LOCALCLOUD_STATE_DIR`: the stand-in providers' records. */
    readonly stateDir: string;
    readonly tlsDir: string;
    /** The local CA certificate that signs the PostgreSQL and Redis server certificates. */
    readonly caFile: string;
    readonly secretsDir: string;
    readonly pgDir: string;
    readonly redisDir: string;
    /** Where the upstash stand-in puts one Redis server per database. */
    readonly redisDatabasesDir: string;
    readonly pulumiHome: string;
}

/** The repository root: two levels above this file. */
export function repoRoot(): string {
    return path.resolve(__dirname, "..", "..");
}

/** Resolves the local cloud's paths from `LOCALCLOUD_DIR` / `LOCALCLOUD_STATE_DIR` (or their defaults). */
export function localcloudPaths(env: NodeJS.ProcessEnv = process.env): LocalcloudPaths {
    const root = repoRoot();
    const dir = path.resolve(nonEmpty(env.LOCALCLOUD_DIR) ?? path.join(root, ".local"));
    const stateDir = path.resolve(nonEmpty(env.LOCALCLOUD_STATE_DIR) ?? path.join(dir, "state"));
    const tlsDir = path.join(dir, "tls");
    const redisDir = path.join(dir, "redis");
    return {
        repoRoot: root,
        dir,
        stateDir,
        tlsDir,
        caFile: path.join(tlsDir, "ca.pem"),
        secretsDir: path.join(dir, "secrets"),
        pgDir: path.join(dir, "postgres"),
        redisDir,
        redisDatabasesDir: path.join(redisDir, "databases"),
        pulumiHome: path.join(dir, "pulumi-home"),
    };
}

function nonEmpty(v: string | undefined): string | undefined {
    return v !== undefined && v.trim() !== "" ? v.trim() : undefined;
}

/** Reads a generated secret (`secrets/<name>`); throws a hint to start the services if it is missing. */
export function readSecret(name: string, paths: LocalcloudPaths = localcloudPaths()): string {
    const file = path.join(paths.secretsDir, name);
    try {
        return fs.readFileSync(file, "utf8").trim();
    } catch {
        throw new Error(
            `${file} is missing: start the local cloud's services first (localcloud/services/services.sh start)`,
        );
    }
}

/**
 * The PostgreSQL superuser URL: TLS verified against the local CA (`sslmode=verify-full`,
 * `sslrootcert`), database `postgres`. Contains the admin password: never print it.
 */
export function pgAdminUrl(env: NodeJS.ProcessEnv = process.env): string {
    const explicit = nonEmpty(env.LOCALCLOUD_PG_ADMIN_URL);
    if (explicit !== undefined) return explicit;
    return localPgUrl(PG_ADMIN_USER, readSecret("pg-admin-password", localcloudPaths(env)), "postgres", env);
}

/** A URL of the local PostgreSQL for a role and database, TLS verified against the local CA. */
export function localPgUrl(
    role: string,
    password: string,
    database: string,
    env: NodeJS.ProcessEnv = process.env,
): string {
    const q = new URLSearchParams({ sslmode: "verify-full", sslrootcert: localcloudPaths(env).caFile });
    const port = servicePort("postgres", env);
    return `postgres://${encodeURIComponent(role)}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}?${q.toString()}`;
}

/** The admin Redis URL (`rediss://localcloud-admin:<pw>@127.0.0.1:<port>`). Never print it. */
export function redisAdminUrl(env: NodeJS.ProcessEnv = process.env): string {
    const explicit = nonEmpty(env.LOCALCLOUD_REDIS_ADMIN_URL);
    if (explicit !== undefined) return explicit;
    const password = readSecret("redis-admin-password", localcloudPaths(env));
    return `rediss://${REDIS_ADMIN_USER}:${encodeURIComponent(password)}@127.0.0.1:${servicePort("redis", env)}`;
}

/** Names of the variables of {@link localcloudEnv} whose values are secret. */
export const SECRET_VARIABLES: readonly string[] = ["LOCALCLOUD_PG_ADMIN_URL", "LOCALCLOUD_REDIS_ADMIN_URL"];

/**
 * The environment for the stand-in provider plugins, the engine that runs them, and clients of
 * the local PostgreSQL/Redis:
 *
 * - `LOCALCLOUD_DIR`, `LOCALCLOUD_STATE_DIR`
 * - `LOCALCLOUD_PG_PORT`, `LOCALCLOUD_REDIS_PORT` (the clone's ports, see ./ports.ts; omitted before
 *   the services were first started)
 * - `LOCALCLOUD_PG_ADMIN_URL`, `LOCALCLOUD_REDIS_ADMIN_URL` (secret; omitted before the services
 *   were first started, when their passwords don't exist yet)
 * - `NODE_EXTRA_CA_CERTS`, `PGSSLROOTCERT` (the local CA, so `sslmode=require`/`rediss://` verify)
 * - `PULUMI_HOME` (the isolated plugin home), `PULUMI_SKIP_UPDATE_CHECK`,
 *   `PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION`
 *
 * It does not set `PULUMI_BACKEND_URL` or `PULUMI_CONFIG_PASSPHRASE`: those belong to the caller.
 */
export function localcloudEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
    const paths = localcloudPaths(env);
    const out: Record<string, string> = {
        LOCALCLOUD_DIR: paths.dir,
        LOCALCLOUD_STATE_DIR: paths.stateDir,
        NODE_EXTRA_CA_CERTS: paths.caFile,
        PGSSLROOTCERT: paths.caFile,
        PULUMI_HOME: paths.pulumiHome,
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    };
    // Ports, passwords: absent before the services were first started.
    for (const [name, service] of [
        ["LOCALCLOUD_PG_PORT", "postgres"],
        ["LOCALCLOUD_REDIS_PORT", "redis"],
    ] as const) {
        try {
            out[name] = String(servicePort(service, env));
        } catch {
            /* never started */
        }
    }
    try {
        out.LOCALCLOUD_PG_ADMIN_URL = pgAdminUrl(env);
    } catch {
        /* services never started: no password yet */
    }
    try {
        out.LOCALCLOUD_REDIS_ADMIN_URL = redisAdminUrl(env);
    } catch {
        /* idem */
    }
    return out;
}

function shellQuote(v: string): string {
    return `'${v.replace(/'/g, `'\\''`)}'`;
}

if (require.main === module) {
    const vars = localcloudEnv();
    const i = process.argv.indexOf("--export-file");
    if (i >= 0) {
        const file = process.argv[i + 1];
        if (!file) throw new Error("--export-file needs a path");
        const body = Object.entries(vars)
            .map(([k, v]) => `export ${k}=${shellQuote(v)}\n`)
            .join("");
        if (file === "-") {
            // For `eval "$(… --export-file -)"`: never onto a terminal, where it would show the secrets.
            if (process.stdout.isTTY)
                throw new Error("refusing to print secrets to a terminal: use --export-file - in a pipe or $(…)");
            process.stdout.write(body);
            process.exit(0);
        }
        fs.writeFileSync(file, body, { mode: 0o600, flag: "w" });
        fs.chmodSync(file, 0o600);
        console.log(`wrote ${Object.keys(vars).length} variables to ${file} (mode 600)`);
    } else {
        for (const [k, v] of Object.entries(vars)) {
            console.log(`${k}=${SECRET_VARIABLES.includes(k) ? "<secret>" : v}`);
        }
    }
}

/**
 * PINGs the Redis at `url` over TLS verified against the local cloud's CA; resolves with the
 * reply. One attempt, no reconnects: a refused login fails with the server's own answer (a
 * refused AUTH closes the connection, so that answer is the error emitted before the close).
 * ioredis is loaded on the first call only: most commands never ping.
 */
export async function redisPing(url: string, timeoutMs = 5000): Promise<string> {
    const { default: Redis } = await import("ioredis");
    const client = new Redis(url, {
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
        connectTimeout: timeoutMs,
        tls: { ca: fs.readFileSync(localcloudPaths().caFile) },
    });
    let refused: Error | undefined;
    client.on("error", (e: Error) => (refused ??= e));
    try {
        await client.connect();
        return await client.ping();
    } catch (e) {
        throw refused ?? e;
    } finally {
        client.disconnect();
    }
}

/** One RESP command: an array of bulk strings, so any byte of a password is sent as it is. */
function resp(...args: string[]): string {
    return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`;
}

/**
 * Whether the Redis at `url` answers over TLS verified against the local cloud's CA: its login
 * (`AUTH` with the URL's user and password) is accepted and a `PING` gets `PONG`. The check every
 * local command makes before it runs (localcloud/control.ts, servicesAnswer); the same question
 * as {@link redisPing}, asked in two lines of the protocol instead of through ioredis, whose load
 * alone costs about 0.12 CPU s (0.15 of a command's 0.45 for the local cloud's checks, 2026-12-06)
 * and which a command needs for nothing else. Any other reply, an error or the timeout is false.
 */
export function redisAnswers(url: string, timeoutMs = 5000): Promise<boolean> {
    const u = new URL(url);
    const expected = "+OK\r\n+PONG\r\n";
    return new Promise((resolve) => {
        let got = "";
        const socket = tls.connect({
            host: u.hostname,
            port: Number(u.port),
            ca: fs.readFileSync(localcloudPaths().caFile),
        });
        const done = (ok: boolean) => {
            clearTimeout(timer);
            socket.destroy();
            resolve(ok);
        };
        const timer = setTimeout(() => done(false), timeoutMs);
        socket.once("secureConnect", () =>
            socket.write(resp("AUTH", decodeURIComponent(u.username), decodeURIComponent(u.password)) + resp("PING")),
        );
        socket.on("data", (chunk: Buffer) => {
            got += chunk.toString("latin1");
            if (got.length >= expected.length || got.startsWith("-")) done(got.startsWith(expected));
        });
        socket.once("error", () => done(false));
        socket.once("close", () => done(got.startsWith(expected)));
    });
}
