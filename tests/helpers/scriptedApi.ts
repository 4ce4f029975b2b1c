/**
 * A tiny HTTP server standing in for a service's API in the unit tests of the scripts the engine
 * runs (ops/rotate-password.ts, ops/neon-connection-uri.ts): it records every request and answers
 * each with the next scripted answer (the last one repeats), so a test says what the API does
 * and asserts what the script asked.
 */
import * as http from "http";
import { AddressInfo } from "net";

/** A request the server received. */
export interface Seen {
    method: string;
    url: string;
    authorization?: string;
}

/** One scripted answer per request, in order; the last repeats. `hang-up` drops the connection. */
export type Answer = { status: number; body?: unknown } | "hang-up";

export class ScriptedApi {
    seen: Seen[] = [];
    answers: Answer[] = [];
    /** `http://127.0.0.1:<port>`, once started. */
    host = "";
    private server?: http.Server;

    async start(): Promise<void> {
        this.server = http.createServer((req, res) => {
            this.seen.push({ method: req.method ?? "", url: req.url ?? "", authorization: req.headers.authorization });
            req.resume();
            req.on("end", () => {
                const a: Answer = (this.answers.length > 1 ? this.answers.shift() : this.answers[0]) ?? {
                    // A test that scripted nothing sees this in the script's error.
                    status: 418,
                    body: { message: `no answer scripted for ${req.method} ${req.url}` },
                };
                if (a === "hang-up") {
                    req.socket.destroy();
                    return;
                }
                res.writeHead(a.status, { "content-type": "application/json" });
                res.end(JSON.stringify(a.body ?? {}));
            });
        });
        const server = this.server;
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        this.host = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    }

    stop(): Promise<void> {
        const server = this.server;
        if (!server) return Promise.resolve();
        // Kept-alive connections would hold the test worker open.
        server.closeAllConnections();
        return new Promise<void>((resolve) => server.close(() => resolve()));
    }

    /** Forgets the requests and the answers (between tests). */
    reset(): void {
        this.seen = [];
        this.answers = [];
    }
}
