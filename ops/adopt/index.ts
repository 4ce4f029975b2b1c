/**
 * `npm run adopt -- --stack <s>`: takes over what already runs for the stack's config (made by
 * `fly deploy`, `fly secrets set` and the dashboards) with Pulumi's own import, never a
 * hand-written state edit.
 *
 * 1. Finds what exists, through each service's API (Fly's Machines API with the provider's
 *    client; Neon's, Upstash's and Vercel's REST APIs), by the names in the stack's config.
 * 2. Plans which object becomes which resource of the program (plan.ts) and prints it.
 * 3. Imports it into a scratch copy of the stack (`<stack>-adopt-plan`, removed afterwards) and
 *    previews the program there with the policy pack: what the first preview after the adoption
 *    will change. Both touch state only; nothing in a service changes.
 * 4. Without `--yes`, stops there. With it, imports into the stack itself, records a database
 *    made by hand (`psql < migrations/…`) as migrated up to what it holds (a baseline), and
 *    previews again. A preview that would create an adopted resource again, or replace or
 *    delete a Neon project or an Upstash database, refuses the adoption (the import is undone).
 */
import * as fs from "fs";
import * as path from "path";
import { Client } from "pg";
import type { ImportResource } from "@pulumi/pulumi/automation";
import { parseStackConfig, StackConfig } from "../../lib/config";
import { baselineTo, clientConnectionString, handAppliedVersion, HandAppliedSchema } from "../../migrations/runner";
import { FlyClient } from "../../providers/fly/provider/client";
import { FLY_PROVIDER_VERSION } from "../../providers/fly/types";
import { PlannedStep, PreviewCollector } from "../ci/previewReport";
import { readStackFile, REPO_ROOT } from "../env";
import { withFlyEnv } from "../health";
import { PolicyOptions } from "../pulumi";
import { databaseUrl } from "../runbook";
import { configOrEnv, openStack, PROJECT, ProjectStack, runOp, Streams } from "../workspace";
import { findFlyApp } from "./fly";
import { findNeonProject } from "./neon";
import { findUpstashDatabase } from "./upstash";
import { findVercelProject } from "./vercel";
import {
    AdoptionPlan,
    Inventory,
    planAdoption,
    ProviderVersions,
    renderPlan,
    StateEntry,
    TYPES,
    unsafeSteps,
} from "./plan";

export interface AdoptOptions {
    readonly stack: string;
    readonly yes?: boolean;
    readonly policy: boolean;
}

export interface AdoptDeps {
    readonly log: (line: string) => void;
    readonly streams: Streams;
    /** The policy options for a preview of `stack` (the project's pack and the stack's config). */
    readonly policyFor: (stack: string) => PolicyOptions;
}

/** What `adopt` did, for tests and `--json`. */
export interface AdoptResult {
    readonly plan: AdoptionPlan;
    readonly schema?: HandAppliedSchema;
    /** The first preview after the adoption: its planned steps. */
    readonly preview: readonly PlannedStep[];
    /** True when the stack itself now holds the imported resources. */
    readonly adopted: boolean;
}

/** Refused: a conflict in the plan, or a preview that would lose or duplicate what exists. */
export class AdoptRefused extends Error {}

/** The provider versions the program's SDKs ask for, so imports use the same default providers. */
export function providerVersions(): ProviderVersions {
    const sdk = (pkg: string) =>
        JSON.parse(fs.readFileSync(require.resolve(`${pkg}/package.json`, { paths: [REPO_ROOT] }), "utf8")) as {
            pulumi?: { version?: string; server?: string };
            version: string;
        };
    const versions: Record<string, { version: string; pluginDownloadUrl?: string }> = {};
    for (const [prefix, pkg] of [
        ["vercel", "@pulumiverse/vercel"],
        ["upstash", "@upstash/pulumi"],
    ] as const) {
        const p = sdk(pkg);
        versions[prefix] = { version: p.pulumi?.version ?? p.version, pluginDownloadUrl: p.pulumi?.server };
    }
    // The Fly provider is this repository's own (providers/fly); its plugin version is in its types.
    versions.fly = { version: FLY_PROVIDER_VERSION };
    return versions;
}

/** The stack's config, validated as the program validates it (secrets are not needed here). */
export function stackConfig(stack: string): StackConfig<unknown> {
    const raw = readStackFile(stack);
    const obj = (k: string) => raw[`${PROJECT}:${k}`];
    return parseStackConfig({
        api: obj("api"),
        frontend: obj("frontend"),
        database: obj("database"),
        redis: obj("redis"),
        jwtSecret: "-",
    });
}

async function secretConfig(ps: ProjectStack, key: string, envName: string): Promise<string> {
    const v = await configOrEnv(ps, key, envName);
    if (!v) {
        throw new Error(
            `stack ${ps.name} has no ${key} in its config and ${envName} is unset: adopt reads the service with it. Nothing was changed.`,
        );
    }
    return v;
}

/** What exists for the stack's config, read through the four services' APIs. */
export async function discover(
    ps: ProjectStack,
    config: StackConfig<unknown>,
    log: (l: string) => void,
): Promise<Inventory> {
    log(`reading Fly app "${config.api.appName}" (Machines API)`);
    const fly = await withFlyEnv(ps.env, () =>
        findFlyApp(new FlyClient({ log: (m) => log(`  fly: ${m}`) }), config.api.appName, config.api.customDomain),
    );
    log(`reading Neon project "${config.database.projectName}"`);
    const neon = await findNeonProject({
        name: config.database.projectName,
        apiKey: await secretConfig(ps, "neon:apiKey", "NEON_API_KEY"),
        baseUrl: ps.env.NEON_API_URL,
    });
    log(`reading Upstash database "${config.redis.databaseName}"`);
    const upstash = await findUpstashDatabase({
        name: config.redis.databaseName,
        email: (await configOrEnv(ps, "upstash:email", "UPSTASH_EMAIL")) ?? "",
        apiKey: await secretConfig(ps, "upstash:apiKey", "UPSTASH_API_KEY"),
        baseUrl: ps.env.UPSTASH_API_URL,
    });
    log(`reading Vercel project "${config.frontend.projectName}"`);
    const vercel = await findVercelProject({
        name: config.frontend.projectName,
        token: await secretConfig(ps, "vercel:apiToken", "VERCEL_API_TOKEN"),
        teamId: await configOrEnv(ps, "vercel:team"),
        baseUrl: ps.env.VERCEL_API_URL,
    });
    return {
        fly,
        neon: neon && {
            id: neon.projectId,
            name: neon.name,
            databases: neon.databases.map((d) => d.name),
            roles: neon.roles.map((r) => r.name),
        },
        // The provider's id (`upstash-database-<id>`) is what its Read takes.
        upstash: upstash && { id: upstash.id, name: upstash.name },
        vercel: vercel && {
            id: vercel.projectId,
            name: vercel.name,
            env: vercel.envs.map((e) => ({ id: e.id, key: e.key, targets: e.targets })),
            domains: vercel.domains.map((d) => d.name),
        },
    };
}

/** The stack's resources as the plan needs them: type, name and id. */
async function stateEntries(ps: ProjectStack): Promise<StateEntry[]> {
    const d = (await ps.stack.exportStack()).deployment as { resources?: { type: string; urn: string; id?: string }[] };
    return (d.resources ?? []).map((r) => ({ type: r.type, name: r.urn.split("::").pop() ?? "", id: r.id ?? "" }));
}

/** Import `imports` into `ps` (state only) and preview the program there; returns the planned steps. */
async function importAndPreview(
    ps: ProjectStack,
    imports: readonly ImportResource[],
    policy: PolicyOptions | Record<string, never>,
    streams: Streams,
): Promise<{ steps: PlannedStep[]; ok: boolean }> {
    if (imports.length > 0) {
        const r = await runOp(
            (s) => ps.stack.import({ resources: [...imports], protect: false, generateCode: false, ...s }),
            streams,
        );
        if (r.code !== 0) throw new Error(`pulumi import failed (above); nothing in the services changed`);
    }
    const collector = new PreviewCollector();
    const r = await runOp(
        (s) => ps.stack.preview({ ...policy, diff: true, onEvent: collector.onEvent, ...s }),
        streams,
    );
    return { steps: collector.report(ps.name, r.code === 0).steps, ok: r.code === 0 };
}

/** The preview as the plan prints it: one line per step that changes something. */
export function renderSteps(steps: readonly PlannedStep[]): string {
    const changing = steps.filter((s) => s.op !== "same" && s.op !== "read");
    if (changing.length === 0) return "  (no changes: the stack matches what exists)";
    return changing
        .map(
            (s) =>
                `  ${s.op.padEnd(8)} ${s.name} (${s.type})${s.properties.length ? `: ${s.properties.join(", ")}` : ""}`,
        )
        .join("\n");
}

/** Checks the database a Neon project import brought in: made by hand, and up to which migration. */
async function inspectDatabase(ps: ProjectStack): Promise<HandAppliedSchema> {
    const client = new Client({
        connectionString: clientConnectionString(await databaseUrl(ps), ps.env.PGSSLROOTCERT),
    });
    await client.connect();
    try {
        return await handAppliedVersion(client);
    } finally {
        await client.end();
    }
}

function schemaLine(s: HandAppliedSchema): string {
    if (s.managed)
        return "Database: managed by the migration runner already (schemaversion); the first up runs only pending migrations.";
    if (s.version === 0) {
        return s.tables.length === 0
            ? "Database: empty; the first up applies every migration."
            : `Database: tables ${s.tables.join(", ")} but none of the migrations' objects; the first up applies every migration.`;
    }
    return `Database: migrations 1..${s.version} were applied by hand (psql); adopt --yes records them as applied (a baseline, no SQL runs), so the first up applies only later ones.`;
}

/** The adoption, as `npm run adopt` runs it. */
export async function adopt(o: AdoptOptions, deps: AdoptDeps): Promise<AdoptResult> {
    const { log, streams } = deps;
    const config = stackConfig(o.stack);
    const ps = await openStack(o.stack, { mode: "select" });
    const policy = o.policy ? deps.policyFor(o.stack) : {};

    log(`\n== adopt: what exists for stack ${o.stack}`);
    const inventory = await discover(ps, config, log);
    const before = await stateEntries(ps);
    const plan = planAdoption(config, inventory, before, providerVersions());
    log(`\n${renderPlan(plan, o.stack)}`);
    if (plan.blockers.length > 0) {
        throw new AdoptRefused(
            `the plan has ${plan.blockers.length} blocker(s) (above); nothing was imported or changed`,
        );
    }
    if (plan.adopt.length === 0) {
        log(
            plan.managed.length > 0
                ? `Stack ${o.stack} already manages everything that exists; nothing to adopt. Next: npm run preview -- --stack ${o.stack}.`
                : `Nothing exists for stack ${o.stack}'s config; nothing to adopt. The first up creates everything: npm run preview -- --stack ${o.stack}.`,
        );
        return { plan, preview: [], adopted: false };
    }

    // The dry run: a scratch copy of the stack, same config and secrets, removed afterwards.
    const scratchName = `${o.stack}-adopt-plan`;
    const scratchFile = path.join(REPO_ROOT, `Pulumi.${scratchName}.yaml`);
    fs.copyFileSync(path.join(REPO_ROOT, `Pulumi.${o.stack}.yaml`), scratchFile);
    let schema: HandAppliedSchema | undefined;
    let dry: { steps: PlannedStep[]; ok: boolean };
    try {
        const scratch = await openStack(scratchName, { mode: "create", env: ps.env });
        try {
            log(`\n== adopt: importing into the scratch stack ${scratchName} and previewing there (state only)`);
            dry = await importAndPreview(scratch, plan.imports, policy, streams);
            if (plan.adopt.some((a) => a.type === TYPES.neonProject)) schema = await inspectDatabase(scratch);
        } finally {
            await scratch.workspace
                .removeStack(scratchName, { force: true })
                .catch((e: Error) => log(`could not remove ${scratchName}: ${e.message}`));
        }
    } finally {
        fs.rmSync(scratchFile, { force: true });
    }
    log(
        `\nThe first preview after the adoption (${dry.ok ? "passes" : "FAILS"}, with the policy pack${o.policy ? "" : " skipped"}):`,
    );
    log(renderSteps(dry.steps));
    if (schema) log(schemaLine(schema));
    const unsafe = unsafeSteps(dry.steps, plan);
    if (unsafe.length > 0) {
        throw new AdoptRefused(
            `after the adoption the preview would ${unsafe.join("; ")}. Nothing was imported or changed.`,
        );
    }
    if (!o.yes) {
        log(`\nNothing was imported or changed. To adopt: npm run adopt -- --stack ${o.stack} --yes`);
        return { plan, schema, preview: dry.steps, adopted: false };
    }

    log(`\n== adopt: importing into ${o.stack}`);
    const saved = await ps.stack.exportStack();
    let steps: PlannedStep[];
    try {
        const real = await importAndPreview(ps, plan.imports, policy, streams);
        steps = real.steps;
        const unsafeNow = unsafeSteps(steps, plan);
        if (unsafeNow.length > 0) throw new AdoptRefused(`the preview would ${unsafeNow.join("; ")}`);
    } catch (e) {
        await ps.stack.importStack(saved);
        throw new AdoptRefused(`${(e as Error).message}. The import was undone: stack ${o.stack} is as it was.`);
    }
    if (schema && !schema.managed && schema.version > 0) {
        await baselineTo(schema.version, { url: await databaseUrl(ps), rootCert: ps.env.PGSSLROOTCERT });
        log(`database: migrations 1..${schema.version} recorded as applied (baseline)`);
    }
    log(
        `\nAdopted ${plan.adopt.length} resource(s) into ${o.stack}; nothing in the services changed. ` +
            `${plan.leftAlone.length} object(s) left alone (listed above).\n` +
            `Next: npm run preview -- --stack ${o.stack} shows the changes above; npm run up -- --stack ${o.stack} applies them` +
            `${plan.secretsToSet.length ? ` and sets ${plan.secretsToSet.join(", ")} from the stack's config` : ""}.`,
    );
    return { plan, schema, preview: steps, adopted: true };
}
