/**
 * The policy pack the commands run with: its location, its per-stack config, and its own
 * dependencies. The operations themselves run on the Automation API (workspace.ts), which
 * takes the pack as `policyPacks` / `policyPackConfigs`.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { REPO_ROOT } from "./env";

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
