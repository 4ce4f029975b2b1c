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

/** Upstash's developer API, basic auth with the account's email and API key (https://upstash.com/docs/devops/developer-api/introduction). */
export const UPSTASH_API_URL = "https://api.upstash.com";
