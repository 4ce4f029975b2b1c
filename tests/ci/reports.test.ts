/**
 * The CI reports from engine events and summaries, beyond what the end-to-end tests render: a
 * replace counted once (the engine sends three steps for it), deletes, the reason of a failed
 * preview, values never shown, a policy message without its description, the drift issue of a
 * deleted resource, and the rollback's job summary.
 */
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { changedKeys, DriftCollector, renderDriftIssue } from "../../ops/ci/drift";
import { findingOf, PreviewCollector, renderComment } from "../../ops/ci/previewReport";
import { renderRollbackSummary } from "../../ops/ci/rollbackReport";
import type { RollbackSummary } from "../../ops/rollback";

const URN = (type: string, name: string) => `urn:pulumi:prod::fpsgame-infra::${type}::${name}`;
let seq = 0;
function pre(op: string, type: string, name: string, detailedDiff?: Record<string, unknown>): EngineEvent {
    return {
        sequence: seq++,
        timestamp: 0,
        resourcePreEvent: {
            metadata: {
                op,
                urn: URN(type, name),
                type,
                provider: "",
                detailedDiff,
                diffs: Object.keys(detailedDiff ?? {}),
            },
        },
    } as unknown as EngineEvent;
}

test("a replace is one line with the properties that force it; deletes are listed; values never appear", () => {
    const c = new PreviewCollector();
    for (const op of ["create-replacement", "replace", "delete-replaced"]) {
        c.onEvent(
            pre(op, "vercel:index/projectEnvironmentVariable:ProjectEnvironmentVariable", "web-env-x", {
                key: { kind: "update-replace" },
            }),
        );
    }
    c.onEvent(pre("update", "fly:index:Secrets", "api-secrets", { "values.JWT_SECRET": { kind: "update" } }));
    c.onEvent(pre("delete", "fly:index:Machine", "api-iad-3"));
    c.onEvent(pre("same", "fly:index:App", "api-app"));
    const text = renderComment(c.report("prod", true), { commit: "0123456789abcdef" });
    expect(text).toContain("### ✅ `prod`: preview passed at 0123456");
    expect(text).toContain("**Changes:** 1 to update, 1 to replace, 1 to delete.");
    expect(text).toContain(
        "| `+-` | `web-env-x` | `vercel:index/projectEnvironmentVariable:ProjectEnvironmentVariable` | `key` |",
    );
    expect(text).toContain("| `~` | `api-secrets` | `fly:index:Secrets` | `values` |");
    expect(text).toContain("| `-` | `api-iad-3` | `fly:index:Machine` |  |");
    expect(text).not.toContain("api-app");
    expect(text).not.toContain("JWT_SECRET");
});

test("a failed preview says why, and a mandatory finding makes it 'blocked by policy'", () => {
    const c = new PreviewCollector();
    c.onEvent({
        sequence: 1,
        timestamp: 0,
        policyEvent: {
            resourceUrn: URN("fly:index:Machine", "api-sjc-1"),
            message: "Checks whether machines have enough memory.\nMachine api-sjc-1 has 256 MB; at least 512 MB.",
            color: "never",
            policyName: "fly-min-memory",
            policyPackName: "fpsgame-policies",
            policyPackVersion: "1.0.0",
            policyPackVersionTag: "1.0.0",
            enforcementLevel: "mandatory",
        },
    } as EngineEvent);
    c.onEvent({
        sequence: 2,
        timestamp: 0,
        diagnosticEvent: { message: "error: preview failed\n", color: "never", severity: "error" },
    });
    const text = renderComment(c.report("prod", false));
    expect(text).toContain("### ❌ `prod`: blocked by policy");
    expect(text).toContain(
        "| ⛔ mandatory | `fly-min-memory` | `api-sjc-1` | Machine api-sjc-1 has 256 MB; at least 512 MB. |",
    );
    expect(text).toContain("**Why it failed:**\n\n```text\nerror: preview failed\n```");
});

test("an update the provider names no property of: the properties whose inputs differ, a masked secret none", () => {
    const c = new PreviewCollector();
    const step = (name: string, olds: Record<string, unknown>, news: Record<string, unknown>) =>
        ({
            sequence: seq++,
            timestamp: 0,
            resourcePreEvent: {
                metadata: {
                    op: "update",
                    urn: URN("fly:index:Machine", name),
                    type: "fly:index:Machine",
                    provider: "",
                    old: { inputs: olds },
                    new: { inputs: news },
                },
            },
        }) as unknown as EngineEvent;
    c.onEvent(step("api-sjc-1", { guest: { memoryMb: 512 }, image: "a" }, { guest: { memoryMb: 256 }, image: "a" }));
    c.onEvent(step("api-secrets", { values: "[secret]" }, { values: "[secret]" }));
    const text = renderComment(c.report("prod", true));
    expect(text).toContain("| `~` | `api-sjc-1` | `fly:index:Machine` | `guest` |");
    expect(text).toContain("| `~` | `api-secrets` | `fly:index:Machine` | _(secret values, not shown)_ |");
});

test("a policy message keeps only what the policy reported", () => {
    expect(findingOf("Description of the policy.\nWhat it found.")).toBe("What it found.");
    expect(findingOf("Only one line")).toBe("Only one line");
});

test("drift: a resource gone is reported as gone; changed properties by name only", () => {
    const c = new DriftCollector();
    c.onEvent({
        sequence: 1,
        timestamp: 0,
        resOutputsEvent: {
            metadata: {
                op: "delete",
                urn: URN("fly:index:Machine", "api-iad-2"),
                type: "fly:index:Machine",
                provider: "",
            },
        },
    } as unknown as EngineEvent);
    c.onEvent({
        sequence: 2,
        timestamp: 0,
        diagnosticEvent: { message: "error: no changes were expected for refresh", color: "never", severity: "error" },
    });
    const r = c.result("prod");
    expect(r).toEqual({
        stack: "prod",
        drifted: [{ name: "api-iad-2", type: "fly:index:Machine", op: "delete", properties: [] }],
        errors: [],
    });
    const issue = renderDriftIssue(r, { at: new Date("2026-12-02T04:00:00Z"), runUrl: "https://example/run/1" });
    expect(issue.split("\n")[0]).toBe(
        "Drift on `prod`, found 2026-12-02 04:00 UTC by `npm run drift -- --stack prod` ([run](https://example/run/1)): 1 resource(s) differ from the stack's state.",
    );
    expect(issue).toContain("| `api-iad-2` | `fly:index:Machine` | gone | (not named by the provider) |");
    expect(changedKeys({ a: 1, b: { c: 2 }, s: "[secret]" }, { a: 1, b: { c: 3 }, d: true, s: "[secret]" })).toEqual([
        "b",
        "d",
    ]);
});

test("the rollback's job summary", () => {
    const s: RollbackSummary = {
        stack: "prod",
        from: { id: "h2222222222", startTime: "2026-12-02T03:00:00.000Z" },
        to: {
            id: "h1111111111",
            commit: "abcdef0123456789",
            startTime: "2026-12-01T03:00:00.000Z",
            message: "scale sjc",
        },
        program: "this checkout",
        configChanges: [
            {
                key: "fpsgame-infra:api.image",
                from: "registry.fly.io/fpsgame-api:v2",
                to: "registry.fly.io/fpsgame-api:v1",
            },
            { key: "fpsgame-infra:api.env.MOTD", from: "hi" },
        ],
        secrets: "kept",
        migrations: { currentVersion: 3, targetVersion: 2, migratedDown: false, staysApplied: [3] },
        resourceChanges: { update: 4, same: 20 },
        backup: ".rollback/backups/prod-x.json",
        health: "passed",
    };
    expect(renderRollbackSummary(s)).toBe(
        [
            "### Rolled `prod` back to `h1111111111`",
            "",
            "- **to:** `h1111111111` (2026-12-01T03:00:00.000Z, commit `abcdef0`): scale sjc",
            "- **from:** `h2222222222` (2026-12-02T03:00:00.000Z)",
            "- **program:** this checkout; **secrets:** kept",
            "- **resources:** 4 update, 20 same",
            "- **migrations:** schema at 3 (3 stay applied)",
            "- **health:** passed",
            "- **backup of the state before:** `.rollback/backups/prod-x.json`",
            "",
            "| config key | from | to |",
            "| --- | --- | --- |",
            "| `fpsgame-infra:api.image` | `registry.fly.io/fpsgame-api:v2` | `registry.fly.io/fpsgame-api:v1` |",
            "| `fpsgame-infra:api.env.MOTD` | `hi` | (unset) |",
            "",
        ].join("\n"),
    );
});
