/**
 * The whole program under mocks with the real prod (rollout fraction) stack file: the facts an operator relies
 * on. One program run per file: the SDK keeps run state on the global object.
 */
import * as path from "path";
import { hashMigrations } from "../../components/databaseMigrations";
import { machinesPerRegion, plainTextLeaks, T } from "../helpers/facts";
import { named, ofType, ProgramRun, readStackConfig, REPO_ROOT, runProgram } from "../helpers/mockProgram";

describe("rollout batches", () => {
    test("a fraction of 0.5 of six machines rolls three at a time", async () => {
        const api = JSON.parse(readStackConfig("prod").config["fpsgame-infra:api"]);
        const run = await runProgram("prod", { "fpsgame-infra:api": { ...api, rollout: { fraction: 0.5 } } });
        expect(named(run, "api-iad-1").dependsOn).toEqual(["migrations"]);
        expect(named(run, "api-iad-2").dependsOn).toEqual(["migrations"]);
        expect(named(run, "api-sjc-2").dependsOn).toEqual(["api-iad-1", "api-sjc-1", "api-iad-2"]);
        expect(named(run, "api-sjc-3").dependsOn).toEqual(["api-iad-1", "api-sjc-1", "api-iad-2"]);
    });
});
