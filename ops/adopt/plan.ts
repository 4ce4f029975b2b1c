/**
 * The adoption plan: which existing object becomes which resource of the program, pure (no
 * I/O), so it is tested without a cloud. `npm run adopt` (ops/adopt/index.ts) feeds it what
 * the services hold and what the stack already manages, prints it, and hands its `imports` to
 * Pulumi's own import.
 *
 * The rules, from what `fly deploy` and the dashboards leave behind:
 * - Machines made by `fly deploy` become `api-<region>-<n>`, oldest first, up to the config's
 *   count per region; machines beyond it, in a region the config does not name, or made some
 *   other way are listed and left alone (never destroyed by an adoption).
 * - A resource already in the stack's state is never imported again.
 * - Fly returns secret names, never values: the program's secrets are set from the stack's
 *   config on the next `up`; other names are left alone.
 * - What the program declares and nothing matches is created by the first `up`.
 */
import type { ImportResource } from "@pulumi/pulumi/automation";
import type { PlannedStep } from "../ci/previewReport";
import type { StackConfig } from "../../lib/config";
import { API_SECRET_NAMES, ROOT } from "../../lib/names";
import { FlyApiApp, machineResourceName } from "../../components/flyApiApp";
import { NeonDatabase } from "../../components/neonDatabase";
import { UpstashRedis } from "../../components/upstashRedis";
import { envVarResourceName, VercelFrontend } from "../../components/vercelFrontend";
import { FlyTypes } from "../../providers/fly/types";
import { FlyFound, madeByFlyDeploy } from "./fly";

/** Resource type tokens of the providers' resources the program declares (Fly's from its one home). */
export const TYPES = {
    flyApp: FlyTypes.App,
    flySecrets: FlyTypes.AppSecrets,
    flyMachine: FlyTypes.Machine,
    flyIp: FlyTypes.IpAddress,
    flyCert: FlyTypes.Certificate,
    neonProject: "neon:index/project:Project",
    upstashDatabase: "upstash:index/redisDatabase:RedisDatabase",
    vercelProject: "vercel:index/project:Project",
    vercelEnv: "vercel:index/projectEnvironmentVariable:ProjectEnvironmentVariable",
    vercelDomain: "vercel:index/projectDomain:ProjectDomain",
} as const;

/** A Neon project as found by name, with its default branch's databases and roles. */
export interface NeonFoundLike {
    readonly id: string;
    readonly name: string;
    readonly databases?: readonly string[];
    readonly roles?: readonly string[];
}
/** An Upstash database as found by name. */
export interface UpstashFoundLike {
    readonly id: string;
    readonly name: string;
}
/** A Vercel project as found by name, with its env vars (no values) and domains. */
export interface VercelFoundLike {
    readonly id: string;
    readonly name: string;
    readonly env: readonly { readonly id: string; readonly key: string; readonly targets: readonly string[] }[];
    readonly domains: readonly string[];
}

/** What exists in the four services for one stack's config. */
export interface Inventory {
    readonly fly?: FlyFound;
    readonly neon?: NeonFoundLike;
    readonly upstash?: UpstashFoundLike;
    readonly vercel?: VercelFoundLike;
}

/** A resource in the stack's state: its type, its name (the URN's last part) and its id. */
export interface StateEntry {
    readonly type: string;
    readonly name: string;
    readonly id: string;
}

/** One existing object and the program's resource it becomes. */
export interface Adoption {
    /** The object in its service's words, e.g. `Fly machine 3d8d… "red-sun-12" in iad (fly deploy)`. */
    readonly existing: string;
    readonly type: string;
    /** The program's logical name, e.g. `api-iad-1`. */
    readonly name: string;
    /** The id Pulumi's import reads it by. */
    readonly id: string;
    /** The component it is a child of. */
    readonly parent: string;
}

export interface AdoptionPlan {
    readonly adopt: readonly Adoption[];
    /** Already in the stack's state: not imported again. */
    readonly managed: readonly string[];
    /** Found and left alone, with why. */
    readonly leftAlone: readonly string[];
    /** The program's resources that nothing matched: the first `up` creates them. */
    readonly created: readonly string[];
    /** Fly secrets the next `up` sets from the stack's config (values are never read back). */
    readonly secretsToSet: readonly string[];
    /** Conflicts that make an adoption unsafe; the command refuses while there is one. */
    readonly blockers: readonly string[];
    /** The entries for Pulumi's import: the parent components, then the resources. */
    readonly imports: readonly ImportResource[];
}

/** The provider version each import names, so the imported resources use the program's default providers. */
export interface ProviderVersions {
    readonly [typePrefix: string]: { readonly version: string; readonly pluginDownloadUrl?: string } | undefined;
}

const COMPONENT_TYPES: Record<string, string> = {
    [ROOT.api]: FlyApiApp.TYPE,
    [ROOT.database]: NeonDatabase.TYPE,
    [ROOT.redis]: UpstashRedis.TYPE,
    [ROOT.web]: VercelFrontend.TYPE,
};

const short = (id: string) => (id.length > 14 ? `${id.slice(0, 14)}…` : id);

/** Builds the plan. `state` is what the stack manages today (empty for a new stack). */
export function planAdoption(
    config: StackConfig<unknown>,
    inventory: Inventory,
    state: readonly StateEntry[],
    versions: ProviderVersions = {},
): AdoptionPlan {
    const adopt: Adoption[] = [];
    const managed: string[] = [];
    const leftAlone: string[] = [];
    const created: string[] = [];
    const blockers: string[] = [];
    const stateByKey = new Map(state.map((s) => [`${s.type}::${s.name}`, s]));
    const managedIds = new Set(state.map((s) => `${s.type}::${s.id}`));

    /** Adopt `id` as (type, name), unless the state has that resource (or that object) already. */
    const take = (type: string, name: string, id: string, parent: string, existing: string, stateId = id): void => {
        const known = stateByKey.get(`${type}::${name}`);
        if (known) {
            managed.push(
                known.id === stateId
                    ? `${name} (${type}): already managed, ${existing}`
                    : `${name} (${type}): already managed as ${known.id}; ${existing} is left alone`,
            );
            return;
        }
        if (managedIds.has(`${type}::${stateId}`)) {
            managed.push(`${existing}: already managed under another name`);
            return;
        }
        adopt.push({ existing, type, name, id, parent });
    };
    const missing = (type: string, name: string, what: string): void => {
        if (stateByKey.has(`${type}::${name}`)) managed.push(`${name} (${type}): already managed`);
        else created.push(`${name} (${type}): ${what}`);
    };

    // Fly
    const api = config.api;
    const fly = inventory.fly;
    const secretsToSet: string[] = [];
    if (!fly) {
        missing(TYPES.flyApp, `${ROOT.api}-app`, `no Fly app "${api.appName}" exists; the first up creates it`);
    } else {
        const app = api.appName;
        take(
            TYPES.flyApp,
            `${ROOT.api}-app`,
            app,
            ROOT.api,
            `Fly app "${app}" (org ${fly.app.organization?.slug ?? "?"})`,
        );
        take(
            TYPES.flySecrets,
            `${ROOT.api}-secrets`,
            app,
            ROOT.api,
            `the secrets of "${app}" (${fly.secretNames.length} set)`,
        );
        secretsToSet.push(...API_SECRET_NAMES);
        for (const n of fly.secretNames.filter((s) => !(API_SECRET_NAMES as readonly string[]).includes(s))) {
            leftAlone.push(`Fly secret ${n} of "${app}": not in the program; the next up leaves it set`);
        }
        const ipRoles: [string, (ip: FlyFound["ips"][number]) => boolean][] = [
            [`${ROOT.api}-ip-v4`, (ip) => ip.shared === true],
            [`${ROOT.api}-ip-v6`, (ip) => !ip.shared && ip.ip.includes(":")],
        ];
        const usedIps = new Set<string>();
        for (const [name, match] of ipRoles) {
            const ip = fly.ips.find((i) => match(i) && !usedIps.has(i.ip));
            if (ip) {
                usedIps.add(ip.ip);
                take(TYPES.flyIp, name, `${app}/${ip.ip}`, ROOT.api, `Fly IP ${ip.ip} of "${app}"`, ip.ip);
            } else missing(TYPES.flyIp, name, `"${app}" has no such address; the first up allocates it`);
        }
        for (const ip of fly.ips.filter((i) => !usedIps.has(i.ip))) {
            leftAlone.push(`Fly IP ${ip.ip} of "${app}": the program declares one shared IPv4 and one IPv6`);
        }
        if (api.customDomain) {
            if (fly.certificate) {
                take(
                    TYPES.flyCert,
                    `${ROOT.api}-cert`,
                    `${app}/${api.customDomain}`,
                    ROOT.api,
                    `Fly certificate for ${api.customDomain} (${fly.certificate.status ?? "unknown"})`,
                    api.customDomain,
                );
            } else
                missing(
                    TYPES.flyCert,
                    `${ROOT.api}-cert`,
                    `no certificate for ${api.customDomain}; the first up asks for it`,
                );
        }
        planMachines(config, fly, { stateByKey, managedIds, take, missing, leftAlone, managed });
    }

    // Neon
    const db = inventory.neon;
    const projectName = `${ROOT.database}-project`;
    if (db) {
        take(TYPES.neonProject, projectName, db.id, ROOT.database, `Neon project "${db.name}" (${db.id})`);
        // The project's default branch is the program's (its database and owner role): another
        // name would make the first up replace the project, which holds the data.
        for (const [what, key, want, have] of [
            ["database", "database.databaseName", config.database.databaseName, db.databases],
            ["role", "database.ownerRole", config.database.ownerRole, db.roles],
        ] as const) {
            if (have && !have.includes(want)) {
                blockers.push(
                    `Neon project "${db.name}" has no ${what} "${want}" (${key}); it has ${have.map((h) => `"${h}"`).join(", ") || "none"}: set ${key} to the one the API uses and run adopt again`,
                );
            }
        }
    } else
        missing(
            TYPES.neonProject,
            projectName,
            `no Neon project "${config.database.projectName}"; the first up creates it`,
        );

    // Upstash
    const redis = inventory.upstash;
    const redisName = `${ROOT.redis}-database`;
    if (redis)
        take(TYPES.upstashDatabase, redisName, redis.id, ROOT.redis, `Upstash database "${redis.name}" (${redis.id})`);
    else
        missing(
            TYPES.upstashDatabase,
            redisName,
            `no Upstash database "${config.redis.databaseName}"; the first up creates it`,
        );

    // Vercel
    const fe = config.frontend;
    const web = inventory.vercel;
    if (!web) {
        missing(
            TYPES.vercelProject,
            `${ROOT.web}-project`,
            `no Vercel project "${fe.projectName}"; the first up creates it`,
        );
    } else {
        take(TYPES.vercelProject, `${ROOT.web}-project`, web.id, ROOT.web, `Vercel project "${web.name}" (${web.id})`);
        const usedEnv = new Set<string>();
        for (const key of [fe.apiUrlEnvKey, fe.wsUrlEnvKey]) {
            for (const target of fe.envTargets) {
                const name = envVarResourceName(ROOT.web, key, target);
                const exact = web.env.find((e) => e.key === key && e.targets.length === 1 && e.targets[0] === target);
                const shared = web.env.find((e) => e.key === key && e.targets.length > 1 && e.targets.includes(target));
                if (exact) {
                    usedEnv.add(exact.id);
                    take(
                        TYPES.vercelEnv,
                        name,
                        `${web.id}/${exact.id}`,
                        ROOT.web,
                        `Vercel env ${key} (${target})`,
                        exact.id,
                    );
                } else if (shared) {
                    if (!usedEnv.has(shared.id)) {
                        blockers.push(
                            `Vercel env ${key} (${shared.id}) targets ${shared.targets.join(" + ")} in one variable; the program keeps one per target, and Vercel refuses a second ${key} for the same target: split it in the dashboard (one variable per target) and run adopt again`,
                        );
                    }
                    usedEnv.add(shared.id);
                } else missing(TYPES.vercelEnv, name, `no ${key} for ${target}; the first up creates it`);
            }
        }
        for (const e of web.env.filter((x) => !usedEnv.has(x.id))) {
            leftAlone.push(`Vercel env ${e.key} (${e.targets.join(", ")}): not in the program; left as it is`);
        }
        if (fe.domain) {
            if (web.domains.includes(fe.domain)) {
                take(
                    TYPES.vercelDomain,
                    `${ROOT.web}-domain`,
                    `${web.id}/${fe.domain}`,
                    ROOT.web,
                    `Vercel domain ${fe.domain}`,
                    fe.domain,
                );
            } else
                missing(
                    TYPES.vercelDomain,
                    `${ROOT.web}-domain`,
                    `${fe.domain} is not on the project; the first up adds it`,
                );
        }
        for (const d of web.domains.filter((x) => x !== fe.domain)) {
            leftAlone.push(`Vercel domain ${d}: not in the program; left on the project`);
        }
    }

    return {
        adopt,
        managed,
        leftAlone,
        created,
        secretsToSet: fly && adopt.some((a) => a.type === TYPES.flySecrets) ? secretsToSet : [],
        blockers,
        imports: importEntries(adopt, versions),
    };
}

interface MachineCtx {
    stateByKey: Map<string, StateEntry>;
    managedIds: Set<string>;
    take: (type: string, name: string, id: string, parent: string, existing: string, stateId?: string) => void;
    missing: (type: string, name: string, what: string) => void;
    leftAlone: string[];
    managed: string[];
}

/** `fly deploy`'s machines per region, oldest first, into the indices the stack does not manage yet. */
function planMachines(config: StackConfig<unknown>, fly: FlyFound, ctx: MachineCtx): void {
    const app = config.api.appName;
    const regions = config.api.regions;
    const describe = (m: FlyFound["machines"][number]) =>
        `Fly machine ${short(m.id)} "${m.name}" in ${m.region} (${madeByFlyDeploy(m) ? "fly deploy" : "not made by fly deploy"})`;
    for (const m of fly.machines) {
        const managed = ctx.managedIds.has(`${TYPES.flyMachine}::${m.id}`);
        if (managed) continue;
        if (!(m.region in regions)) {
            ctx.leftAlone.push(
                `${describe(m)}: region ${m.region} is not in api.regions; left running, never destroyed by adopt`,
            );
        } else if (!madeByFlyDeploy(m)) {
            ctx.leftAlone.push(`${describe(m)}: not a machine of a fly deploy release; left alone`);
        }
    }
    for (const region of Object.keys(regions).sort()) {
        const candidates = fly.machines.filter(
            (m) => m.region === region && madeByFlyDeploy(m) && !ctx.managedIds.has(`${TYPES.flyMachine}::${m.id}`),
        );
        for (let index = 1; index <= regions[region]; index++) {
            const name = machineResourceName(ROOT.api, region, index);
            const known = ctx.stateByKey.get(`${TYPES.flyMachine}::${name}`);
            if (known) {
                ctx.managed.push(`${name} (${TYPES.flyMachine}): already managed, machine ${known.id}`);
                continue;
            }
            const m = candidates.shift();
            if (m) ctx.take(TYPES.flyMachine, name, `${app}/${m.id}`, ROOT.api, describe(m), m.id);
            else
                ctx.missing(
                    TYPES.flyMachine,
                    name,
                    `${region} has fewer fly deploy machines than ${regions[region]}; the first up creates it`,
                );
        }
        for (const m of candidates) {
            ctx.leftAlone.push(
                `${describe(m)}: beyond api.regions.${region} = ${regions[region]}; left running, never destroyed by adopt`,
            );
        }
    }
}

/** The components first (Pulumi's import creates them in the state), then the resources under them. */
function importEntries(adopt: readonly Adoption[], versions: ProviderVersions): ImportResource[] {
    const parents = [...new Set(adopt.map((a) => a.parent))];
    return [
        ...parents.map((p) => ({ type: COMPONENT_TYPES[p], name: p, component: true })),
        ...adopt.map((a) => {
            const v = versions[a.type.split(":")[0]];
            return {
                type: a.type,
                name: a.name,
                id: a.id,
                parent: a.parent,
                ...(v
                    ? { version: v.version, ...(v.pluginDownloadUrl ? { pluginDownloadUrl: v.pluginDownloadUrl } : {}) }
                    : {}),
            };
        }),
    ];
}

/** The plan as the command prints it. */
export function renderPlan(plan: AdoptionPlan, stack: string): string {
    const out: string[] = [`Adoption plan for stack ${stack}:`, ""];
    const section = (title: string, lines: readonly string[]) => {
        if (lines.length === 0) return;
        out.push(`${title} (${lines.length}):`, ...lines.map((l) => `  - ${l}`), "");
    };
    section(
        "Existing, to be imported (nothing in the service changes)",
        plan.adopt.map((a) => `${a.existing}  ->  ${a.name} (${a.type})`),
    );
    section("Already managed by the stack", plan.managed);
    section("Left alone (listed, never changed or destroyed by the adoption)", plan.leftAlone);
    section("Not found: the first up creates them", plan.created);
    section("Fly secrets set on the next up from the stack's config (Fly never returns a value)", plan.secretsToSet);
    section("Blocking the adoption", plan.blockers);
    return out.join("\n");
}

/** Types whose replace or delete loses data: an adoption never leads to one. */
export const STATEFUL_TYPES: readonly string[] = [TYPES.neonProject, TYPES.upstashDatabase];

/** Why a preview after an adoption is unsafe, one line per step. */
export function unsafeSteps(steps: readonly PlannedStep[], plan: AdoptionPlan): string[] {
    const adopted = new Set(plan.adopt.map((a) => `${a.type}::${a.name}`));
    const out: string[] = [];
    for (const s of steps) {
        if (
            (s.op === "create" || s.op === "replace" || s.op === "create-replacement") &&
            adopted.has(`${s.type}::${s.name}`)
        ) {
            out.push(`${s.op} of ${s.name} (${s.type}), which exists and was imported`);
        }
        if (
            STATEFUL_TYPES.includes(s.type) &&
            ["replace", "create-replacement", "delete-replaced", "delete"].includes(s.op)
        ) {
            out.push(`${s.op} of ${s.name} (${s.type}), a stateful resource: its data would be lost`);
        }
    }
    return [...new Set(out)];
}
