/**
 * Upstash Redis facts: the regions a global database can use as primary or read region (the
 * `primaryRegion` / `readRegions` values the `@upstash/pulumi` provider accepts, as of 2026).
 */

/** Regions a global Upstash Redis database can use as primary or read region. */
export const UPSTASH_REGIONS = [
    "us-east-1",
    "us-west-1",
    "us-west-2",
    "eu-central-1",
    "eu-west-1",
    "sa-east-1",
    "ap-southeast-1",
    "ap-southeast-2",
] as const;

/**
 * Upstash's developer API (basic auth, account email and API key). The password reset calls it
 * directly; a local stack's environment points UPSTASH_API_URL at the local cloud's stand-in.
 */
export const UPSTASH_API_URL = "https://api.upstash.com/v2";
