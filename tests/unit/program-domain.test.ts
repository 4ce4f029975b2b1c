/**
 * The whole program under mocks with the real prod (custom domain) stack file: the facts an operator relies
 * on. One program run per file: the SDK keeps run state on the global object.
 */
import * as path from "path";
import { hashMigrations } from "../../components/databaseMigrations";
import { machinesPerRegion, plainTextLeaks, T } from "../helpers/facts";
import { named, ofType, ProgramRun, readStackConfig, REPO_ROOT, runProgram } from "../helpers/mockProgram";

describe("custom domain", () => {
    test("a custom domain gets a certificate and becomes the public host", async () => {
        const api = JSON.parse(readStackConfig("prod").config["fpsgame-infra:api"]);
        const run = await runProgram("prod", { "fpsgame-infra:api": { ...api, customDomain: "api.fpsgame.example" } });
        expect(named(run, "api-cert").inputs.hostname).toBe("api.fpsgame.example");
        expect(run.outputs.websocketUrl.value).toBe("wss://api.fpsgame.example/ws");
    });
});
