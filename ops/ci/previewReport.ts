/**
 * The pull-request comment of a preview, rendered from the engine's own events (the JSON events
 * `pulumi preview --json` and the Automation API's `onEvent` carry): the changes grouped by kind
 * with the properties each update changes, the policy results with their levels, the Fly cost
 * estimate, and, when the preview failed, why. Values never appear: only resource names, types
 * and property names, so no secret can reach a comment.
 *
 * The workflow posts it as one sticky comment per stack, on success and on failure alike: a
 * mandatory policy violation is what the reviewer most needs to see.
 */
import type { EngineEvent, OpType } from "@pulumi/pulumi/automation";

/** One planned step of the preview. */
export interface PlannedStep {
    op: OpType;
    /** The resource's name (the URN's last part) and type token. */
    name: string;
    type: string;
    /** Properties an update or replace changes (never their values). */
    properties: string[];
}

/** A policy's finding: its level, the policy, the resource (absent for a stack policy), the message. */
export interface PolicyFinding {
    level: string;
    policy: string;
    resource?: string;
    message: string;
}

export interface PreviewReport {
    stack: string;
    ok: boolean;
    steps: PlannedStep[];
    policies: PolicyFinding[];
    /** The `fly-cost-estimate` policy's line, when the pack ran. */
    cost?: string;
    /** Error diagnostics (the reason a preview failed), first lines only. */
    errors: string[];
}

/** The name part of a URN: `urn:pulumi:<stack>::<project>::<type>::<name>`. */
export function urnName(urn: string): string {
    return urn.split("::").pop() ?? urn;
}

/** Top-level keys whose values differ (compared as JSON; only the names leave this function). */
export function changedKeys(before?: Record<string, unknown>, after?: Record<string, unknown>): string[] {
    if (!before || !after) return [];
    const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
    return [...keys].filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k])).sort();
}

/** Engine steps that change nothing, left out of the comment. */
const QUIET: readonly string[] = ["same", "read", "refresh"];
/** The policy that reports the cost estimate (policies/src/stack.ts). */
export const COST_POLICY = "fly-cost-estimate";
/** The engine's ANSI colour codes, when the stream had them. */
const ANSI = /\u001b\[[0-9;]*m/g;

/** An error diagnostic's text without colour codes, or undefined for any other event. */
export function errorDiagnostic(e: EngineEvent): string | undefined {
    const diag = e.diagnosticEvent;
    return diag?.severity === "error" ? diag.message.replace(ANSI, "").trim() || undefined : undefined;
}

/**
 * The finding itself: the engine's policy message is the policy's description, a newline, then
 * what the policy reported; the description is in policies/README.md, not in every comment.
 */
export function findingOf(message: string): string {
    const lines = message.replace(ANSI, "").trim().split("\n");
    return (lines.length > 1 ? lines.slice(1) : lines).join(" ").trim();
}

/** Collects a preview's events; `report()` then builds what the comment shows. */
export class PreviewCollector {
    private readonly steps = new Map<string, PlannedStep>();
    private readonly policies: PolicyFinding[] = [];
    private readonly errors: string[] = [];

    readonly onEvent = (e: EngineEvent): void => {
        const pre = e.resourcePreEvent?.metadata;
        if (pre && !QUIET.includes(pre.op) && !pre.urn.endsWith("::pulumi:pulumi:Stack")) {
            // What the provider named (its detailed diff, else its diff keys), else what the
            // engine's own display compares: the old and new inputs (secrets arrive masked, so an
            // edit of a secret alone names no property).
            const named = Object.keys(pre.detailedDiff ?? {});
            const props = new Set<string>(
                named.length > 0
                    ? named
                    : (pre.diffs ?? []).length > 0
                      ? pre.diffs!
                      : pre.op === "update" || pre.op === "replace" || pre.op === "create-replacement"
                        ? changedKeys(pre.old?.inputs, pre.new?.inputs)
                        : [],
            );
            this.steps.set(`${pre.op} ${pre.urn}`, {
                op: pre.op,
                name: urnName(pre.urn),
                type: pre.type,
                properties: [...props].map((p) => p.split(/[.[]/)[0]).filter((p, i, all) => all.indexOf(p) === i),
            });
        }
        const pol = e.policyEvent;
        if (pol) {
            this.policies.push({
                level: pol.enforcementLevel,
                policy: pol.policyName,
                resource: pol.resourceUrn ? urnName(pol.resourceUrn) : undefined,
                message: findingOf(pol.message),
            });
        }
        const text = errorDiagnostic(e);
        if (text) this.addError(text);
    };

    /** An error from outside the engine (the preview could not start), shown as why it failed. */
    addError(text: string): void {
        if (text && !this.errors.includes(text)) this.errors.push(text);
    }

    report(stack: string, ok: boolean): PreviewReport {
        const cost = this.policies.find((p) => p.policy === COST_POLICY)?.message;
        return {
            stack,
            ok,
            steps: [...this.steps.values()],
            policies: this.policies.filter((p) => p.policy !== COST_POLICY),
            cost,
            errors: this.errors,
        };
    }
}

const GROUPS: readonly { ops: readonly string[]; title: string; sign: string }[] = [
    { ops: ["create"], title: "create", sign: "+" },
    { ops: ["update"], title: "update", sign: "~" },
    { ops: ["replace", "create-replacement", "delete-replaced"], title: "replace", sign: "+-" },
    { ops: ["delete"], title: "delete", sign: "-" },
];

/** A comment's first line marks it, so the sticky-comment step finds and updates the same one. */
export function commentMarker(stack: string): string {
    return `<!-- fpsgame-infra preview: ${stack} -->`;
}

/** Backticks in a name would end the code span; Markdown tables break on pipes and newlines. */
function cell(text: string): string {
    return text.replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
}

/** An update's or replace's properties; one that names none changed only values the engine masks (secrets). */
function propertiesCell(group: string, properties: string[]): string {
    if (properties.length > 0) return properties.map((p) => `\`${cell(p)}\``).join(", ");
    return group === "update" || group === "replace" ? "_(secret values, not shown)_" : "";
}

/** The Markdown comment. `commit` is the pull request's head, shown so a stale comment is visible. */
export function renderComment(r: PreviewReport, meta: { commit?: string } = {}): string {
    const lines: string[] = [commentMarker(r.stack)];
    // A replace is three engine steps on one resource; count and list it once.
    const byGroup = GROUPS.map((g) => {
        const seen = new Set<string>();
        const steps = r.steps.filter((s) => g.ops.includes(s.op) && !seen.has(s.name) && seen.add(s.name));
        return { ...g, steps };
    });
    const counts = byGroup.filter((g) => g.steps.length > 0).map((g) => `${g.steps.length} to ${g.title}`);
    const mandatory = r.policies.filter((p) => p.level === "mandatory");
    const status = r.ok ? "preview passed" : mandatory.length > 0 ? "blocked by policy" : "preview failed";
    lines.push(
        `### ${r.ok ? "✅" : "❌"} \`${r.stack}\`: ${status}${meta.commit ? ` at ${meta.commit.slice(0, 7)}` : ""}`,
        "",
        counts.length > 0 ? `**Changes:** ${counts.join(", ")}.` : "**Changes:** none: the stack matches its config.",
    );
    for (const g of byGroup.filter((x) => x.steps.length > 0)) {
        lines.push(
            "",
            `<details${g.title === "create" && g.steps.length > 20 ? "" : " open"}><summary>${g.steps.length} to ${g.title}</summary>`,
            "",
        );
        lines.push("| | resource | type | changed properties |", "| --- | --- | --- | --- |");
        for (const s of g.steps) {
            lines.push(
                `| \`${g.sign}\` | \`${cell(s.name)}\` | \`${cell(s.type)}\` | ${propertiesCell(g.title, s.properties)} |`,
            );
        }
        lines.push("", "</details>");
    }
    if (r.policies.length > 0) {
        lines.push("", "**Policies:**", "", "| level | policy | resource | finding |", "| --- | --- | --- | --- |");
        const order = ["mandatory", "remediate", "advisory", "disabled"];
        const sorted = [...r.policies].sort((a, b) => order.indexOf(a.level) - order.indexOf(b.level));
        for (const p of sorted) {
            lines.push(
                `| ${p.level === "mandatory" ? "⛔ mandatory" : p.level} | \`${cell(p.policy)}\` | ${p.resource ? `\`${cell(p.resource)}\`` : "(stack)"} | ${cell(p.message)} |`,
            );
        }
    } else {
        lines.push("", "**Policies:** no findings.");
    }
    if (r.cost) lines.push("", `**Cost:** ${r.cost.replace(/^Estimated Fly machine cost: /, "Fly machines ")}`);
    if (!r.ok && r.errors.length > 0) {
        lines.push("", "**Why it failed:**", "", "```text");
        for (const e of r.errors) lines.push(...e.split("\n").slice(0, 12));
        lines.push("```");
    }
    return `${lines.join("\n")}\n`;
}
