/**
 * The names the program gives its top-level components and the API's Fly secrets: one home,
 * read by `index.ts` (which builds them) and by `npm run adopt` (which imports existing objects
 * under them, so the names must be the program's exactly).
 */

/** The logical name of each top-level component; children are `<name>-<role>`. */
export const ROOT = {
    database: "db",
    redis: "redis",
    migrations: "migrations",
    api: "api",
    web: "web",
} as const;

/** The Fly secrets the program sets on the API: the signing key and the two connection strings. */
export const API_SECRET_NAMES = ["JWT_SECRET", "DATABASE_URL", "REDIS_URL"] as const;
export type ApiSecretName = (typeof API_SECRET_NAMES)[number];
