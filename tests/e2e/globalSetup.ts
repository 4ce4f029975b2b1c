/** Starts the local cloud once for the end-to-end tests (and builds the toolchain the first time). */
import { ensureLocalCloud } from "../../localcloud/control";

export default async function globalSetup(): Promise<void> {
    await ensureLocalCloud((line) => process.stderr.write(`${line}\n`));
}
