/**
 * Import through the stand-ins' Read: an id alone (no state) must give back outputs and the
 * inputs, in the program's shape, so that the engine imports the object and a preview of a
 * program that matches it shows no diff. Records are made in a temporary state directory (the
 * vercel ones through the plugin's own Create; neon and upstash ones written as their store
 * holds them, since their Create needs PostgreSQL and Redis).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { provider as vercel } from "../stand-ins/vercel/index";
import { provider as neon } from "../stand-ins/neon/index";
import { provider as upstash } from "../stand-ins/upstash/index";
import { TOKENS as VERCEL } from "../stand-ins/vercel/resources";
import { TOKENS as NEON } from "../stand-ins/neon/resources";
import { databaseStore, TOKEN as UPSTASH } from "../stand-ins/upstash/resources";
import { projectStore as neonStore, ProjectRecord as NeonProject } from "../stand-ins/neon/model";
import { isSecret, Props, secret, unwrap } from "../stand-ins/common/values";
import type * as pulumiProvider from "@pulumi/pulumi/provider";

const urn = (type: string, name: string) => `urn:pulumi:dev::fpsgame::fpsgame:c$${type}::${name}`;

let stateDir: string;
beforeAll(() => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "localcloud-import-"));
    process.env.LOCALCLOUD_STATE_DIR = stateDir;
});
afterAll(() => {
    delete process.env.LOCALCLOUD_STATE_DIR;
    fs.rmSync(stateDir, { recursive: true, force: true });
});

/** What the engine does after an import's Read: Check the inputs read against themselves. */
async function importCheck(p: pulumiProvider.Provider, u: string, inputs: Props): Promise<void> {
    const r = await p.check!(u, inputs, inputs);
    expect(r.failures ?? []).toEqual([]);
}

/** A preview of the program after the import: Check(program) then Diff(imported outputs, checked). */
async function previewDiff(
    p: pulumiProvider.Provider,
    u: string,
    read: pulumiProvider.ReadResult,
    program: Props,
): Promise<pulumiProvider.DiffResult> {
    const checked = await p.check!(u, read.inputs, program);
    expect(checked.failures ?? []).toEqual([]);
    return p.diff!(read.id!, u, read.props, checked.inputs);
}

describe("vercel", () => {
    const PROJECT = urn(VERCEL.project, "web-project");
    const ENV = urn(VERCEL.envVar, "web-env");
    const DOMAIN = urn(VERCEL.domain, "web-domain");
    const projectInputs = {
        name: "fpsgame-web",
        framework: "vite",
        gitRepository: { type: "github", repo: "fpsgame/web", productionBranch: "main" },
    };
    let projectId: string;
    let plainId: string;
    let sensitiveId: string;

    beforeAll(async () => {
        const checked = await vercel.check!(PROJECT, {}, projectInputs);
        projectId = (await vercel.create!(PROJECT, checked.inputs)).id!;
        const plain = {
            projectId,
            key: "API_URL",
            value: "https://api.example",
            sensitive: false,
            targets: ["production"],
        };
        plainId = (await vercel.create!(ENV, (await vercel.check!(ENV, {}, plain)).inputs)).id!;
        const hidden = {
            projectId,
            key: "TOKEN",
            value: secret("s3cr3t-value"),
            sensitive: true,
            targets: ["production"],
        };
        sensitiveId = (await vercel.create!(ENV, (await vercel.check!(ENV, {}, hidden)).inputs)).id!;
        await vercel.create!(
            DOMAIN,
            (await vercel.check!(DOMAIN, {}, { projectId, domain: "play.example.com" })).inputs,
        );
    });

    test("a project imports by its id with the program's inputs, and a matching program shows no diff", async () => {
        const r = await vercel.read!(projectId, PROJECT, {});
        expect(r.id).toBe(projectId);
        expect(r.inputs).toEqual(projectInputs);
        await importCheck(vercel, PROJECT, r.inputs);
        const d = await previewDiff(vercel, PROJECT, r, projectInputs);
        expect(d.changes).toBe(false);
        const changed = await previewDiff(vercel, PROJECT, r, { ...projectInputs, framework: "nextjs" });
        expect(changed.changes).toBe(true);
    });

    test("an env var imports by <projectId>/<envId>; its id becomes the env var's id; the value is a secret", async () => {
        const r = await vercel.read!(`${projectId}/${plainId}`, ENV, {});
        expect(r.id).toBe(plainId);
        expect(unwrap(r.inputs)).toEqual({
            projectId,
            key: "API_URL",
            value: "https://api.example",
            sensitive: false,
            targets: ["production"],
        });
        expect(isSecret(r.inputs.value)).toBe(true);
        await importCheck(vercel, ENV, r.inputs);
        const d = await previewDiff(vercel, ENV, r, {
            projectId,
            key: "API_URL",
            value: "https://api.example",
            sensitive: false,
            targets: ["production"],
        });
        expect(d.changes).toBe(false);
    });

    test("a sensitive env var imports with no value (as the provider does), and the program's value is an update in place", async () => {
        const r = await vercel.read!(`${projectId}/${sensitiveId}`, ENV, {});
        expect(r.id).toBe(sensitiveId);
        expect(r.inputs).not.toHaveProperty("value");
        expect(r.props).not.toHaveProperty("value");
        expect(JSON.stringify(r)).not.toContain("s3cr3t-value");
        await importCheck(vercel, ENV, r.inputs);
        // Only the import's own check may lack a value: a program that leaves it out still fails.
        const programWithout = await vercel.check!(ENV, {}, r.inputs);
        expect((programWithout.failures ?? []).map((f) => f.property)).toEqual(["value"]);
        const d = await previewDiff(vercel, ENV, r, {
            projectId,
            key: "TOKEN",
            value: secret("s3cr3t-value"),
            sensitive: true,
            targets: ["production"],
        });
        expect(d).toMatchObject({ changes: true, replaces: [] });
    });

    test("the team-qualified form <teamId>/<projectId>/<envId> is taken too; an unknown id reads as gone", async () => {
        expect((await vercel.read!(`team_x/${projectId}/${plainId}`, ENV, {})).id).toBe(plainId);
        expect((await vercel.read!(`${projectId}/nope`, ENV, {})).id).toBe("");
        expect((await vercel.read!("prj_doesnotexist", PROJECT, {})).id).toBe("");
    });

    test("a domain imports by <projectId>/<domain>", async () => {
        const r = await vercel.read!(`${projectId}/play.example.com`, DOMAIN, {});
        expect(r.id).toBe("play.example.com");
        expect(r.inputs).toEqual({ projectId, domain: "play.example.com" });
        await importCheck(vercel, DOMAIN, r.inputs);
        expect((await previewDiff(vercel, DOMAIN, r, { projectId, domain: "play.example.com" })).changes).toBe(false);
    });

    test("a refresh (state given) returns no inputs: the engine keeps the program's", async () => {
        const first = await vercel.read!(`${projectId}/${plainId}`, ENV, {});
        const refreshed = await vercel.read!(plainId, ENV, first.props);
        expect(refreshed.id).toBe(plainId);
        expect(refreshed.inputs).toBeUndefined();
    });
});

describe("neon", () => {
    const PROJECT = urn(NEON.project, "db-project");
    const program = {
        name: "fpsgame-prod",
        regionId: "aws-us-east-2",
        pgVersion: 16,
        historyRetentionSeconds: 604800,
        defaultEndpointSettings: { autoscalingLimitMinCu: 0.25, autoscalingLimitMaxCu: 2, suspendTimeoutSeconds: 300 },
        branch: { name: "main", roleName: "fpsgame_owner", databaseName: "fpsgame" },
    };

    // The connection URI names the local PostgreSQL's port; no server is reached.
    beforeAll(() => (process.env.LOCALCLOUD_PG_PORT = "25432"));
    afterAll(() => delete process.env.LOCALCLOUD_PG_PORT);

    test("a project imports by its id; the password stays secret; a matching program shows no diff", async () => {
        const settings = (await neon.check!(PROJECT, {}, program)).inputs as Props;
        const t = new Date().toISOString();
        const rec: NeonProject = {
            id: "aged-dust-32653049",
            settings,
            createdAt: t,
            defaultBranchId: "br-a",
            defaultEndpointId: "ep-a",
            nextDatabaseId: 2,
            branches: {
                "br-a": {
                    id: "br-a",
                    name: "main",
                    parentId: null,
                    parentLsn: null,
                    parentTimestamp: null,
                    protected: "no",
                    primary: true,
                    createdAt: t,
                    roles: {
                        fpsgame_owner: {
                            name: "fpsgame_owner",
                            password: "pw-not-shown",
                            protected: false,
                            createdAt: t,
                        },
                    },
                    databases: { fpsgame: { id: 1, name: "fpsgame", ownerName: "fpsgame_owner", createdAt: t } },
                },
            },
            endpoints: {},
        };
        neonStore().put(rec.id, rec);
        const r = await neon.read!(rec.id, PROJECT, {});
        expect(r.id).toBe(rec.id);
        expect(r.inputs).toMatchObject(program);
        expect(isSecret(r.props.databasePassword)).toBe(true);
        await importCheck(neon, PROJECT, r.inputs);
        expect((await previewDiff(neon, PROJECT, r, program)).changes).toBe(false);
        const other = await previewDiff(neon, PROJECT, r, { ...program, regionId: "aws-eu-central-1" });
        expect(other.replaces).toContain("regionId");
    });
});

describe("upstash", () => {
    const URN = urn(UPSTASH, "cache-database");
    const program = {
        databaseName: "fpsgame-cache",
        region: "global",
        primaryRegion: "us-east-1",
        readRegions: ["eu-west-1"],
        eviction: true,
        budget: 20,
        autoScale: false,
        tls: true,
    };

    test("a database imports by its bare database id; the state id is upstash-database-<id>", async () => {
        const inputs = unwrap((await upstash.check!(URN, {}, program)).inputs) as Props;
        const databaseId = "6c0a1f7e-2b7c-4a43-9a57-2f1c3e2d9b10";
        databaseStore().put(databaseId, {
            databaseId,
            port: 6390,
            password: "pw-not-shown",
            restToken: "Arest",
            readOnlyRestToken: "Aro",
            creationTime: 1,
            inputs,
        });
        const r = await upstash.read!(databaseId, URN, {});
        expect(r.id).toBe(`upstash-database-${databaseId}`);
        expect(r.inputs).toMatchObject(program);
        expect(isSecret(r.props.password)).toBe(true);
        await importCheck(upstash, URN, r.inputs);
        expect((await previewDiff(upstash, URN, r, program)).changes).toBe(false);
        expect((await upstash.read!("4b1f0000-0000-4000-8000-000000000000", URN, {})).id).toBe("");
    });
});
