/**
 * `npm run rollback`: a rollback as a restore of an earlier entry of the stack's history, rolled
 * forward. Pulumi itself has no rollback (its FAQ says to revert the code and config and run
 * `up`); this does exactly that from the history: the entry's program (its recorded git commit)
 * and its config, with today's secrets unless `--restore-secrets`, previewed, confirmed and
 * applied as a new update whose message names the target.
 *
 * The pure parts (ids, refusals, the config restore, the migration order) are exported for the
 * tests; `rollbackCommand` is the command.
 */
import type { ConfigMap, OpMap, OutputMap, UpdateSummary } from "@pulumi/pulumi/automation";
import { execFileSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as readline from "readline";
import { parseDocument } from "yaml";
import { REPO_ROOT, stackFilePath } from "./env";
import type { GateResult } from "./health";
import { backendLocks, pulumiRunning } from "./recovery";
import {
    describeChanges,
    openStack,
    PROJECT,
    ProjectStack,
    runOp,
    runPulumi,
    setSecretConfig,
    Streams,
    upStack,
} from "./workspace";

/** One update of the stack's history, as the rollback reads it. */
export interface HistoryEntry {
    /** Stable: `v<N>` where the backend numbers updates, else `h<10 hex>` (see {@link entryId}). */
    id: string;
    version: number;
    kind: string;
    result: string;
    startTime: Date;
    endTime?: Date;
    /** `git.head` of the checkout the update ran from. */
    commit?: string;
    /** `git.dirty`: the checkout had uncommitted changes. */
    dirty: boolean;
    message: string;
    resourceChanges: OpMap;
    config: ConfigMap;
}

/**
 * The entry's id. Pulumi Cloud numbers updates (`version`), so the id is `v<version>`. The file
 * backend writes `version: 0` for every entry, so the id is a hash of what identifies the entry
 * in its history file and never changes: its kind, start and end times, result, commit and
 * message. A new update adds an entry and changes no other entry's id (unlike a position).
 */
export function entryId(e: UpdateSummary): string {
    if (e.version > 0) return `v${e.version}`;
    const key = [
        e.kind,
        e.startTime.toISOString(),
        e.endTime ? e.endTime.toISOString() : "",
        e.result,
        e.environment?.["git.head"] ?? "",
        e.message ?? "",
    ].join("\n");
    return `h${createHash("sha256").update(key).digest("hex").slice(0, 10)}`;
}

export function toEntry(e: UpdateSummary): HistoryEntry {
    return {
        id: entryId(e),
        version: e.version,
        kind: e.kind,
        result: e.result,
        startTime: e.startTime,
        endTime: e.endTime,
        commit: e.environment?.["git.head"] || undefined,
        dirty: e.environment?.["git.dirty"] === "true",
        message: e.message ?? "",
        resourceChanges: e.resourceChanges ?? {},
        config: e.config ?? {},
    };
}

/** Every entry, newest first: the CLI's history is paged (10 by default), so all pages are read. */
export async function stackHistory(ps: ProjectStack, showSecrets = false): Promise<UpdateSummary[]> {
    const pageSize = 100;
    const out: UpdateSummary[] = [];
    for (let page = 1; ; page++) {
        const batch = await ps.stack.history(pageSize, page, showSecrets);
        out.push(...batch);
        if (batch.length < pageSize) return out;
    }
}

/** The stack's history as `npm run rollback -- --list` shows it: every entry, newest first, with its id. */
export async function historyEntries(ps: ProjectStack): Promise<HistoryEntry[]> {
    return (await stackHistory(ps)).map(toEntry);
}

/** What `pulumi stack history --show-secrets` shows for a secret today's secrets provider cannot decrypt. */
export const UNDECRYPTABLE = "ERROR_UNABLE_TO_DECRYPT";

/**
 * The refusal when the stack's secrets provider changed since the entry: its secret config was
 * encrypted by the earlier provider (or passphrase), which today's cannot decrypt, so the entry
 * cannot be restored as it ran (and `--restore-secrets` would write the placeholder as a value).
 */
export function secretsProviderRefusal(e: UpdateSummary | undefined, id: string): string | undefined {
    const unreadable = Object.entries(e?.config ?? {})
        .filter(([, v]) => v.secret && v.value === UNDECRYPTABLE)
        .map(([k]) => k)
        .sort();
    if (unreadable.length === 0) return undefined;
    return (
        `the stack's secrets provider changed since entry ${id}: today's cannot decrypt its secret(s) ` +
        `${unreadable.join(", ")}; choose an entry made since the change (--list), or change the secrets provider back first`
    );
}

/** What the refusals need to know beyond the entry. */
export interface RefusalContext {
    /** True when the commit exists in this repository. */
    commitExists: (sha: string) => boolean;
    allowDirty: boolean;
}

/** Why the entry cannot be the target, or undefined when it can. Nothing has changed when this refuses. */
export function refusal(e: HistoryEntry, ctx: RefusalContext): string | undefined {
    if (e.kind !== "update") {
        return `entry ${e.id} is a ${e.kind}, not an update: only an update's program and config can be restored`;
    }
    if (e.result !== "succeeded") {
        return `entry ${e.id} ${e.result === "failed" ? "failed" : `did not succeed (${e.result})`}: restoring it would deploy a config that did not deploy; choose an update that succeeded (--list)`;
    }
    if (!e.commit) {
        return `entry ${e.id} recorded no git commit (it ran outside a git checkout), so its program cannot be restored`;
    }
    if (!ctx.commitExists(e.commit)) {
        return `entry ${e.id} ran commit ${e.commit.slice(0, 7)}, which is not in this repository: git fetch it first`;
    }
    if (e.dirty && !ctx.allowDirty) {
        return `entry ${e.id} ran from a checkout with uncommitted changes (git.dirty), so commit ${e.commit.slice(0, 7)} is not exactly what ran; pass --allow-dirty to restore that commit anyway`;
    }
    return undefined;
}

/** One changed config value, as the summary shows it (secrets never shown). */
export interface ConfigChange {
    /** `fpsgame-infra:api.image`, or a whole key. */
    key: string;
    from?: unknown;
    to?: unknown;
}

type StackConfig = Record<string, unknown>;

const isSecure = (v: unknown): boolean =>
    typeof v === "object" && v !== null && "secure" in (v as Record<string, unknown>);

/** Dotted paths of the leaves that differ between two config values; secure values are never read. */
function diffValues(key: string, a: unknown, b: unknown, out: ConfigChange[]): void {
    const isObj = (v: unknown): v is Record<string, unknown> =>
        typeof v === "object" && v !== null && !Array.isArray(v) && !isSecure(v);
    if (isObj(a) && isObj(b)) {
        for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
            diffValues(`${key}.${k}`, a[k], b[k], out);
        }
        return;
    }
    if (JSON.stringify(a) === JSON.stringify(b)) return;
    out.push({
        key,
        ...(a === undefined ? {} : { from: isSecure(a) ? "[secret]" : a }),
        ...(b === undefined ? {} : { to: isSecure(b) ? "[secret]" : b }),
    });
}

/**
 * The config to deploy for a rollback to `target`: its plain values (objects as objects), and
 * today's secure values, so a rollback never brings back a rotated secret. A plain key the
 * target did not have is removed; a secret only the target had is reported in `missingSecrets`
 * (it needs `--restore-secrets`). `changes` lists every plain leaf that differs.
 */
export function restoreConfig(
    target: ConfigMap,
    current: StackConfig,
): { config: StackConfig; changes: ConfigChange[]; missingSecrets: string[] } {
    const config: StackConfig = {};
    const missingSecrets: string[] = [];
    for (const [key, value] of Object.entries(target)) {
        if (value.secret) {
            if (current[key] !== undefined) config[key] = current[key];
            else missingSecrets.push(key);
            continue;
        }
        const v = value as { value?: string; objectValue?: unknown };
        config[key] = v.objectValue !== undefined ? v.objectValue : v.value;
    }
    for (const [key, value] of Object.entries(current)) {
        if (isSecure(value) && config[key] === undefined && !(key in target)) config[key] = value;
    }
    keepRotations(config, current);
    const changes: ConfigChange[] = [];
    for (const key of [...new Set([...Object.keys(current), ...Object.keys(config)])].sort()) {
        diffValues(key, current[key], config[key], changes);
    }
    return { config, changes, missingSecrets };
}

/** The config keys whose `passwordRotation` counts the password resets of a service so far. */
export const ROTATION_KEYS = ["fpsgame-infra:database", "fpsgame-infra:redis"] as const;

/**
 * Today's `passwordRotation` of each service, whatever the entry had. A reset cannot be undone:
 * the passwords of older entries no longer work, and the one in force is in the state of the
 * last reset. Going back to an older (or absent) number would replace that reset with another
 * (a new password, harmless), or, back to none, drop it and hand the API the password the
 * service was created with, which is refused. So a rollback keeps the rotations as secrets are
 * kept.
 */
function keepRotations(config: StackConfig, current: StackConfig): void {
    const isObj = (v: unknown): v is Record<string, unknown> =>
        typeof v === "object" && v !== null && !Array.isArray(v) && !isSecure(v);
    for (const key of ROTATION_KEYS) {
        const now = isObj(current[key]) ? current[key].passwordRotation : undefined;
        const restored = config[key];
        if (!isObj(restored)) continue;
        const { passwordRotation: _ignored, ...rest } = restored;
        config[key] = now === undefined ? rest : { ...rest, passwordRotation: now };
    }
}

/** The schema version a `database.migrateTo` value means, given the newest migration. */
export function schemaTarget(migrateTo: unknown, newest: number): number {
    if (migrateTo === undefined || migrateTo === "latest") return newest;
    const n = Number(migrateTo);
    return Number.isInteger(n) ? n : newest;
}

/** The newest migration number in a program's `migrations/` folder. */
export function newestMigration(programDir: string): number {
    const dir = path.join(programDir, "migrations");
    const numbers = fs
        .readdirSync(dir)
        .map((f) => /^(\d+)\.do\./.exec(f)?.[1])
        .filter((n): n is string => n !== undefined)
        .map(Number);
    return Math.max(0, ...numbers);
}

/**
 * The order of a rollback across migrations. A deploy migrates first and rolls the machines
 * after; a rollback does the reverse: the machines go back to the old image while the schema stays
 * (phase 1), and only with `--migrate-down` is the schema taken down after (phase 2). Without it,
 * the migrations above the target stay applied, which is safe when each migration only expands
 * the schema (CONTRIBUTING: expand, then contract), as the old image ignores what it does not know.
 */
export function migrationOrder(
    currentVersion: number,
    targetVersion: number,
    migrateDown: boolean,
): { phase1MigrateTo: number | undefined; phase2MigrateTo: number | undefined; staysApplied: number[] } {
    if (targetVersion >= currentVersion) {
        return { phase1MigrateTo: undefined, phase2MigrateTo: undefined, staysApplied: [] };
    }
    const above: number[] = [];
    for (let n = targetVersion + 1; n <= currentVersion; n++) above.push(n);
    return migrateDown
        ? { phase1MigrateTo: currentVersion, phase2MigrateTo: targetVersion, staysApplied: [] }
        : { phase1MigrateTo: currentVersion, phase2MigrateTo: undefined, staysApplied: above };
}

function git(args: string[], cwd = REPO_ROOT): string {
    return execFileSync("git", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
}

export function commitExists(sha: string): boolean {
    try {
        git(["cat-file", "-e", `${sha}^{commit}`]);
        return true;
    } catch {
        return false;
    }
}

/**
 * True when `commit`'s program is the program checked out here: no tracked file but the stack
 * files (`Pulumi.<stack>.yaml`, whose config the rollback restores from the history) differs, and
 * nothing tracked is modified. Then the rollback runs here; otherwise in a worktree of `commit`.
 */
export function sameProgram(commit: string): boolean {
    try {
        git(["diff", "--quiet", commit, "--", ".", ":(exclude)Pulumi.*.yaml"]);
        return true;
    } catch {
        return false;
    }
}

/**
 * A checkout of `commit`'s program with its own install (root and policy pack), under
 * `.rollback/worktrees/<commit>`; reused when it exists. Where the commit pins exactly what this
 * checkout has installed (the usual case: a rollback to last week's config), the install is this
 * checkout's `node_modules` hard-linked file by file, in about a second; otherwise it is
 * `npm ci` (about 40 s).
 */
export function programWorktree(commit: string, log: (l: string) => void): string {
    const dir = path.join(REPO_ROOT, ".rollback", "worktrees", commit.slice(0, 12));
    if (!fs.existsSync(path.join(dir, "package.json"))) {
        log(`checking out commit ${commit.slice(0, 7)}'s program into ${path.relative(REPO_ROOT, dir)} (git worktree)`);
        fs.mkdirSync(path.dirname(dir), { recursive: true });
        execFileSync("git", ["worktree", "add", "--detach", "--force", dir, commit], {
            cwd: REPO_ROOT,
            stdio: ["ignore", 2, 2],
        });
    }
    for (const sub of [".", "policies"]) {
        const target = path.join(dir, sub, "node_modules");
        if (fs.existsSync(path.join(target, ".package-lock.json"))) continue;
        const where = path.join(path.relative(REPO_ROOT, dir), sub);
        const ours = path.join(REPO_ROOT, sub, "node_modules");
        if (installMatches(path.join(dir, sub, "package-lock.json"), ours) && linkInstall(ours, target)) {
            log(`commit ${commit.slice(0, 7)} pins what ${path.join(sub, "node_modules")} holds: linked into ${where}`);
            continue;
        }
        log(`installing commit ${commit.slice(0, 7)}'s dependencies (npm ci in ${where})`);
        // Its output goes to stderr with the rest of the progress: stdout is for --json.
        execFileSync("npm", ["ci", "--no-audit", "--no-fund", "--ignore-scripts"], {
            cwd: path.join(dir, sub),
            stdio: ["ignore", 2, 2],
        });
    }
    return dir;
}

interface LockedPackage {
    version?: string;
    integrity?: string;
    optional?: boolean;
}

/**
 * True when `nodeModules` holds exactly what `lockfile` pins, by npm's own record of the tree it
 * installed (`node_modules/.package-lock.json`): every package installed at the version and
 * integrity the lockfile gives, and every package the lockfile lists but the tree lacks an
 * optional one (another platform's binary). Anything unreadable is no match.
 */
export function installMatches(lockfile: string, nodeModules: string): boolean {
    try {
        const pinned = (JSON.parse(fs.readFileSync(lockfile, "utf8")) as { packages: Record<string, LockedPackage> })
            .packages;
        const installed = (
            JSON.parse(fs.readFileSync(path.join(nodeModules, ".package-lock.json"), "utf8")) as {
                packages: Record<string, LockedPackage>;
            }
        ).packages;
        const same = (a: LockedPackage, b: LockedPackage) => a.version === b.version && a.integrity === b.integrity;
        return (
            Object.entries(installed).every(([k, p]) => pinned[k] !== undefined && same(p, pinned[k])) &&
            Object.entries(pinned).every(([k, p]) => k === "" || installed[k] !== undefined || p.optional === true)
        );
    } catch {
        return false;
    }
}

/**
 * `from`'s files hard-linked into `to` (`cp -al`): nothing copied, and npm replaces files rather
 * than editing them, so a later `npm ci` here leaves the worktree's install as it was. The
 * loader's caches (`.cache`) are left out: they are this checkout's. False, with nothing left
 * behind, when linking fails (another file system).
 */
function linkInstall(from: string, to: string): boolean {
    const entries = fs.readdirSync(from).filter((e) => e !== ".cache");
    try {
        fs.mkdirSync(to, { recursive: true });
        execFileSync("cp", ["-al", ...entries.map((e) => path.join(from, e)), to], { stdio: ["ignore", "ignore", 2] });
        return true;
    } catch {
        fs.rmSync(to, { recursive: true, force: true });
        return false;
    }
}

/** Options of `npm run rollback`. */
export interface RollbackOptions {
    stack: string;
    list?: boolean;
    to?: string;
    json?: boolean;
    yes?: boolean;
    restoreSecrets?: boolean;
    allowDirty?: boolean;
    migrateDown?: boolean;
    policy: boolean;
}

/** What `--to` did, as its summary and its `--json` show it. */
export interface RollbackSummary {
    stack: string;
    from?: { id: string; commit?: string; startTime: string };
    to: { id: string; commit?: string; startTime: string; message: string };
    /** Where the program ran: this checkout, or a worktree of the target's commit. */
    program: string;
    configChanges: ConfigChange[];
    secrets: "kept" | "restored";
    migrations: { currentVersion: number; targetVersion: number; migratedDown: boolean; staysApplied: number[] };
    resourceChanges: OpMap;
    backup: string;
    health: string;
}

/** The commands' hooks a rollback runs through (preview and up with the policy pack, the output). */
export interface RollbackIO {
    log: (line: string) => void;
    streams: Streams;
    /** Prepares the stack (local cloud, policy pack) and returns it with the policy options. */
    prepare: () => Promise<{ ps: ProjectStack; policy: object }>;
    /** Asks a yes/no question; `undefined` when nobody can answer (no terminal). */
    confirm?: (question: string) => Promise<boolean | undefined>;
    /** The health gate, run after the rollback's up (ops/health.ts), given the stack's outputs after it. */
    gate?: (outputs: OutputMap) => Promise<GateResult>;
}

/** Asks on the terminal; no terminal means no answer. */
export async function terminalConfirm(question: string): Promise<boolean | undefined> {
    if (!process.stdin.isTTY) return undefined;
    const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
    const answer = await new Promise<string>((resolve) => rl.question(`${question} [y/N] `, resolve));
    rl.close();
    return /^y(es)?$/i.test(answer.trim());
}

function shortTime(d: Date): string {
    return d.toISOString().replace("T", " ").slice(0, 19);
}

function oneLine(message: string, max = 50): string {
    const line = message.split("\n")[0].trim();
    return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** `--list`: every update, newest first. */
export function renderList(stack: string, entries: HistoryEntry[]): string {
    const rows = entries.map((e) => [
        e.id,
        shortTime(e.startTime),
        e.kind,
        e.result,
        e.commit ? `${e.commit.slice(0, 7)}${e.dirty ? "+dirty" : ""}` : "-",
        describeChanges(e.resourceChanges),
        oneLine(e.message),
    ]);
    const head = ["id", "started (UTC)", "kind", "result", "commit", "changes", "message"];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (cells: string[]) =>
        cells
            .map((c, i) => c.padEnd(widths[i]))
            .join("  ")
            .trimEnd();
    return [
        `Stack ${stack}: ${entries.length} entr${entries.length === 1 ? "y" : "ies"}, newest first. Roll back with: npm run rollback -- --stack ${stack} --to <id>`,
        line(head),
        ...rows.map(line),
    ].join("\n");
}

/** The stack file's path and its parsed document, to edit its `config:` in place (comments kept). */
function stackFile(dir: string, stack: string): { file: string; text: string } {
    const file = stackFilePath(stack, dir);
    return { file, text: fs.readFileSync(file, "utf8") };
}

/** The stack file's text with `config:` replaced by `config`, everything else as it was. */
export function withConfig(text: string, config: Record<string, unknown>): string {
    const doc = parseDocument(text);
    doc.set("config", doc.createNode(config));
    return doc.toString();
}

/** Reads the `config:` map of a stack file's text. */
function configOf(text: string): Record<string, unknown> {
    const doc = parseDocument(text).toJS() as { config?: Record<string, unknown> } | null;
    return doc?.config ?? {};
}

/** `npm run rollback`. Returns the exit code. */
export async function rollbackCommand(o: RollbackOptions, io: RollbackIO): Promise<number> {
    const { log } = io;
    const { ps, policy } = await io.prepare();
    const entries = await historyEntries(ps);
    if (o.list || !o.to) {
        if (o.json) process.stdout.write(`${JSON.stringify(entries, null, 2)}\n`);
        else process.stdout.write(`${renderList(o.stack, entries)}\n`);
        return 0;
    }

    const refuse = (why: string): number => {
        log(`rollback refused: ${why}. Nothing was changed.`);
        return 2;
    };
    const target = entries.find((e) => e.id === o.to);
    if (!target) {
        const ids = entries.slice(0, 5).map((e) => e.id);
        return refuse(
            `stack ${o.stack} has no history entry "${o.to}"${ids.length ? ` (newest: ${ids.join(", ")}; all: npm run rollback -- --stack ${o.stack} --list)` : ""}`,
        );
    }
    const why = refusal(target, { commitExists, allowDirty: o.allowDirty === true });
    if (why) return refuse(why);
    {
        const live = (await backendLocks(ps.env, PROJECT, o.stack)).filter((l) => pulumiRunning(l.pid));
        if (live.length) {
            return refuse(
                `stack ${o.stack} is locked by an update in progress (pid ${live.map((l) => l.pid).join(", ")} on ${live[0].hostname}); wait for it to finish`,
            );
        }
    }

    // The program: here when the target's program is this checkout's, else a worktree of its commit.
    const commit = target.commit!;
    const programDir = sameProgram(commit) ? REPO_ROOT : programWorktree(commit, log);
    const here = stackFile(REPO_ROOT, o.stack);
    const current = configOf(here.text);
    const restored = restoreConfig(target.config, current);
    if (restored.missingSecrets.length && !o.restoreSecrets) {
        return refuse(
            `entry ${target.id} used secret(s) the stack no longer has (${restored.missingSecrets.join(", ")}); pass --restore-secrets to bring back their values from that entry`,
        );
    }
    // Today's secrets provider must still read the entry: decrypted in memory only, never shown.
    const withSecrets = (await stackHistory(ps, true)).find((e) => entryId(e) === target.id);
    const providerChanged = secretsProviderRefusal(withSecrets, target.id);
    if (providerChanged) return refuse(providerChanged);

    // Migrations: machines first, schema after.
    const dbKey = `${PROJECT}:database`;
    const migrateToOf = (cfg: Record<string, unknown>): unknown =>
        (cfg[dbKey] as Record<string, unknown> | undefined)?.migrateTo;
    const currentVersion = schemaTarget(migrateToOf(current), newestMigration(REPO_ROOT));
    const targetVersion = schemaTarget(migrateToOf(restored.config), newestMigration(programDir));
    const order = migrationOrder(currentVersion, targetVersion, o.migrateDown === true);
    const withMigrateTo = (cfg: Record<string, unknown>, to: number | undefined): Record<string, unknown> => {
        if (to === undefined) return cfg;
        const db = { ...((cfg[dbKey] as Record<string, unknown> | undefined) ?? {}), migrateTo: to };
        return { ...cfg, [dbKey]: db };
    };

    // Before anything changes: a backup of the current state (secrets stay encrypted in it).
    const stamp = new Date().toISOString().replace(/[:.]/g, "-");
    const backup = path.join(REPO_ROOT, ".rollback", "backups", `${o.stack}-${stamp}.json`);
    fs.mkdirSync(path.dirname(backup), { recursive: true });
    // `pulumi stack export` without --show-secrets (the Automation API's exportStack adds it): the
    // secrets stay ciphertext in the file.
    fs.writeFileSync(backup, "", { mode: 0o600 });
    const exported = await runPulumi(
        o.stack,
        ["stack", "export", "--file", backup, "--stack", o.stack],
        { capture: true },
        ps.env,
    );
    if (exported.code !== 0) {
        fs.rmSync(backup, { force: true });
        return refuse(`the backup of the current state failed: ${exported.stderr.trim()}`);
    }
    log(
        `backup of the current state: ${path.relative(REPO_ROOT, backup)} (restore: npm run pulumi -- stack import --file ${path.relative(REPO_ROOT, backup)} --stack ${o.stack})`,
    );

    const programFile = path.join(programDir, `Pulumi.${o.stack}.yaml`);
    const programText = fs.existsSync(programFile) ? fs.readFileSync(programFile, "utf8") : here.text;
    const undo = (): void => {
        fs.writeFileSync(here.file, here.text);
        if (programFile !== here.file) fs.writeFileSync(programFile, programText);
    };
    const write = (cfg: Record<string, unknown>): void => {
        const text = withConfig(here.text, cfg);
        fs.writeFileSync(programFile, text);
        if (programFile !== here.file) fs.writeFileSync(here.file, text);
    };
    const phase1 = withMigrateTo(restored.config, order.phase1MigrateTo);
    write(phase1);
    const opened = programDir === REPO_ROOT ? ps : await openStack(o.stack, { workDir: programDir });

    let applied = false;
    try {
        if (o.restoreSecrets) {
            for (const [key, value] of Object.entries(withSecrets?.config ?? {})) {
                if (value.secret && typeof value.value === "string") await setSecretConfig(opened, key, value.value);
            }
        }
        log(
            `\n== rollback of ${o.stack} to ${target.id} (${shortTime(target.startTime)}, commit ${commit.slice(0, 7)}): preview`,
        );
        for (const c of restored.changes)
            log(`  config ${c.key}: ${JSON.stringify(c.from)} -> ${JSON.stringify(c.to)}`);
        if (order.staysApplied.length) {
            log(
                `  migrations ${order.staysApplied.join(", ")} stay applied (schema ${currentVersion}, the target expects ${targetVersion}): usually safe, as migrations only expand the schema (expand, then contract); pass --migrate-down to undo them after the machines are back`,
            );
        }
        const p = await runOp((s) => opened.stack.preview({ ...policy, diff: true, ...s }), io.streams);
        if (p.code !== 0) {
            undo();
            return refuse(`the preview of the rollback failed (above)`);
        }
        if (!o.yes) {
            const answer = await (io.confirm ?? terminalConfirm)(
                `Roll ${o.stack} back to ${target.id} as previewed above?`,
            );
            if (answer !== true) {
                undo();
                return refuse(
                    answer === undefined
                        ? "no terminal to confirm on: pass --yes to roll back without asking"
                        : "not confirmed",
                );
            }
        }
        const message = `rollback to ${target.id} (${shortTime(target.startTime)} UTC, commit ${commit.slice(0, 7)})`;
        applied = true;
        log(`\n== pulumi up --stack ${o.stack}: ${message}`);
        const up = await runOp((s) => upStack(opened.stack, { ...policy, message, ...s }), io.streams);
        if (up.code !== 0 || !up.result) {
            log(
                `\nrollback up failed: the stack file keeps the restored config; fix the cause above and run npm run up -- --stack ${o.stack}, or restore the backup`,
            );
            return 1;
        }
        const changes: OpMap = { ...up.result.resourceChanges };
        let done = up.result;
        let migratedDown = false;
        if (order.phase2MigrateTo !== undefined) {
            log(`\n== machines are back; now the schema: migrateTo ${order.phase2MigrateTo}`);
            write(withMigrateTo(restored.config, order.phase2MigrateTo));
            const down = await runOp(
                (s) =>
                    upStack(opened.stack, {
                        ...policy,
                        message: `${message}: schema down to ${order.phase2MigrateTo}`,
                        ...s,
                    }),
                io.streams,
            );
            if (down.code !== 0 || !down.result) {
                log(
                    `\nthe schema step failed: the machines run the target's program; fix the cause and run npm run up -- --stack ${o.stack}`,
                );
                return 1;
            }
            migratedDown = true;
            done = down.result;
            for (const [k, v] of Object.entries(down.result.resourceChanges)) {
                if (k !== "same") changes[k as keyof OpMap] = (changes[k as keyof OpMap] ?? 0) + (v ?? 0);
            }
        }
        const from = entries[0];
        const summary: RollbackSummary = {
            stack: o.stack,
            from: from ? { id: from.id, commit: from.commit, startTime: from.startTime.toISOString() } : undefined,
            to: { id: target.id, commit, startTime: target.startTime.toISOString(), message: target.message },
            program: programDir === REPO_ROOT ? "this checkout" : path.relative(REPO_ROOT, programDir),
            configChanges: restored.changes,
            secrets: o.restoreSecrets ? "restored" : "kept",
            migrations: { currentVersion, targetVersion, migratedDown, staysApplied: order.staysApplied },
            resourceChanges: changes,
            backup: path.relative(REPO_ROOT, backup),
            health: "not checked",
        };
        if (io.gate) {
            const gate = await io.gate(await done.outputs());
            const failing = gate.checks.filter((c) => !c.ok);
            summary.health = gate.ok ? "passed" : `failed: ${failing.map((c) => `${c.name} (${c.detail})`).join("; ")}`;
        }
        log(
            [
                `\nRolled ${o.stack} back to ${target.id} (${shortTime(target.startTime)} UTC, commit ${commit.slice(0, 7)}).`,
                `  from: ${from ? `${from.id} (${shortTime(from.startTime)} UTC)` : "-"}`,
                `  config: ${restored.changes.length ? restored.changes.map((c) => c.key).join(", ") : "unchanged"}; secrets ${summary.secrets}`,
                `  resources: ${describeChanges(changes)}`,
                `  migrations: schema ${migratedDown ? `down to ${targetVersion}` : `at ${currentVersion}`}${order.staysApplied.length ? ` (${order.staysApplied.join(", ")} stay applied)` : ""}`,
                `  backup: ${summary.backup}`,
                `  health: ${summary.health}`,
                `Next: commit Pulumi.${o.stack}.yaml (it now holds the restored config) so main matches what runs.`,
            ].join("\n"),
        );
        if (o.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
        return summary.health.startsWith("failed") ? 1 : 0;
    } catch (e) {
        // Before the up nothing was deployed: put the stack file back. After it, keep what ran.
        if (!applied) undo();
        throw e;
    }
}
