/**
 * Recovery after an interrupted update, through the project's commands as a user runs them:
 * `npm run up` is killed (SIGKILL, the whole process tree) while the Fly provider is creating a
 * machine; the next `npm run up` is refused with the command that clears the dead lock; after
 * that command, the up converges with no duplicate machine, and the run after it no longer
 * warns about pending operations.
 */
import { spawn } from "child_process";
import { E2E_TIMEOUT_MS, E2EStack, flyAdmin, killTree, REPO_ROOT, running } from "./harness";

jest.setTimeout(E2E_TIMEOUT_MS);

const stack = new E2EStack("recover");
/** The engine's warning about operations a previous update left pending. */
const PENDING_WARNING = /pending operations from previous deployment/;

beforeAll(async () => {
    await stack.init();
    await stack.upOk();
});
afterAll(async () => {
    await flyAdmin("DELETE", `/__emulator/faults?app=${stack.appName}`);
    await stack.remove();
});

/** Starts a shell command in the repository; resolves with its exit code and output. */
function start(command: string): { done: Promise<{ code: number | null; out: string }>; pid: number } {
    const child = spawn("sh", ["-c", command], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const done = new Promise<{ code: number | null; out: string }>((resolve) =>
        child.on("close", (code) => resolve({ code, out })),
    );
    return { done, pid: child.pid! };
}

async function run(command: string): Promise<{ code: number | null; out: string }> {
    return start(command).done;
}

// --no-policy: the policy pack's config is per stack and there is none for e2e stacks (policy.test.ts runs it).
const up = `npm run up -- --stack ${stack.name} --no-policy`;

test("an up killed mid-create is refused next with the command to run, and recovers with it", async () => {
    // The new machine's checks stay critical, so its create waits for them: a create in flight.
    await flyAdmin("POST", "/__emulator/faults", {
        rules: [{ checks: "critical", app: stack.appName, region: "sjc" }],
    });
    await stack.configSet("api.regions.sjc", "3");
    const killed = start(up);
    const newMachine = `${stack.appName}-sjc-3`;
    for (let i = 0; ; i++) {
        const machines = (await stack.inventory())?.machines ?? [];
        if (machines.some((m) => m.name === newMachine)) break;
        if (i > 1200) throw new Error(`no machine ${newMachine} appeared in the emulator within 10 minutes`);
        await new Promise((r) => setTimeout(r, 500));
    }
    const pids = killTree(killed.pid);
    await killed.done;
    // The CLI, the engine, the language host and every plugin (pulumi starts each plugin in a
    // process group of its own, so this is more than the shell's group).
    expect(pids.length).toBeGreaterThan(5);
    for (let i = 0; running(pids).length > 0 && i < 50; i++) await new Promise((r) => setTimeout(r, 100));
    expect(running(pids)).toEqual([]);
    // Killed mid-create: the state records the machine's create as pending.
    expect(await stack.pendingOperations()).toEqual([
        expect.stringMatching(
            new RegExp(`^creating urn:pulumi:${stack.name}::fpsgame-infra::.*fly:index:Machine::api-sjc-3$`),
        ),
    ]);
    await flyAdmin("DELETE", `/__emulator/faults?app=${stack.appName}`);

    const refused = await run(up);
    expect(refused.code).not.toBe(0);
    expect(refused.out).toContain(`stack "${stack.name}" is locked by an update that is no longer running`);
    const fix = /npm run pulumi -- cancel --stack \S+/.exec(refused.out)?.[0];
    expect(fix).toBe(`npm run pulumi -- cancel --stack ${stack.name}`);

    const cancelled = await run(fix!);
    expect(cancelled).toExitZero();

    const recovered = await run(up);
    expect(recovered).toExitZero();
    expect(recovered.out).toMatch(PENDING_WARNING);
    expect(recovered.out).toContain("clearing 1 pending create(s) the provider has confirmed");
    expect(await stack.machinesPerRegion()).toEqual({ iad: 2, sjc: 3 });
    const names = ((await stack.inventory())?.machines ?? []).map((m) => m.name);
    expect(new Set(names).size).toBe(names.length);
    const inEmulator = ((await stack.inventory())?.machines ?? []).map((m) => m.id).sort();
    const inState = (await stack.stateResources("fly:index:Machine")).map((r) => r.id).sort();
    expect(inEmulator).toEqual(inState);

    const next = await run(up);
    expect(next).toExitZero();
    expect(next.out).not.toMatch(PENDING_WARNING);
    expect(next.out).toContain("No changes: the stack already matched its config.");
    expect(await stack.pendingOperations()).toEqual([]);
});
