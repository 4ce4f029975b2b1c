/**
 * The runbook's operations as config edits (ops/runbook.ts): what each command changes, and the
 * errors that name the argument, the value and what is allowed.
 */
import {
    databaseUrlFromState,
    deployEdit,
    describeEdit,
    newSecretValue,
    passwordRotationEdit,
    rotateKey,
    scaleEdits,
} from "../../ops/runbook";

describe("scale", () => {
    test("a region's count, a region removed, the running minimum and the VM size are config paths", () => {
        expect(scaleEdits({ region: "sjc", count: "3" })).toEqual([{ path: "api.regions.sjc", value: "3" }]);
        expect(scaleEdits({ removeRegion: "iad" })).toEqual([{ path: "api.regions.iad" }]);
        expect(scaleEdits({ minRunning: "2" })).toEqual([{ path: "api.autoscale.minMachinesRunning", value: "2" }]);
        expect(scaleEdits({ vm: "performance:2:4096" })).toEqual([
            { path: "api.vm.cpuKind", value: "performance" },
            { path: "api.vm.cpus", value: "2" },
            { path: "api.vm.memoryMb", value: "4096" },
        ]);
    });
    test.each([
        [{ region: "sjc" }, "--region sjc needs --count <machines> (1 to 20)"],
        [{ region: "SJC1", count: "2" }, '--region "SJC1": allowed is a Fly region code like sjc, with --count'],
        [{ region: "sjc", count: "21" }, '--count "21": allowed is a whole number from 1 to 20'],
        [{ region: "sjc", count: "2.5" }, '--count "2.5": allowed is a whole number from 1 to 20'],
        [{ removeRegion: "x" }, '--remove-region "x": allowed is a Fly region code like iad'],
        [{ vm: "big" }, '--vm "big": allowed is <shared|performance>:<cpus>:<memoryMb>, like shared:2:1024'],
        [
            {},
            "npm run scale: say what to change: --region <code> --count <n>, --remove-region <code>, --min-running <n> or --vm <kind>:<cpus>:<memoryMb>",
        ],
    ])("%j is refused: %s", (args, message) => {
        expect(() => scaleEdits(args)).toThrow(new Error(message));
    });
});

describe("deploy", () => {
    test("an image with a tag or a digest", () => {
        expect(deployEdit("registry.fly.io/fpsgame-api:v1.5.0")).toEqual({
            path: "api.image",
            value: "registry.fly.io/fpsgame-api:v1.5.0",
        });
        const pinned = `registry.fly.io/fpsgame-api@sha256:${"a".repeat(64)}`;
        expect(deployEdit(pinned).value).toBe(pinned);
    });
    test.each(["", "fpsgame-api", "registry.fly.io/fpsgame-api", "Registry/API:v1"])("%j is refused", (image) => {
        expect(() => deployEdit(image)).toThrow(
            `--image ${JSON.stringify(image)}: allowed is an image reference with a tag or digest`,
        );
    });
});

describe("rotate", () => {
    test("a service password is one more in its counter (absent is 0), never a value of ours", () => {
        expect(passwordRotationEdit("databasePassword", {})).toEqual({
            path: "database.passwordRotation",
            value: "1",
        });
        expect(
            passwordRotationEdit("redisPassword", {
                "fpsgame-infra:redis": { databaseName: "r", passwordRotation: 4 },
            }),
        ).toEqual({ path: "redis.passwordRotation", value: "5" });
        expect(() =>
            passwordRotationEdit("databasePassword", { "fpsgame-infra:database": { passwordRotation: "x" } }),
        ).toThrow(
            'fpsgame-infra:database.passwordRotation = "x" in the stack file: allowed is a whole number from 0; fix it before rotating',
        );
    });

    test("only the API's own secrets; a new value is 64 random base64url characters, never shown", () => {
        expect(rotateKey("jwtSecret")).toBe("jwtSecret");
        expect(() => rotateKey("vercel:apiToken")).toThrow(
            '--secret "vercel:apiToken": allowed is jwtSecret, databasePassword, redisPassword',
        );
        const a = newSecretValue();
        expect(a).toMatch(/^[A-Za-z0-9_-]{64}$/);
        expect(newSecretValue()).not.toBe(a);
        expect(describeEdit({ path: "jwtSecret", value: a, secret: true })).toBe("jwtSecret = [secret, new value]");
    });
});

describe("the database URL the commands use (backup, undo-migration)", () => {
    const secret = (v: string) => ({
        "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
        plaintext: JSON.stringify(v),
    });
    const project = {
        urn: "urn:pulumi:prod::fpsgame-infra::fpsgame:neon:Database$neon:index/project:Project::db-project",
        type: "neon:index/project:Project",
        outputs: { connectionUri: secret("postgresql://fpsgame_owner:created@ep-1.neon.tech/fpsgame") },
    };
    const migrations = {
        urn: "urn:pulumi:prod::fpsgame-infra::fpsgame:db:Migrations$command:local:Command::migrations-apply",
        type: "command:local:Command",
        outputs: { stdout: "schema at version 3; nothing to do" },
    };
    const rotation = {
        urn: "urn:pulumi:prod::fpsgame-infra::fpsgame:neon:Database$command:local:Command::db-password-rotation",
        type: "command:local:Command",
        outputs: { stdout: secret("r0tated/p@ss") },
    };

    test("never rotated: the project's connection string, with sslmode=require", () => {
        expect(databaseUrlFromState([project, migrations])).toBe(
            "postgresql://fpsgame_owner:created@ep-1.neon.tech/fpsgame?sslmode=require",
        );
    });
    test("rotated: the password of the last reset, as the API gets it (not the migrations' output)", () => {
        const url = new URL(databaseUrlFromState([migrations, project, rotation])!);
        expect(decodeURIComponent(url.password)).toBe("r0tated/p@ss");
        expect([url.username, url.host, url.pathname, url.searchParams.get("sslmode")]).toEqual([
            "fpsgame_owner",
            "ep-1.neon.tech",
            "/fpsgame",
            "require",
        ]);
    });
    test("no database in the state yet: undefined", () => {
        expect(databaseUrlFromState([migrations])).toBeUndefined();
    });
});
