/**
 * The fpsgame stack: Neon Postgres and Upstash Redis, the schema migrations, the API on
 * Fly.io with its secrets wired from both, and the Vercel frontend pointed at the API.
 * Everything that differs between stacks lives in Pulumi.<stack>.yaml.
 */
import * as path from "path";
import { DatabaseMigrations } from "./components/databaseMigrations";
import { FlyApiApp } from "./components/flyApiApp";
import { NeonDatabase } from "./components/neonDatabase";
import { UpstashRedis } from "./components/upstashRedis";
import { VercelFrontend } from "./components/vercelFrontend";
import { loadStackConfig } from "./lib/loadConfig";
import { ApiSecretName, ROOT } from "./lib/names";

const config = loadStackConfig();

const database = new NeonDatabase(ROOT.database, { ...config.database, apiKey: config.secrets.neonApiKey });
const redis = new UpstashRedis(ROOT.redis, {
    ...config.redis,
    api:
        config.upstashEmail !== undefined && config.secrets.upstashApiKey !== undefined
            ? { email: config.upstashEmail, apiKey: config.secrets.upstashApiKey }
            : undefined,
});
const migrations = new DatabaseMigrations(
    ROOT.migrations,
    {
        databaseUrl: database.connectionUri,
        migrationsDir: path.join(__dirname, "migrations"),
        migrateTo: config.database.migrateTo,
        allowDataLoss: config.database.allowDataLoss,
        restorePointOf: { projectId: database.project.id, branchId: database.project.defaultBranchId },
    },
    { dependsOn: [database] },
);

// The runbook migrates before it deploys application code: machines wait for the schema.
const api = new FlyApiApp(
    ROOT.api,
    {
        ...config.api,
        secrets: {
            JWT_SECRET: config.secrets.jwtSecret,
            DATABASE_URL: database.connectionUri,
            REDIS_URL: redis.url,
        } satisfies Record<ApiSecretName, unknown>,
    },
    { dependsOn: [migrations] },
);

const web = new VercelFrontend(ROOT.web, {
    ...config.frontend,
    env: { [config.frontend.apiUrlEnvKey]: api.apiUrl, [config.frontend.wsUrlEnvKey]: api.wsUrl },
});

export const apiUrl = api.apiUrl;
export const websocketUrl = api.wsUrl;
export const healthUrl = api.healthUrl;
export const readyUrl = api.readyUrl;
export const metricsUrl = api.metricsUrl;
export const frontendUrl = web.url;
export const frontendRef = web.ref;
export const machinesPerRegion = api.machinesPerRegion;
export const databaseHost = database.host;
export const redisEndpoint = redis.endpoint;
export const schema = migrations.summary;
export const restorePoint = migrations.restorePoint;
