import * as pulumi from "@pulumi/pulumi";
import { CONFIG_NAMESPACE, parseStackConfig, StackConfig } from "./config";

/**
 * Reads the stack's config through Pulumi and validates it. Secrets are read with
 * `getSecret`, so they stay secret outputs from here on; a missing one is reported with
 * every other problem instead of failing alone.
 */
export function loadStackConfig(): StackConfig<pulumi.Output<string>> {
    const cfg = new pulumi.Config(CONFIG_NAMESPACE);
    return parseStackConfig({
        api: cfg.getObject("api"),
        frontend: cfg.getObject("frontend"),
        database: cfg.getObject("database"),
        redis: cfg.getObject("redis"),
        jwtSecret: cfg.getSecret("jwtSecret"),
    });
}
