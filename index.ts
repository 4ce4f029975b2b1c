/**
 * The fpsgame stack: Neon Postgres and Upstash Redis, the schema migrations, the API on
 * Fly.io with its secrets wired from both, and the Vercel frontend pointed at the API.
 * Everything that differs between stacks lives in Pulumi.<stack>.yaml.
 *
 * A review stack (`pr-<n>`, its file written by `npm run review`, see lib/review.ts) is the same
 * program with two differences: its database is a branch of its base stack's (staging's) and
 * its frontend a preview on the base's Vercel project, both found through the base's outputs.
 */
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import { DatabaseMigrations } from "./components/databaseMigrations";
import { FlyApiApp } from "./components/flyApiApp";
import { NeonBranchDatabase } from "./components/neonBranchDatabase";
import { NeonDatabase } from "./components/neonDatabase";
import { UpstashRedis } from "./components/upstashRedis";
import { VercelFrontend } from "./components/vercelFrontend";
import { VercelPreview } from "./components/vercelPreview";
import { loadStackConfig } from "./lib/loadConfig";
import { ApiSecretName, ROOT } from "./lib/names";

const config = loadStackConfig();
const review = config.review;
const base =
    review && new pulumi.StackReference(`${pulumi.getOrganization()}/${pulumi.getProject()}/${review.baseStack}`);

const database = base
    ? new NeonBranchDatabase(ROOT.database, {
          ...config.database,
          projectId: base.requireOutput("databaseProjectId") as pulumi.Output<string>,
          parentBranchId: base.requireOutput("databaseBranchId") as pulumi.Output<string>,
          branchName: pulumi.getStack(),
          // lib/config.ts refuses a review stack without neon:apiKey.
          apiKey: config.secrets.neonApiKey!,
      })
    : new NeonDatabase(ROOT.database, { ...config.database, apiKey: config.secrets.neonApiKey });
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
        // A review stack's branch is itself disposable: no restore point of it.
        restorePointOf:
            database instanceof NeonDatabase
                ? { projectId: database.project.id, branchId: database.project.defaultBranchId }
                : undefined,
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

const webEnv = { [config.frontend.apiUrlEnvKey]: api.apiUrl, [config.frontend.wsUrlEnvKey]: api.wsUrl };
const web =
    base && review
        ? new VercelPreview(ROOT.web, {
              projectId: base.requireOutput("frontendProjectId") as pulumi.Output<string>,
              gitBranch: review.gitBranch,
              ref: review.ref ?? review.gitBranch,
              env: webEnv,
          })
        : new VercelFrontend(ROOT.web, { ...config.frontend, env: webEnv });

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
// What a review stack of this one branches and previews on (lib/review.ts).
export const databaseProjectId = database instanceof NeonDatabase ? database.project.id : database.projectId;
export const databaseBranchId = database instanceof NeonDatabase ? database.project.defaultBranchId : database.branchId;
export const frontendProjectId = web instanceof VercelFrontend ? web.project.id : undefined;
