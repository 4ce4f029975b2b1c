/**
 * The fpsgame policy pack. Wiring only: the policies live in `src/`, and their levels and
 * thresholds per stack in `config/<stack>.json`, passed with `--policy-pack-config`.
 *
 * `new PolicyPack` starts the analyzer server, so this file is never imported by tests;
 * they import `src/` instead.
 */
import { PolicyPack } from "@pulumi/policy";
import { allPolicies } from "./src";

new PolicyPack("fpsgame", {
    description: "Availability, TLS, secrets, backup and cost guardrails for the fpsgame stacks.",
    policies: allPolicies,
});
