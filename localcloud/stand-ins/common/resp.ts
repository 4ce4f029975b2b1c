/**
 * A minimal Redis client (RESP2 over TLS) for the stand-ins' admin work: AUTH, PING, CONFIG
 * SET, DBSIZE, SHUTDOWN. Errors never contain the password.
 */
import * as fs from "node:fs";
import * as tls from "node:tls";

export interface RedisTarget {
    readonly host: string;
    readonly port: number;
    /** PEM file of the CA that signed the server certificate. */
    readonly caFile: string;
    readonly user: string;
    readonly password: string;
}

export class RedisReplyError extends Error {}

type Reply = string | number | null | Reply[] | RedisReplyError;

/** Parses one reply from buf at offset; returns undefined when more bytes are needed. */
export function parseReply(buf: Buffer, offset = 0): { value: Reply; next: number } | undefined {
    if (offset >= buf.length) return undefined;
    const eol = buf.indexOf("\r\n", offset);
    if (eol < 0) return undefined;
    const kind = String.fromCharCode(buf[offset]);
    const line = buf.toString("utf8", offset + 1, eol);
    const after = eol + 2;
    switch (kind) {
        case "+":
            return { value: line, next: after };
        case "-":
            return { value: new RedisReplyError(line), next: after };
        case ":":
            return { value: Number(line), next: after };
        case "$": {
            const len = Number(line);
            if (len < 0) return { value: null, next: after };
            if (buf.length < after + len + 2) return undefined;
            return { value: buf.toString("utf8", after, after + len), next: after + len + 2 };
        }
        case "*": {
            const n = Number(line);
            if (n < 0) return { value: null, next: after };
            const items: Reply[] = [];
            let pos = after;
            for (let i = 0; i < n; i++) {
                const r = parseReply(buf, pos);
                if (!r) return undefined;
                items.push(r.value);
                pos = r.next;
            }
            return { value: items, next: pos };
        }
        default:
            throw new Error(`unexpected Redis reply type ${JSON.stringify(kind)}`);
    }
}

export function encodeCommand(args: readonly string[]): Buffer {
    const parts = [`*${args.length}\r\n`];
    for (const a of args) parts.push(`$${Buffer.byteLength(a)}\r\n${a}\r\n`);
    return Buffer.from(parts.join(""));
}

/**
 * Connects, authenticates, runs the commands in order and disconnects. A command whose reply
 * is an error rejects (after AUTH: "authentication failed"). With `expectClose`, the last
 * command may end the connection instead of replying (SHUTDOWN).
 */
export async function redisCommands(
    target: RedisTarget,
    commands: readonly (readonly string[])[],
    opts: { expectClose?: boolean; timeoutMs?: number } = {},
): Promise<Reply[]> {
    const ca = fs.readFileSync(target.caFile);
    const all = [["AUTH", target.user, target.password], ...commands];
    return new Promise<Reply[]>((resolve, reject) => {
        const socket = tls.connect({
            host: target.host,
            port: target.port,
            ca,
            servername: target.host === "127.0.0.1" ? undefined : target.host,
        });
        let buf = Buffer.alloc(0);
        const replies: Reply[] = [];
        let settled = false;
        const finish = (err?: Error) => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            socket.destroy();
            if (err) reject(err);
            else resolve(replies.slice(1));
        };
        const timer = setTimeout(
            () => finish(new Error(`Redis at ${target.host}:${target.port} did not answer in time`)),
            opts.timeoutMs ?? 10_000,
        );
        socket.on("secureConnect", () => {
            for (const c of all) socket.write(encodeCommand(c));
        });
        socket.on("data", (chunk: Buffer) => {
            buf = Buffer.concat([buf, chunk]);
            for (;;) {
                const r = parseReply(buf);
                if (!r) break;
                buf = buf.subarray(r.next);
                if (r.value instanceof RedisReplyError) {
                    const which = replies.length === 0 ? "AUTH" : all[replies.length][0];
                    finish(
                        new RedisReplyError(
                            which === "AUTH"
                                ? `Redis authentication as ${target.user} failed: ${r.value.message}`
                                : `Redis ${which} failed: ${r.value.message}`,
                        ),
                    );
                    return;
                }
                replies.push(r.value);
                if (replies.length === all.length) {
                    finish();
                    return;
                }
            }
        });
        socket.on("error", (e) => finish(new Error(`Redis at ${target.host}:${target.port}: ${e.message}`)));
        socket.on("close", () => {
            if (opts.expectClose && replies.length === all.length - 1) finish();
            else finish(new Error(`Redis at ${target.host}:${target.port} closed the connection`));
        });
    });
}
