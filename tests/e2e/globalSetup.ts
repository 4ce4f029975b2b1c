/** Starts the local cloud once for the end-to-end tests (and builds the toolchain the first time). */
import { ensureLocalCloud } from "../../localcloud/control";
import { toolchainPath } from "../../localcloud/stackEnv";

export default async function globalSetup(): Promise<void> {
    await ensureLocalCloud((line) => process.stderr.write(`${line}\n`));
    // The toolchain is checked once here, not again by each of the hundred-odd commands and test
    // files that would each run toolchain.sh for the same answer (0.12 CPU s a run): the workers
    // and every command they start inherit its path as the explicit toolchain. The script itself
    // runs just above, as it does on every `npm start` and in CI's set-up.
    process.env.FPSGAME_TOOLCHAIN_PATH ??= toolchainPath();
}
