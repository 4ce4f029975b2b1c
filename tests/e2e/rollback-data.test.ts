/**
 * Rollbacks of what a deploy changes beside the machines, on the real engine against the local
 * cloud: the frontend (the stack declares its Vercel production deployment, so a change of its
 * env builds a new one and a rollback redeploys the old ref) and the schema (`--migrate-down`
 * rolls the machines back first and takes the schema down after, the reverse of a deploy), and
 * the refusal of an entry that ran from a checkout with uncommitted changes.
 */
import * as fs from "fs";
import * as path from "path";
import { projectStore as vercelProjects } from "../../localcloud/stand-ins/vercel/resources";
import {
    E2E_TIMEOUT_MS,
    E2EStack,
    flyRequestMark,
    flyRequestsSince,
    historyEntries,
    REPO_ROOT,
    runCommand,
} from "./harness";

jest.setTimeout(E2E_TIMEOUT_MS);

const stack = new E2EStack("rollback-data");
const V1 = "registry.fly.io/fpsgame-api:v1.4.2";
const V2 = "registry.fly.io/fpsgame-api:v2.0.0";
const REF1 = "3f9c2e1a7b4d";
const REF2 = "8d1e4b7c2a9f";

const list = () => historyEntries(stack);
async function newestEntry(): Promise<string> {
    return (await list())[0].id;
}

/** The Vercel project's production deployment, as the stand-in holds it. */
function production(): { id: string; ref?: string; envKeys: string[]; count: number } {
    const p = vercelProjects()
        .list()
        .find((x) => x.name === `fpsgame-web-${stack.name}`);
    const d = p?.deployments.find((x) => x.id === p.productionDeploymentId);
    if (!p || !d) throw new Error(`no production deployment for fpsgame-web-${stack.name}`);
    return { id: d.id, ref: d.ref, envKeys: d.envKeys, count: p.deployments.length };
}

async function schemaVersion(): Promise<number> {
    return Number((await stack.sql<{ v: number }>("SELECT max(version) AS v FROM schemaversion"))[0].v);
}

let first: string;
let firstDeployment: ReturnType<typeof production>;

beforeAll(async () => {
    await stack.init();
    await stack.configSet("frontend.ref", REF1);
    await stack.configSet("database.migrateTo", "2");
    await stack.upOk();
    first = await newestEntry();
    firstDeployment = production();
});
afterAll(() => stack.remove());

test("a change to the frontend's env builds a new production deployment of the same ref", async () => {
    expect(firstDeployment.ref).toBe(REF1);
    expect(firstDeployment.envKeys).toEqual(["VITE_API_URL", "VITE_WS_URL"]);
    await stack.configSet("frontend.apiUrlEnvKey", "VITE_API_BASE_URL");
    await stack.upOk();
    const d = production();
    expect(d.id).not.toBe(firstDeployment.id);
    expect(d.ref).toBe(REF1);
    expect(d.envKeys).toEqual(["VITE_API_BASE_URL", "VITE_WS_URL"]);
    // Vercel keeps the earlier deployments: that is what an instant rollback would alias again.
    expect(d.count).toBe(firstDeployment.count + 1);
});

test("rollback --migrate-down: the machines and the frontend go back first, the schema after", async () => {
    await stack.configSet("frontend.ref", REF2);
    await stack.configSet("api.image", V2);
    await stack.configRemove("database.migrateTo");
    await stack.upOk();
    expect(await schemaVersion()).toBe(3);
    expect(production().ref).toBe(REF2);

    const mark = await flyRequestMark();
    const r = await runCommand("rollback", stack.name, [
        "--no-policy",
        "--to",
        first,
        "--migrate-down",
        "--yes",
        "--json",
        "--allow-dirty",
    ]);
    expect({ code: r.code, stderr: r.code === 0 ? "" : r.stderr }).toEqual({ code: 0, stderr: "" });
    const summary = JSON.parse(r.stdout) as {
        to: { id: string };
        migrations: { currentVersion: number; targetVersion: number; migratedDown: boolean; staysApplied: number[] };
        configChanges: { key: string; from?: unknown; to?: unknown }[];
    };
    expect(summary.to.id).toBe(first);
    expect(summary.migrations).toEqual({ currentVersion: 3, targetVersion: 2, migratedDown: true, staysApplied: [] });
    expect(summary.configChanges).toEqual(
        expect.arrayContaining([
            { key: "fpsgame-infra:api.image", from: V2, to: V1 },
            { key: "fpsgame-infra:frontend.ref", from: REF2, to: REF1 },
        ]),
    );

    // The machines run v1, the frontend's production deployment is REF1's again, with its env.
    expect(((await stack.inventory())?.machines ?? []).map((m) => m.image)).toEqual(Array(4).fill(V1));
    const d = production();
    expect(d.ref).toBe(REF1);
    expect(d.envKeys).toEqual(["VITE_API_URL", "VITE_WS_URL"]);
    expect(await schemaVersion()).toBe(2);

    // Order: every machine update of the rollback was answered before migration 3 was undone (the
    // emulator's log is shared with the other test files: only this stack's app counts).
    const updates = (await flyRequestsSince(mark)).filter(
        (q) =>
            q.method === "POST" &&
            q.path.startsWith(`/v1/apps/${stack.appName}/machines/`) &&
            /^\/v1\/apps\/[^/]+\/machines\/[^/]+$/.test(q.path) &&
            q.status === 200,
    );
    expect(updates).toHaveLength(4);
    const [undo] = await stack.sql<{ at: Date }>(
        "SELECT at FROM schema_migration_log WHERE action = 'undo' AND version = 3 ORDER BY id DESC LIMIT 1",
    );
    expect(undo).toBeDefined();
    for (const u of updates) expect(new Date(u.at).getTime()).toBeLessThan(undo.at.getTime());
});

test("an entry that ran from a checkout with uncommitted changes is refused without --allow-dirty, and nothing changes", async () => {
    // An untracked file makes the checkout dirty for git, so the engine records git.dirty.
    const marker = path.join(REPO_ROOT, `uncommitted-${stack.name}.txt`);
    fs.writeFileSync(marker, "makes the checkout dirty for one update\n");
    try {
        await stack.configSet("api.env.MOTD", "from a dirty checkout");
        await stack.upOk();
    } finally {
        fs.rmSync(marker, { force: true });
    }
    const [dirty] = await list();
    expect(dirty.dirty).toBe(true);
    await stack.configRemove("api.env.MOTD");
    await stack.upOk();

    const snapshot = async () => ({
        machines: ((await stack.inventory())?.machines ?? []).map((m) => `${m.id} ${m.instance_id} ${m.image}`).sort(),
        state: (await stack.stateResources("fly:index:Machine"))
            .map((r) => `${r.id} ${String(r.outputs.image)}`)
            .sort(),
        stackFile: fs.readFileSync(stack.file, "utf8"),
        schema: await schemaVersion(),
        deployment: production().id,
    });
    const before = await snapshot();
    const r = await runCommand("rollback", stack.name, ["--no-policy", "--to", dirty.id, "--yes"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
        `rollback refused: entry ${dirty.id} ran from a checkout with uncommitted changes (git.dirty)`,
    );
    expect(await snapshot()).toEqual(before);
});
