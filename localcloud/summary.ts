/**
 * What a local stack really produced, checked against the running local cloud: machines per
 * region as the Fly emulator holds them, the tables the migrations made in PostgreSQL (via
 * the DATABASE_URL the stack gave the API), a Redis PING through the REDIS_URL the stack gave
 * the API, and the URLs. Secret values are read from the stack's state in memory only and
 * are never printed.
 */
import * as fs from "fs";
import { Client } from "pg";
import { clientConnectionString } from "../migrations/runner";
import { localcloudPaths, redisPing } from "./services/env";
import { flyEmulatorPaths } from "./stackEnv";
import type { ProjectStack } from "../ops/workspace";
import type { InventoryApp, InventoryMachine } from "./fly-emulator/types";

/**
 * The local cloud's CA. This process started before NODE_EXTRA_CA_CERTS was set for the
 * engine, so its TLS clients are given the CA explicitly.
 */
function localCa(): string | undefined {
    const f = localcloudPaths().caFile;
    return fs.existsSync(f) ? f : undefined;
}

/** A machine of the emulator's inventory (`fly-emulator/types.ts`), its guest as Fly normalises it. */
export type EmulatorMachine = Omit<InventoryMachine, "guest"> & {
    guest: { cpu_kind: string; cpus: number; memory_mb: number };
};
/** The emulator's inventory (`GET /__emulator/inventory`). */
export interface EmulatorInventory {
    apps: (Omit<InventoryApp, "machines"> & { machines: EmulatorMachine[] })[];
}

/** The Fly emulator's inventory (no secret values in it). */
export async function flyInventory(): Promise<EmulatorInventory> {
    const { portFile, tokenFile } = flyEmulatorPaths();
    const port = fs.readFileSync(portFile, "utf8").trim();
    const res = await fetch(`http://127.0.0.1:${port}/__emulator/inventory`, {
        headers: { Authorization: `Bearer ${fs.readFileSync(tokenFile, "utf8").trim()}` },
    });
    if (!res.ok) throw new Error(`Fly emulator inventory: HTTP ${res.status}`);
    return (await res.json()) as EmulatorInventory;
}

/** Machines per app and region, as the emulator holds them. */
export function machinesByRegion(inv: EmulatorInventory, app: string): Record<string, EmulatorMachine[]> {
    const out: Record<string, EmulatorMachine[]> = {};
    for (const m of inv.apps.find((a) => a.name === app)?.machines ?? []) {
        (out[m.region] ??= []).push(m);
    }
    return out;
}

interface ExportedResource {
    type: string;
    urn: string;
    outputs?: Record<string, unknown>;
}

/** A value of an exported state: a secret is `{"4dabf…": "1b47…", "plaintext": "<JSON>"}` (decrypted by the export). */
function isExportedSecret(v: unknown): v is { plaintext: string } {
    return typeof v === "object" && v !== null && "plaintext" in v;
}

/**
 * The app's secrets as the stack set them on Fly, and the stack's outputs (a secret one as
 * "[secret]"), from one export of the state (secrets decrypted, kept in memory): one CLI run
 * where `stack.outputs()` and an export would be three.
 */
export async function fromState(ps: ProjectStack): Promise<{
    app: string;
    values: Record<string, string>;
    outputs: Record<string, unknown>;
}> {
    const doc = (await ps.workspace.exportStack(ps.name)) as { deployment: { resources?: ExportedResource[] } };
    const resources = doc.deployment.resources ?? [];
    const res = resources.find((x) => x.type === "fly:index:AppSecrets");
    if (!res?.outputs) throw new Error(`stack ${ps.name} has no fly:index:AppSecrets in its state yet: run up first`);
    const raw = res.outputs.values as Record<string, unknown>;
    const values = (isExportedSecret(raw) ? JSON.parse(raw.plaintext) : raw) as Record<string, string>;
    const root = resources.find((x) => x.type === "pulumi:pulumi:Stack");
    const outputs = Object.fromEntries(
        Object.entries(root?.outputs ?? {}).map(([k, v]) => [k, isExportedSecret(v) ? "[secret]" : v]),
    );
    return { app: String(res.outputs.app), values, outputs };
}

/** The public tables in the database behind this URL, with the schema version postgrator recorded. */
export async function databaseTables(databaseUrl: string): Promise<{ tables: string[]; version: number }> {
    const client = new Client({ connectionString: clientConnectionString(databaseUrl, localCa()) });
    await client.connect();
    try {
        const t = await client.query<{ table_name: string }>(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name",
        );
        const v = await client
            .query<{ version: string }>("SELECT max(version)::text AS version FROM schemaversion")
            .catch(() => ({ rows: [{ version: "0" }] }));
        return { tables: t.rows.map((r) => r.table_name), version: Number(v.rows[0]?.version ?? 0) };
    } finally {
        await client.end();
    }
}

/** Prints the local summary. Throws if a check fails (a machine missing, no tables, no PONG). */
export async function printLocalSummary(ps: ProjectStack, log: (l: string) => void): Promise<void> {
    const stack = ps.name;
    // Only plain outputs are printed (none of the URLs is secret).
    const { app, values, outputs } = await fromState(ps);
    const inv = await flyInventory();
    const byRegion = machinesByRegion(inv, app);
    const db = await databaseTables(values.DATABASE_URL);
    const pong = await redisPing(values.REDIS_URL);

    log("");
    log(`Stack ${stack}: what the local cloud holds now`);
    log(`  Fly app ${app} (emulator):`);
    for (const [region, machines] of Object.entries(byRegion).sort()) {
        const m = machines[0];
        log(
            `    ${region}: ${machines.length} machine(s), ${machines.map((x) => x.state).join("/")}, ${m.guest.cpus}x ${m.guest.cpu_kind} ${m.guest.memory_mb} MB, image ${m.image}`,
        );
    }
    log(
        `    secrets: ${inv.apps.find((a) => a.name === app)?.secret_names.join(", ")} (version ${inv.apps.find((a) => a.name === app)?.secrets_version})`,
    );
    log(
        `  PostgreSQL (through the API's DATABASE_URL, TLS): schema version ${db.version}, tables ${db.tables.join(", ")}`,
    );
    const point = outputs.restorePoint as { branchName?: string; branchId?: string } | undefined;
    if (point?.branchName)
        log(`    restore point before the last migration run: Neon branch ${point.branchName} (${point.branchId})`);
    log(`  Redis (through the API's REDIS_URL, TLS): PING -> ${pong}`);
    if (outputs.frontendRef !== undefined) log(`  Vercel: production deployment of ref ${String(outputs.frontendRef)}`);
    log("  URLs:");
    for (const k of ["apiUrl", "websocketUrl", "healthUrl", "readyUrl", "metricsUrl", "frontendUrl"]) {
        if (outputs[k] !== undefined) log(`    ${k.padEnd(13)} ${String(outputs[k])}`);
    }
    log(`  databaseHost ${String(outputs.databaseHost)}   redisEndpoint ${String(outputs.redisEndpoint)}`);
    if (pong !== "PONG") throw new Error(`Redis answered ${pong} instead of PONG`);
    if (!db.tables.includes("players")) throw new Error("the players table is missing: the migrations did not run");
}
