/** The neon stand-in's pure parts: parameterization, check and replace rules per resource. */
import * as fs from "node:fs";
import * as path from "node:path";
import { parameterizeArgs, parameterizeValue, provider } from "../stand-ins/neon/index";
import { nameError, TOKENS } from "../stand-ins/neon/resources";
import { secret, UNKNOWN } from "../stand-ins/common/values";

const urn = (type: string, name: string) => `urn:pulumi:dev::fpsgame::fpsgame:neon:Database$${type}::${name}`;
const PROJECT = urn(TOKENS.project, "db-project");

describe("parameterization", () => {
    test("accepts @sst-provider/neon's package.json value and answers neon 0.13.0", async () => {
        const pkg = JSON.parse(
            fs.readFileSync(path.join(__dirname, "../../node_modules/@sst-provider/neon/package.json"), "utf8"),
        );
        const { name, version, value } = pkg.pulumi.parameterization;
        expect(pkg.pulumi).toMatchObject({ name: "terraform-provider", version: "1.1.1" });
        const decoded = Buffer.from(value, "base64").toString("utf8");
        await expect(parameterizeValue(name, version, decoded)).resolves.toEqual({ name: "neon", version: "0.13.0" });
        await expect(
            parameterizeValue(
                "aws",
                "1.0.0",
                JSON.stringify({ remote: { url: "registry.terraform.io/hashicorp/aws", version: "1.0.0" } }),
            ),
        ).rejects.toThrow(/only emulates kislerdm\/neon/);
        await expect(parameterizeArgs(["kislerdm/neon", "0.13.0"])).resolves.toEqual({
            name: "neon",
            version: "0.13.0",
        });
    });
});

describe("Project", () => {
    const inputs = {
        name: "fpsgame-dev",
        regionId: "aws-us-west-2",
        pgVersion: 16,
        historyRetentionSeconds: 604800,
        defaultEndpointSettings: { autoscalingLimitMinCu: 0.25, autoscalingLimitMaxCu: 2, suspendTimeoutSeconds: 300 },
        branch: { name: "main", roleName: "fpsgame_owner", databaseName: "fpsgame" },
    };
    const outs = {
        ...inputs,
        id: "aged-dust-32653049",
        orgId: "",
        storePassword: "yes",
        computeProvisioner: "k8s-neonvm",
        enableLogicalReplication: "no",
        quota: {},
        defaultEndpointSettings: { id: "ep-x", ...inputs.defaultEndpointSettings },
        branch: { id: "br-x", ...inputs.branch },
        connectionUri: secret("postgres://u:p@127.0.0.1:55432/d?sslmode=require"),
        databasePassword: secret("p"),
    };
    test("check defaults and validation", async () => {
        const r = await provider.check!(PROJECT, {}, inputs);
        expect(r.failures).toEqual([]);
        expect(r.inputs).toMatchObject({ historyRetentionSeconds: 604800, storePassword: "yes" });
        const bad = await provider.check!(
            PROJECT,
            {},
            { ...inputs, pgVersion: 12, branch: { roleName: "pg_x" }, storePassword: "true" },
        );
        expect((bad.failures ?? []).map((f) => f.property).sort()).toEqual([
            "branch.roleName",
            "pgVersion",
            "storePassword",
        ]);
    });
    test("unchanged inputs: no diff (computed outputs and the branch id are ignored)", async () => {
        const r = await provider.check!(PROJECT, inputs, inputs);
        expect(await provider.diff!("aged-dust-32653049", PROJECT, outs, r.inputs)).toEqual({
            changes: false,
            replaces: [],
        });
    });
    test.each([
        ["regionId", { regionId: "aws-eu-central-1" }],
        ["pgVersion", { pgVersion: 17 }],
        ["orgId", { orgId: "org-1" }],
        ["branch", { branch: { name: "main", roleName: "other", databaseName: "fpsgame" } }],
    ])("%s forces a new project", async (prop, change) => {
        expect((await provider.diff!("p", PROJECT, outs, { ...inputs, ...change })).replaces).toEqual([prop]);
    });
    test("name, history retention and endpoint settings update in place", async () => {
        const d = await provider.diff!("p", PROJECT, outs, {
            ...inputs,
            name: "renamed",
            historyRetentionSeconds: 86400,
            defaultEndpointSettings: { ...inputs.defaultEndpointSettings, autoscalingLimitMaxCu: 4 },
        });
        expect(d).toEqual({ changes: true, replaces: [] });
    });
});

describe("Branch, Role, Database, Endpoint", () => {
    test("Role: every input forces a replacement; the name is auto-named", async () => {
        const R = urn(TOKENS.role, "app-role");
        const r = await provider.check!(R, {}, { projectId: "p", branchId: "b" });
        expect(r.failures).toEqual([]);
        expect(r.inputs.name).toMatch(/^app-role-[0-9a-f]{7}$/);
        const olds = { projectId: "p", branchId: "b", name: "app", password: secret("x") };
        expect(
            (await provider.diff!("p/b/app", R, olds, { projectId: "p", branchId: "b2", name: "app" })).replaces,
        ).toEqual(["branchId"]);
        expect(
            (await provider.diff!("p/b/app", R, olds, { projectId: "p", branchId: "b", name: "app2" })).replaces,
        ).toEqual(["name"]);
    });
    test("Database: ownerName replaces, name renames in place", async () => {
        const D = urn(TOKENS.database, "app-db");
        const olds = { projectId: "p", branchId: "b", name: "app", ownerName: "o" };
        expect(await provider.diff!("p/b/app", D, olds, { ...olds, name: "app2" })).toEqual({
            changes: true,
            replaces: [],
        });
        expect((await provider.diff!("p/b/app", D, olds, { ...olds, ownerName: "o2" })).replaces).toEqual([
            "ownerName",
        ]);
        expect((await provider.check!(D, {}, { projectId: "p", branchId: "b" })).failures).toEqual([
            { property: "ownerName", reason: "Missing required property 'ownerName'" },
        ]);
    });
    test("Role and Database: check refuses a reserved or too long name, and names the property", async () => {
        const R = urn(TOKENS.role, "app-role");
        const D = urn(TOKENS.database, "app-db");
        expect((await provider.check!(R, {}, { projectId: "p", branchId: "b", name: "pg_app" })).failures).toEqual([
            { property: "name", reason: 'role name "pg_app" is reserved (names starting with pg_ or neon_)' },
        ]);
        const long = "d".repeat(64);
        const db = { projectId: "p", branchId: "b", ownerName: "o", name: long };
        expect((await provider.check!(D, {}, db)).failures).toEqual([
            { property: "name", reason: `database name must be 1 to 63 bytes long (got "${long}")` },
        ]);
    });
    test("Branch: parent changes replace, name/protected update, unknown projectId replaces", async () => {
        const B = urn(TOKENS.branch, "preview");
        const olds = {
            id: "br-1",
            projectId: "p",
            name: "preview",
            parentId: "br-0",
            parentLsn: "0/1",
            parentTimestamp: 1,
            protected: "no",
            logicalSize: 7,
        };
        expect(await provider.diff!("br-1", B, olds, { projectId: "p", name: "preview" })).toEqual({
            changes: false,
            replaces: [],
        });
        expect(await provider.diff!("br-1", B, olds, { projectId: "p", name: "pr-2", protected: "yes" })).toEqual({
            changes: true,
            replaces: [],
        });
        expect(
            (await provider.diff!("br-1", B, olds, { projectId: "p", name: "preview", parentId: "br-9" })).replaces,
        ).toEqual(["parentId"]);
        expect((await provider.diff!("br-1", B, olds, { projectId: UNKNOWN, name: "preview" })).replaces).toEqual([
            "projectId",
        ]);
        expect(
            (
                (await provider.check!(B, {}, { projectId: "p", parentLsn: "0/1", parentTimestamp: 5 })).failures ?? []
            ).map((f) => f.property),
        ).toEqual(["parentLsn"]);
    });
    test("Endpoint: type defaults to read_write and replaces; autoscaling updates", async () => {
        const E = urn(TOKENS.endpoint, "ro");
        const r = await provider.check!(E, {}, { projectId: "p", branchId: "b" });
        expect(r.inputs.type).toBe("read_write");
        const olds = {
            id: "ep-1",
            projectId: "p",
            branchId: "b",
            type: "read_write",
            autoscalingLimitMaxCu: 1,
            host: "127.0.0.1",
        };
        expect((await provider.diff!("ep-1", E, olds, { ...r.inputs, type: "read_only" })).replaces).toEqual(["type"]);
        expect(await provider.diff!("ep-1", E, olds, { ...r.inputs, autoscalingLimitMaxCu: 2 })).toEqual({
            changes: true,
            replaces: [],
        });
    });
    test("name rules", () => {
        expect(nameError("role", "fpsgame_owner")).toBeUndefined();
        expect(nameError("role", "neon_superuser")).toMatch(/reserved/);
        expect(nameError("database", "x".repeat(64))).toMatch(/63 bytes/);
    });
});
