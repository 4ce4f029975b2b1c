/** The vercel stand-in: check/diff rules, and the env var conflict against a temporary state dir (no servers). */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { provider } from "../stand-ins/vercel/index";
import { findEnvConflict, projectNameError, TOKENS } from "../stand-ins/vercel/resources";
import { secret, UNKNOWN } from "../stand-ins/common/values";

const urn = (type: string, name: string) => `urn:pulumi:dev::fpsgame::fpsgame:vercel:Frontend$${type}::${name}`;
const ENV = urn(TOKENS.envVar, "web-env-api-url-production");
const PROJECT = urn(TOKENS.project, "web-project");

let stateDir: string;
beforeAll(() => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "localcloud-vercel-"));
    process.env.LOCALCLOUD_STATE_DIR = stateDir;
});
afterAll(() => {
    delete process.env.LOCALCLOUD_STATE_DIR;
    fs.rmSync(stateDir, { recursive: true, force: true });
});

const envInputs = {
    projectId: "prj_x",
    key: "API_URL",
    value: secret("https://api"),
    sensitive: true,
    targets: ["production"],
};

describe("ProjectEnvironmentVariable check", () => {
    test("valid inputs pass and keep the secret wrapper", async () => {
        const r = await provider.check!(ENV, {}, envInputs);
        expect(r.failures).toEqual([]);
        expect(r.inputs.value).toEqual(secret("https://api"));
    });
    test("sensitive is required", async () => {
        const { sensitive: _s, ...rest } = envInputs;
        const r = await provider.check!(ENV, {}, rest);
        expect(r.failures).toContainEqual({ property: "sensitive", reason: "Missing required property 'sensitive'" });
    });
    test("development targets must not be sensitive", async () => {
        const r = await provider.check!(ENV, {}, { ...envInputs, targets: ["development", "preview"] });
        expect((r.failures ?? []).map((f) => f.property)).toEqual(["sensitive"]);
        const ok = await provider.check!(ENV, {}, { ...envInputs, sensitive: false, targets: ["development"] });
        expect(ok.failures).toEqual([]);
    });
    test("exactly one of value/valueWo, at least one target, valid target names", async () => {
        const both = await provider.check!(ENV, {}, { ...envInputs, valueWo: "x" });
        expect((both.failures ?? []).map((f) => f.property)).toContain("value");
        const none = await provider.check!(ENV, {}, { ...envInputs, targets: [] });
        expect((none.failures ?? []).map((f) => f.property)).toContain("targets");
        const bad = await provider.check!(ENV, {}, { ...envInputs, targets: ["staging"] });
        expect((bad.failures ?? []).map((f) => f.property)).toContain("targets");
    });
    test("unknown values are not judged during preview", async () => {
        const r = await provider.check!(ENV, {}, { ...envInputs, projectId: UNKNOWN, targets: UNKNOWN });
        expect(r.failures).toEqual([]);
    });
});

describe("ProjectEnvironmentVariable diff", () => {
    const olds = {
        id: "e1",
        projectId: "prj_x",
        teamId: "",
        key: "API_URL",
        value: secret("https://api"),
        sensitive: true,
        targets: ["production"],
        customEnvironmentIds: [],
    };
    test("no change", async () => {
        expect(await provider.diff!("e1", ENV, olds, envInputs)).toEqual({ changes: false, replaces: [] });
    });
    test.each([
        ["key", { key: "API_BASE_URL" }],
        ["sensitive", { sensitive: false }],
        ["projectId", { projectId: "prj_y" }],
    ])("%s forces a replacement", async (prop, change) => {
        expect(await provider.diff!("e1", ENV, olds, { ...envInputs, ...change })).toEqual({
            changes: true,
            replaces: [prop],
        });
    });
    test("value, targets and comment update in place", async () => {
        const d = await provider.diff!("e1", ENV, olds, {
            ...envInputs,
            value: secret("https://new"),
            targets: ["production", "preview"],
            comment: "c",
        });
        expect(d).toEqual({ changes: true, replaces: [] });
    });
    test("a projectId unknown at preview (project being replaced) replaces", async () => {
        expect((await provider.diff!("e1", ENV, olds, { ...envInputs, projectId: UNKNOWN })).replaces).toEqual([
            "projectId",
        ]);
    });
});

describe("conflicts", () => {
    const base = { id: "a", value: "", sensitive: true, createdAt: 0, updatedAt: 0 };
    test("same key + overlapping target + same branch conflict", () => {
        const envs = [{ ...base, key: "K", targets: ["production", "preview"], customEnvironmentIds: [] }];
        expect(findEnvConflict(envs, { key: "K", targets: ["preview"], customEnvironmentIds: [] })?.target).toBe(
            "preview",
        );
        expect(findEnvConflict(envs, { key: "K", targets: ["development"], customEnvironmentIds: [] })).toBeUndefined();
        expect(
            findEnvConflict(envs, { key: "K", targets: ["preview"], customEnvironmentIds: [], gitBranch: "feature" }),
        ).toBeUndefined();
        expect(findEnvConflict(envs, { key: "K2", targets: ["preview"], customEnvironmentIds: [] })).toBeUndefined();
        expect(
            findEnvConflict(envs, { key: "K", targets: ["preview"], customEnvironmentIds: [] }, "a"),
        ).toBeUndefined();
    });

    test("create-before-delete of a same-key variable fails like Vercel; delete-first works", async () => {
        const p = await provider.create!(
            PROJECT,
            (await provider.check!(PROJECT, {}, { name: "fpsgame-web", framework: "vite" })).inputs,
        );
        expect(p.id).toMatch(/^prj_[A-Za-z0-9]{28}$/);
        const inputs = { ...envInputs, projectId: p.id };
        const first = await provider.create!(ENV, inputs);
        expect(first.outs.value).toEqual(secret("https://api"));
        await expect(provider.create!(ENV, { ...inputs, sensitive: false })).rejects.toThrow(
            /ENV_CONFLICT - A variable with the name `API_URL` already exists for the target production/,
        );
        await provider.delete!(first.id, ENV, first.outs);
        const second = await provider.create!(ENV, { ...inputs, sensitive: false });
        expect(second.outs.sensitive).toBe(false);
        // Deleting the project takes its variables with it; a later delete of the variable is a no-op.
        await provider.delete!(p.id, PROJECT, p.outs);
        await expect(provider.delete!(second.id, ENV, second.outs)).resolves.toBeUndefined();
        expect((await provider.read!(second.id, ENV, second.outs)).id).toBe("");
    });

    test("project names are unique per team", async () => {
        const inputs = (await provider.check!(PROJECT, {}, { name: "dup-name" })).inputs;
        const p = await provider.create!(PROJECT, inputs);
        await expect(provider.create!(PROJECT, inputs)).rejects.toThrow(/already exists/);
        await provider.delete!(p.id, PROJECT, p.outs);
    });
});

describe("Project", () => {
    test("name rules", () => {
        expect(projectNameError("fpsgame-web")).toBeUndefined();
        expect(projectNameError("FPS")).toMatch(/lowercase/);
        expect(projectNameError("a---b")).toBeDefined();
    });
    test("teamId replaces when set; other settings update; computed defaults do not diff", async () => {
        const olds = {
            id: "prj_1",
            name: "web",
            teamId: "",
            framework: "vite",
            nodeVersion: "22.x",
            autoAssignCustomDomains: true,
        };
        expect(await provider.diff!("prj_1", PROJECT, olds, { name: "web", framework: "vite" })).toEqual({
            changes: false,
            replaces: [],
        });
        expect(await provider.diff!("prj_1", PROJECT, olds, { name: "web", framework: "nextjs" })).toEqual({
            changes: true,
            replaces: [],
        });
        expect(
            await provider.diff!("prj_1", PROJECT, olds, { name: "web", framework: "vite", teamId: "team_2" }),
        ).toEqual({ changes: true, replaces: ["teamId"] });
    });
    test("domain: projectId and domain replace, redirect updates", async () => {
        const D = urn(TOKENS.domain, "web-domain");
        const olds = {
            id: "play.example.com",
            projectId: "prj_1",
            domain: "play.example.com",
            teamId: "",
            verified: true,
        };
        expect(
            (await provider.diff!("x", D, olds, { projectId: "prj_1", domain: "www.example.com" })).replaces,
        ).toEqual(["domain"]);
        expect(
            await provider.diff!("x", D, olds, {
                projectId: "prj_1",
                domain: "play.example.com",
                redirect: "example.com",
            }),
        ).toEqual({ changes: true, replaces: [] });
        expect(
            ((await provider.check!(D, {}, { projectId: "p", domain: "Not A Domain" })).failures ?? []).map(
                (f) => f.property,
            ),
        ).toEqual(["domain"]);
    });
});
