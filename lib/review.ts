/**
 * Review stacks: one per pull request, named `pr-<number>`, derived by this code from the base
 * stack's file (staging's), never committed. A review stack is the base's backend at its
 * smallest: its own Fly app `<base app>-pr-<n>` with one machine of the smallest guest size in
 * the base's primary region that stops when idle, a Neon branch of the base's database (a
 * copy-on-write copy holding the base's rows), a Redis database of its own, and Vercel preview
 * env vars (scoped to the pull request's branch) plus a preview deployment on the base's
 * Vercel project, pointing at its API.
 *
 * Pure: `npm run review` (ops/review.ts) writes what this returns to `Pulumi.pr-<n>.yaml`
 * (git-ignored) before every operation, so a runner that starts from a fresh checkout gets the
 * same file, and the same preview, as the one before it. The policy pack holds the result to the
 * guard rails in `policies/config/review.json`.
 */
import { createHmac } from "crypto";
import { FLY_CPU_COUNTS, flyMemoryRangeMb } from "./facts/fly";
import { NEON_CU } from "./facts/neon";

/** The highest pull request number a review stack is made for. */
export const MAX_PULL_REQUEST = 999_999_999;

/** `pr-<n>`: the stack name of a pull request's review stack (no leading zero, so one name per number). */
export const REVIEW_STACK_NAME = /^pr-([1-9][0-9]*)$/;

/** Fly's smallest guest: one shared CPU with the least memory Fly gives it (lib/facts/fly.ts). */
const SMALLEST_SHARED_CPUS = Math.min(...FLY_CPU_COUNTS.shared);

/** The stack reviews are derived from, unless a local-cloud stack is named instead (tests, benchmarks). */
export const REVIEW_BASE_STACK = "staging";

/** Stacks a review stack may never be derived from, nor point at. */
export const FORBIDDEN_REVIEW_BASES: readonly string[] = ["prod"];

/**
 * A review stack's size: one machine of the smallest Fly guest, kept running by nobody (it stops
 * when idle and Fly's proxy starts it on the next request), the smallest Neon compute, and a
 * small Redis budget. The policy pack's `review.json` holds the same numbers as guard rails.
 */
export const REVIEW_SIZE = {
    machines: 1,
    vm: {
        cpuKind: "shared",
        cpus: SMALLEST_SHARED_CPUS,
        memoryMb: flyMemoryRangeMb("shared", SMALLEST_SHARED_CPUS).min,
    },
    neonCu: NEON_CU.min,
    redisBudgetUsd: 5,
} as const;

/** Days without an update after which the scheduled sweep removes a review stack. */
export const REVIEW_IDLE_DAYS = 7;

/** What the pull request gives a review stack. */
export interface ReviewOptions {
    /** The pull request's number. */
    readonly pullRequest: number;
    /** The stack it is derived from: staging (or a local-cloud stack). */
    readonly baseStack: string;
    /** The pull request's head branch: the Vercel preview env vars are scoped to it. */
    readonly gitBranch: string;
    /** The head commit the preview deployment builds. @default gitBranch */
    readonly ref?: string;
    /** The API image to run instead of the base's (a build of the pull request). */
    readonly image?: string;
}

/** The review stack of a pull request. */
export function reviewStackName(pullRequest: number): string {
    if (!isPullRequestNumber(pullRequest)) {
        throw new Error(
            `pull request ${JSON.stringify(pullRequest)}: allowed is a whole number from 1 to ${MAX_PULL_REQUEST}`,
        );
    }
    return `pr-${pullRequest}`;
}

/** A whole number from 1 to {@link MAX_PULL_REQUEST}. */
export function isPullRequestNumber(n: number): boolean {
    return Number.isInteger(n) && n >= 1 && n <= MAX_PULL_REQUEST;
}

/** The pull request a stack name belongs to, or undefined for any other stack. */
export function reviewPullRequest(stack: string): number | undefined {
    const m = REVIEW_STACK_NAME.exec(stack);
    return m && isPullRequestNumber(Number(m[1])) ? Number(m[1]) : undefined;
}

/** The namespace of the project's own keys. */
const NS = "fpsgame-infra";

/**
 * Why `baseStack` cannot be a review's base, or undefined when it can: a base is staging, or a
 * local-cloud stack (the tests' and benchmarks' staging); never prod, never a review stack.
 */
export function reviewBaseProblem(baseStack: string, baseConfig: Record<string, unknown>): string | undefined {
    const allowed = `allowed: ${REVIEW_BASE_STACK}, or a local-cloud stack`;
    if (FORBIDDEN_REVIEW_BASES.includes(baseStack)) {
        return `--base ${baseStack}: a review stack never copies or points at ${baseStack}'s resources; ${allowed}`;
    }
    if (reviewPullRequest(baseStack) !== undefined || baseConfig[`${NS}:review`] !== undefined) {
        return `--base ${baseStack}: that is a review stack itself; ${allowed}`;
    }
    if (baseStack !== REVIEW_BASE_STACK && String(baseConfig[`${NS}:localCloud`]) !== "true") {
        return `--base ${baseStack}: not ${REVIEW_BASE_STACK} and not a local-cloud stack; ${allowed}`;
    }
    return undefined;
}

type Doc = { config?: Record<string, unknown> } & Record<string, unknown>;
type Section = Record<string, unknown>;

/**
 * The review stack's file from the base's (both as parsed YAML). The plain sections are the
 * base's with the review's names and sizes; every other key (the provider credentials, the
 * secure values, and the file's secrets-provider settings: `encryptionsalt`, `secretsprovider`,
 * `encryptedkey`) is copied as it is, so the review decrypts the same credentials with the same
 * passphrase or key. `jwtSecret` is replaced by the caller with {@link reviewJwtSecret}.
 */
export function deriveReviewStackFile(base: Doc, opts: ReviewOptions): Doc {
    const config = base.config ?? {};
    const problem = reviewBaseProblem(opts.baseStack, config);
    if (problem) throw new Error(problem);
    const section = (key: string): Section => {
        const v = config[`${NS}:${key}`];
        if (typeof v !== "object" || v === null || Array.isArray(v)) {
            throw new Error(
                `Pulumi.${opts.baseStack}.yaml has no ${NS}:${key} section; a review stack is derived from it`,
            );
        }
        return v as Section;
    };
    const name = reviewStackName(opts.pullRequest);
    const api = section("api");
    const frontend = section("frontend");
    const database = section("database");
    const redis = section("redis");
    if (typeof api.appName !== "string" || typeof api.primaryRegion !== "string") {
        throw new Error(
            `Pulumi.${opts.baseStack}.yaml: ${NS}:api needs appName and primaryRegion; a review stack is derived from them`,
        );
    }
    if (typeof redis.databaseName !== "string") {
        throw new Error(
            `Pulumi.${opts.baseStack}.yaml: ${NS}:redis needs databaseName; a review stack is derived from it`,
        );
    }

    const { customDomain: _domain, rollout: _rollout, ...apiRest } = api;
    const { domain: _frontendDomain, ref: _frontendRef, ...frontendRest } = frontend;
    const budget =
        typeof redis.budgetUsd === "number"
            ? Math.min(redis.budgetUsd, REVIEW_SIZE.redisBudgetUsd)
            : REVIEW_SIZE.redisBudgetUsd;
    const derived: Record<string, unknown> = {
        ...config,
        [`${NS}:review`]: {
            pullRequest: opts.pullRequest,
            baseStack: opts.baseStack,
            gitBranch: opts.gitBranch,
            ...(opts.ref ? { ref: opts.ref } : {}),
        },
        [`${NS}:api`]: {
            ...apiRest,
            appName: `${api.appName}-${name}`,
            ...(opts.image ? { image: opts.image } : {}),
            regions: { [api.primaryRegion]: REVIEW_SIZE.machines },
            autoscale: { minMachinesRunning: 0, autostop: "stop", autostart: true },
            vm: { ...REVIEW_SIZE.vm },
        },
        // The preview deployment and the branch-scoped env vars live on the base's project.
        [`${NS}:frontend`]: { ...frontendRest, envTargets: ["preview"] },
        [`${NS}:database`]: {
            ...database,
            autoscaling: { minCu: REVIEW_SIZE.neonCu, maxCu: REVIEW_SIZE.neonCu },
            protect: false,
            migrateTo: "latest",
            allowDataLoss: false,
            // The branch inherits the base's current password; a review stack never resets it.
            passwordRotation: 0,
        },
        [`${NS}:redis`]: {
            databaseName: `${redis.databaseName}-${name}`,
            primaryRegion: redis.primaryRegion,
            eviction: true,
            budgetUsd: budget,
        },
    };
    return { ...base, config: derived };
}

/**
 * The review stack's JWT signing secret: an HMAC of the base's under the stack's name. Stable
 * (each push derives the same one, so a redeploy changes nothing), different per pull request,
 * and not the base's: a token minted by a pull request's code is worthless on staging.
 */
export function reviewJwtSecret(baseSecret: string, pullRequest: number): string {
    return createHmac("sha256", baseSecret)
        .update(`fpsgame-infra review ${reviewStackName(pullRequest)}`)
        .digest("base64url");
}
