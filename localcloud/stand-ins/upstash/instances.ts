/**
 * One real Redis server per Upstash database, under `$LOCALCLOUD_DIR/redis/databases/<id>`: TLS
 * only on 127.0.0.1 (the local CA's certificate, copied there by `services/redis.sh start`), its
 * own `default` user and password (what Upstash clients log in as), plus the local cloud's
 * `localcloud-admin` user. This module starts an instance when its database is created and stops
 * it before its folder is deleted; `services/redis.sh start` starts them only with the admin
 * instance (a cold start: it would race with this while the local cloud runs), and `stop` stops
 * them all.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type Redis from "ioredis";
import { localcloudPaths, readSecret, REDIS_ADMIN_USER } from "../../services/env";
import { pickFreePort, servicePort } from "../../services/ports";

export interface InstanceSettings {
    readonly port: number;
    readonly password: string;
    readonly eviction: boolean;
}

/** Memory cap of each local database (`dbMemoryThreshold`). */
export const MAXMEMORY_BYTES = 256 * 1024 * 1024;
export const MAXCLIENTS = 1000;

interface ServiceUser {
    readonly name: string;
    readonly uid: number;
    readonly gid: number;
}

/** The `redis` system user when we run as root (as services/redis.sh does), else undefined. */
function serviceUser(): ServiceUser | undefined {
    if (process.getuid?.() !== 0) return undefined;
    const line = fs
        .readFileSync("/etc/passwd", "utf8")
        .split("\n")
        .find((l) => l.startsWith("redis:"));
    if (!line) return undefined;
    const [name, , uid, gid] = line.split(":");
    return { name, uid: Number(uid), gid: Number(gid) };
}

export function instanceDir(id: string): string {
    if (!/^[0-9a-f-]{36}$/.test(id)) throw new Error(`invalid database id ${JSON.stringify(id)}`);
    return path.join(localcloudPaths().redisDatabasesDir, id);
}

function tlsDir(): string {
    const dir = path.join(localcloudPaths().redisDir, "tls");
    if (!fs.existsSync(path.join(dir, "server.pem"))) {
        throw new Error(
            `${dir} has no certificate: start the local cloud's Redis first (localcloud/services/redis.sh start)`,
        );
    }
    return dir;
}

function quote(v: string): string {
    return `"${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/** The redis.conf of one database instance (pure; exported for tests). */
export function instanceConfig(dir: string, tls: string, s: InstanceSettings, adminPassword: string): string {
    for (const pw of [s.password, adminPassword]) {
        if (!/^[A-Za-z0-9]+$/.test(pw)) throw new Error("Redis passwords must be alphanumeric");
    }
    const sock = path.join(dir, "redis.sock");
    return [
        "# Written by the local cloud's upstash stand-in (localcloud/stand-ins/upstash): do not edit.",
        "bind 127.0.0.1",
        "protected-mode yes",
        "port 0",
        `tls-port ${s.port}`,
        `tls-cert-file ${quote(path.join(tls, "server.pem"))}`,
        `tls-key-file ${quote(path.join(tls, "server-key.pem"))}`,
        `tls-ca-cert-file ${quote(path.join(tls, "ca.pem"))}`,
        "tls-auth-clients no",
        'tls-protocols "TLSv1.2 TLSv1.3"',
        ...(sock.length < 100 ? [`unixsocket ${quote(sock)}`, "unixsocketperm 700"] : []),
        "daemonize yes",
        `pidfile ${quote(path.join(dir, "redis.pid"))}`,
        `logfile ${quote(path.join(dir, "redis.log"))}`,
        `dir ${quote(path.join(dir, "data"))}`,
        "appendonly yes",
        `maxmemory ${MAXMEMORY_BYTES}`,
        `maxmemory-policy ${s.eviction ? "allkeys-lru" : "noeviction"}`,
        `maxclients ${MAXCLIENTS}`,
        // Upstash's clients log in as `default`; admin commands (CONFIG, SHUTDOWN, …) are not theirs.
        `user default on >${s.password} ~* &* +@all -@admin`,
        `user ${REDIS_ADMIN_USER} on >${adminPassword} ~* &* +@all`,
        "",
    ].join("\n");
}

/** Where and as whom to reach one database's Redis: TLS on loopback, an ACL user and its password. */
export interface RedisTarget {
    readonly host: string;
    readonly port: number;
    /** PEM file of the CA that signed the server certificate. */
    readonly caFile: string;
    readonly user: string;
    readonly password: string;
}

/**
 * Connects to the target with ioredis (TLS verified against the local CA, `AUTH <user> <password>`),
 * runs `work`, and disconnects. No retries: the caller decides. Errors name the address and the
 * user, never the password.
 */
export async function withRedis<T>(
    target: RedisTarget,
    work: (redis: Redis) => Promise<T>,
    timeoutMs = 10_000,
): Promise<T> {
    // Loaded here, on the first connection, not at the top: the plugin starts on every preview and
    // update of a stack, most of which never reach a Redis server, and loading ioredis is about
    // 0.15 CPU s of its start (README.md, "How the TypeScript runs").
    const { default: Redis } = await import("ioredis");
    const redis = new Redis({
        host: target.host,
        port: target.port,
        username: target.user,
        password: target.password,
        tls: { ca: fs.readFileSync(target.caFile) },
        lazyConnect: true,
        connectTimeout: timeoutMs,
        commandTimeout: timeoutMs,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
    });
    // ioredis reports why a connection failed (a refused AUTH, a bad certificate) as an 'error'
    // event, then rejects connect() with only "Connection is closed."; keep the reason.
    let connectionError: Error | undefined;
    redis.on("error", (e: Error) => (connectionError = e));
    const fail = (e: unknown): Error =>
        new Error(
            `Redis at ${target.host}:${target.port} as ${target.user}: ${e instanceof Error ? e.message : String(e)}`,
        );
    try {
        try {
            await redis.connect();
        } catch (e) {
            throw fail(connectionError ?? e);
        }
        return await work(redis).catch((e: unknown) => {
            throw fail(e);
        });
    } finally {
        redis.disconnect();
    }
}

/** Writes (or rewrites) the instance's configuration, owned by the service user, mode 600. */
export function writeInstance(id: string, s: InstanceSettings): void {
    const dir = instanceDir(id);
    const user = serviceUser();
    fs.mkdirSync(path.join(dir, "data"), { recursive: true, mode: 0o700 });
    const conf = path.join(dir, "redis.conf");
    const tmp = `${conf}.tmp`;
    fs.writeFileSync(tmp, instanceConfig(dir, tlsDir(), s, readSecret("redis-admin-password")), { mode: 0o600 });
    fs.renameSync(tmp, conf);
    fs.chmodSync(dir, 0o700);
    if (user) {
        for (const p of [dir, path.join(dir, "data"), conf]) fs.chownSync(p, user.uid, user.gid);
    }
}

function runningPid(id: string): number | undefined {
    try {
        const pid = Number(fs.readFileSync(path.join(instanceDir(id), "redis.pid"), "utf8").trim());
        if (!Number.isInteger(pid) || pid <= 0) return undefined;
        const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
        return cmdline.includes("redis-server") ? pid : undefined;
    } catch {
        return undefined;
    }
}

export function isRunning(id: string): boolean {
    return runningPid(id) !== undefined;
}

export function adminTarget(port: number): RedisTarget {
    return {
        host: "127.0.0.1",
        port,
        caFile: localcloudPaths().caFile,
        user: REDIS_ADMIN_USER,
        password: readSecret("redis-admin-password"),
    };
}

/** Starts the instance (daemonized) unless it runs, then waits until `default` can PING it. */
export async function startInstance(id: string, s: InstanceSettings): Promise<void> {
    if (!isRunning(id)) {
        const conf = path.join(instanceDir(id), "redis.conf");
        const user = serviceUser();
        const [cmd, args] = user
            ? ["runuser", ["-u", user.name, "--", "redis-server", conf]]
            : ["redis-server", [conf]];
        const code = await new Promise<number | null>((resolve, reject) => {
            const child = spawn(cmd, args, { stdio: "ignore", cwd: instanceDir(id) });
            child.on("error", (e) =>
                reject(
                    new Error(
                        `could not run redis-server (is it installed? localcloud/services/redis.sh install): ${e.message}`,
                    ),
                ),
            );
            child.on("exit", (c) => resolve(c));
        });
        if (code !== 0)
            throw new Error(
                `redis-server exited with status ${code} (log: ${path.join(instanceDir(id), "redis.log")})`,
            );
    }
    const target: RedisTarget = {
        host: "127.0.0.1",
        port: s.port,
        caFile: localcloudPaths().caFile,
        user: "default",
        password: s.password,
    };
    let last: unknown;
    for (let i = 0; i < 100; i++) {
        try {
            await withRedis(target, (r) => r.ping(), 2000);
            return;
        } catch (e) {
            last = e;
            await new Promise((r) => setTimeout(r, 100));
        }
    }
    throw new Error(
        `the Redis of database ${id} does not answer on 127.0.0.1:${s.port}: ${last instanceof Error ? last.message : String(last)}`,
    );
}

/** Stops the instance (SIGTERM to its pid) and waits for it to exit. */
export async function stopInstance(id: string): Promise<void> {
    const pid = runningPid(id);
    if (pid === undefined) return;
    process.kill(pid, "SIGTERM");
    for (let i = 0; i < 300; i++) {
        if (runningPid(id) === undefined) return;
        await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`the Redis of database ${id} (pid ${pid}) did not stop within 30 s`);
}

/** Stops the instance and deletes its directory (configuration and data). */
export async function removeInstance(id: string): Promise<void> {
    await stopInstance(id);
    fs.rmSync(instanceDir(id), { recursive: true, force: true });
}

function portsInUseByInstances(): Set<number> {
    const used = new Set<number>();
    let names: string[] = [];
    try {
        names = fs.readdirSync(localcloudPaths().redisDatabasesDir);
    } catch {
        return used;
    }
    for (const n of names) {
        try {
            const conf = fs.readFileSync(path.join(localcloudPaths().redisDatabasesDir, n, "redis.conf"), "utf8");
            const m = /^tls-port (\d+)$/m.exec(conf);
            if (m) used.add(Number(m[1]));
        } catch {
            /* not an instance */
        }
    }
    return used;
}

/**
 * A free loopback port for a new database's Redis: drawn at random like the local cloud's other
 * ports (see services/ports.ts), never the admin instance's nor one that an instance of this clone
 * is configured for (it may be stopped), nor one in `reserved`.
 */
export async function allocatePort(reserved: ReadonlySet<number> = new Set()): Promise<number> {
    const avoid = new Set([...portsInUseByInstances(), ...reserved, servicePort("redis")]);
    return pickFreePort(avoid);
}
