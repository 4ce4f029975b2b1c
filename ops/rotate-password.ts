/**
 * Issues a new password for the database's role (Neon) or the Redis database (Upstash) and
 * prints it, and only it, on stdout. The engine runs it as the `create` of the
 * `command:local:Command` that `NeonDatabase` and `UpstashRedis` declare when their
 * `passwordRotation` is above zero; the command's stdout is a secret output, so the password
 * reaches the state encrypted and the Fly secrets from there.
 *
 *   node --require ./lib/register.js ops/rotate-password.ts neon      (a reset on Neon)
 *   node --require ./lib/register.js ops/rotate-password.ts upstash   (a reset on Upstash)
 *   node --require ./lib/register.js ops/rotate-password.ts keep      (the command's update)
 *
 * Everything comes through the environment, never argv (which any process on the machine can
 * read): the API key, the ids, and the base URL (NEON_API_URL / UPSTASH_API_URL, the real APIs
 * when unset; a local stack points them at the local cloud's stand-ins).
 *
 * Why the providers are not used: `@sst-provider/neon` 0.13.0 (Project) and `@upstash/pulumi`
 * 0.5.0 (RedisDatabase) have no input that resets a password; both APIs have an endpoint that
 * does, and this calls it:
 * - Neon: `POST /projects/{project_id}/branches/{branch_id}/roles/{role_name}/reset_password`
 *   answers `{role: {name, password, …}, operations: […]}`; the new password is ready, and the
 *   old one stops working, when the operations finish, so this waits for them
 *   (`GET /projects/{project_id}/operations/{operation_id}`, `operation.status`).
 *   https://neon.com/docs/reference/api/branches/reset-project-branch-role-password
 * - Upstash: `POST /v2/redis/reset-password/{id}` (basic auth, email:apiKey) answers the database,
 *   with its new `password`. https://upstash.com/docs/devops/developer-api/redis/reset_password
 *
 * Retries (the shared client, ops/serviceApi.ts): the reset is retried on a network error, a
 * timeout, 429, 423 (Neon: another operation of the project is running) and 5xx, although it is
 * a POST, because repeating it is safe: each reset issues a new password, and only the one in
 * the answer this script gets is ever used, so a reset whose answer was lost leaves a password
 * nobody holds. Any other failure ends the script with a message on stderr (naming the call and
 * the API's own message, never a key or a password) and nothing on stdout; the engine then keeps
 * the command's previous output, so the stack keeps the password it had, and the Fly secrets and
 * machines are not touched.
 */
import { NEON_API_URL } from "../lib/facts/neon";
import { UPSTASH_API_URL } from "../lib/facts/upstash";
import {
    describeFailure as describe,
    HttpRetryOptions,
    isRetryableStatus,
    requiredEnv,
    serviceClient,
} from "./serviceApi";

export { isRetryableStatus };

/** How the reset is tried: attempts after the first, the wait between operation polls, the overall wait. */
export interface RetryOptions extends HttpRetryOptions {
    /** Milliseconds between polls of a Neon operation. @default 1000 */
    readonly pollMs?: number;
    /** Milliseconds to wait for Neon's operations to finish. @default 300000 */
    readonly operationsTimeoutMs?: number;
}

export interface NeonReset {
    /** NEON_API_URL, e.g. `https://console.neon.tech/api/v2`. */
    readonly baseUrl: string;
    readonly apiKey: string;
    readonly projectId: string;
    readonly branchId: string;
    readonly roleName: string;
}

export interface UpstashReset {
    /** UPSTASH_API_URL, the API's host: `https://api.upstash.com` (the paths start with `/v2`). */
    readonly baseUrl: string;
    readonly email: string;
    readonly apiKey: string;
    readonly databaseId: string;
}

/** A failed reset: the message names the call and the API's answer, never a credential. */
export class PasswordResetError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "PasswordResetError";
    }
}

/** The call and the API's message (ops/serviceApi.ts), as a PasswordResetError. */
function describeFailure(api: string, method: string, path: string, e: unknown): PasswordResetError {
    return new PasswordResetError(describe(api, method, path, e));
}

interface NeonOperation {
    id: string;
    status: string;
    action?: string;
}

/** Resets the role's password on Neon, waits until it is in force, and returns it. */
export async function resetNeonPassword(r: NeonReset, o: RetryOptions = {}): Promise<string> {
    // serviceClient retries this POST too: a repeated reset is safe, see the file's comment.
    const http = serviceClient(r.baseUrl, { Authorization: `Bearer ${r.apiKey}` }, o);
    const enc = encodeURIComponent;
    const path = `/projects/${enc(r.projectId)}/branches/${enc(r.branchId)}/roles/${enc(r.roleName)}/reset_password`;
    let answer: { role?: { password?: unknown }; operations?: NeonOperation[] };
    try {
        answer = (await http.post(path, undefined)).data as typeof answer;
    } catch (e) {
        throw describeFailure("Neon API", "POST", path, e);
    }
    const password = answer.role?.password;
    if (typeof password !== "string" || password === "") {
        throw new PasswordResetError(`Neon API POST ${path}: the answer holds no role.password`);
    }
    const deadline = Date.now() + (o.operationsTimeoutMs ?? 300_000);
    for (const op of answer.operations ?? []) {
        let status = op.status;
        const opPath = `/projects/${enc(r.projectId)}/operations/${enc(op.id)}`;
        while (!["finished", "skipped"].includes(status)) {
            if (["failed", "error", "cancelled", "cancelling"].includes(status)) {
                throw new PasswordResetError(
                    `Neon API: operation ${op.id} (${op.action ?? "reset_password"}) ended ${status}; the role's password may or may not have changed: raise the rotation key again to issue another`,
                );
            }
            if (Date.now() > deadline) {
                throw new PasswordResetError(
                    `Neon API: operation ${op.id} (${op.action ?? "reset_password"}) still ${status} after ${Math.round((o.operationsTimeoutMs ?? 300_000) / 1000)} s; the new password is not in force yet: run the up again`,
                );
            }
            await new Promise((res) => setTimeout(res, o.pollMs ?? 1000));
            try {
                status = ((await http.get(opPath)).data as { operation: NeonOperation }).operation.status;
            } catch (e) {
                throw describeFailure("Neon API", "GET", opPath, e);
            }
        }
    }
    return password;
}

/** Resets the Redis database's password on Upstash and returns it. */
export async function resetUpstashPassword(r: UpstashReset, o: RetryOptions = {}): Promise<string> {
    const basic = Buffer.from(`${r.email}:${r.apiKey}`).toString("base64");
    const http = serviceClient(r.baseUrl, { Authorization: `Basic ${basic}` }, o);
    const path = `/v2/redis/reset-password/${encodeURIComponent(r.databaseId)}`;
    let answer: { password?: unknown };
    try {
        answer = (await http.post(path, undefined)).data as typeof answer;
    } catch (e) {
        throw describeFailure("Upstash API", "POST", path, e);
    }
    if (typeof answer.password !== "string" || answer.password === "") {
        throw new PasswordResetError(`Upstash API POST ${path}: the answer holds no password`);
    }
    return answer.password;
}

/** {@link requiredEnv}, failing as a PasswordResetError. */
function required(env: NodeJS.ProcessEnv, name: string): string {
    try {
        return requiredEnv(env, name);
    } catch (e) {
        throw new PasswordResetError((e as Error).message);
    }
}

/**
 * What the command prints for `mode`: a new password (`neon`, `upstash`), or, for `keep` (the
 * command's `update`, run when only its environment changed, e.g. a new API key), the password
 * the previous run printed, which the engine hands back in PULUMI_COMMAND_STDOUT: a changed API
 * key is no reason to issue a new password.
 */
export async function passwordFor(mode: string, env: NodeJS.ProcessEnv, o: RetryOptions = {}): Promise<string> {
    switch (mode) {
        case "neon":
            return resetNeonPassword(
                {
                    baseUrl: env.NEON_API_URL || NEON_API_URL,
                    apiKey: required(env, "NEON_API_KEY"),
                    projectId: required(env, "NEON_PROJECT_ID"),
                    branchId: required(env, "NEON_BRANCH_ID"),
                    roleName: required(env, "NEON_ROLE_NAME"),
                },
                o,
            );
        case "upstash":
            return resetUpstashPassword(
                {
                    baseUrl: env.UPSTASH_API_URL || UPSTASH_API_URL,
                    email: required(env, "UPSTASH_EMAIL"),
                    apiKey: required(env, "UPSTASH_API_KEY"),
                    databaseId: required(env, "UPSTASH_DATABASE_ID"),
                },
                o,
            );
        case "keep":
            return required(env, "PULUMI_COMMAND_STDOUT");
        default:
            throw new PasswordResetError(`unknown mode ${JSON.stringify(mode)}: allowed are neon, upstash, keep`);
    }
}

if (require.main === module) {
    passwordFor(process.argv[2] ?? "", process.env).then(
        // No newline: stdout is the password exactly (the engine trims one anyway).
        (password) => process.stdout.write(password),
        (e: unknown) => {
            process.stderr.write(`password rotation failed: ${(e as Error).message}\n`);
            process.exit(1);
        },
    );
}
