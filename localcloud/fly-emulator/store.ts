/**
 * The Fly emulator's state file: one JSON document in the state directory, replaced
 * atomically (write a temp file, rename it over the old one) after every mutation, so a crash
 * or a restart of the emulator never leaves a half-written inventory. There is no fsync: this
 * is test state, and durability across a power loss is not worth the latency on every request.
 * The file holds secret values, so it is created mode 0600 in a 0700 directory.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { StoredState } from "./types";

export const STATE_FILE_NAME = "fly-emulator-state.json";

export function emptyState(): StoredState {
    return { format: 1, apps: [], counters: { app_numeric_id: 0, v4: 0, v6: 0, private_v6: 0 } };
}

/** Reads the state file in `stateDir`, or returns an empty state when there is none yet. */
export function loadState(stateDir: string): StoredState {
    const file = path.join(stateDir, STATE_FILE_NAME);
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return emptyState();
        throw e;
    }
    let parsed: unknown;
    try {
        parsed = JSON.parse(text);
    } catch (e) {
        throw new Error(
            `fly emulator: state file ${file} is not valid JSON (${(e as Error).message}); move it away to start empty`,
        );
    }
    const state = parsed as Partial<StoredState>;
    if (state.format !== 1 || !Array.isArray(state.apps)) {
        throw new Error(`fly emulator: state file ${file} has an unknown format; move it away to start empty`);
    }
    return { ...emptyState(), ...state, counters: { ...emptyState().counters, ...state.counters } } as StoredState;
}

/** Writes the state atomically: temp file in the same directory, then rename over the old file. */
export function saveState(stateDir: string, state: StoredState): void {
    fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const file = path.join(stateDir, STATE_FILE_NAME);
    const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
    try {
        fs.writeFileSync(tmp, JSON.stringify(state, null, 2) + "\n", { mode: 0o600 });
        fs.renameSync(tmp, file);
    } catch (e) {
        fs.rmSync(tmp, { force: true });
        throw e;
    }
}
