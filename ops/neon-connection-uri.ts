/**
 * Prints the connection string of a Neon branch's database, and only it, on stdout. The engine
 * runs it as the `create` of the `command:local:Command` that `NeonBranchDatabase` declares (a
 * review stack's branch of its base's database): the provider outputs no connection string for a
 * branch, and Neon's API is the one place that knows how a branch is reached. The command's
 * stdout is a secret output, so the string (it holds the role's password) reaches the state
 * encrypted, and the Fly secrets from there.
 *
 *   node --require ./lib/register.js ops/neon-connection-uri.ts
 *
 * Everything comes through the environment, never argv (which any process on the machine can
 * read): NEON_API_KEY, NEON_PROJECT_ID, NEON_BRANCH_ID, NEON_ENDPOINT_ID, NEON_DATABASE_NAME,
 * NEON_ROLE_NAME, and NEON_API_URL (the real API when unset; a local stack points it at the
 * local cloud's stand-in).
 *
 * The call: `GET /projects/{project_id}/connection_uri?branch_id=&endpoint_id=&database_name=&role_name=`
 * answers `{uri}` (https://neon.com/docs/reference/api/projects/get-connection-uri). It is a
 * read, retried by the shared client (ops/serviceApi.ts) on a network error, a timeout, 423,
 * 429 and 5xx. Any other failure ends the script with a message on stderr naming the call and
 * the API's own message, never the key or the string, and nothing on stdout.
 */
import { NEON_API_URL } from "../lib/facts/neon";
import { describeFailure, HttpRetryOptions, requiredEnv, serviceClient } from "./serviceApi";

/** Which branch, endpoint, database and role the string is for, and the API it is asked of. */
export interface ConnectionUriRequest {
    /** NEON_API_URL, e.g. `https://console.neon.tech/api/v2`. */
    readonly baseUrl: string;
    readonly apiKey: string;
    readonly projectId: string;
    readonly branchId: string;
    readonly endpointId: string;
    readonly databaseName: string;
    readonly roleName: string;
}

/** The branch's direct (unpooled) connection string, from Neon's API. */
export async function neonConnectionUri(r: ConnectionUriRequest, o: HttpRetryOptions = {}): Promise<string> {
    const http = serviceClient(r.baseUrl, { Authorization: `Bearer ${r.apiKey}` }, o);
    const path = `/projects/${encodeURIComponent(r.projectId)}/connection_uri`;
    const params = {
        branch_id: r.branchId,
        endpoint_id: r.endpointId,
        database_name: r.databaseName,
        role_name: r.roleName,
        pooled: "false",
    };
    let answer: { uri?: unknown };
    try {
        answer = (await http.get(path, { params })).data as typeof answer;
    } catch (e) {
        throw new Error(describeFailure("Neon API", "GET", path, e));
    }
    if (typeof answer.uri !== "string" || !/^postgres(ql)?:\/\//.test(answer.uri)) {
        throw new Error(`Neon API GET ${path}: the answer holds no uri (postgresql://…)`);
    }
    return answer.uri;
}

/** {@link neonConnectionUri} for the variables the command is given (see the file's comment). */
export async function connectionUriFromEnv(env: NodeJS.ProcessEnv, o: HttpRetryOptions = {}): Promise<string> {
    return neonConnectionUri(
        {
            baseUrl: env.NEON_API_URL || NEON_API_URL,
            apiKey: requiredEnv(env, "NEON_API_KEY"),
            projectId: requiredEnv(env, "NEON_PROJECT_ID"),
            branchId: requiredEnv(env, "NEON_BRANCH_ID"),
            endpointId: requiredEnv(env, "NEON_ENDPOINT_ID"),
            databaseName: requiredEnv(env, "NEON_DATABASE_NAME"),
            roleName: requiredEnv(env, "NEON_ROLE_NAME"),
        },
        o,
    );
}

if (require.main === module) {
    connectionUriFromEnv(process.env).then(
        // No newline: stdout is the string exactly.
        (uri) => process.stdout.write(uri),
        (e: unknown) => {
            process.stderr.write(`reading the branch's connection string failed: ${(e as Error).message}\n`);
            process.exit(1);
        },
    );
}
