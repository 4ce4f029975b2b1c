/**
 * Shared pieces of the fpsgame policies: the type tokens they match, the secret-name patterns,
 * secret unwrapping and the resource-type guard.
 *
 * The pack imports no provider SDK: policies match plain type-token strings, so `policies/`
 * depends only on `@pulumi/policy` and `@pulumi/pulumi` (the tokens are the SDKs' own: `@pulumiverse/vercel`, `@upstash/pulumi`, `@sst-provider/neon`, and `providers/fly/types.ts`).
 * Only types are imported from `@pulumi/policy` here, so these modules load without it.
 */
import type {
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
} from "@pulumi/policy";
// The key and value Pulumi's wire format uses to mark a secret, from the pack's own SDK (the module
// `@pulumi/policy` itself reads them from), so the pack needs no copy and no import from outside it.
import { specialSecretSig, specialSigKey } from "@pulumi/pulumi/runtime/rpc";

export type {
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
};

/** A policy of this pack: validates one resource at a time, or the whole stack. */
export type FpsPolicy = ResourceValidationPolicy | StackValidationPolicy;

/** Type tokens of the resources the policies look at. */
export const Types = {
    flyApp: "fly:index:App",
    flyAppSecrets: "fly:index:AppSecrets",
    flyMachine: "fly:index:Machine",
    neonProject: "neon:index/project:Project",
    neonBranch: "neon:index/branch:Branch",
    neonEndpoint: "neon:index/endpoint:Endpoint",
    neonDatabase: "neon:index/database:Database",
    neonRole: "neon:index/role:Role",
    upstashRedis: "upstash:index/redisDatabase:RedisDatabase",
    vercelProject: "vercel:index/project:Project",
    vercelEnvVar: "vercel:index/projectEnvironmentVariable:ProjectEnvironmentVariable",
    vercelEnvVars: "vercel:index/projectEnvironmentVariables:ProjectEnvironmentVariables",
    vercelDeployment: "vercel:index/deployment:Deployment",
    // The engine's own token for `new pulumi.StackReference(...)` (@pulumi/pulumi's stackReference.ts).
    stackReference: "pulumi:pulumi:StackReference",
} as const;

/**
 * Env var names that hold credentials: `*_SECRET`, `*_TOKEN`, `*_KEY`, anything with
 * `PASSWORD`, and the connection strings `DATABASE_URL` and `REDIS_URL` (which embed a
 * password). Regular expressions, matched case-insensitively against the whole key. The pack's
 * copy of `SECRET_ENV_KEY_PATTERNS` in the repository's `lib/facts/secrets.ts`, which the stack
 * config applies to `api.env`; `tests/policies/facts-parity.test.ts` holds the two equal.
 */
export const DEFAULT_SECRET_KEY_PATTERNS: string[] = [
    "(^|_)SECRET$",
    "(^|_)TOKEN$",
    "(^|_)KEY$",
    "PASSWORD",
    "^DATABASE_URL$",
    "^REDIS_URL$",
];

/** The JSON schema of a `secretKeyPatterns` config property. */
export const secretKeyPatternsSchema = {
    type: "array",
    items: { type: "string", minLength: 1 },
    default: DEFAULT_SECRET_KEY_PATTERNS,
    description: "Regular expressions (case-insensitive) for env var names that hold credentials.",
} as const;

/** Whether `key` matches one of `patterns` (case-insensitive regular expressions). */
export function isSecretKey(key: string, patterns: readonly string[]): boolean {
    return patterns.some((p) => new RegExp(p, "i").test(key));
}

/** A URL with `user:password@` in it (the same rule as `lib/facts/secrets.ts`; a parity test holds them equal). */
const CREDENTIALS_IN_URL = /^[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:[^/\s@]+@/i;

/** Whether `value` is a URL that carries a password (`scheme://user:password@host`). */
export function hasCredentialsInUrl(value: string): boolean {
    return CREDENTIALS_IN_URL.test(value);
}

/**
 * The plain value behind a possibly secret value.
 *
 * During `pulumi preview`/`up` the policy SDK deserializes secrets to their plain values
 * before a policy sees them (`deserializeProperties(props, false)` in `@pulumi/policy`'s
 * server), so policies normally get plain strings. Two wrapped forms still reach code that
 * reads props outside that path, and both are unwrapped here (a wrapper inside a wrapper too):
 * - the wire form `{ "4dabf…": "1b47…", value }` (what Pulumi mocks record for secret inputs);
 * - `@pulumi/policy`'s `Secret` class (`{ value }`), which remediations and secret-preserving
 *   proxies use.
 */
export function unwrapSecret(value: unknown): unknown {
    let v = value;
    for (;;) {
        if (v === null || typeof v !== "object") return v;
        const o = v as Record<string, unknown>;
        if (o[specialSigKey] === specialSecretSig) {
            v = o.value;
        } else if (o.constructor?.name === "Secret" && "value" in o) {
            v = o.value;
        } else {
            return v;
        }
    }
}

/** `unwrapSecret`, then the value if it is a string. */
export function secretString(value: unknown): string | undefined {
    const v = unwrapSecret(value);
    return typeof v === "string" ? v : undefined;
}

/**
 * A resource validation that runs only for the given type tokens, like `validateResourceOfType`
 * but matched by token string instead of a provider SDK class. Other types are reported as not
 * applicable. With a single token the function carries `__pulumiType`, so the engine skips other
 * types without calling it.
 */
export function validateTypes(
    types: string | readonly string[],
    validate: (props: Record<string, unknown>, args: ResourceValidationArgs, report: ReportViolation) => void,
): ResourceValidation {
    const tokens = typeof types === "string" ? [types] : [...types];
    const fn: ResourceValidation & { __pulumiType?: string } = (args, report) => {
        if (!tokens.includes(args.type)) {
            args.notApplicable(`Policy only applies to resources of type ${tokens.map((t) => `'${t}'`).join(", ")}`);
        }
        validate(args.props as Record<string, unknown>, args, report);
    };
    if (tokens.length === 1) {
        fn.__pulumiType = tokens[0];
    }
    return fn;
}

/** The resources of one type in a stack validation. */
export function resourcesOfType(args: StackValidationArgs, type: string): PolicyResource[] {
    return args.resources.filter((r) => r.type === type);
}

/** Formats US dollars with cents: `$12.50`. */
export function usd(amount: number): string {
    return `$${amount.toFixed(2)}`;
}

/** `1 machine`, `2 machines`. */
export function count(n: number, noun: string): string {
    return `${n} ${noun}${n === 1 ? "" : "s"}`;
}
