/**
 * The runbook's operations as commands (`npm run status|backup|scale|rotate|deploy`), run as an
 * operator runs them against the local cloud on the real engine: each edit is a config diff, and
 * `--up` applies it with the health gate.
 */
import * as fs from "fs";
import { CommandResult, E2E_TIMEOUT_MS, E2EStack, flyAdmin, runCommand } from "./harness";

jest.setTimeout(E2E_TIMEOUT_MS);

const stack = new E2EStack("runbook");

/** `npm run <name> -- --stack <stack> --no-policy <args>`, as an operator runs it. */
function command(name: string, ...args: string[]): Promise<CommandResult> {
    return runCommand(name, stack.name, ["--no-policy", ...args]);
}

async function jwtSecret(): Promise<string> {
    const r = (await flyAdmin("GET", `/__emulator/secret-values/${stack.appName}`)) as {
        values: Record<string, string>;
    };
    return r.values.JWT_SECRET;
}

beforeAll(async () => {
    await stack.init();
    await stack.upOk();
});
afterAll(async () => {
    await stack.remove();
});

test("status: machines per region with state, image and checks; the last update; the schema", async () => {
    const r = await command("status");
    expect(r).toExitZero();
    expect(r.stdout).toContain(`Stack ${stack.name}: app ${stack.appName}`);
    for (const region of ["iad", "sjc"]) {
        expect(r.stdout).toContain(
            `  ${region}: 2 machine(s), 2 started; image registry.fly.io/fpsgame-api:v1.4.2; checks passing 2/2 2/2`,
        );
    }
    expect(r.stdout).toMatch(/ {2}last update: h[0-9a-f]{10} \S+ update succeeded/);
    expect(r.stdout).toContain("  schema: schema moved from version 0 to 3 (do 1, do 2, do 3)");
});

test("backup: a pg_dump of the database with its tables, mode 600", async () => {
    const r = await command("backup");
    expect(r).toExitZero();
    const file = /backup written: (\S+) \(/.exec(r.stderr)?.[1];
    expect(file).toBeDefined();
    const dump = fs.readFileSync(file!, "utf8");
    expect(dump).toContain("CREATE TABLE public.players");
    expect(dump).toContain("CREATE TABLE public.match_players");
    expect(fs.statSync(file!).mode & 0o777).toBe(0o600);
    fs.rmSync(file!);
});

test("scale without --up is a config edit only; with --up it is applied and gated", async () => {
    const edit = await command("scale", "--region", "sjc", "--count", "3");
    expect(edit).toExitZero();
    expect(edit.stderr).toContain(`Pulumi.${stack.name}.yaml: api.regions.sjc = 3`);
    expect(edit.stderr).toContain("Next: commit it and open a pull request");
    expect(await stack.machinesPerRegion()).toEqual({ iad: 2, sjc: 2 });
    expect((await stack.previewSteps()).map((s) => [s.op, s.type, s.urn.split("::").pop()])).toEqual([
        ["create", "fly:index:Machine", "api-sjc-3"],
    ]);

    const applied = await command("scale", "--region", "sjc", "--count", "3", "--up", "--gate-window", "1");
    expect(applied).toExitZero();
    expect(applied.stderr).toContain("health gate passed.");
    expect(await stack.machinesPerRegion()).toEqual({ iad: 2, sjc: 3 });
});

test("rotate: a new random JWT secret reaches the machines, shown nowhere; a bad image is refused with nothing changed", async () => {
    const before = await jwtSecret();
    const r = await command("rotate", "--secret", "jwtSecret", "--up", "--gate-window", "1");
    expect(r).toExitZero();
    expect(r.stderr).toContain(`Pulumi.${stack.name}.yaml: jwtSecret = [secret, new value]`);
    const after = await jwtSecret();
    expect(after).not.toBe(before);
    expect(after).toMatch(/^[A-Za-z0-9_-]{64}$/);
    expect(r.stdout + r.stderr).not.toContain(after);
    expect(fs.readFileSync(stack.file, "utf8")).not.toContain(after);

    const file = fs.readFileSync(stack.file, "utf8");
    const bad = await command("deploy", "--image", "fpsgame-api");
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('error: --image "fpsgame-api": allowed is an image reference with a tag or digest');
    expect(fs.readFileSync(stack.file, "utf8")).toBe(file);
});
