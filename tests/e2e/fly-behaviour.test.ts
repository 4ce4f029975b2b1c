/**
 * The Fly provider on the real engine against Fly's behaviour as the emulator plays it: health
 * checks that report only after their grace period and interval (at the local cloud's time factor),
 * a failing check that halts a rollout, a capacity refusal of an update, Fly's rate limits met by a
 * burst of creates, and a certificate that stays pending until its DNS is valid.
 */
import { E2E_TIMEOUT_MS, E2EStack, flyAdmin, flyRequestMark, flyRequestsSince, LoggedRequest } from "./harness";

jest.setTimeout(E2E_TIMEOUT_MS);

const stack = new E2EStack("flybehaviour");

/** This app's requests in the emulator's log after `mark`. */
async function appRequestsSince(mark: number): Promise<LoggedRequest[]> {
    const all = await flyRequestsSince(mark);
    return all.filter((r) => r.path.startsWith(`/v1/apps/${stack.appName}/`) || r.path === `/v1/apps/${stack.appName}`);
}

/** Machine ids and images in the emulator vs. in the stack's state. */
async function inventoryMatchesState(): Promise<void> {
    const inEmulator = ((await stack.inventory())?.machines ?? []).map((m) => `${m.name} ${m.image}`).sort();
    const inState = (await stack.stateResources("fly:index:Machine"))
        .map((r) => `${String(r.outputs.name)} ${String(r.outputs.image)}`)
        .sort();
    expect(inEmulator).toEqual(inState);
}

async function images(): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const m of (await stack.inventory())?.machines ?? []) out[m.name.replace(`${stack.appName}-`, "")] = m.image;
    return out;
}

beforeAll(async () => {
    await stack.init();
    // Slow checks: 20 s of grace and a 10 s interval are 1.5 s at the local cloud's time factor (0.05).
    await stack.configSet("api.checks.gracePeriod", "20s");
    await stack.configSet("api.checks.interval", "10s");
    await stack.upOk();
});
afterAll(async () => {
    await flyAdmin("DELETE", `/__emulator/faults?app=${stack.appName}`);
    await stack.remove();
});

test("a rollout waits for checks that report only after their grace period and interval, and says so", async () => {
    await stack.configSet("api.image", "registry.fly.io/fpsgame-api:v1.5.0");
    const started = Date.now();
    const r = await stack.upOk();
    const out = r.stdout + r.stderr;
    // Every machine showed no result first, then all its checks passing.
    for (const name of ["sjc-1", "sjc-2", "iad-1", "iad-2"]) {
        expect(out).toMatch(
            new RegExp(
                `machine "${stack.appName}-${name}" \\([0-9a-f]+\\) in app "${stack.appName}": waiting for health checks: 0/2 passing; 2 with no result yet`,
            ),
        );
        expect(out).toMatch(
            new RegExp(
                `machine "${stack.appName}-${name}" \\([0-9a-f]+\\) in app "${stack.appName}": health checks 2/2 passing`,
            ),
        );
    }
    // One machine at a time, each waiting at least 1.5 s for its first results.
    expect(Date.now() - started).toBeGreaterThan(4 * 1500);
    expect(Object.values(await images())).toEqual(Array(4).fill("registry.fly.io/fpsgame-api:v1.5.0"));
    await inventoryMatchesState();
});

test("a failing check halts the rollout at the first sick machine; the rest keep the old image, and the next up converges", async () => {
    await stack.configSet("api.checks.gracePeriod", "2s");
    await stack.configSet("api.checks.waitTimeoutSeconds", "10");
    await stack.upOk();
    await flyAdmin("POST", "/__emulator/faults", {
        rules: [{ checks: "critical", app: stack.appName, region: "sjc" }],
    });
    await stack.configSet("api.image", "registry.fly.io/fpsgame-api:v1.6.0");
    const failed = await stack.up();
    expect(failed.code).not.toBe(0);
    expect(failed.stdout + failed.stderr).toMatch(
        new RegExp(
            `machine "${stack.appName}-sjc-1" \\([0-9a-f]+\\) in app "${stack.appName}" did not pass its health checks within 10s: 0/2 passing; servicecheck-00-http-8080 critical`,
        ),
    );
    // The rollout order interleaves regions (iad-1, sjc-1, iad-2, sjc-2), one at a time: it
    // stopped at sjc-1, so the two after it were never touched.
    expect(await images()).toEqual({
        "iad-1": "registry.fly.io/fpsgame-api:v1.6.0",
        "sjc-1": "registry.fly.io/fpsgame-api:v1.6.0",
        "iad-2": "registry.fly.io/fpsgame-api:v1.5.0",
        "sjc-2": "registry.fly.io/fpsgame-api:v1.5.0",
    });
    // The state still records sjc-1's old image (its update failed), so the next up updates it again.
    const sjc1 = (await stack.stateResources("fly:index:Machine")).find(
        (x) => x.outputs.name === `${stack.appName}-sjc-1`,
    );
    expect(sjc1?.outputs.image).toBe("registry.fly.io/fpsgame-api:v1.5.0");

    await flyAdmin("DELETE", `/__emulator/faults?app=${stack.appName}`);
    await stack.upOk();
    expect(Object.values(await images())).toEqual(Array(4).fill("registry.fly.io/fpsgame-api:v1.6.0"));
    await inventoryMatchesState();
});

test("a capacity refusal of an update in one region fails with the region and what to do, changes nothing there, and the next up converges", async () => {
    const iad2 = ((await stack.inventory())?.machines ?? []).find((m) => m.name === `${stack.appName}-iad-2`)!;
    const mark = await flyRequestMark();
    await flyAdmin("POST", "/__emulator/faults", {
        rules: [
            // The first try and the provider's two retries (CAPACITY_RETRIES) are refused.
            {
                app: stack.appName,
                method: "POST",
                path: `/machines/${iad2.id}$`,
                error: "insufficient_capacity",
                times: 3,
            },
        ],
    });
    await stack.configSet("api.vm.memoryMb", "768");
    const failed = await stack.up();
    expect(failed.code).not.toBe(0);
    const out = failed.stdout + failed.stderr;
    expect(out).toContain(`no capacity in region "iad" for the update of machine "${stack.appName}-iad-2"`);
    expect(out).toContain(
        `Fly: region "iad" has no capacity for machine "${stack.appName}-iad-2" in app "${stack.appName}" (shared-cpu-1x, 768 MB), refused 3 time(s)`,
    );
    expect(out).toContain("409: aborted: could not reserve resource for machine");
    expect(out).toContain("the machine keeps its previous config and keeps serving");
    // Never taken for a name clash: the provider created nothing in its place.
    const mine = await appRequestsSince(mark);
    expect(mine.filter((r) => r.method === "POST" && r.path.endsWith("/machines"))).toEqual([]);
    expect(mine.filter((r) => r.status === 409)).toHaveLength(3);
    const after = ((await stack.inventory())?.machines ?? []).find((m) => m.id === iad2.id)!;
    expect(after.guest).toMatchObject({ memory_mb: 512 });
    expect(after.instance_id).toBe(iad2.instance_id);

    await stack.upOk();
    for (const m of (await stack.inventory())?.machines ?? []) expect(m.guest).toMatchObject({ memory_mb: 768 });
    await inventoryMatchesState();
});

test("a burst of creates meets Fly's rate limits (429) and still converges with no duplicate", async () => {
    const mark = await flyRequestMark();
    // All new machines at once: four creates in one app, each listing the app's machines first.
    await stack.configSet("api.rollout.maxParallel", "8");
    await stack.configSet("api.regions.sjc", "6");
    const r = await stack.upOk();
    const limited = (await appRequestsSince(mark)).filter((x) => x.status === 429).length;
    expect(limited).toBeGreaterThan(0);
    expect(r.stdout + r.stderr).toMatch(/rate limited by Fly \(429\); retry \d+/);
    expect(await stack.machinesPerRegion()).toEqual({ sjc: 6, iad: 2 });
    const names = ((await stack.inventory())?.machines ?? []).map((m) => m.name);
    expect(new Set(names).size).toBe(names.length);
    await inventoryMatchesState();
});

test("a certificate stays pending, with the DNS records to create, until its DNS is valid; a refresh then records it active", async () => {
    const host = `${stack.name}.fpsgame.localhost`;
    // The emulator keeps DNS like the world does, across runs: start from a name that does not resolve.
    await flyAdmin("POST", "/__emulator/dns", { hostname: host, valid: false });
    await stack.configSet("api.customDomain", host);
    const r = await stack.upOk();
    expect(r.stdout + r.stderr).toContain(
        `certificate for "${host}" in app "${stack.appName}" is pending_validation: Fly issues it once these DNS records exist: CNAME ${host} -> ${stack.appName}.fly.dev`,
    );
    const [pending] = await stack.stateResources("fly:index:Certificate");
    expect(pending.outputs).toMatchObject({ status: "pending_validation", configured: false });
    expect(pending.outputs.dnsRecords).toContain(`CNAME ${host} -> ${stack.appName}.fly.dev`);
    expect((await stack.inventory())?.certificates).toEqual([{ hostname: host, status: "pending_validation" }]);

    await flyAdmin("POST", "/__emulator/dns", { hostname: host });
    // Issued after the emulator's issuance delay; the refresh reads it.
    await new Promise((resolve) => setTimeout(resolve, 500));
    await stack.ok(["refresh", "--yes", "--skip-preview"]);
    const [active] = await stack.stateResources("fly:index:Certificate");
    expect(active.outputs).toMatchObject({ status: "active", configured: true, dnsRecords: [] });
    expect((await stack.inventory())?.certificates).toEqual([{ hostname: host, status: "active" }]);
});
