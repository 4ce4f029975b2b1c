import * as pulumi from "@pulumi/pulumi";
import { CONFIG_NAMESPACE, parseStackConfig, StackConfig, StackConfigError } from "./config";

/**
 * Reads the stack's config through Pulumi and validates it. Secrets are read with
 * `getSecret`, so they stay secret outputs from here on; a missing one is reported with
 * every other problem instead of failing alone.
 */
export function loadStackConfig(): StackConfig<pulumi.Output<string>> {
    const cfg = new pulumi.Config(CONFIG_NAMESPACE);
    try {
        return parseStackConfig({
            api: cfg.getObject("api"),
            frontend: cfg.getObject("frontend"),
            database: cfg.getObject("database"),
            redis: cfg.getObject("redis"),
            jwtSecret: cfg.getSecret("jwtSecret"),
        });
    } catch (err) {
        // A RunError ends the program with its message alone: the operator needs the list of
        // bad keys, not a stack trace of the config loader.
        if (err instanceof StackConfigError) throw new pulumi.RunError(err.message);
        throw err;
    }
}
