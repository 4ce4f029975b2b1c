/**
 * The local PostgreSQL and Redis as every local command finds them: each command runs
 * `services.sh start`, often while others read the files that start writes (the port files, the
 * servers' TLS copies that a Redis instance the Upstash stand-in starts reads). A start while
 * they run must leave those files as they are, not rewrite them in place; and a command that
 * finds both answering skips the scripts.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { localcloudPaths, redisAdminUrl, redisAnswers } from "../../localcloud/services/env";
import { REPO_ROOT, runCli } from "./harness";

const SERVICES = path.join(REPO_ROOT, "localcloud", "services", "services.sh");

/** Each file's inode, size and modification time: what a rewrite in place or a replacement changes. */
function stamps(files: string[]): Record<string, string> {
    return Object.fromEntries(
        files.map((f) => {
            const s = fs.statSync(f);
            return [path.relative(REPO_ROOT, f), `${s.ino}/${s.size}/${s.mtimeMs}`];
        }),
    );
}

test("a start while the services run rewrites none of the files that other commands read", () => {
    const p = localcloudPaths();
    const tls = (dir: string) => ["server.pem", "server-key.pem", "ca.pem"].map((f) => path.join(dir, "tls", f));
    const files = [path.join(p.pgDir, "port"), path.join(p.redisDir, "port"), ...tls(p.pgDir), ...tls(p.redisDir)];
    execFileSync(SERVICES, ["start"], { stdio: "ignore" });
    const before = stamps(files);
    execFileSync(SERVICES, ["start"], { stdio: "ignore" });
    expect(stamps(files)).toEqual(before);
});

test("a command that finds PostgreSQL and Redis answering runs no service script", async () => {
    const r = await runCli(["localcloud", "start"]);
    expect(r).toExitZero();
    expect(r.stderr).toContain("PostgreSQL and Redis already answer on loopback");
    expect(r.stderr).not.toContain("[localcloud services]");
    expect(r.stderr).not.toContain("[localcloud postgres]");
    expect(r.stderr).not.toContain("[localcloud redis]");
});

test("the Redis check: true for the admin login, false for a wrong password, a port with nothing on it, or a server that is not Redis", async () => {
    const url = redisAdminUrl();
    expect(await redisAnswers(url)).toBe(true);
    expect(await redisAnswers(url.replace(/:[^:@/]+@/, ":not-the-password@"))).toBe(false);
    expect(await redisAnswers(url.replace(/:\d+$/, ":1"))).toBe(false);
    // PostgreSQL answers no TLS handshake that does not follow its own protocol's SSL request.
    const pgPort = fs.readFileSync(path.join(localcloudPaths().pgDir, "port"), "utf8").trim();
    expect(await redisAnswers(url.replace(/:\d+$/, `:${pgPort}`), 3000)).toBe(false);
});
