/**
 * What counts as a credential in plain environment variables, written once. The stack config
 * (`lib/config.ts`) refuses such a variable in `api.env` before anything runs; the policy pack's
 * `fly-no-plain-secrets` (in `policies/`, which ships alone and keeps a copy as its default
 * `secretKeyPatterns`) refuses it on the machine; `tests/policies/facts-parity.test.ts` holds the
 * copy equal to this.
 */

/**
 * Env var names that hold credentials: `*_SECRET`, `*_TOKEN`, `*_KEY` (and `SECRET`, `TOKEN`,
 * `KEY` alone), anything with `PASSWORD`, and the connection strings `DATABASE_URL` and
 * `REDIS_URL` (which embed a password). Regular expressions, matched case-insensitively.
 */
export const SECRET_ENV_KEY_PATTERNS: readonly string[] = [
    "(^|_)SECRET$",
    "(^|_)TOKEN$",
    "(^|_)KEY$",
    "PASSWORD",
    "^DATABASE_URL$",
    "^REDIS_URL$",
];

/** {@link SECRET_ENV_KEY_PATTERNS} in words, for messages. */
export const SECRET_ENV_KEY_RULE =
    "names ending in _SECRET, _TOKEN or _KEY, containing PASSWORD, and DATABASE_URL and REDIS_URL hold credentials";

/** Whether the env var name `key` matches one of {@link SECRET_ENV_KEY_PATTERNS}. */
export function isSecretEnvKey(key: string): boolean {
    return SECRET_ENV_KEY_PATTERNS.some((p) => new RegExp(p, "i").test(key));
}

/** A URL with `user:password@` in it. */
const CREDENTIALS_IN_URL = /^[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:[^/\s@]+@/i;

/** Whether `value` is a URL that carries a password (`scheme://user:password@host`). */
export function hasCredentialsInUrl(value: string): boolean {
    return CREDENTIALS_IN_URL.test(value);
}
