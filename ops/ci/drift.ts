/**
 * Drift: what a refresh preview that expects no changes (`pulumi refresh --preview-only
 * --expect-no-changes`) finds changed out of band, as the drift workflow's issue text. Read from
 * the engine's events: a resource whose refresh step is an update (or a delete: it is gone) has
 * drifted; the properties named are the outputs whose values differ between the state and the
 * provider's read, by name only, never by value.
 */
import type { EngineEvent, OpType } from "@pulumi/pulumi/automation";
import { changedKeys, errorDiagnostic, urnName } from "./previewReport";

export { changedKeys };

export interface DriftedResource {
    name: string;
    type: string;
    /** `update`: it differs from the state; `delete`: it is gone. */
    op: OpType;
    properties: string[];
}

export interface DriftResult {
    stack: string;
    drifted: DriftedResource[];
    /** Error diagnostics other than the engine's "no changes were expected". */
    errors: string[];
}

/** The diagnostic the engine prints when `--expect-no-changes` finds changes: drift, not a failure. */
const EXPECTED_CHANGES = /no changes were expected/i;

export class DriftCollector {
    private readonly drifted = new Map<string, DriftedResource>();
    private readonly errors: string[] = [];

    readonly onEvent = (e: EngineEvent): void => {
        const md = e.resOutputsEvent?.metadata;
        if (md && (md.op === "update" || md.op === "delete") && !md.urn.endsWith("::pulumi:pulumi:Stack")) {
            this.drifted.set(md.urn, {
                name: urnName(md.urn),
                type: md.type,
                op: md.op,
                properties: changedKeys(md.old?.outputs, md.new?.outputs),
            });
        }
        const text = errorDiagnostic(e);
        if (text && !EXPECTED_CHANGES.test(text) && !this.errors.includes(text)) this.errors.push(text);
    };

    result(stack: string): DriftResult {
        return { stack, drifted: [...this.drifted.values()], errors: this.errors };
    }
}

/** The drift issue's title and body: one issue per stack, updated in place by the workflow. */
export function renderDriftIssue(r: DriftResult, meta: { runUrl?: string; at?: Date } = {}): string {
    const at = (meta.at ?? new Date()).toISOString().replace("T", " ").slice(0, 16);
    const lines = [
        `Drift on \`${r.stack}\`, found ${at} UTC by \`npm run drift -- --stack ${r.stack}\`` +
            `${meta.runUrl ? ` ([run](${meta.runUrl}))` : ""}: ${r.drifted.length} resource(s) differ from the stack's state.`,
        "",
        "| resource | type | drift | properties that differ |",
        "| --- | --- | --- | --- |",
    ];
    for (const d of r.drifted) {
        lines.push(
            `| \`${d.name}\` | \`${d.type}\` | ${d.op === "delete" ? "gone" : "changed"} | ${d.properties.map((p) => `\`${p}\``).join(", ") || "(not named by the provider)"} |`,
        );
    }
    lines.push(
        "",
        "Someone changed these outside the stack (a dashboard, `fly scale`, `fly secrets`…). Either bring the",
        "change into the config in a pull request, or put back what the config says with an up that refreshes",
        `first: \`npm run up -- --stack ${r.stack} --refresh\`. This issue is updated by each drift run while it is open.`,
    );
    return `${lines.join("\n")}\n`;
}
