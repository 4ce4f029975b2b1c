import * as pulumi from "@pulumi/pulumi";
import { CONFIG_NAMESPACE, parseStackConfig, StackConfig, StackConfigError } from "./config";
import { STACK_CREDENTIAL_KEYS } from "./credentials";

/**
 * Reads the stack's config through Pulumi and validates it. Secrets are read with
 * `getSecret`, so they stay secret outputs from here on; a missing one is reported with
 * every other problem instead of failing alone. The names of every key set under the
 * namespace go along, so a key the project does not know (a typo) is reported too. On a real
 * stack, the decrypted credentials go along to be compared with the committed placeholder (the
 * raw config map, so reading them logs no "secret read as plain" warning; they are only compared).
 */
export function loadStackConfig(): StackConfig<pulumi.Output<string>> {
    const cfg = new pulumi.Config(CONFIG_NAMESPACE);
    const all = pulumi.runtime.allConfig();
    const localCloud = all[`${CONFIG_NAMESPACE}:localCloud`] === "true";
    try {
        return parseStackConfig({
            api: cfg.getObject("api"),
            frontend: cfg.getObject("frontend"),
            database: cfg.getObject("database"),
            redis: cfg.getObject("redis"),
            review: cfg.getObject("review"),
            stack: pulumi.getStack(),
            jwtSecret: cfg.getSecret("jwtSecret"),
            // The providers' own keys, read here too: a password reset calls their APIs with them.
            neonApiKey: new pulumi.Config("neon").getSecret("apiKey"),
            upstashApiKey: new pulumi.Config("upstash").getSecret("apiKey"),
            upstashEmail: new pulumi.Config("upstash").get("email"),
            keys: Object.keys(all)
                .filter((k) => k.startsWith(`${CONFIG_NAMESPACE}:`))
                .map((k) => k.slice(CONFIG_NAMESPACE.length + 1)),
            credentials: localCloud
                ? undefined
                : {
                      stack: pulumi.getStack(),
                      values: Object.fromEntries(STACK_CREDENTIAL_KEYS.map((k) => [k, all[k]])),
                  },
        });
    } catch (err) {
        // A RunError ends the program with its message alone: the operator needs the list of
        // bad keys, not a stack trace of the config loader.
        if (err instanceof StackConfigError) throw new pulumi.RunError(err.message);
        throw err;
    }
}
