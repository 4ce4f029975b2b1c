/**
 * End-to-end harness: throwaway stacks of the real program on the real Pulumi engine,
 * against the local cloud. Each test file gets its own stack (`e2e-<name>`), a copy of
 * `Pulumi.local.yaml` with names of its own so files never collide, and removes it after.
 */
import { localStackEnv, REPO_ROOT } from "../../localcloud/stackEnv";
import { ThrowawayStack } from "../../localcloud/throwawayStack";

export { REPO_ROOT };

/** A throwaway stack named `e2e-<suffix>`. */
export class E2EStack extends ThrowawayStack {
    constructor(suffix: string) {
        super(suffix, "e2e");
    }
}

/** Generous: an `up` of the whole stack on two cores takes tens of seconds. */
export const E2E_TIMEOUT_MS = 15 * 60 * 1000;

/** Fly emulator admin calls (faults) with the local token. */
export async function flyAdmin(method: string, pathName: string, body?: unknown): Promise<unknown> {
    const env = localStackEnv();
    const res = await fetch(`${env.FLY_API_URL}${pathName}`, {
        method,
        headers: { Authorization: `Bearer ${env.FLY_API_TOKEN}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return text ? JSON.parse(text) : undefined;
}
