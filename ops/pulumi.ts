/**
 * The policy pack the commands run with: its location, its per-stack config, and its own
 * dependencies. The operations themselves run on the Automation API (workspace.ts), which
 * takes the pack as `policyPacks` / `policyPackConfigs`.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { REVIEW_BASE_STACK, reviewPullRequest } from "../lib/review";
import { isLocalStack, readStackFile, REPO_ROOT } from "./env";

export const POLICY_DIR = path.join(REPO_ROOT, "policies");

/** The Automation API options that run the policy pack. */
export interface PolicyOptions {
    policyPacks: string[];
    policyPackConfigs: string[];
}

/** The policy pack with its config for a stack (`policies/config/<configStack>.json`); a missing config is an error. */
export function policyOptions(stack: string, configStack = stack): PolicyOptions {
    const cfg = path.join(POLICY_DIR, "config", `${configStack}.json`);
    if (!fs.existsSync(cfg)) {
        throw new Error(
            `no policy config for stack "${configStack}" (expected ${path.relative(REPO_ROOT, cfg)}); ` +
                `add one, or run with --no-policy for a deliberate exception`,
        );
    }
    return { policyPacks: [POLICY_DIR], policyPackConfigs: [cfg] };
}

/** The review guard rail that names the base stack (policies/src/review.ts). */
export const REVIEW_BASE_POLICY = "review-base-stack";

/**
 * The policy pack and config the commands hold a stack to:
 * - a review stack (`pr-<n>`): `review.json`, the review guard rails; for a local-cloud one whose
 *   base is not `staging` (a test's or benchmark's base), a copy naming that base, written under
 *   `.local/` (a real review stack is held to staging, whatever its file says);
 * - a stack with a config of its own: that;
 * - any other local-cloud stack (a test's or benchmark's throwaway): the local stack's.
 */
export function policyOptionsFor(stack: string): PolicyOptions {
    const file = readStackFile(stack);
    const local = isLocalStack(stack);
    if (reviewPullRequest(stack) !== undefined || file["fpsgame-infra:review"] !== undefined) {
        const base = (file["fpsgame-infra:review"] as { baseStack?: unknown } | undefined)?.baseStack;
        if (!local || typeof base !== "string" || base === REVIEW_BASE_STACK) return policyOptions(stack, "review");
        const cfg = JSON.parse(fs.readFileSync(path.join(POLICY_DIR, "config", "review.json"), "utf8")) as Record<
            string,
            Record<string, unknown>
        >;
        cfg[REVIEW_BASE_POLICY] = { ...cfg[REVIEW_BASE_POLICY], baseStack: base };
        const out = path.join(REPO_ROOT, ".local", "policy", `${stack}.json`);
        fs.mkdirSync(path.dirname(out), { recursive: true });
        fs.writeFileSync(out, `${JSON.stringify(cfg, null, 4)}\n`);
        return { policyPacks: [POLICY_DIR], policyPackConfigs: [out] };
    }
    const own = fs.existsSync(path.join(POLICY_DIR, "config", `${stack}.json`));
    return policyOptions(stack, local && !own ? "local" : stack);
}

/** Installs the policy pack's own dependencies the first time (it has its own package.json). */
export function ensurePolicyPack(log: (l: string) => void): void {
    if (fs.existsSync(path.join(POLICY_DIR, "node_modules", "@pulumi", "policy"))) return;
    log("installing the policy pack's dependencies (policies/package-lock.json)");
    const r = spawnSync("npm", ["ci", "--no-audit", "--no-fund", "--ignore-scripts"], {
        cwd: POLICY_DIR,
        stdio: "inherit",
    });
    if (r.status !== 0) throw new Error("npm ci in policies/ failed");
}
