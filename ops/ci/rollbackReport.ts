/**
 * The rollback workflow's job summary, from `npm run rollback -- --json`'s summary: what was
 * restored, the config keys that changed (secrets masked, as the summary already has them), the
 * resource changes, the migrations, the health gate and where the backup is.
 */
import type { RollbackSummary } from "../rollback";

function show(v: unknown): string {
    return v === undefined ? "(unset)" : `\`${typeof v === "string" ? v : JSON.stringify(v)}\``;
}

export function renderRollbackSummary(s: RollbackSummary): string {
    const lines = [
        `### Rolled \`${s.stack}\` back to \`${s.to.id}\``,
        "",
        `- **to:** \`${s.to.id}\` (${s.to.startTime}, commit \`${(s.to.commit ?? "-").slice(0, 7)}\`): ${s.to.message || "(no message)"}`,
        `- **from:** ${s.from ? `\`${s.from.id}\` (${s.from.startTime})` : "(no earlier update)"}`,
        `- **program:** ${s.program}; **secrets:** ${s.secrets}`,
        `- **resources:** ${
            Object.entries(s.resourceChanges)
                .map(([op, n]) => `${n} ${op}`)
                .join(", ") || "none changed"
        }`,
        `- **migrations:** schema ${s.migrations.migratedDown ? `down from ${s.migrations.currentVersion} to ${s.migrations.targetVersion}` : `at ${s.migrations.currentVersion}`}${s.migrations.staysApplied.length ? ` (${s.migrations.staysApplied.join(", ")} stay applied)` : ""}`,
        `- **health:** ${s.health}`,
        `- **backup of the state before:** \`${s.backup}\``,
    ];
    if (s.configChanges.length > 0) {
        lines.push("", "| config key | from | to |", "| --- | --- | --- |");
        for (const c of s.configChanges) lines.push(`| \`${c.key}\` | ${show(c.from)} | ${show(c.to)} |`);
    }
    return `${lines.join("\n")}\n`;
}
