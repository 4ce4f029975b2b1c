/**
 * The credentials a real stack must not deploy with: the committed bootstrap placeholder (the
 * value every `secure:` key of Pulumi.prod.yaml and Pulumi.staging.yaml holds until the team sets
 * its own, see the README's "The first real deploy, step by step") and a JWT signing secret too short
 * to resist guessing. Local-cloud stacks are exempt: their secrets are documented demo values.
 *
 * Pure, so it is tested without the engine. The values are compared here and never appear in a
 * message: a problem names the key and the command that sets it from a prompt.
 */

/** The plaintext of every committed placeholder `secure:` value (the README prints it on purpose). */
export const BOOTSTRAP_PLACEHOLDER = "placeholder-set-before-first-deploy";

/** The secure keys a stack file carries, in the order they are reported. */
export const STACK_CREDENTIAL_KEYS = [
    "fpsgame-infra:jwtSecret",
    "fpsgame-infra:flyApiToken",
    "vercel:apiToken",
    "upstash:apiKey",
    "neon:apiKey",
] as const;

/** The shortest JWT signing secret accepted: 256 bits as base64 is 43 characters; 32 is the floor. */
export const MIN_JWT_SECRET_LENGTH = 32;

/**
 * One problem line per credential that a real stack must not deploy with. `values` maps each
 * key of {@link STACK_CREDENTIAL_KEYS} to its decrypted value (absent when unset: a missing
 * provider credential is the provider's to report, and a missing jwtSecret the config's).
 */
export function credentialProblems(values: Readonly<Record<string, string | undefined>>, stack: string): string[] {
    const setIt = (key: string) => `set it from a prompt: \`pulumi config set --secret ${key} --stack ${stack}\``;
    const problems: string[] = [];
    for (const key of STACK_CREDENTIAL_KEYS) {
        const value = values[key];
        if (value === undefined) continue;
        if (value.trim() === BOOTSTRAP_PLACEHOLDER) {
            problems.push(
                `${key}: still the committed bootstrap placeholder; a real stack never deploys with it: ${setIt(key)} (README: "The first real deploy, step by step")`,
            );
        } else if (key === "fpsgame-infra:jwtSecret" && value.length < MIN_JWT_SECRET_LENGTH) {
            problems.push(
                `${key}: shorter than ${MIN_JWT_SECRET_LENGTH} characters; allowed: at least ${MIN_JWT_SECRET_LENGTH} random characters (e.g. \`openssl rand -base64 48\`): ${setIt(key)}`,
            );
        }
    }
    return problems;
}
