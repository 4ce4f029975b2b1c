/**
 * `fly:index:Machine`: one Fly Machine.
 *
 * - create: adopt a live machine of the same name in the app (update it to the desired
 *   config), else POST it; then wait until it has started and every service check passes.
 *   A machine this create made that never gets healthy is destroyed before the error is
 *   thrown, so a failed create leaves nothing behind; if that destroy fails too, the next
 *   create adopts the machine by name.
 * - update: lease, POST the full config with the lease nonce and `min_secrets_version`,
 *   wait for the new instance to start and its checks to pass, release the lease. The update
 *   returns only once the machine serves again, so the program's `dependsOn` batches
 *   (`components/flyApiApp.ts`, `rollout.maxParallel`) make a rolling update.
 * - delete: lease, `DELETE ?kill=true`, tolerating 404.
 *
 * The resource's four concerns, one file each: `check.ts` validates inputs, `wire.ts` maps them to
 * and from Fly's machine config JSON, `wait.ts` waits for a started machine with passing checks,
 * `crud.ts` holds the diff and the operations.
 */
import { ResourceModule } from "../common";
import { checkMachine } from "./check";
import { createMachine, deleteMachine, diffMachine, readMachine, updateMachine } from "./crud";

export { checkMachine } from "./check";
export { diffMachine, MACHINE_REPLACE_KEYS } from "./crud";
export { DEFAULT_WAIT_TIMEOUT_SECONDS, expectedCheckCount, MachineNotHealthyError, waitHealthy } from "./wait";
export {
    inputsFromMachine,
    MACHINE_INPUT_KEYS,
    machineInputs,
    managedView,
    MANAGED_METADATA,
    toMachineConfig,
} from "./wire";

/** The `fly:index:Machine` resource: its check, diff and operations. */
export const machine: ResourceModule = {
    check: checkMachine,
    diff: diffMachine,
    create: createMachine,
    read: readMachine,
    update: updateMachine,
    delete: deleteMachine,
};
