/**
 * Every policy of the fpsgame pack, and `allPolicies`, the list the pack registers.
 *
 * A policy exported by a module but missing here would never run (the pulumi/examples
 * `aws-ts-finops` mistake); `tests/policies/pack.test.ts` walks every module's exports
 * and fails if one is not in `allPolicies`.
 */
import type { FpsPolicy } from "./common";
import {
    flyAllowedGuestSizes,
    flyForceHttps,
    flyHealthChecks,
    flyImageDigest,
    flyMinMachinesPerRegion,
    flyMinMachinesRunning,
    flyMinMemory,
    flyMinRegions,
    flyNoPlainSecrets,
    flyWebsocketConcurrency,
} from "./fly";
import { neonAutoscalingRange, neonConnectionSsl, neonHistoryRetention, neonProtectStateful } from "./neon";
import {
    reviewAutostop,
    reviewBaseStack,
    reviewPreviewOnly,
    reviewSingleMachine,
    reviewSingleRegion,
    reviewUnprotected,
} from "./review";
import { flyCostEstimate, flyMonthlyBudget } from "./stack";
import { upstashBudget, upstashEvictionSet, upstashReadRegionsNearApi } from "./upstash";
import { vercelProductionBranch, vercelSecureUrls, vercelSensitiveSecrets } from "./vercel";

export * from "./common";
export * from "./fly";
export * from "./neon";
export * from "./review";
export * from "./stack";
export * from "./upstash";
export * from "./vercel";

/** The policies the pack registers, in the order the README lists them. */
export const allPolicies: FpsPolicy[] = [
    // Fly.io API
    flyMinRegions,
    flyMinMachinesPerRegion,
    flyMinMachinesRunning,
    flyMinMemory,
    flyAllowedGuestSizes,
    flyHealthChecks,
    flyForceHttps,
    flyWebsocketConcurrency,
    flyNoPlainSecrets,
    flyImageDigest,
    // Neon Postgres
    neonHistoryRetention,
    neonProtectStateful,
    neonConnectionSsl,
    neonAutoscalingRange,
    // Upstash Redis
    upstashEvictionSet,
    upstashBudget,
    upstashReadRegionsNearApi,
    // Vercel frontend
    vercelProductionBranch,
    vercelSensitiveSecrets,
    vercelSecureUrls,
    // Stack-wide cost
    flyCostEstimate,
    flyMonthlyBudget,
    // Review stacks (pr-<n>): on in config/review.json only
    reviewSingleRegion,
    reviewSingleMachine,
    reviewAutostop,
    reviewBaseStack,
    reviewPreviewOnly,
    reviewUnprotected,
];
