/**
 * Failure on the real engine: a capacity refusal from Fly that outlasts the provider's retries
 * fails the up with a message naming the region and what to do, and changes nothing else; the
 * next up converges with no orphaned machine. An up while another holds the stack's lock: the
 * backend refuses it.
 */
import { E2E_TIMEOUT_MS, E2EStack, flyAdmin } from "./harness";

jest.setTimeout(E2E_TIMEOUT_MS);

const stack = new E2EStack("faults");

beforeAll(async () => {
    await stack.init();
    // The checks test below waits only 10 s; the config refuses a grace period the wait cannot outlast.
    await stack.configSet("api.checks.gracePeriod", "2s");
    await stack.upOk();
});
afterAll(async () => {
    await flyAdmin("DELETE", `/__emulator/faults?app=${stack.appName}`);
    await stack.remove();
});

/** Machine ids in the emulator vs. in the stack's state. */
async function inventoryMatchesState(): Promise<void> {
    const inEmulator = ((await stack.inventory())?.machines ?? []).map((m) => m.id).sort();
    const inState = (await stack.stateResources("fly:index:Machine")).map((r) => r.id).sort();
    expect(inEmulator).toEqual(inState);
}

test("insufficient capacity in iad that outlasts the retries fails the up naming the region, and the next up converges without orphans", async () => {
    await flyAdmin("POST", "/__emulator/faults", {
        rules: [
            {
                app: stack.appName,
                method: "POST",
                path: `^/v1/apps/${stack.appName}/machines$`,
                region: "iad",
                error: "insufficient_capacity",
                message: "no capacity in iad",
                // The first try and the provider's two retries (CAPACITY_RETRIES).
                times: 3,
            },
        ],
    });
    await stack.configSet("api.regions.iad", "3");
    const failed = await stack.up();
    expect(failed.code).not.toBe(0);
    const out = failed.stdout + failed.stderr;
    expect(out).toContain(
        `Fly: region "iad" has no capacity for machine "${stack.appName}-iad-3" in app "${stack.appName}" (shared-cpu-1x, 512 MB), refused 3 time(s)`,
    );
    expect(out).toContain(
        `Fly API: create machine "${stack.appName}-iad-3" in app "${stack.appName}" failed: 412 insufficient_capacity: no capacity in iad`,
    );
    expect(out).toContain("nothing was created for it");
    expect(out).toContain("move this region's machines to another region in api.regions");
    expect(await stack.machinesPerRegion()).toEqual({ iad: 2, sjc: 2 });
    await inventoryMatchesState();

    await stack.upOk();
    expect(await stack.machinesPerRegion()).toEqual({ iad: 3, sjc: 2 });
    await inventoryMatchesState();
});

test("machines whose checks fail are destroyed by the failed create, and the retry converges", async () => {
    await flyAdmin("POST", "/__emulator/faults", {
        rules: [{ checks: "critical", app: stack.appName, region: "sjc" }],
    });
    await stack.configSet("api.regions.sjc", "3");
    await stack.configSet("api.checks.waitTimeoutSeconds", "10");
    const failed = await stack.up();
    expect(failed.code).not.toBe(0);
    expect(failed.stdout + failed.stderr).toMatch(/did not pass its health checks within \d+s/);
    await inventoryMatchesState();

    await flyAdmin("DELETE", `/__emulator/faults?app=${stack.appName}`);
    await stack.upOk();
    expect(await stack.machinesPerRegion()).toEqual({ iad: 3, sjc: 3 });
    await inventoryMatchesState();
});

test("an up while another up holds the stack's lock is refused, and the first succeeds", async () => {
    await stack.configSet("api.env.MOTD", "concurrent");
    // The second starts once the first holds the lock: two started at the same instant can
    // both be refused, since the file backend's lock writes its own file, then gives up when it
    // sees another's (both see each other's).
    const first = stack.up();
    await stack.lockTaken();
    const second = await stack.up();
    const done = await first;
    expect(second.code).not.toBe(0);
    expect(second.stdout + second.stderr).toMatch(/currently locked/);
    expect(done.code).toBe(0);
    await inventoryMatchesState();
});
