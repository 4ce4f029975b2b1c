/**
 * The runbook's day-to-day operations as commands, each a thin layer over the stack's config and
 * `up`, so every change is a config diff (reviewed in a pull request) and a history entry:
 *
 *   npm run scale -- --stack prod --region sjc --count 3        (api.regions.sjc)
 *   npm run scale -- --stack prod --remove-region iad            (api.regions.iad removed)
 *   npm run scale -- --stack prod --min-running 2                (api.autoscale.minMachinesRunning)
 *   npm run scale -- --stack prod --vm performance:2:4096        (api.vm)
 *   npm run deploy -- --stack prod --image registry.fly.io/fpsgame-api:v1.5.0   (api.image)
 *   npm run rotate -- --stack prod --secret jwtSecret            (a strong random value; --stdin reads one)
 *   npm run rotate -- --stack prod --secret databasePassword     (database.passwordRotation + 1; redisPassword too)
 *   npm run status -- --stack prod                               (machines, checks, last update, schema)
 *   npm run health -- --stack prod                               (the post-deploy health gate alone)
 *   npm run backup -- --stack prod                               (pg_dump of the database to a file)
 *
 * The editing commands change `Pulumi.<stack>.yaml` and stop there, printing what to review;
 * `--up` applies the change at once (preview, up, health gate), for a 3 a.m. incident.
 */
import { execFileSync } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { NEON_DATABASE_TYPE, withPassword } from "../lib/connection";
import { REPO_ROOT } from "./env";
import { PROJECT, ProjectStack, setSecretConfig } from "./workspace";

/** One config edit: a path under the project's namespace and its new value (`undefined`: remove). */
export interface ConfigEdit {
    path: string;
    value?: string;
    secret?: boolean;
}

const REGION_RE = /^[a-z]{3}$/;

/** The edits of `npm run scale`, or an error naming the argument, the value and what is allowed. */
export function scaleEdits(o: {
    region?: string;
    count?: string;
    removeRegion?: string;
    minRunning?: string;
    vm?: string;
}): ConfigEdit[] {
    const edits: ConfigEdit[] = [];
    const whole = (flag: string, v: string, min: number, max: number): string => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < min || n > max) {
            throw new Error(`${flag} ${JSON.stringify(v)}: allowed is a whole number from ${min} to ${max}`);
        }
        return String(n);
    };
    if (o.region !== undefined || o.count !== undefined) {
        if (o.region === undefined || !REGION_RE.test(o.region)) {
            throw new Error(
                `--region ${JSON.stringify(o.region ?? "")}: allowed is a Fly region code like sjc, with --count`,
            );
        }
        if (o.count === undefined) throw new Error(`--region ${o.region} needs --count <machines> (1 to 20)`);
        edits.push({ path: `api.regions.${o.region}`, value: whole("--count", o.count, 1, 20) });
    }
    if (o.removeRegion !== undefined) {
        if (!REGION_RE.test(o.removeRegion)) {
            throw new Error(`--remove-region ${JSON.stringify(o.removeRegion)}: allowed is a Fly region code like iad`);
        }
        edits.push({ path: `api.regions.${o.removeRegion}` });
    }
    if (o.minRunning !== undefined) {
        edits.push({ path: "api.autoscale.minMachinesRunning", value: whole("--min-running", o.minRunning, 0, 20) });
    }
    if (o.vm !== undefined) {
        const m = /^(shared|performance):(\d+):(\d+)$/.exec(o.vm);
        if (!m)
            throw new Error(
                `--vm ${JSON.stringify(o.vm)}: allowed is <shared|performance>:<cpus>:<memoryMb>, like shared:2:1024`,
            );
        edits.push(
            { path: "api.vm.cpuKind", value: m[1] },
            { path: "api.vm.cpus", value: m[2] },
            { path: "api.vm.memoryMb", value: m[3] },
        );
    }
    if (edits.length === 0) {
        throw new Error(
            "npm run scale: say what to change: --region <code> --count <n>, --remove-region <code>, --min-running <n> or --vm <kind>:<cpus>:<memoryMb>",
        );
    }
    return edits;
}

/** The edit of `npm run deploy`: the image, a registry reference with a tag and/or a digest. */
export function deployEdit(image: string | undefined): ConfigEdit {
    if (
        !image ||
        !/^[a-z0-9.-]+(:\d+)?(\/[a-z0-9._-]+)+(:[A-Za-z0-9._-]+)?(@sha256:[0-9a-f]{64})?$/.test(image) ||
        !/[:@]/.test(image)
    ) {
        throw new Error(
            `--image ${JSON.stringify(image ?? "")}: allowed is an image reference with a tag or digest, like registry.fly.io/fpsgame-api:v1.5.0 or …@sha256:<64 hex>`,
        );
    }
    return { path: "api.image", value: image };
}

/**
 * What `npm run rotate` rotates: the API's own secret (a new value in its secure key), and the
 * passwords the services issue (one more in the service's `passwordRotation` counter, so the next
 * up resets it). Provider credentials are rotated at their provider first.
 */
export const ROTATABLE = ["jwtSecret", "databasePassword", "redisPassword"] as const;

/** The config section whose `passwordRotation` counts each service password's resets. */
export const PASSWORD_COUNTERS: Readonly<Record<string, "database" | "redis">> = {
    databasePassword: "database",
    redisPassword: "redis",
};

/**
 * The edit that rotates a service's password: its counter, one more than the stack file holds
 * (absent is 0). `config` is the stack file's `config:` map.
 */
export function passwordRotationEdit(secret: string, config: Record<string, unknown>): ConfigEdit {
    const section = PASSWORD_COUNTERS[secret];
    const value = (config[`${PROJECT}:${section}`] as { passwordRotation?: unknown } | undefined)?.passwordRotation;
    const n = value === undefined ? 0 : Number(value);
    if (!Number.isInteger(n) || n < 0) {
        throw new Error(
            `${PROJECT}:${section}.passwordRotation = ${JSON.stringify(value)} in the stack file: allowed is a whole number from 0; fix it before rotating`,
        );
    }
    return { path: `${section}.passwordRotation`, value: String(n + 1) };
}

/** A strong random secret: 48 random bytes, base64url (64 characters). */
export function newSecretValue(): string {
    return randomBytes(48).toString("base64url");
}

export function rotateKey(secret: string | undefined): string {
    if (!secret || !(ROTATABLE as readonly string[]).includes(secret)) {
        throw new Error(`--secret ${JSON.stringify(secret ?? "")}: allowed is ${ROTATABLE.join(", ")}`);
    }
    return secret;
}

/** Applies the edits to the stack's config (a secret through stdin, never argv). */
export async function applyEdits(ps: ProjectStack, edits: ConfigEdit[]): Promise<void> {
    for (const e of edits) {
        const key = `${PROJECT}:${e.path}`;
        if (e.value === undefined) await ps.stack.removeConfig(key, true);
        else if (e.secret) await setSecretConfig(ps, key, e.value, { path: true });
        else await ps.stack.setConfig(key, { value: e.value, secret: false }, true);
    }
}

/** How an edit reads in the summary (a secret's value never). */
export function describeEdit(e: ConfigEdit): string {
    if (e.value === undefined) return `${e.path}: removed`;
    return `${e.path} = ${e.secret ? "[secret, new value]" : e.value}`;
}

/** The database's connection string from the stack's state (decrypted in memory only, never printed). */
export async function databaseUrl(ps: ProjectStack): Promise<string> {
    const state = (await ps.workspace.exportStack(ps.name)).deployment as { resources?: StateResource[] };
    const uri = databaseUrlFromState(state.resources ?? []);
    if (uri === undefined) {
        throw new Error(`stack ${ps.name} has no database in its state yet: npm run up -- --stack ${ps.name} first`);
    }
    return uri;
}

/** A resource of an exported deployment, as far as {@link databaseUrlFromState} reads it. */
export interface StateResource {
    urn?: string;
    type: string;
    outputs?: Record<string, unknown>;
}

/**
 * The connection string the API uses, from an exported deployment: the Neon project's, with the
 * password of the last rotation when the database's password was rotated (the reset command's
 * stdout, see components/neonDatabase.ts), so the commands reach the database exactly as the
 * API does. `sslmode=require` always. Undefined when the state has no database yet.
 */
export function databaseUrlFromState(resources: readonly StateResource[]): string | undefined {
    // Exported with --show-secrets, a secret output is `{<sig>: …, plaintext: "<JSON>"}`.
    const plain = (raw: unknown): unknown =>
        typeof raw === "object" && raw !== null && typeof (raw as { plaintext?: unknown }).plaintext === "string"
            ? JSON.parse((raw as { plaintext: string }).plaintext)
            : raw;
    const project = resources.find((r) => r.type === "neon:index/project:Project");
    const uri = plain(project?.outputs?.connectionUri);
    if (typeof uri !== "string" || uri === "") return undefined;
    const rotation = resources.find(
        (r) =>
            r.type === "command:local:Command" &&
            (r.urn ?? "").includes(`${NEON_DATABASE_TYPE}$command:local:Command::`),
    );
    const password = plain(rotation?.outputs?.stdout);
    const u = new URL(typeof password === "string" && password !== "" ? withPassword(uri, password) : uri);
    u.searchParams.set("sslmode", "require");
    return u.toString();
}

/**
 * `pg_dump` of the stack's database to `.backups/<stack>-<time>.sql` (mode 600), as the runbook's
 * backup does; the connection string reaches pg_dump through its environment, never argv.
 */
export async function backupDatabase(ps: ProjectStack, log: (l: string) => void, out?: string): Promise<string> {
    const url = new URL(await databaseUrl(ps));
    const stamp = new Date().toISOString().replace(/[:.]/g, "-");
    const file = path.resolve(out ?? path.join(REPO_ROOT, ".backups", `${ps.name}-${stamp}.sql`));
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const env = {
        ...process.env,
        PGHOST: url.hostname,
        PGPORT: url.port || "5432",
        PGUSER: decodeURIComponent(url.username),
        PGPASSWORD: decodeURIComponent(url.password),
        PGDATABASE: url.pathname.replace(/^\//, ""),
        PGSSLMODE: "require",
    };
    log(`pg_dump of ${env.PGDATABASE} on ${env.PGHOST}:${env.PGPORT} to ${path.relative(REPO_ROOT, file)}`);
    fs.writeFileSync(file, "", { mode: 0o600 });
    execFileSync("pg_dump", ["--no-owner", "--no-privileges", "--file", file], { env, stdio: ["ignore", 2, 2] });
    return file;
}
