/**
 * Teardown on the real engine: a protected database refuses deletion; once unprotected,
 * destroying a throwaway stack leaves nothing behind in the Fly emulator, PostgreSQL,
 * Redis or the Vercel stand-in.
 */
import { E2E_TIMEOUT_MS, E2EStack, pgNames, portOpen, vercelRecords } from "./harness";

jest.setTimeout(E2E_TIMEOUT_MS);

const stack = new E2EStack("destroy");

afterAll(async () => {
    await stack.configSet("database.protect", "false").catch(() => undefined);
    await stack.remove();
});

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
    expect(await stack.destroy()).toExitZero();

    expect(await stack.inventory()).toBeUndefined();
    expect(await pgNames(branchId, neonProject.id)).toEqual({ databases: [], roles: [] });
    expect(await portOpen(redisPort)).toBe(false);
    expect(vercelRecords(vercelProject.id)).toEqual([]);
    expect(await stack.stateResources("fly:index:Machine")).toEqual([]);
});
