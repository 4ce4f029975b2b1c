/**
 * The policy pack on the real engine, with the local stack's policy config: the stack as
 * configured passes; an edit that breaks a mandatory policy is refused with its message and
 * nothing is deployed; an advisory violation is reported and does not block.
 */
import * as fs from "fs";
import { E2E_TIMEOUT_MS, E2EStack } from "./harness";

jest.setTimeout(E2E_TIMEOUT_MS);

const stack = new E2EStack("policy");

beforeAll(async () => {
    await stack.init();
});
afterAll(async () => {
    await stack.remove();
});

async function previewWithPolicy(): Promise<{ code: number; out: string }> {
    const r = await stack.preview({ policy: true });
    return { code: r.code, out: r.stdout + r.stderr };
}

test("the local stack as configured passes the pack and deploys with it", async () => {
    const p = await previewWithPolicy();
    expect(p.out).not.toMatch(/mandatory/);
    expect(p).toExitZero();
    expect(p.out).toMatch(/Estimated Fly machine cost: \$[\d.]+\/month for 4 machines/);
    await stack.upOk({ policy: true });
    expect(await stack.machinesPerRegion()).toEqual({ iad: 2, sjc: 2 });
});

test.each([
    ["one region where two are required", () => stack.configRemove("api.regions.iad"), /fly-min-regions/],
    ["memory below the floor", () => stack.configSet("api.vm.memoryMb", "256"), /fly-min-memory/],
])("%s is refused with its message, and nothing is deployed", async (_what, edit, policy) => {
    const before = JSON.stringify(await stack.inventory());
    const saved = fs.readFileSync(stack.file, "utf8");
    await edit();
    try {
        // With a preview first, as the commands run it: the stack policies refuse before any step executes.
        const r = await stack.up({ policy: true, preview: true });
        const out = r.stdout + r.stderr;
        expect(r.code).not.toBe(0);
        expect(out).toMatch(policy);
        expect(out).toMatch(/mandatory/);
        expect(JSON.stringify(await stack.inventory())).toBe(before);
    } finally {
        // Put the stack file back as it was.
        fs.writeFileSync(stack.file, saved);
    }
});

// `pulumi config set` itself refuses a secret-looking plain value unless told --plaintext; the
// stack config is the line behind it, and refuses the value before the engine plans anything
// (the policy fly-no-plain-secrets, tested in tests/policies, guards the machines behind that).
test("a secret in plain env is refused by the config, naming the key and not the value, and nothing is deployed", async () => {
    const before = JSON.stringify(await stack.inventory());
    const saved = fs.readFileSync(stack.file, "utf8");
    // The Automation API's setConfig passes --plaintext, as a user typing it on purpose would.
    await stack.configSet("api.env.STRIPE_SECRET", "sk_live_plain");
    try {
        const r = await stack.up({ policy: true, preview: true });
        const out = r.stdout + r.stderr;
        expect(r.code).not.toBe(0);
        expect(out).toContain("fpsgame-infra:api.env.STRIPE_SECRET: is a credential");
        expect(out).not.toContain("sk_live_plain");
        expect(JSON.stringify(await stack.inventory())).toBe(before);
    } finally {
        fs.writeFileSync(stack.file, saved);
    }
});

test("an advisory violation is reported and does not block", async () => {
    await stack.configSet("redis.readRegions[0]", "ap-southeast-2");
    const p = await previewWithPolicy();
    expect(p).toExitZero();
    expect(p.out).toMatch(/upstash-read-regions-near-api/);
    expect(p.out).toMatch(/advisory/);
});
