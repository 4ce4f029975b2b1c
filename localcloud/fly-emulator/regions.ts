/**
 * The Fly regions the emulator accepts, served at `GET /v1/platform/regions` and checked on every
 * machine create: an unknown code is refused, as Fly refuses it.
 *
 * The emulator plays Fly, so it keeps its own list (with the names Fly gives the regions at
 * https://fly.io/docs/reference/regions/) instead of importing the product's `lib/facts/fly.ts`;
 * `localcloud/tests/fly-emulator-facts.test.ts` holds the two lists equal.
 */
import { ApiError, badRequest } from "./util";

/** Region code → the name Fly shows for it. */
export const REGION_NAMES: Readonly<Record<string, string>> = {
    ams: "Amsterdam, Netherlands",
    arn: "Stockholm, Sweden",
    atl: "Atlanta, Georgia (US)",
    bog: "Bogotá, Colombia",
    bom: "Mumbai, India",
    bos: "Boston, Massachusetts (US)",
    cdg: "Paris, France",
    den: "Denver, Colorado (US)",
    dfw: "Dallas, Texas (US)",
    ewr: "Secaucus, NJ (US)",
    eze: "Ezeiza, Argentina",
    fra: "Frankfurt, Germany",
    gdl: "Guadalajara, Mexico",
    gig: "Rio de Janeiro, Brazil",
    gru: "Sao Paulo, Brazil",
    hkg: "Hong Kong, Hong Kong",
    iad: "Ashburn, Virginia (US)",
    jnb: "Johannesburg, South Africa",
    lax: "Los Angeles, California (US)",
    lhr: "London, United Kingdom",
    mad: "Madrid, Spain",
    mia: "Miami, Florida (US)",
    nrt: "Tokyo, Japan",
    ord: "Chicago, Illinois (US)",
    otp: "Bucharest, Romania",
    phx: "Phoenix, Arizona (US)",
    qro: "Querétaro, Mexico",
    scl: "Santiago, Chile",
    sea: "Seattle, Washington (US)",
    sin: "Singapore, Singapore",
    sjc: "San Jose, California (US)",
    syd: "Sydney, Australia",
    waw: "Warsaw, Poland",
    yul: "Montreal, Canada",
    yyz: "Toronto, Canada",
};

/** The region the emulator calls nearest, and where a machine created without `region` goes. */
export const NEAREST_REGION = "iad";

/** Whether Fly has a region of this code. */
export function isRegion(code: string): boolean {
    return Object.prototype.hasOwnProperty.call(REGION_NAMES, code);
}

/**
 * The region of a machine create: the default when absent; a 400 when not a string; a 422 when
 * Fly has no such region (the code observed for an unknown region; Fly's exact text is not published).
 */
export function requireRegion(raw: unknown): string {
    if (raw === undefined || raw === null || raw === "") return NEAREST_REGION;
    if (typeof raw !== "string") throw badRequest(`invalid region ${JSON.stringify(raw)}: must be a region code`);
    if (!isRegion(raw))
        throw new ApiError(422, `unknown region ${JSON.stringify(raw)}: GET /v1/platform/regions lists the regions`);
    return raw;
}

/** `GET /v1/platform/regions`: `{nearest, regions: [{code, name, deprecated, requires_paid_plan}]}`. */
export function regionsWire(): { nearest: string; regions: unknown[] } {
    return {
        nearest: NEAREST_REGION,
        regions: Object.entries(REGION_NAMES).map(([code, name]) => ({
            code,
            name,
            deprecated: false,
            requires_paid_plan: false,
        })),
    };
}
