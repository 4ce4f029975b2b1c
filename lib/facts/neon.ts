/** Neon facts: the regions a project can live in (https://neon.tech/docs/introduction/regions). */

/** Neon region ids. */
export const NEON_REGIONS = [
    "aws-us-east-1",
    "aws-us-east-2",
    "aws-us-west-2",
    "aws-eu-central-1",
    "aws-eu-west-2",
    "aws-ap-southeast-1",
    "aws-ap-southeast-2",
    "aws-sa-east-1",
    "azure-eastus2",
    "azure-westus3",
    "azure-gwc",
] as const;

/**
 * Compute units (CU) of a Neon compute: autoscaling spans 0.25 to 16 CU, a fixed size goes up to
 * 56, and the widest autoscaling range is 8 CU (https://neon.com/docs/introduction/autoscaling).
 */
export const NEON_CU = { min: 0.25, max: 56, maxAutoscalingRange: 8 } as const;

/**
 * The name prefix of the Neon branches the stack makes as restore points before a migration
 * (components/databaseMigrations.ts). Each is a copy, replaced by the next migration's, so the
 * policy pack exempts them from `protect` (which would stop the engine deleting the old one).
 */
export const RESTORE_POINT_BRANCH_PREFIX = "restore-point-";

/** Neon's HTTP API (https://api-docs.neon.tech/reference/getting-started-with-neon-api). */
export const NEON_API_URL = "https://console.neon.tech/api/v2";
