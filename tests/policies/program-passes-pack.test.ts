/**
 * The whole program, run under mocks with a stack's real `Pulumi.<stack>.yaml`, passes the
 * policy pack with that stack's `policies/config/<stack>.json`: every policy runs at the level
 * the file gives it, and no mandatory policy reports a violation.
 *
 * Resource policies get each resource's inputs (as the engine's `Analyze` does); stack policies
 * get every resource with its state, inputs plus the outputs the mock computed (as `AnalyzeStack`).
 */
import * as fs from "fs";
import * as path from "path";
import { allPolicies, FpsPolicy } from "../../policies/src";
import { REPO_ROOT, RecordedResource, runProgram, StackName } from "../helpers/mockProgram";
import { TestResource, validate } from "./harness";

type Level = "advisory" | "mandatory" | "remediate" | "disabled";
interface Finding {
    policy: string;
    level: Level;
    message: string;
}

function policyConfig(stack: StackName): Record<string, { enforcementLevel?: Level } & Record<string, unknown>> {
    return JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "policies", "config", `${stack}.json`), "utf8"));
}

/** Runs every policy over the recorded resources at the stack's levels; returns what each reported. */
async function runPack(stack: StackName, resources: RecordedResource[]): Promise<Finding[]> {
    const config = policyConfig(stack);
    const findings: Finding[] = [];
    const asResource = (r: RecordedResource, props: Record<string, unknown>): TestResource => ({
        type: r.type,
        name: r.name,
        props,
        protect: r.protect,
        parent: r.parent,
    });
    for (const policy of allPolicies as FpsPolicy[]) {
        const { enforcementLevel, ...overrides } = config[policy.name] ?? {};
        // The CLI's order: the config file's level, then the policy's own; remediate fails like mandatory.
        const level = enforcementLevel ?? policy.enforcementLevel ?? "advisory";
        if (level === "disabled") continue;
        const targets =
            "validateStack" in policy
                ? [resources.map((r) => asResource(r, r.state))]
                : resources.map((r) => asResource(r, r.inputs));
        for (const target of targets) {
            const messages = await validate(policy, target, overrides);
            if (messages === "n/a") continue;
            findings.push(
                ...messages.map((message) => ({
                    policy: policy.name,
                    level: level === "remediate" ? "mandatory" : level,
                    message,
                })),
            );
        }
    }
    return findings;
}

const stacks: StackName[] = ["staging", "prod"];
// The local stack joins as soon as its stack file exists.
if (fs.existsSync(path.join(REPO_ROOT, "Pulumi.local.yaml"))) stacks.push("local");

describe.each(stacks.map((s) => [s, s]))("the %s program under policies/config/%s.json", (stack) => {
    let resources: RecordedResource[];
    let findings: Finding[];

    beforeAll(async () => {
        // runProgram requires index.ts after an await, outside jest.isolateModules' synchronous
        // callback, so the program lands in this file's module registry and a second run would
        // reuse it and declare nothing. A fresh registry per stack makes each run start clean.
        jest.resetModules();
        resources = (await runProgram(stack)).resources;
        findings = await runPack(stack, resources);
    }, 60_000);

    it("declares the resources the policies check", () => {
        const types = new Set(resources.map((r) => r.type));
        for (const t of [
            "fly:index:Machine",
            "fly:index:AppSecrets",
            "neon:index/project:Project",
            "upstash:index/redisDatabase:RedisDatabase",
            "vercel:index/project:Project",
        ]) {
            expect(types).toContain(t);
        }
    });

    it("has no mandatory violations", () => {
        expect(findings.filter((f) => f.level === "mandatory")).toEqual([]);
    });

    it("shows the Fly cost estimate in the preview", () => {
        const machines = resources.filter((r) => r.type === "fly:index:Machine").length;
        expect(findings.filter((f) => f.policy === "fly-cost-estimate")).toEqual([
            {
                policy: "fly-cost-estimate",
                level: "advisory",
                message: expect.stringMatching(
                    new RegExp(
                        `^Estimated Fly machine cost: \\$\\d+\\.\\d\\d/month for ${machines} machines? \\(budget \\$\\d+\\.\\d\\d\\)\\.$`,
                    ),
                ),
            },
        ]);
    });
});
