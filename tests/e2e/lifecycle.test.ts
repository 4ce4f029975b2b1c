/**
 * The operator's loop on the real engine against the local cloud: up from empty, an idle
 * second up, scaling one region, resizing, a new image rolled batch by batch, and a secret
 * rotation that changes only the secret and restarts the machines.
 */
import { randomBytes } from "crypto";
import * as fs from "fs";
import { checkpointDeployment } from "../../ops/backend";
import { PROJECT, upStack } from "../../ops/workspace";
import { E2E_TIMEOUT_MS, E2EStack, flyAdmin, flyRequestMark, flyRequestsSince } from "./harness";

jest.setTimeout(E2E_TIMEOUT_MS);

const stack = new E2EStack("life");
const machineIds = async (): Promise<
    Record<string, { id: string; instance: string; memory: number; image: string }>
> => {
    const app = await stack.inventory();
    return Object.fromEntries(
        (app?.machines ?? []).map((m) => [
            m.name,
            {
                id: m.id,
                instance: (m as unknown as { instance_id: string }).instance_id,
                memory: m.guest.memory_mb,
                image: m.image,
            },
        ]),
    );
};
const shortType = (t?: string) => t ?? "";

beforeAll(async () => {
    await stack.init();
});
afterAll(async () => {
    await stack.remove();
});

test("up from empty creates the whole stack, and the emulator holds two machines in each region", async () => {
    const r = await stack.upOk();
    expect(r.stdout).toMatch(/Resources:\s*\n\s*\+ \d+ created/);
    expect(await stack.machinesPerRegion()).toEqual({ iad: 2, sjc: 2 });
});

test("a second up changes nothing", async () => {
    expect(await stack.previewSteps()).toEqual([]);
    const r = await stack.upOk();
    expect(r.stdout).not.toMatch(/\d+ (created|updated|deleted|replaced)/);
    expect(r.stdout).toMatch(/\d+ unchanged/);
});

test("upStack: one CLI run (the up); its counts are the history entry's, its outputs the stack's", async () => {
    const ps = await stack.stack();
    // Every CLI run of the Automation API goes through PulumiCommand's (undeclared) run(args, …).
    const command = ps.command as unknown as { run(args: string[]): Promise<unknown> };
    const run = jest.spyOn(command, "run");
    try {
        const done = await upStack(ps.stack);
        // The outputs too come without a CLI run: from the checkpoint, the same as the CLI's.
        const outputs = await done.outputs();
        expect(run.mock.calls.map((c) => c[0][0])).toEqual(["up"]);
        expect(outputs).toEqual(await ps.stack.outputs());
        expect(outputs.apiUrl?.value).toMatch(/^https:\/\//);
        const entry = await ps.stack.info();
        expect(done.resourceChanges).toEqual(entry?.resourceChanges);
        expect(done.resourceChanges.same).toBeGreaterThan(20);
    } finally {
        run.mockRestore();
    }
});

test("scaling sjc from 2 to 3 previews exactly one create, and leaves iad untouched", async () => {
    const before = await machineIds();
    await stack.configSet("api.regions.sjc", "3");
    const steps = await stack.previewSteps();
    expect(steps.map((s) => [s.op, shortType(s.type), s.urn.split("::").pop()])).toEqual([
        ["create", "fly:index:Machine", "api-sjc-3"],
    ]);

    await stack.upOk();
    expect(await stack.machinesPerRegion()).toEqual({ iad: 2, sjc: 3 });
    const after = await machineIds();
    for (const name of Object.keys(before)) expect(after[name]).toEqual(before[name]);
});

test("a VM size change updates every machine in place: same ids, new instances, new memory", async () => {
    const before = await machineIds();
    await stack.configSet("api.vm.memoryMb", "1024");
    const steps = await stack.previewSteps();
    expect(new Set(steps.map((s) => `${s.op} ${shortType(s.type)}`))).toEqual(new Set(["update fly:index:Machine"]));
    expect(steps).toHaveLength(5);

    await stack.upOk();
    const after = await machineIds();
    for (const [name, m] of Object.entries(after)) {
        expect(m.id).toBe(before[name].id);
        expect(m.instance).not.toBe(before[name].instance);
        expect(m.memory).toBe(1024);
    }
});

test("an image change rolls the machines one at a time: each is released before the next is updated", async () => {
    const mark = await flyRequestMark();
    await stack.configSet("api.image", "registry.fly.io/fpsgame-api:v1.4.3");
    await stack.upOk();
    const log = await flyRequestsSince(mark);
    const machinePath = new RegExp(`^/v1/apps/${stack.appName}/machines/([0-9a-f]+)(/lease)?$`);
    const events = log
        .map((e) => ({ e, m: machinePath.exec(e.path) }))
        .filter(({ e, m }) => m && ((e.method === "POST" && !m[2]) || (e.method === "DELETE" && m[2])))
        .map(({ e, m }) => `${e.method === "POST" ? "update" : "release"} ${m![1]}`);
    // update A, release A, update B, release B, …: never two machines changing at once.
    expect(events).toHaveLength(10);
    for (let i = 0; i < events.length; i += 2) {
        expect(events[i].startsWith("update ")).toBe(true);
        expect(events[i + 1]).toBe(`release ${events[i].slice("update ".length)}`);
    }
    for (const m of Object.values(await machineIds())) expect(m.image).toBe("registry.fly.io/fpsgame-api:v1.4.3");
});

test("a secret rotation changes only the secret, restarts the machines, and never shows the value in plain text", async () => {
    const oldValue = (await flyAdmin("GET", `/__emulator/secret-values/${stack.appName}`)) as {
        values: Record<string, string>;
        version: number;
    };
    const newValue = `rotated-${randomBytes(16).toString("hex")}`;
    await stack.configSet("jwtSecret", newValue, { secret: true });

    const steps = await stack.previewSteps();
    const kinds = steps.map((s) => `${s.op} ${shortType(s.type)}`);
    expect(new Set(kinds)).toEqual(new Set(["update fly:index:AppSecrets", "update fly:index:Machine"]));
    expect(kinds.filter((k) => k === "update fly:index:AppSecrets")).toHaveLength(1);

    const r = await stack.upOk();
    const now = (await flyAdmin("GET", `/__emulator/secret-values/${stack.appName}`)) as {
        values: Record<string, string>;
        version: number;
    };
    expect(now.values.JWT_SECRET).toBe(newValue);
    expect(now.version).toBeGreaterThan(oldValue.version);
    const app = await stack.inventory();
    for (const m of app!.machines) expect(m.secrets_version).toBe(now.version);

    // The harness reads the state from this file instead of a `pulumi stack export`: the same
    // deployment, secrets encrypted in both.
    const exported = JSON.parse((await stack.ok(["stack", "export"])).stdout) as { deployment: unknown };
    expect(checkpointDeployment(stack.env, PROJECT, stack.name)).toEqual(exported.deployment);
    for (const secret of [oldValue.values.JWT_SECRET, newValue]) {
        expect(fs.readFileSync(stack.stateFile(), "utf8")).not.toContain(secret);
        expect(fs.readFileSync(stack.file, "utf8")).not.toContain(secret);
        expect(r.stdout + r.stderr).not.toContain(secret);
    }
});
