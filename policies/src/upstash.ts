/**
 * Policies for Upstash Redis: eviction chosen on purpose, a bounded budget, and read regions
 * near the API's Fly regions.
 */
import { resourcesOfType, ResourceValidationPolicy, StackValidationPolicy, Types, validateTypes } from "./common";
import type { MachineProps } from "./fly";

/** Checks whether a Redis database sets `eviction` explicitly. */
export const upstashEvictionSet: ResourceValidationPolicy = {
    name: "upstash-eviction-set",
    description:
        "Checks whether every Upstash Redis database sets `eviction` to true or false explicitly: with it on, " +
        "a full database drops old keys (fine for cache-like game sessions); with it off, writes fail. " +
        "Either can be right, but it must be a decision, not a provider default (runbook: Scaling > " +
        "Database Scaling, Upstash auto-scales within tier limits; Monitoring Checklist (Weekly), review Redis usage).",
    enforcementLevel: "mandatory",
    validateResource: validateTypes(Types.upstashRedis, (props, args, reportViolation) => {
        if (typeof props.eviction !== "boolean") {
            reportViolation(`Upstash database ${args.name} must set eviction explicitly (true or false).`);
        }
    }),
};

/** Config of {@link upstashBudget}. */
export interface UpstashBudgetConfig {
    /** The highest monthly budget a database may set, in USD. @default 100 */
    maxBudgetUsd?: number;
}

/** Checks whether a Redis database sets a monthly budget above 0 and at most `maxBudgetUsd`. */
export const upstashBudget: ResourceValidationPolicy = {
    name: "upstash-budget",
    description:
        "Checks whether every Upstash Redis database sets a monthly `budget` above $0 and at most " +
        "`maxBudgetUsd`: Upstash bills per request and throttles at the budget, so the cap bounds both the " +
        "bill and an abuse spike (runbook: Incident Response > WebSocket Disconnections, check for DDoS or " +
        "abuse; Scaling > Database Scaling, upgrade tier).",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            maxBudgetUsd: { type: "number", exclusiveMinimum: 0, default: 100 },
        },
    },
    validateResource: validateTypes(Types.upstashRedis, (props, args, reportViolation) => {
        const { maxBudgetUsd } = args.getConfig<Required<UpstashBudgetConfig>>();
        const budget = props.budget;
        if (typeof budget !== "number" || budget <= 0 || budget > maxBudgetUsd) {
            reportViolation(
                `Upstash database ${args.name} must set a monthly budget above $0 and at most $${maxBudgetUsd} ` +
                    `(budget is ${budget ?? "not set"}).`,
            );
        }
    }),
};

/**
 * Fly region -> the Upstash regions close to it (same metro or under ~30 ms). Upstash's global
 * databases can use us-east-1, us-west-1, us-west-2, eu-central-1, eu-west-1, sa-east-1,
 * ap-southeast-1 and ap-southeast-2.
 */
export const DEFAULT_NEARBY_REGIONS: Record<string, string[]> = {
    sjc: ["us-west-1", "us-west-2"],
    lax: ["us-west-1", "us-west-2"],
    sea: ["us-west-2", "us-west-1"],
    den: ["us-west-2", "us-west-1"],
    phx: ["us-west-1", "us-west-2"],
    iad: ["us-east-1"],
    ewr: ["us-east-1"],
    bos: ["us-east-1"],
    atl: ["us-east-1"],
    mia: ["us-east-1"],
    ord: ["us-east-1"],
    dfw: ["us-east-1"],
    yyz: ["us-east-1"],
    yul: ["us-east-1"],
    ams: ["eu-central-1", "eu-west-1"],
    fra: ["eu-central-1", "eu-west-1"],
    cdg: ["eu-central-1", "eu-west-1"],
    lhr: ["eu-west-1", "eu-central-1"],
    arn: ["eu-central-1"],
    waw: ["eu-central-1"],
    otp: ["eu-central-1"],
    mad: ["eu-west-1", "eu-central-1"],
    gru: ["sa-east-1"],
    gig: ["sa-east-1"],
    eze: ["sa-east-1"],
    scl: ["sa-east-1"],
    sin: ["ap-southeast-1"],
    hkg: ["ap-southeast-1"],
    bom: ["ap-southeast-1"],
    syd: ["ap-southeast-2"],
};

/** Config of {@link upstashReadRegionsNearApi}. */
export interface UpstashReadRegionsNearApiConfig {
    /** Fly region -> nearby Upstash regions. */
    nearbyRegions?: Record<string, string[]>;
}

/** The parts of `upstash:index/redisDatabase:RedisDatabase` inputs this module reads. */
interface RedisProps {
    region?: string;
    primaryRegion?: string;
    readRegions?: string[];
}

/** The Upstash regions a database serves reads from: primary plus read regions (or its legacy single region). */
export function servingRegions(props: RedisProps): string[] {
    const primary = props.region === "global" || props.region === "gcp-global" ? props.primaryRegion : props.region;
    return [...(primary ? [primary] : []), ...(props.readRegions ?? [])];
}

/** Checks whether every Redis database has a region near each Fly region the API runs in. */
export const upstashReadRegionsNearApi: StackValidationPolicy = {
    name: "upstash-read-regions-near-api",
    description:
        "Checks whether every Upstash Redis database has its primary or a read region near each Fly region " +
        "the API runs in (`nearbyRegions` maps Fly regions to Upstash regions): a Redis round trip across an " +
        "ocean adds ~100 ms to every game request from that region. Advisory: latency, not correctness " +
        "(runbook: Scaling > Backend Scaling, scale in specific regions; Database Scaling, read replicas for high read load).",
    enforcementLevel: "advisory",
    configSchema: {
        properties: {
            nearbyRegions: {
                type: "object",
                additionalProperties: { type: "array", items: { type: "string", minLength: 1 }, minItems: 1 },
                default: DEFAULT_NEARBY_REGIONS,
            },
        },
    },
    validateStack: (args, reportViolation) => {
        const { nearbyRegions } = args.getConfig<Required<UpstashReadRegionsNearApiConfig>>();
        const flyRegions = [
            ...new Set(resourcesOfType(args, Types.flyMachine).map((m) => (m.props as MachineProps).region)),
        ]
            .filter((r): r is string => typeof r === "string")
            .sort();
        for (const db of resourcesOfType(args, Types.upstashRedis)) {
            const serving = servingRegions(db.props as RedisProps);
            for (const flyRegion of flyRegions) {
                const near = nearbyRegions[flyRegion];
                if (near === undefined) {
                    reportViolation(
                        `Fly region ${flyRegion} must have an entry in nearbyRegions so Upstash database ${db.name} can be checked against it.`,
                    );
                } else if (!near.some((r) => serving.includes(r))) {
                    reportViolation(
                        `Upstash database ${db.name} must have a primary or read region near Fly region ${flyRegion} (one of ${near.join(", ")}).`,
                    );
                }
            }
        }
    },
};
