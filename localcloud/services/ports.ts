/**
 * The local cloud's TCP ports, per clone: several clones (or CI jobs) run their local clouds on one
 * machine at once, so no port is fixed. The first start of a service picks a free loopback port
 * and remembers it in the clone's `.local/`; later starts and every client reuse it.
 *
 * Precedence for each service: its environment variable (explicit, always wins), else the port
 * remembered in its file, else a new free port (then remembered).
 *
 * | service | variable | remembered in |
 * | --- | --- | --- |
 * | PostgreSQL | `LOCALCLOUD_PG_PORT` | `$LOCALCLOUD_DIR/postgres/port` |
 * | admin Redis | `LOCALCLOUD_REDIS_PORT` | `$LOCALCLOUD_DIR/redis/port` |
 * | Fly emulator | `FLY_EMULATOR_PORT` | `$LOCALCLOUD_DIR/fly/port` |
 * | API stand-ins (Neon, Upstash, Vercel; `stand-ins/api.ts`) | `NEON_API_PORT` | `$LOCALCLOUD_DIR/neon-api/port` |
 *
 * Run as a script by postgres.sh and redis.sh:
 * `node --require lib/register.js localcloud/services/ports.ts choose postgres|redis|fly` prints
 * the port to start on (and remembers a new one).
 */
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { localcloudPaths } from "./env";

/** A local cloud service that listens on a TCP port of its own. */
export type PortService = "postgres" | "redis" | "fly" | "neon";

/** The environment variable that sets each service's port explicitly. */
export const PORT_VARIABLES: Readonly<Record<PortService, string>> = {
    postgres: "LOCALCLOUD_PG_PORT",
    redis: "LOCALCLOUD_REDIS_PORT",
    fly: "FLY_EMULATOR_PORT",
    neon: "NEON_API_PORT",
};

/**
 * Where new ports are drawn from: below Linux's default ephemeral range (32768–60999), so a
 * stopped service's remembered port is not handed out as the source port of some outgoing
 * connection in the meantime, and above the ports that well-known services use.
 */
export const PORT_RANGE = { min: 20000, max: 32767 } as const;

/** The file that remembers a service's port. */
export function portFile(service: PortService, env: NodeJS.ProcessEnv = process.env): string {
    const paths = localcloudPaths(env);
    const dir = {
        postgres: paths.pgDir,
        redis: paths.redisDir,
        fly: path.join(paths.dir, "fly"),
        neon: path.join(paths.dir, "neon-api"),
    }[service];
    return path.join(dir, "port");
}

/** Parses a port; a bad value is an error naming where it came from, the value and what is allowed. */
export function parsePort(value: string, source: string): number {
    const n = Number(value.trim());
    if (!/^\d+$/.test(value.trim()) || !Number.isInteger(n) || n < 1 || n > 65535) {
        throw new Error(`${source} is ${JSON.stringify(value.trim())}: expected a TCP port, a whole number 1–65535`);
    }
    return n;
}

/** The explicit port from the service's variable, if set. */
export function explicitPort(service: PortService, env: NodeJS.ProcessEnv = process.env): number | undefined {
    const v = env[PORT_VARIABLES[service]];
    return v === undefined || v.trim() === "" ? undefined : parsePort(v, PORT_VARIABLES[service]);
}

/** The port remembered for the service, if any. */
export function rememberedPort(service: PortService, env: NodeJS.ProcessEnv = process.env): number | undefined {
    const file = portFile(service, env);
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch {
        return undefined;
    }
    return text.trim() === "" ? undefined : parsePort(text, file);
}

/**
 * The port clients use: the explicit one, else the remembered one. Throws, naming the file, when
 * the service has never been started in this clone.
 */
export function servicePort(service: PortService, env: NodeJS.ProcessEnv = process.env): number {
    const port = explicitPort(service, env) ?? rememberedPort(service, env);
    if (port === undefined) {
        throw new Error(
            `no ${service} port yet: ${portFile(service, env)} does not exist and ${PORT_VARIABLES[service]} is unset; ` +
                "start the local cloud first (npm run localcloud -- start)",
        );
    }
    return port;
}

/** True when nothing holds 127.0.0.1:`port` (we could listen on it). */
export function portFree(port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const srv = net.createServer();
        srv.once("error", () => resolve(false));
        srv.listen({ port, host: "127.0.0.1", exclusive: true }, () => srv.close(() => resolve(true)));
    });
}

/**
 * A free loopback port from {@link PORT_RANGE}, not in `avoid`: random draws, each checked by
 * binding it. `random` is injectable for tests.
 */
export async function pickFreePort(
    avoid: ReadonlySet<number> = new Set(),
    random: () => number = Math.random,
): Promise<number> {
    const span = PORT_RANGE.max - PORT_RANGE.min + 1;
    for (let i = 0; i < 200; i++) {
        const port = PORT_RANGE.min + Math.floor(random() * span);
        if (!avoid.has(port) && (await portFree(port))) return port;
    }
    throw new Error(`no free loopback port found in ${PORT_RANGE.min}–${PORT_RANGE.max} after 200 tries`);
}

/** What {@link choosePort} decided, and why. */
export interface PortChoice {
    readonly port: number;
    /** `explicit`: from the variable; `remembered`: from the file; `new`: just picked and remembered. */
    readonly source: "explicit" | "remembered" | "new";
    /** Set when the remembered port was taken by another process and a new one was picked. */
    readonly replaced?: number;
}

/** Options of {@link choosePort}. */
export interface ChooseOptions {
    readonly env?: NodeJS.ProcessEnv;
    /**
     * What to do when the remembered port is taken by another process: `error` (the port is in
     * stack state, e.g. PostgreSQL's in the Neon stand-in's connection URIs) or `move` (pick a new
     * one; fine when clients always read the port from the file). The caller has already made sure
     * that its own server is not the one listening.
     */
    readonly whenTaken: "error" | "move";
    readonly random?: () => number;
}

function remember(file: string, port: number): void {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(`${file}.tmp`, `${port}\n`);
    fs.renameSync(`${file}.tmp`, file);
}

/**
 * The port to start `service` on: the explicit one, else the remembered one, else a new free one
 * (remembered at once, so every client of this clone finds it). Call it only when the service is
 * not running. A remembered port that another process holds is never shared: it is an error
 * saying how to resolve it, or (`whenTaken: "move"`) a new port.
 */
export async function choosePort(service: PortService, opts: ChooseOptions): Promise<PortChoice> {
    const env = opts.env ?? process.env;
    const explicit = explicitPort(service, env);
    if (explicit !== undefined) return { port: explicit, source: "explicit" };
    const file = portFile(service, env);
    const remembered = rememberedPort(service, env);
    if (remembered !== undefined) {
        if (await portFree(remembered)) return { port: remembered, source: "remembered" };
        if (opts.whenTaken === "error") {
            throw new Error(
                `127.0.0.1:${remembered}, the ${service} port remembered in ${file}, is in use by another process. ` +
                    `Stop that process, or set ${PORT_VARIABLES[service]} to a free port (it is then remembered; ` +
                    "stacks deployed on the old port must be refreshed or redeployed)",
            );
        }
        const port = await pickFreePort(new Set([remembered]), opts.random);
        remember(file, port);
        return { port, source: "new", replaced: remembered };
    }
    const port = await pickFreePort(new Set(), opts.random);
    remember(file, port);
    return { port, source: "new" };
}

if (require.main === module) {
    const [verb, service] = process.argv.slice(2);
    const services = Object.keys(PORT_VARIABLES);
    if (verb !== "choose" || !services.includes(service ?? "")) {
        process.stderr.write(`usage: ports.ts choose ${services.join("|")}\n`);
        process.exit(2);
    }
    const s = service as PortService;
    choosePort(s, { whenTaken: s === "postgres" ? "error" : "move" }).then(
        (c) => {
            if (c.replaced !== undefined) {
                process.stderr.write(
                    `[localcloud ${s}] 127.0.0.1:${c.replaced} is in use by another process: moved to 127.0.0.1:${c.port}\n`,
                );
            } else if (c.source === "new") {
                process.stderr.write(`[localcloud ${s}] picked the free port 127.0.0.1:${c.port} (remembered)\n`);
            }
            process.stdout.write(`${c.port}\n`);
        },
        (e: unknown) => {
            process.stderr.write(`[localcloud ${s}] error: ${e instanceof Error ? e.message : String(e)}\n`);
            process.exit(1);
        },
    );
}
