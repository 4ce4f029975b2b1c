/**
 * The whole program under mocks with the real staging stack file: the facts an operator relies
 * on.
 */
import * as path from "path";
import { hashMigrations } from "../../components/databaseMigrations";
import { machinesPerRegion, plainTextLeaks, T } from "../helpers/facts";
import { named, ofType, ProgramRun, readStackConfig, REPO_ROOT, runProgram } from "../helpers/mockProgram";

describe("staging stack", () => {
    let run: ProgramRun;
    beforeAll(async () => {
        run = await runProgram("staging");
    });

    test("runs two smaller machines in sjc only", () => {
        expect(machinesPerRegion(run)).toEqual({ sjc: ["api-sjc-1", "api-sjc-2"] });
        for (const m of ofType(run, T.machine)) {
            expect(m.inputs.guest).toEqual({ cpuKind: "shared", cpus: 1, memoryMb: 512 });
            expect(m.inputs.app).toBe("fpsgame-api-staging");
        }
        expect(run.outputs.apiUrl.value).toBe("https://fpsgame-api-staging.fly.dev");
    });

    test("the staging database is not protected and keeps one day of history", () => {
        const p = named(run, "db-project");
        expect(p.protect).toBe(false);
        expect(p.inputs.historyRetentionSeconds).toBe(86400);
    });

    test("secrets stay secret in staging too", () => {
        for (const secret of Object.values(run.secretValues)) expect(plainTextLeaks(run, secret)).toEqual([]);
    });
});
