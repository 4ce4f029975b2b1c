import {
    neonAutoscalingRange,
    neonConnectionSsl,
    neonHistoryRetention,
    neonProtectStateful,
    sslMode,
    Types,
} from "../../policies/src";
import { appSecrets, machine, neonProject, redis, Secret, secretWire } from "./fixtures";
import { validate } from "./harness";

describe("neon-history-retention", () => {
    it("passes 7 days with the default floor", async () => {
        expect(await validate(neonHistoryRetention, neonProject())).toEqual([]);
    });

    it("reports 1 day against the default floor of 7 days", async () => {
        expect(await validate(neonHistoryRetention, neonProject({ historyRetentionSeconds: 86400 }))).toEqual([
            "Neon project database-project must keep at least 604800 seconds of history for point-in-time recovery (historyRetentionSeconds is 86400).",
        ]);
    });

    it("counts an unset retention as Neon's default of 1 day", async () => {
        expect(await validate(neonHistoryRetention, neonProject({ historyRetentionSeconds: undefined }))).toEqual([
            "Neon project database-project must keep at least 604800 seconds of history for point-in-time recovery (historyRetentionSeconds is not set, so Neon keeps 86400).",
        ]);
        expect(
            await validate(neonHistoryRetention, neonProject({ historyRetentionSeconds: undefined }), {
                minHistoryRetentionSeconds: 86400,
            }),
        ).toEqual([]);
    });

    it("takes minHistoryRetentionSeconds from config", async () => {
        expect(
            await validate(neonHistoryRetention, neonProject({ historyRetentionSeconds: 86400 }), {
                minHistoryRetentionSeconds: 86400,
            }),
        ).toEqual([]);
    });

    it("does not apply to other types", async () => {
        expect(await validate(neonHistoryRetention, redis())).toEqual("n/a");
    });
});

describe("neon-protect-stateful", () => {
    const database = (protect: boolean) => ({
        type: Types.neonDatabase,
        name: "database-db",
        props: { name: "fpsgame", ownerName: "fpsgame_owner" },
        protect,
    });

    it("passes a protected project and database", async () => {
        expect(await validate(neonProtectStateful, neonProject())).toEqual([]);
        expect(await validate(neonProtectStateful, database(true))).toEqual([]);
    });

    it("reports an unprotected project", async () => {
        expect(await validate(neonProtectStateful, neonProject({}, false))).toEqual([
            "Stateful resource database-project (neon:index/project:Project) must set protect: true.",
        ]);
    });

    it("reports an unprotected database", async () => {
        expect(await validate(neonProtectStateful, database(false))).toEqual([
            "Stateful resource database-db (neon:index/database:Database) must set protect: true.",
        ]);
    });

    it("exempts a restore-point branch, a copy the next migration replaces, and no other branch", async () => {
        const branch = (name: string) => ({
            type: Types.neonBranch,
            name: `migrations-${name}`,
            props: { name, projectId: "p-1", parentId: "br-main" },
            protect: false,
        });
        expect(await validate(neonProtectStateful, branch("restore-point-2e8d9750b0"))).toEqual("n/a");
        expect(await validate(neonProtectStateful, branch("analytics"))).toEqual([
            "Stateful resource migrations-analytics (neon:index/branch:Branch) must set protect: true.",
        ]);
    });

    it("passes anything when requireProtect is false", async () => {
        expect(await validate(neonProtectStateful, neonProject({}, false), { requireProtect: false })).toEqual([]);
    });

    it("applies to the configured statefulTypes only", async () => {
        expect(await validate(neonProtectStateful, redis())).toEqual("n/a");
        expect(await validate(neonProtectStateful, redis(), { statefulTypes: [Types.upstashRedis] })).toEqual([
            "Stateful resource cache-redis (upstash:index/redisDatabase:RedisDatabase) must set protect: true.",
        ]);
    });
});

describe("neon-connection-ssl", () => {
    const noSsl = "postgresql://fpsgame_owner:pw@ep-x.us-west-2.aws.neon.tech/fpsgame";
    const violation = "DATABASE_URL in api-secrets must require SSL: set sslmode=require in its query string.";

    it("reads sslmode from URLs and key/value strings", () => {
        expect(sslMode(`${noSsl}?sslmode=require`)).toBe("require");
        expect(sslMode(`${noSsl}?channel_binding=require&sslmode=verify-full`)).toBe("verify-full");
        expect(sslMode("host=ep-x dbname=fpsgame sslmode=prefer")).toBe("prefer");
        expect(sslMode(noSsl)).toBeUndefined();
    });

    it("passes sslmode=require", async () => {
        expect(await validate(neonConnectionSsl, appSecrets())).toEqual([]);
    });

    it("reports a URL without sslmode", async () => {
        expect(await validate(neonConnectionSsl, appSecrets({ DATABASE_URL: noSsl }))).toEqual([violation]);
    });

    it("reports sslmode=prefer", async () => {
        expect(await validate(neonConnectionSsl, appSecrets({ DATABASE_URL: `${noSsl}?sslmode=prefer` }))).toEqual([
            violation,
        ]);
    });

    it("reads secret-wrapped values: each value, or the whole map", async () => {
        expect(await validate(neonConnectionSsl, appSecrets({ DATABASE_URL: secretWire(noSsl) }))).toEqual([violation]);
        expect(await validate(neonConnectionSsl, appSecrets({ DATABASE_URL: new Secret(noSsl) }))).toEqual([violation]);
        expect(
            await validate(neonConnectionSsl, appSecrets({ DATABASE_URL: secretWire(`${noSsl}?sslmode=require`) })),
        ).toEqual([]);
        const wrappedMap = appSecrets({ DATABASE_URL: noSsl });
        wrappedMap.props.values = secretWire(wrappedMap.props.values);
        expect(await validate(neonConnectionSsl, wrappedMap)).toEqual([violation]);
    });

    it("never prints the secret value", async () => {
        const [message] = (await validate(neonConnectionSsl, appSecrets({ DATABASE_URL: noSsl }))) as string[];
        expect(message).not.toContain("pw@");
    });

    it("passes secrets without a connection string", async () => {
        expect(
            await validate(neonConnectionSsl, {
                ...appSecrets(),
                props: { app: "fpsgame-api", values: { JWT_SECRET: "x" } },
            }),
        ).toEqual([]);
    });

    it("takes connectionStringKeys and allowedSslModes from config", async () => {
        const secrets = appSecrets({ READ_REPLICA_URL: noSsl });
        expect(
            await validate(neonConnectionSsl, secrets, { connectionStringKeys: ["DATABASE_URL", "READ_REPLICA_URL"] }),
        ).toEqual(["READ_REPLICA_URL in api-secrets must require SSL: set sslmode=require in its query string."]);
        expect(await validate(neonConnectionSsl, appSecrets(), { allowedSslModes: ["verify-full"] })).toEqual([
            violation,
        ]);
    });

    it("does not apply to machines", async () => {
        expect(await validate(neonConnectionSsl, machine())).toEqual("n/a");
    });
});

describe("neon-autoscaling-range", () => {
    it("passes min 0.25, max 2", async () => {
        expect(await validate(neonAutoscalingRange, neonProject())).toEqual([]);
    });

    it("reports max below min on a project", async () => {
        const p = neonProject({ defaultEndpointSettings: { autoscalingLimitMinCu: 2, autoscalingLimitMaxCu: 1 } });
        expect(await validate(neonAutoscalingRange, p)).toEqual([
            "Neon project database-project must set autoscalingLimitMaxCu (1) at or above autoscalingLimitMinCu (2).",
        ]);
    });

    it("reports max below min on an endpoint", async () => {
        const e = {
            type: Types.neonEndpoint,
            name: "database-endpoint",
            props: { projectId: "p", branchId: "b", autoscalingLimitMinCu: 1, autoscalingLimitMaxCu: 0.5 },
        };
        expect(await validate(neonAutoscalingRange, e)).toEqual([
            "Neon endpoint database-endpoint must set autoscalingLimitMaxCu (0.5) at or above autoscalingLimitMinCu (1).",
        ]);
    });

    it("passes equal limits and unset limits", async () => {
        expect(
            await validate(
                neonAutoscalingRange,
                neonProject({ defaultEndpointSettings: { autoscalingLimitMinCu: 1, autoscalingLimitMaxCu: 1 } }),
            ),
        ).toEqual([]);
        expect(await validate(neonAutoscalingRange, neonProject({ defaultEndpointSettings: undefined }))).toEqual([]);
    });
});
