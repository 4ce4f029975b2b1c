/**
 * The stand-ins' records: one JSON file per object under `$LOCALCLOUD_STATE_DIR/<service>/<kind>`,
 * mode 600 (they hold passwords and env var values), written atomically (temp file + rename) and
 * mutated under a lock that serialises both the engine's parallel calls inside one plugin process
 * and several plugin processes (a `mkdir` lock with stale-lock recovery).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { randomBytes } from "node:crypto";

const STALE_LOCK_MS = 60_000;
const inProcess = new Map<string, Promise<unknown>>();

export class JsonStore<T> {
    constructor(readonly dir: string) {}

    private file(id: string): string {
        if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(id) || id.length > 200)
            throw new Error(`invalid record id ${JSON.stringify(id)}`);
        return path.join(this.dir, `${id}.json`);
    }

    get(id: string): T | undefined {
        try {
            return JSON.parse(fs.readFileSync(this.file(id), "utf8")) as T;
        } catch (e) {
            if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
            throw e;
        }
    }

    list(): T[] {
        let names: string[];
        try {
            names = fs.readdirSync(this.dir);
        } catch (e) {
            if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
            throw e;
        }
        const out: T[] = [];
        for (const n of names.sort()) {
            if (!n.endsWith(".json")) continue;
            const rec = this.get(n.slice(0, -5));
            if (rec !== undefined) out.push(rec);
        }
        return out;
    }

    put(id: string, value: T): void {
        fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
        const file = this.file(id);
        const tmp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
        fs.writeFileSync(tmp, JSON.stringify(value, null, 2) + "\n", { mode: 0o600 });
        fs.renameSync(tmp, file);
    }

    remove(id: string): void {
        fs.rmSync(this.file(id), { force: true });
    }

    /** Runs fn while holding this store's lock (in this process and across processes). */
    async locked<R>(fn: () => Promise<R> | R): Promise<R> {
        return withLock(path.join(this.dir, ".lock"), fn);
    }
}

/** Serialises fn on `lockPath` within this process, then across processes with an atomic mkdir. */
export async function withLock<R>(lockPath: string, fn: () => Promise<R> | R): Promise<R> {
    const previous = inProcess.get(lockPath) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const chained = previous.then(() => mine);
    inProcess.set(lockPath, chained);
    await previous.catch(() => undefined);
    try {
        await acquireDirLock(lockPath);
        try {
            return await fn();
        } finally {
            fs.rmSync(lockPath, { recursive: true, force: true });
        }
    } finally {
        release();
        if (inProcess.get(lockPath) === chained) inProcess.delete(lockPath);
    }
}

async function acquireDirLock(lockPath: string): Promise<void> {
    fs.mkdirSync(path.dirname(lockPath), { recursive: true, mode: 0o700 });
    const deadline = Date.now() + 120_000;
    for (;;) {
        try {
            fs.mkdirSync(lockPath);
            return;
        } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
        }
        try {
            const age = Date.now() - fs.statSync(lockPath).mtimeMs;
            if (age > STALE_LOCK_MS) {
                fs.rmSync(lockPath, { recursive: true, force: true });
                continue;
            }
        } catch {
            continue;
        }
        if (Date.now() > deadline) throw new Error(`timed out waiting for the lock ${lockPath}`);
        await new Promise((r) => setTimeout(r, 25 + Math.random() * 25));
    }
}
