/** The stand-in providers' shared, pure helpers: raw values, check/diff engine, names, launchers. */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseUrn } from "../../providers/plugin";
import { checkFields, diffFields, Fields } from "../stand-ins/common/schema";
import {
    containsUnknown,
    secret,
    SECRET_SIG,
    SECRET_SIG_KEY,
    stripUndefined,
    UNKNOWN,
    unwrap,
    wrapSecrets,
} from "../stand-ins/common/values";
import { pgDatabaseName, pgRoleName, scopedName, scramVerifier } from "../stand-ins/neon/pg";
import { renderLauncher } from "../stand-ins/install";

describe("raw values", () => {
    test("secret wrappers round-trip and unwrap deeply", () => {
        const s = secret("pw");
        expect(s).toEqual({ [SECRET_SIG_KEY]: SECRET_SIG, value: "pw" });
        expect(secret(s)).toBe(s);
        expect(unwrap({ a: [s, { b: s }] })).toEqual({ a: ["pw", { b: "pw" }] });
    });
    test("unknowns are found inside secrets and lists", () => {
        expect(containsUnknown({ a: [1, secret(UNKNOWN)] })).toBe(true);
        expect(containsUnknown({ a: [1, "x"] })).toBe(false);
    });
    test("wrapSecrets and stripUndefined", () => {
        expect(
            stripUndefined(wrapSecrets({ password: "x", port: 1, gone: undefined }, ["password", "missing"])),
        ).toEqual({
            password: { [SECRET_SIG_KEY]: SECRET_SIG, value: "x" },
            port: 1,
        });
    });
    test("parseUrn takes the last type of a parent chain", () => {
        const urn = "urn:pulumi:dev::game::fpsgame:neon:Database$neon:index/project:Project::db-project";
        expect(parseUrn(urn)).toEqual({
            urn,
            type: "neon:index/project:Project",
            name: "db-project",
        });
    });
});

describe("check/diff engine", () => {
    const fields: Fields = {
        name: { type: "string", autoname: { maxLength: 20 } },
        region: { type: "string", required: true, replace: true },
        size: { type: "number", default: 20 },
        tags: { type: "stringSet" },
        mode: { type: "string", computed: true, enum: ["a", "b"] },
        block: { type: "object", computed: true, replace: true },
    };
    test("defaults, auto-names and required properties", () => {
        const r = checkFields(fields, "cache", {}, {});
        expect(r.inputs.size).toBe(20);
        expect(r.inputs.name).toMatch(/^cache-[0-9a-f]{7}$/);
        expect(r.failures).toEqual([{ property: "region", reason: "Missing required property 'region'" }]);
    });
    test("an auto-name is kept from the old inputs", () => {
        expect(checkFields(fields, "cache", { name: "cache-abcdef0" }, { region: "x" }).inputs.name).toBe(
            "cache-abcdef0",
        );
    });
    test("types and enums are checked, unknowns are not", () => {
        const r = checkFields(fields, "c", {}, { region: 3, mode: "z", tags: [UNKNOWN] });
        expect(r.failures.map((f) => f.property)).toEqual(["region", "mode"]);
    });
    test("diff: replace fields, sets unordered, computed kept when absent, unknowns change", () => {
        const olds = { name: "n", region: "eu", size: 20, tags: ["b", "a"], mode: "a", block: { id: "x", k: 1 } };
        expect(diffFields(fields, olds, { name: "n", region: "eu", size: 20, tags: ["a", "b"] })).toEqual({
            changed: [],
            replaces: [],
        });
        expect(
            diffFields(fields, olds, { name: "n", region: "us", size: 21, tags: ["a", "b"], block: { k: 1 } }),
        ).toEqual({
            changed: ["region", "size"],
            replaces: ["region"],
        });
        expect(
            diffFields(fields, olds, { name: "n", region: UNKNOWN, size: 20, tags: ["a", "b"], block: { k: 2 } }),
        ).toEqual({
            changed: ["region", "block"],
            replaces: ["region", "block"],
        });
        expect(diffFields(fields, { ...olds, tags: [] }, { name: "n", region: "eu", size: 20 }).changed).toEqual([]);
        expect(
            diffFields(fields, olds, { name: secret("n"), region: "eu", size: 20, tags: ["a", "b"] }).changed,
        ).toEqual([]);
    });
});

describe("PostgreSQL names and passwords", () => {
    test("scoped names are deterministic and fit in 63 bytes", () => {
        expect(pgRoleName("aged-dust-32653049", "fpsgame_owner")).toBe("aged-dust-32653049.fpsgame_owner");
        expect(pgDatabaseName("br-muddy-rain-rdeinjeh", "fpsgame")).toBe("br-muddy-rain-rdeinjeh.fpsgame");
        const long = scopedName("br-wandering-wildflower-abcdefgh", "x".repeat(60));
        expect(Buffer.byteLength(long)).toBeLessThanOrEqual(63);
        expect(long).toBe(scopedName("br-wandering-wildflower-abcdefgh", "x".repeat(60)));
        expect(long).not.toBe(scopedName("br-wandering-wildflower-abcdefgh", "x".repeat(59) + "y"));
    });
    test("SCRAM verifiers have PostgreSQL's format and never contain the password", () => {
        const v = scramVerifier("pencil", Buffer.from("W22ZaJ0SNY7soEsUEjb6gQ==", "base64"));
        expect(v).toMatch(/^SCRAM-SHA-256\$4096:W22ZaJ0SNY7soEsUEjb6gQ==\$[A-Za-z0-9+/=]{44}:[A-Za-z0-9+/=]{44}$/);
        expect(v).not.toContain("pencil");
        expect(scramVerifier("pencil", Buffer.from("W22ZaJ0SNY7soEsUEjb6gQ==", "base64"))).toBe(v);
    });
});

describe("launcher template", () => {
    test("renders absolute, quoted paths and keeps arguments", () => {
        const tmpl = fs.readFileSync(path.join(__dirname, "../stand-ins/launcher.sh.tmpl"), "utf8");
        const out = renderLauncher(tmpl, {
            plugin: "vercel",
            version: "5.4.1",
            node: "/opt/node/bin/node",
            bundle: "/repo/lib/bundle.js",
            entry: "/repo/it's/vercel/index.ts",
            localcloudDir: "/repo/.local",
        });
        expect(out.startsWith("#!/bin/sh\n")).toBe(true);
        expect(out).toContain(`exec '/opt/node/bin/node' '/repo/lib/bundle.js' '/repo/it'\\''s/vercel/index.ts' "$@"`);
        expect(out).toContain(`if [ -z "\${LOCALCLOUD_DIR:-}" ]; then LOCALCLOUD_DIR='/repo/.local'; fi`);
        expect(out).not.toMatch(/@@/);
    });
});
