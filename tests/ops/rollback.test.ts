/**
 * The rollback's own logic (ops/rollback.ts): the ids of history entries, the refusals, the config
 * it restores (plain values from the entry, today's secrets), the order across migrations, and
 * which commits count as this checkout's program. The command itself runs in tests/e2e/rollback.
 */
import type { UpdateSummary } from "@pulumi/pulumi/automation";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
    entryId,
    HistoryEntry,
    installMatches,
    migrationOrder,
    newestMigration,
    refusal,
    restoreConfig,
    sameProgram,
    schemaTarget,
    secretsProviderRefusal,
    toEntry,
    UNDECRYPTABLE,
    withConfig,
} from "../../ops/rollback";
import { REPO_ROOT } from "../../ops/env";

function summary(over: Partial<UpdateSummary> = {}): UpdateSummary {
    return {
        kind: "update",
        startTime: new Date("2026-12-01T10:00:00Z"),
        endTime: new Date("2026-12-01T10:01:30Z"),
        message: "scale sjc to 3",
        environment: { "git.head": "0123456789abcdef0123456789abcdef01234567", "git.dirty": "false" },
        config: {},
        result: "succeeded",
        version: 0,
        resourceChanges: { create: 1, same: 20 },
        ...over,
    } as UpdateSummary;
}

const entry = (over: Partial<UpdateSummary> = {}): HistoryEntry => toEntry(summary(over));
const ctx = { commitExists: () => true, allowDirty: false };

describe("entry ids", () => {
    test("the file backend's version 0: a hash of the entry's own fields, the same on every read", () => {
        expect(entryId(summary())).toMatch(/^h[0-9a-f]{10}$/);
        expect(entryId(summary())).toBe(entryId(summary()));
    });
    test("entries that differ in any identifying field get different ids; position plays no part", () => {
        const ids = [
            summary(),
            summary({ startTime: new Date("2026-12-01T10:00:01Z") }),
            summary({ message: "scale sjc to 4" }),
            summary({ kind: "refresh" }),
            summary({ result: "failed" }),
            summary({ environment: { "git.head": "f".repeat(40) } }),
        ].map(entryId);
        expect(new Set(ids).size).toBe(ids.length);
    });
    test("a backend that numbers updates: v<version>", () => {
        expect(entryId(summary({ version: 42 }))).toBe("v42");
    });
});

describe("refusals", () => {
    test("a succeeded update from a clean checkout whose commit exists is a target", () => {
        expect(refusal(entry(), ctx)).toBeUndefined();
    });
    test.each([
        [
            { kind: "refresh" },
            /^entry h[0-9a-f]{10} is a refresh, not an update: only an update's program and config can be restored$/,
        ],
        [
            { result: "failed" },
            /^entry h[0-9a-f]{10} failed: restoring it would deploy a config that did not deploy; choose an update that succeeded \(--list\)$/,
        ],
        [
            { environment: {} },
            /recorded no git commit \(it ran outside a git checkout\), so its program cannot be restored$/,
        ],
        [
            { environment: { "git.head": "0123456789abcdef0123456789abcdef01234567", "git.dirty": "true" } },
            /ran from a checkout with uncommitted changes \(git.dirty\), so commit 0123456 is not exactly what ran; pass --allow-dirty to restore that commit anyway$/,
        ],
    ] as [Partial<UpdateSummary>, RegExp][])("%j is refused", (over, message) => {
        expect(refusal(entry(over), ctx)).toMatch(message);
    });
    test("a commit that is not in the repository is refused; --allow-dirty accepts a dirty one", () => {
        expect(refusal(entry(), { ...ctx, commitExists: () => false })).toMatch(
            /ran commit 0123456, which is not in this repository: git fetch it first$/,
        );
        const dirty = entry({ environment: { "git.head": "0".repeat(40), "git.dirty": "true" } });
        expect(refusal(dirty, { ...ctx, allowDirty: true })).toBeUndefined();
    });
});

describe("a secrets provider changed since the entry", () => {
    // What `pulumi stack history --show-secrets` gives for an entry whose secrets an earlier
    // provider encrypted (checked by hand against v3.276 after a change of the passphrase's salt).
    const decrypted = summary({
        config: {
            "fpsgame-infra:api.image": { value: "v1", secret: false },
            "fpsgame-infra:jwtSecret": { value: "s3cr3t-value", secret: true },
        },
    });
    const undecryptable = summary({
        config: {
            "fpsgame-infra:jwtSecret": { value: UNDECRYPTABLE, secret: true },
            "neon:apiKey": { value: UNDECRYPTABLE, secret: true },
            "fpsgame-infra:api.image": { value: "v1", secret: false },
        },
    });
    test("an entry today's provider decrypts is a target, and the refusal never shows a value", () => {
        expect(secretsProviderRefusal(decrypted, "h1111111111")).toBeUndefined();
        expect(secretsProviderRefusal(undefined, "h1111111111")).toBeUndefined();
    });
    test("an entry it cannot decrypt is refused, naming its secrets", () => {
        expect(secretsProviderRefusal(undecryptable, "h1111111111")).toBe(
            "the stack's secrets provider changed since entry h1111111111: today's cannot decrypt its secret(s) " +
                "fpsgame-infra:jwtSecret, neon:apiKey; choose an entry made since the change (--list), or change the secrets provider back first",
        );
    });
    test("a plain value that happens to read like the placeholder is not a secret", () => {
        expect(
            secretsProviderRefusal(
                summary({ config: { "fpsgame-infra:api.env.X": { value: UNDECRYPTABLE, secret: false } } }),
                "h1",
            ),
        ).toBeUndefined();
    });
});

describe("the config a rollback restores", () => {
    const current = {
        "fpsgame-infra:api": {
            image: "registry.fly.io/fpsgame-api:v2",
            regions: { sjc: 3, iad: 2 },
            env: { MOTD: "new" },
        },
        "fpsgame-infra:jwtSecret": { secure: "v1:rotated-ciphertext" },
        "fpsgame-infra:featureFlag": "on",
        "fpsgame-infra:localCloud": "true",
    };
    const target = {
        "fpsgame-infra:api": {
            value: "{}",
            objectValue: { image: "registry.fly.io/fpsgame-api:v1", regions: { sjc: 2, iad: 2 }, env: {} },
            secret: false,
        },
        "fpsgame-infra:jwtSecret": { value: "", secret: true },
        "fpsgame-infra:localCloud": { value: "true", secret: false },
    };

    test("plain values come from the entry (objects as objects), today's secrets stay, keys the entry lacked go", () => {
        const r = restoreConfig(target, current);
        expect(r.config).toEqual({
            "fpsgame-infra:api": { image: "registry.fly.io/fpsgame-api:v1", regions: { sjc: 2, iad: 2 }, env: {} },
            "fpsgame-infra:jwtSecret": { secure: "v1:rotated-ciphertext" },
            "fpsgame-infra:localCloud": "true",
        });
        expect(r.missingSecrets).toEqual([]);
        expect(r.changes).toEqual([
            { key: "fpsgame-infra:api.env.MOTD", from: "new" },
            {
                key: "fpsgame-infra:api.image",
                from: "registry.fly.io/fpsgame-api:v2",
                to: "registry.fly.io/fpsgame-api:v1",
            },
            { key: "fpsgame-infra:api.regions.sjc", from: 3, to: 2 },
            { key: "fpsgame-infra:featureFlag", from: "on" },
        ]);
    });

    test("a secret only the entry had is reported, never invented; a secret the entry lacked is kept", () => {
        const r = restoreConfig(
            { ...target, "fpsgame-infra:stripeKey": { value: "", secret: true } },
            { ...current, "fpsgame-infra:newSecret": { secure: "v1:x" } },
        );
        expect(r.missingSecrets).toEqual(["fpsgame-infra:stripeKey"]);
        expect(r.config["fpsgame-infra:newSecret"]).toEqual({ secure: "v1:x" });
        expect(JSON.stringify(r.changes)).not.toContain("v1:");
    });

    test("today's password rotations are kept, as secrets are: a reset cannot be undone", () => {
        const withRotations = {
            ...current,
            "fpsgame-infra:database": { projectName: "p", passwordRotation: 2 },
            "fpsgame-infra:redis": { databaseName: "r", budgetUsd: 20, passwordRotation: 1 },
        };
        const entry = {
            ...target,
            // Before any rotation of the database; the Redis entry had an older one.
            "fpsgame-infra:database": { value: "{}", objectValue: { projectName: "p" }, secret: false },
            "fpsgame-infra:redis": {
                value: "{}",
                objectValue: { databaseName: "r", budgetUsd: 10, passwordRotation: 0 },
                secret: false,
            },
        };
        const r = restoreConfig(entry, withRotations);
        expect(r.config["fpsgame-infra:database"]).toEqual({ projectName: "p", passwordRotation: 2 });
        expect(r.config["fpsgame-infra:redis"]).toEqual({ databaseName: "r", budgetUsd: 10, passwordRotation: 1 });
        expect(r.changes.map((c) => c.key)).not.toContain("fpsgame-infra:database.passwordRotation");
        expect(r.changes).toContainEqual({ key: "fpsgame-infra:redis.budgetUsd", from: 20, to: 10 });
    });

    test("a rotation the stack never had is not invented by a rollback", () => {
        const entry = {
            ...target,
            "fpsgame-infra:database": {
                value: "{}",
                objectValue: { projectName: "p", passwordRotation: 4 },
                secret: false,
            },
        };
        const r = restoreConfig(entry, { ...current, "fpsgame-infra:database": { projectName: "p" } });
        expect(r.config["fpsgame-infra:database"]).toEqual({ projectName: "p" });
    });

    test("the stack file keeps its comments and other keys; only config: is replaced", () => {
        const text = '# the local stack\nconfig:\n  fpsgame-infra:localCloud: "true"\nencryptionsalt: v1:abc\n';
        const out = withConfig(text, { "fpsgame-infra:localCloud": "true", "fpsgame-infra:api": { image: "x:1" } });
        expect(out).toContain("# the local stack");
        expect(out).toContain("encryptionsalt: v1:abc");
        expect(out).toMatch(/fpsgame-infra:api:\n\s+image: x:1/);
    });
});

describe("migrations: machines first, schema after", () => {
    test("migrateTo: latest is the newest migration; a number is itself", () => {
        expect(newestMigration(REPO_ROOT)).toBe(3);
        expect(schemaTarget(undefined, 3)).toBe(3);
        expect(schemaTarget("latest", 3)).toBe(3);
        expect(schemaTarget(1, 3)).toBe(1);
    });
    test("an entry at or above today's schema needs nothing", () => {
        expect(migrationOrder(3, 3, false)).toEqual({
            phase1MigrateTo: undefined,
            phase2MigrateTo: undefined,
            staysApplied: [],
        });
    });
    test("below it: the schema stays for the machines' rollback; only --migrate-down takes it down, after", () => {
        expect(migrationOrder(3, 1, false)).toEqual({
            phase1MigrateTo: 3,
            phase2MigrateTo: undefined,
            staysApplied: [2, 3],
        });
        expect(migrationOrder(3, 1, true)).toEqual({ phase1MigrateTo: 3, phase2MigrateTo: 1, staysApplied: [] });
    });
});

describe("which commit's program runs", () => {
    const git = (...args: string[]) => execFileSync("git", args, { cwd: REPO_ROOT, encoding: "utf8" }).trim();

    test("HEAD (with only ignored or stack files around) is this checkout's program", () => {
        // A commit whose tree equals HEAD's but for stack files is the same program.
        const dirtyProgram = git("status", "--porcelain", "--untracked-files=no")
            .split("\n")
            .filter((l) => l && !/Pulumi\..*\.yaml$/.test(l));
        if (dirtyProgram.length === 0) expect(sameProgram(git("rev-parse", "HEAD"))).toBe(true);
        else expect(sameProgram(git("rev-parse", "HEAD"))).toBe(false);
    });
    test("the first commit of the project is another program: it runs from a worktree", () => {
        const first = git("rev-list", "--max-parents=0", "HEAD").split("\n")[0];
        expect(sameProgram(first)).toBe(false);
    });
});

describe("a worktree's install: linked from this checkout only when the commit pins what it holds", () => {
    let dir: string;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "install-match-"));
        fs.mkdirSync(path.join(dir, "node_modules"));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
    const pkg = (version: string, extra: object = {}) => ({ version, integrity: `sha512-${version}`, ...extra });
    const write = (pinned: object, installed: object) => {
        fs.writeFileSync(path.join(dir, "package-lock.json"), JSON.stringify({ packages: { "": {}, ...pinned } }));
        fs.writeFileSync(path.join(dir, "node_modules", ".package-lock.json"), JSON.stringify({ packages: installed }));
        return installMatches(path.join(dir, "package-lock.json"), path.join(dir, "node_modules"));
    };
    const a = "node_modules/a";
    const other = "node_modules/@esbuild/darwin-arm64";

    test("the same packages at the same versions and integrity match; another platform's optional binary may be missing", () => {
        expect(write({ [a]: pkg("1.0.0"), [other]: pkg("0.1.0", { optional: true }) }, { [a]: pkg("1.0.0") })).toBe(
            true,
        );
    });
    test("another version, a missing package, an extra one, or no record of the install: npm ci instead", () => {
        expect(write({ [a]: pkg("1.0.1") }, { [a]: pkg("1.0.0") })).toBe(false);
        expect(write({ [a]: pkg("1.0.0"), "node_modules/b": pkg("2.0.0") }, { [a]: pkg("1.0.0") })).toBe(false);
        expect(write({ [a]: pkg("1.0.0") }, { [a]: pkg("1.0.0"), "node_modules/b": pkg("2.0.0") })).toBe(false);
        fs.rmSync(path.join(dir, "node_modules", ".package-lock.json"));
        expect(installMatches(path.join(dir, "package-lock.json"), path.join(dir, "node_modules"))).toBe(false);
    });
    test("this checkout, installed by npm ci, holds what its own lockfile pins", () => {
        for (const sub of [".", "policies"]) {
            expect(
                installMatches(
                    path.join(REPO_ROOT, sub, "package-lock.json"),
                    path.join(REPO_ROOT, sub, "node_modules"),
                ),
            ).toBe(true);
        }
    });
});
