/**
 * Teardown on the real engine: a protected database refuses deletion; once unprotected,
 * destroying a throwaway stack leaves nothing behind in the Fly emulator, PostgreSQL,
 * Redis or the Vercel stand-in.
 */
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { Client } from "pg";
import { localcloudPaths, pgAdminUrl } from "../../localcloud/services/env";
import { clientConnectionString } from "../../migrations/runner";
import { E2E_TIMEOUT_MS, E2EStack } from "./harness";

jest.setTimeout(E2E_TIMEOUT_MS);

const stack = new E2EStack("destroy");

afterAll(async () => {
    await stack.configSet("database.protect", "false").catch(() => undefined);
    await stack.remove();
});

async function pgNames(branchId: string, projectId: string): Promise<{ databases: string[]; roles: string[] }> {
    const c = new Client({ connectionString: clientConnectionString(pgAdminUrl()) });
    await c.connect();
    try {
        const d = await c.query<{ datname: string }>("SELECT datname FROM pg_database WHERE starts_with(datname, $1)", [
            `${branchId}.`,
        ]);
        const r = await c.query<{ rolname: string }>("SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1)", [
            `${projectId}.`,
        ]);
        return { databases: d.rows.map((x) => x.datname), roles: r.rows.map((x) => x.rolname) };
    } finally {
        await c.end();
    }
}

function portOpen(port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const s = net.connect({ host: "127.0.0.1", port }, () => {
            s.destroy();
            resolve(true);
        });
        s.on("error", () => resolve(false));
    });
}

/** Files of the Vercel stand-in that mention the project id. */
function vercelRecords(projectId: string): string[] {
    const dir = path.join(localcloudPaths().stateDir, "vercel");
    if (!fs.existsSync(dir)) return [];
    const out: string[] = [];
    const walk = (d: string) => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
            const p = path.join(d, e.name);
            if (e.isDirectory()) walk(p);
            else if (fs.readFileSync(p, "utf8").includes(projectId)) out.push(p);
        }
    };
    walk(dir);
    return out;
}

test("a protected database refuses deletion; unprotected, destroy leaves nothing behind", async () => {
    await stack.init();
    await stack.configSet("database.protect", "true");
    await stack.upOk();

    const [neonProject] = await stack.stateResources("neon:index/project:Project");
    const [redis] = await stack.stateResources("upstash:index/redisDatabase:RedisDatabase");
    const [vercelProject] = await stack.stateResources("vercel:index/project:Project");
    const branchId = String(neonProject.outputs.defaultBranchId);
    const redisPort = Number(redis.outputs.port);
    expect((await pgNames(branchId, neonProject.id)).databases).toEqual([`${branchId}.fpsgame`]);
    expect(await portOpen(redisPort)).toBe(true);
    expect(vercelRecords(vercelProject.id).length).toBeGreaterThan(0);

    const refused = await stack.destroy();
    expect(refused.code).not.toBe(0);
    // The engine still deletes the unprotected resources; the protected project (and its data) stays.
    expect(refused.stdout + refused.stderr).toMatch(/db-project\\?"? cannot be deleted\s+because it is protected/);
    expect((await pgNames(branchId, neonProject.id)).databases).toEqual([`${branchId}.fpsgame`]);

    await stack.configSet("database.protect", "false");
    await stack.upOk();
    expect((await stack.destroy()).code).toBe(0);

    expect(await stack.inventory()).toBeUndefined();
    expect(await pgNames(branchId, neonProject.id)).toEqual({ databases: [], roles: [] });
    expect(await portOpen(redisPort)).toBe(false);
    expect(vercelRecords(vercelProject.id)).toEqual([]);
    expect(await stack.stateResources("fly:index:Machine")).toEqual([]);
});
