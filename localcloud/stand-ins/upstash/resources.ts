/**
 * The upstash stand-in's RedisDatabase: each database is a real Redis server of its own (see
 * instances.ts), reached at `rediss://default:<password>@127.0.0.1:<port>` like an Upstash
 * database; its record (with the password and tokens) is `$LOCALCLOUD_STATE_DIR/upstash/databases/<id>.json`.
 *
 * Replacement rules follow upstash/terraform-provider-upstash: databaseName, region and
 * primaryRegion are ForceNew, and tls or consistent changing from true to false forces a new
 * database (CustomizeDiff); readRegions, eviction, autoScale, budget, prodPack, ipAllowlists
 * update in place.
 */
import { randomUUID } from "node:crypto";
import * as path from "node:path";
import type { CheckFailure } from "@pulumi/pulumi/provider";
import { localcloudPaths } from "../../services/env";
import { newPassword } from "../common/ids";
import type { Ctx, Handler } from "../common/provider";
import { bool, Fields, known, num, str, strList } from "../common/schema";
import { JsonStore } from "../common/store";
import { Props, unwrap } from "../common/values";
import {
    adminTarget,
    allocatePort,
    MAXCLIENTS,
    MAXMEMORY_BYTES,
    removeInstance,
    startInstance,
    withRedis,
    writeInstance,
} from "./instances";

export const TOKEN = "upstash:index/redisDatabase:RedisDatabase";

/** Regions Upstash offers for `primaryRegion`/`readRegions` of global databases (AWS). */
export const GLOBAL_REGIONS = [
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "ca-central-1",
    "eu-central-1",
    "eu-west-1",
    "eu-west-2",
    "sa-east-1",
    "ap-south-1",
    "ap-northeast-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "af-south-1",
];

export interface DatabaseRecord {
    databaseId: string;
    port: number;
    password: string;
    restToken: string;
    readOnlyRestToken: string;
    creationTime: number;
    /** The inputs last applied. */
    inputs: Props;
}

export function databaseStore(): JsonStore<DatabaseRecord> {
    return new JsonStore<DatabaseRecord>(path.join(localcloudPaths().stateDir, "upstash", "databases"));
}

export const fields: Fields = {
    databaseName: { type: "string", required: true, replace: true },
    region: { type: "string", required: true, replace: true },
    primaryRegion: { type: "string", replace: true },
    readRegions: { type: "stringSet" },
    tls: { type: "boolean", default: false },
    eviction: { type: "boolean", default: false },
    autoScale: { type: "boolean", default: false },
    budget: { type: "number", default: 20 },
    prodPack: { type: "boolean", default: false },
    ipAllowlists: { type: "stringSet" },
    consistent: { type: "boolean", default: false },
    multizone: { type: "boolean", default: false },
};

const CIDR_RE = /^(\d{1,3}\.){3}\d{1,3}(\/\d{1,2})?$|^[0-9a-fA-F:]+(\/\d{1,3})?$/;

/** The errors Upstash's API (and the provider) give for a region layout. */
export function regionErrors(inputs: Props): string[] {
    const errs: string[] = [];
    const region = str(inputs, "region");
    const primary = str(inputs, "primaryRegion");
    const reads = strList(inputs, "readRegions") ?? [];
    if (region === undefined) return errs;
    if (region === "global") {
        if (!primary) errs.push('primaryRegion is required for global databases (region = "global")');
        else if (!GLOBAL_REGIONS.includes(primary))
            errs.push(`invalid primaryRegion ${JSON.stringify(primary)}; valid: ${GLOBAL_REGIONS.join(", ")}`);
        for (const r of reads) {
            if (r === primary) errs.push(`Primary region '${primary}' can not be in the list of read regions.`);
            else if (!GLOBAL_REGIONS.includes(r))
                errs.push(`invalid read region ${JSON.stringify(r)}; valid: ${GLOBAL_REGIONS.join(", ")}`);
        }
    } else {
        errs.push(
            `Regional databases are deprecated: new databases must be global (region = "global") with a primaryRegion (got region ${JSON.stringify(region)})`,
        );
    }
    return errs;
}

function outputs(rec: DatabaseRecord): Props {
    const i = rec.inputs;
    return {
        id: `upstash-database-${rec.databaseId}`,
        databaseId: rec.databaseId,
        databaseName: i.databaseName,
        region: i.region,
        primaryRegion: i.primaryRegion ?? "",
        readRegions: i.readRegions,
        ipAllowlists: i.ipAllowlists,
        // Upstash: TLS is always on for new databases; the input is echoed.
        tls: i.tls ?? false,
        eviction: i.eviction ?? false,
        autoScale: i.autoScale ?? false,
        budget: i.budget ?? 20,
        prodPack: i.prodPack ?? false,
        consistent: i.consistent ?? false,
        multizone: i.multizone ?? false,
        endpoint: "127.0.0.1",
        port: rec.port,
        password: rec.password,
        restToken: rec.restToken,
        readOnlyRestToken: rec.readOnlyRestToken,
        state: "active",
        databaseType: "Pay as You Go",
        userEmail: "localcloud@localhost",
        creationTime: rec.creationTime,
        dbMaxClients: MAXCLIENTS,
        dbMaxRequestSize: 10 * 1024 * 1024,
        dbMaxEntrySize: 100 * 1024 * 1024,
        dbMemoryThreshold: MAXMEMORY_BYTES,
        dbDiskThreshold: 100 * 1024 * 1024 * 1024,
        dbDailyBandwidthLimit: 200 * 1024 * 1024 * 1024,
        dbMaxCommandsPerSecond: 10000,
    };
}

function recordInputs(inputs: Props): Props {
    const out: Props = {};
    for (const k of Object.keys(fields)) {
        const v = unwrap(inputs[k]);
        if (v !== undefined && v !== null) out[k] = v;
    }
    if (Array.isArray(out.readRegions)) out.readRegions = [...new Set(out.readRegions as string[])].sort();
    if (Array.isArray(out.ipAllowlists)) out.ipAllowlists = [...new Set(out.ipAllowlists as string[])].sort();
    return out;
}

function databaseIdOf(id: string, state: Props): string {
    return str(state, "databaseId") ?? id.replace(/^upstash-database-/, "");
}

export const handler: Handler = {
    fields,
    secretOutputs: ["password", "restToken", "readOnlyRestToken"],
    validate(inputs: Props, failures: CheckFailure[]) {
        if (known(inputs, "databaseName") && !/^[A-Za-z0-9_-]{1,100}$/.test(str(inputs, "databaseName") ?? "")) {
            failures.push({
                property: "databaseName",
                reason: "databaseName may only contain letters, digits, '-' and '_' (at most 100)",
            });
        }
        if (known(inputs, "ipAllowlists")) {
            for (const c of strList(inputs, "ipAllowlists") ?? []) {
                if (!CIDR_RE.test(c))
                    failures.push({ property: "ipAllowlists", reason: `invalid CIDR ${JSON.stringify(c)}` });
            }
        }
        const b = num(inputs, "budget");
        if (b !== undefined && (b < 0 || !Number.isInteger(b)))
            failures.push({ property: "budget", reason: "budget must be a whole, non-negative number of dollars" });
    },
    extraReplaces(olds: Props, news: Props): string[] {
        const out: string[] = [];
        for (const k of ["tls", "consistent"]) {
            if (olds[k] === true && unwrap(news[k]) === false) out.push(k);
        }
        return out;
    },
    async create(_ctx: Ctx, inputs: Props) {
        const errs = regionErrors(inputs);
        if (errs.length > 0) throw new Error(`failed to create the database: ${errs.join("; ")}`);
        if (bool(inputs, "consistent") === true) {
            throw new Error("Newly created DBs are eventually consistent. Set consistent=false in the resource.");
        }
        const store = databaseStore();
        return store.locked(async () => {
            const rec: DatabaseRecord = {
                databaseId: randomUUID(),
                port: await allocatePort(),
                password: newPassword(32),
                restToken: `A${newPassword(59)}`,
                readOnlyRestToken: `A${newPassword(59)}`,
                creationTime: Math.floor(Date.now() / 1000),
                inputs: recordInputs(inputs),
            };
            const settings = { port: rec.port, password: rec.password, eviction: bool(inputs, "eviction") ?? false };
            writeInstance(rec.databaseId, settings);
            try {
                await startInstance(rec.databaseId, settings);
            } catch (e) {
                await removeInstance(rec.databaseId).catch(() => undefined);
                throw e;
            }
            store.put(rec.databaseId, rec);
            return { id: `upstash-database-${rec.databaseId}`, outs: outputs(rec) };
        });
    },
    // An import takes the bare database id (a UUID), as the Terraform provider does; the state's
    // id is then `upstash-database-<databaseId>` (read's `id` output).
    async read(_ctx: Ctx, id: string, state: Props) {
        const rec = databaseStore().get(databaseIdOf(id, state));
        return rec ? outputs(rec) : undefined;
    },
    async importInputs(_ctx: Ctx, _id: string, outs: Props) {
        const rec = databaseStore().get(str(outs, "databaseId") ?? "");
        if (!rec) throw new Error(`database ${String(outs.databaseId)} not found`);
        return { ...rec.inputs };
    },
    async update(_ctx: Ctx, id: string, olds: Props, news: Props) {
        const store = databaseStore();
        const dbId = databaseIdOf(id, olds);
        return store.locked(async () => {
            const rec = store.get(dbId);
            if (!rec) throw new Error(`database ${dbId} not found`);
            const primary = str(news, "primaryRegion") ?? "";
            for (const r of strList(news, "readRegions") ?? []) {
                if (r === primary)
                    throw new Error(`Primary region '${primary}' can not be in the list of read regions.`);
            }
            if (bool(news, "consistent") === true && rec.inputs.consistent !== true) {
                throw new Error(
                    "Cannot enable strong consistency on the DB. All the newly created DBs will be eventually consistent. Set consistent=false.",
                );
            }
            const eviction = bool(news, "eviction") ?? false;
            if (eviction !== (rec.inputs.eviction ?? false)) {
                const settings = { port: rec.port, password: rec.password, eviction };
                writeInstance(rec.databaseId, settings);
                await withRedis(adminTarget(rec.port), (r) =>
                    r.config("SET", "maxmemory-policy", eviction ? "allkeys-lru" : "noeviction"),
                );
            }
            rec.inputs = recordInputs(news);
            store.put(rec.databaseId, rec);
            return outputs(rec);
        });
    },
    async delete(_ctx: Ctx, id: string, state: Props) {
        const store = databaseStore();
        const dbId = databaseIdOf(id, state);
        await store.locked(async () => {
            await removeInstance(dbId);
            store.remove(dbId);
        });
    },
};

export const handlers: Readonly<Record<string, Handler>> = { [TOKEN]: handler };
