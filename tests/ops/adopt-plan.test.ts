import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { parseStackConfig, StackConfig } from "../../lib/config";
import { FlyFound } from "../../ops/adopt/fly";
import { Inventory, planAdoption, renderPlan, StateEntry, TYPES } from "../../ops/adopt/plan";
import { unsafeSteps } from "../../ops/adopt/plan";
import type { FlyMachine } from "../../providers/fly/provider/client";

/** The local stack's config (sjc: 2, iad: 2, domain play.fpsgame.localhost, no custom API domain). */
function localConfig(): StackConfig<unknown> {
    const raw = parse(fs.readFileSync(path.join(__dirname, "../../Pulumi.local.yaml"), "utf8")).config;
    const k = (key: string) => raw[`fpsgame-infra:${key}`];
    return parseStackConfig({
        api: k("api"),
        frontend: k("frontend"),
        database: k("database"),
        redis: k("redis"),
        jwtSecret: "-",
    });
}

let seq = 0;
function machine(region: string, deployed = true): FlyMachine {
    seq++;
    return {
        id: `m${String(seq).padStart(13, "0")}`,
        name: `quiet-river-${1000 + seq}`,
        state: "started",
        region,
        instance_id: `i${seq}`,
        created_at: `2026-11-01T00:00:${String(seq).padStart(2, "0")}Z`,
        config: { image: "x:1", metadata: deployed ? { fly_release_id: "r1", fly_platform_version: "v2" } : {} },
    } as FlyMachine;
}

/** Hand-made production: sjc 2, iad 3 (one beyond the count), one in ams, one made by `fly machine run`. */
function inventory(): Inventory {
    seq = 0;
    const fly: FlyFound = {
        app: { id: "a1", name: "fpsgame-api-local", organization: { slug: "personal" } },
        machines: [
            machine("sjc"),
            machine("iad"),
            machine("sjc"),
            machine("iad"),
            machine("iad"),
            machine("ams"),
            machine("sjc", false),
        ],
        ips: [
            { ip: "66.241.124.7", shared: true },
            { ip: "2a09:8280:1::9", region: "global" },
        ],
        secretNames: ["DATABASE_URL", "JWT_SECRET", "REDIS_URL", "SENTRY_DSN"],
    };
    return {
        fly,
        neon: { id: "odd-cloud-123", name: "fpsgame-local" },
        upstash: { id: "0e1ee059-7326-4fb9-af40-4d081e6c0e2d", name: "fpsgame-local" },
        vercel: {
            id: "prj_abc",
            name: "fpsgame-web-local",
            env: [
                { id: "e1", key: "VITE_API_URL", targets: ["production"] },
                { id: "e2", key: "VITE_API_URL", targets: ["preview"] },
                { id: "e3", key: "VITE_WS_URL", targets: ["production"] },
                { id: "e4", key: "SENTRY_DSN", targets: ["production"] },
            ],
            domains: ["play.fpsgame.localhost", "old.fpsgame.localhost"],
        },
    };
}

describe("planAdoption", () => {
    const config = localConfig();

    test("fly deploy's machines become api-<region>-<n>, oldest first, up to the config's count", () => {
        const plan = planAdoption(config, inventory(), []);
        const machines = plan.adopt.filter((a) => a.type === TYPES.flyMachine).map((a) => [a.name, a.id]);
        expect(machines).toEqual([
            ["api-iad-1", "fpsgame-api-local/m0000000000002"],
            ["api-iad-2", "fpsgame-api-local/m0000000000004"],
            ["api-sjc-1", "fpsgame-api-local/m0000000000001"],
            ["api-sjc-2", "fpsgame-api-local/m0000000000003"],
        ]);
    });

    test("machines beyond the count, in another region or not from fly deploy are listed and left alone", () => {
        const plan = planAdoption(config, inventory(), []);
        const left = plan.leftAlone.filter((l) => l.startsWith("Fly machine"));
        expect(left).toHaveLength(3);
        expect(left.find((l) => l.includes("m0000000000006"))).toMatch(
            /in ams .*region ams is not in api.regions; left running/,
        );
        expect(left.find((l) => l.includes("m0000000000005"))).toMatch(
            /beyond api.regions.iad = 2; left running, never destroyed/,
        );
        expect(left.find((l) => l.includes("m0000000000007"))).toMatch(/not made by fly deploy/);
        expect(plan.imports.some((i) => i.id?.includes("m0000000000006"))).toBe(false);
    });

    test("every other object maps to the program's resource, with the import id its provider reads", () => {
        const plan = planAdoption(config, inventory(), []);
        const byName = Object.fromEntries(plan.adopt.map((a) => [a.name, a]));
        expect(byName["api-app"]).toMatchObject({ type: TYPES.flyApp, id: "fpsgame-api-local", parent: "api" });
        expect(byName["api-secrets"]).toMatchObject({ type: TYPES.flySecrets, id: "fpsgame-api-local" });
        expect(byName["api-ip-v4"].id).toBe("fpsgame-api-local/66.241.124.7");
        expect(byName["api-ip-v6"].id).toBe("fpsgame-api-local/2a09:8280:1::9");
        expect(byName["db-project"]).toMatchObject({ type: TYPES.neonProject, id: "odd-cloud-123", parent: "db" });
        expect(byName["redis-database"]).toMatchObject({ type: TYPES.upstashDatabase, parent: "redis" });
        expect(byName["web-project"].id).toBe("prj_abc");
        expect(byName["web-env-vite-api-url-production"].id).toBe("prj_abc/e1");
        expect(byName["web-env-vite-api-url-preview"].id).toBe("prj_abc/e2");
        expect(byName["web-domain"].id).toBe("prj_abc/play.fpsgame.localhost");
        // Not found, so created by the first up: VITE_WS_URL for preview.
        expect(plan.created).toEqual([
            expect.stringMatching(/^web-env-vite-ws-url-preview .*no VITE_WS_URL for preview/),
        ]);
        expect(plan.leftAlone).toEqual(
            expect.arrayContaining([
                expect.stringMatching(/^Fly secret SENTRY_DSN/),
                expect.stringMatching(/^Vercel env SENTRY_DSN/),
                expect.stringMatching(/^Vercel domain old.fpsgame.localhost/),
            ]),
        );
        expect(plan.secretsToSet).toEqual(["JWT_SECRET", "DATABASE_URL", "REDIS_URL"]);
    });

    test("the import file lists the parent components first, then resources with their parent", () => {
        const plan = planAdoption(config, inventory(), [], { fly: { version: "0.1.0" } });
        const components = plan.imports.filter((i) => i.component);
        expect(components.map((c) => [c.type, c.name])).toEqual([
            ["fpsgame:fly:ApiApp", "api"],
            ["fpsgame:neon:Database", "db"],
            ["fpsgame:upstash:Redis", "redis"],
            ["fpsgame:vercel:Frontend", "web"],
        ]);
        expect(plan.imports.slice(0, 4).every((i) => i.component)).toBe(true);
        expect(plan.imports.find((i) => i.name === "api-app")).toMatchObject({ parent: "api", version: "0.1.0" });
    });

    test("a second run on the adopted stack imports nothing and says what is managed", () => {
        const first = planAdoption(config, inventory(), []);
        const state: StateEntry[] = first.adopt.map((a) => ({
            type: a.type,
            name: a.name,
            id: a.id.split("/").pop()!,
        }));
        const second = planAdoption(config, inventory(), state);
        expect(second.adopt).toEqual([]);
        expect(second.imports).toEqual([]);
        expect(second.managed).toHaveLength(first.adopt.length);
        expect(second.managed).toContain("api-iad-1 (fly:index:Machine): already managed, machine m0000000000002");
    });

    test("one Vercel variable for several targets blocks the adoption, with what to do", () => {
        const inv = inventory();
        const vercel = { ...inv.vercel!, env: [{ id: "e9", key: "VITE_API_URL", targets: ["production", "preview"] }] };
        const plan = planAdoption(config, { ...inv, vercel }, []);
        expect(plan.blockers).toEqual([
            "Vercel env VITE_API_URL (e9) targets production + preview in one variable; the program keeps one per target, and Vercel refuses a second VITE_API_URL for the same target: split it in the dashboard (one variable per target) and run adopt again",
        ]);
        expect(renderPlan(plan, "local")).toContain("Blocking the adoption (1):");
    });

    test("a Neon project without the config's database or owner role blocks the adoption, naming the key", () => {
        const inv = inventory();
        const neon = { ...inv.neon!, databases: ["game"], roles: ["fpsgame_owner"] };
        expect(planAdoption(config, { ...inv, neon }, []).blockers).toEqual([
            'Neon project "fpsgame-local" has no database "fpsgame" (database.databaseName); it has "game": set database.databaseName to the one the API uses and run adopt again',
        ]);
        const matching = { ...inv.neon!, databases: ["fpsgame"], roles: ["fpsgame_owner"] };
        expect(planAdoption(config, { ...inv, neon: matching }, []).blockers).toEqual([]);
    });

    test("nothing found: everything is created by the first up, nothing imported", () => {
        const plan = planAdoption(config, {}, []);
        expect(plan.adopt).toEqual([]);
        expect(plan.created.map((c) => c.split(" ")[0])).toEqual([
            "api-app",
            "db-project",
            "redis-database",
            "web-project",
        ]);
    });
});

describe("unsafeSteps", () => {
    const plan = planAdoption(localConfig(), inventory(), []);
    test("a replace of the Neon project or a create of an adopted resource is refused; an update is not", () => {
        expect(
            unsafeSteps(
                [
                    { op: "update", name: "api-iad-1", type: TYPES.flyMachine, properties: ["image"] },
                    { op: "replace", name: "db-project", type: TYPES.neonProject, properties: ["regionId"] },
                    { op: "create", name: "api-app", type: TYPES.flyApp, properties: [] },
                    { op: "create", name: "web-env-vite-ws-url-preview", type: TYPES.vercelEnv, properties: [] },
                ],
                plan,
            ),
        ).toEqual([
            "replace of db-project (neon:index/project:Project), which exists and was imported",
            "replace of db-project (neon:index/project:Project), a stateful resource: its data would be lost",
            "create of api-app (fly:index:App), which exists and was imported",
        ]);
    });
});
