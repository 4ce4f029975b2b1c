/**
 * The neon stand-in's resources, backed by the local PostgreSQL:
 *
 *   Project   a group role `<projectId>.members`, the default branch's owner role
 *             `<projectId>.<roleName>` and database `<branchId>.<databaseName>`
 *   Branch    a real copy of the parent branch's databases (CREATE DATABASE … TEMPLATE …)
 *   Role      a login role `<projectId>.<name>` (shared by the project's branches)
 *   Database  a database `<branchId>.<name>`
 *   Endpoint  bookkeeping only: every endpoint is the local server, 127.0.0.1
 *
 * Replacement rules (ForceNew in kislerdm/terraform-provider-neon v0.13.0, plus marked deviations):
 *   Project   regionId, pgVersion, orgId, branch (the whole block)
 *   Branch    parentLsn, parentTimestamp; projectId and parentId (deviation: not ForceNew upstream)
 *   Role      projectId, branchId, name
 *   Database  projectId, branchId, ownerName (name renames in place)
 *   Endpoint  regionId; projectId and type (deviation)
 */
import type { CheckFailure } from "@pulumi/pulumi/provider";
import { newPassword } from "../common/ids";
import type { Ctx, Handler } from "../common/provider";
import { Fields, known, num, obj, str } from "../common/schema";
import { isAbsent, Props, secret, unwrap } from "../common/values";
import {
    BranchRecord,
    branchesWithRole,
    complexId,
    DEFAULT_BRANCH_NAME,
    DEFAULT_DATABASE_NAME,
    DEFAULT_PG_VERSION,
    DEFAULT_REGION,
    DEFAULT_ROLE_NAME,
    EndpointRecord,
    newBranchId,
    newEndpointId,
    newProjectId,
    parseComplexId,
    ProjectRecord,
    projectStore,
    RoleRecord,
} from "./model";
import {
    connectionUri,
    copyDatabase,
    createDatabase,
    createLoginRole,
    currentLsn,
    dropDatabase,
    dropRole,
    ensureGroup,
    ident,
    pgDatabaseName,
    pgGroupName,
    pgRoleName,
    roleExists,
    sizeMiB,
    withAdmin,
} from "./pg";

export const TOKENS = {
    project: "neon:index/project:Project",
    branch: "neon:index/branch:Branch",
    role: "neon:index/role:Role",
    database: "neon:index/database:Database",
    endpoint: "neon:index/endpoint:Endpoint",
} as const;

const YES_NO = ["yes", "no"] as const;
const now = (): string => new Date().toISOString();

function neonError(what: string, detail: string): Error {
    return new Error(`${what}: ${detail}`);
}

/** Neon: role and database names are 1–63 bytes; roles may not start with `pg_` or `neon_`. */
export function nameError(kind: "role" | "database", name: string): string | undefined {
    if (name.length === 0 || Buffer.byteLength(name) > 63)
        return `${kind} name must be 1 to 63 bytes long (got ${JSON.stringify(name)})`;
    if (kind === "role" && /^(pg_|neon_)/.test(name))
        return `role name ${JSON.stringify(name)} is reserved (names starting with pg_ or neon_)`;
    return undefined;
}

/** A handler's `validate` that checks the `name` input as a role or database name. */
function validateName(kind: "role" | "database"): (inputs: Props, failures: CheckFailure[]) => void {
    return (inputs, failures) => {
        if (known(inputs, "name")) {
            const err = nameError(kind, str(inputs, "name") ?? "");
            if (err) failures.push({ property: "name", reason: err });
        }
    };
}

/** Builds the list of all PostgreSQL databases of a project. */
function projectDatabases(p: ProjectRecord): string[] {
    return Object.values(p.branches).flatMap((b) =>
        Object.values(b.databases).map((d) => pgDatabaseName(b.id, d.name)),
    );
}

function loadProject(projectId: string | undefined, what: string): ProjectRecord {
    const p = projectId ? projectStore().get(projectId) : undefined;
    if (!p) throw neonError(what, `project ${JSON.stringify(projectId)} not found`);
    return p;
}

function loadBranch(p: ProjectRecord, branchId: string | undefined, what: string): BranchRecord {
    const b = branchId ? p.branches[branchId] : undefined;
    if (!b) throw neonError(what, `branch ${JSON.stringify(branchId)} not found in project ${p.id}`);
    return b;
}

// ---------------------------------------------------------------------------------------------
// Project
// ---------------------------------------------------------------------------------------------

export const projectFields: Fields = {
    name: { type: "string", autoname: { maxLength: 64 } },
    regionId: { type: "string", computed: true, replace: true },
    pgVersion: { type: "number", computed: true, replace: true },
    orgId: { type: "string", computed: true, replace: true },
    historyRetentionSeconds: { type: "number", default: 86400 },
    computeProvisioner: { type: "string", computed: true, enum: ["k8s-pod", "k8s-neonvm"] },
    storePassword: { type: "string", default: "yes", enum: YES_NO },
    enableLogicalReplication: { type: "string", computed: true, enum: YES_NO },
    allowedIps: { type: "stringList" },
    allowedIpsProtectedBranchesOnly: { type: "string", computed: true, enum: YES_NO },
    blockPublicConnections: { type: "string", computed: true, enum: YES_NO },
    blockVpcConnections: { type: "string", computed: true, enum: YES_NO },
    quota: { type: "object", computed: true },
    defaultEndpointSettings: { type: "object", computed: true },
    branch: { type: "object", computed: true, replace: true },
    maintenanceWindow: { type: "object", computed: true },
};

function defaultEndpointSettingsOf(settings: Props): Props {
    const s = (unwrap(settings.defaultEndpointSettings) as Props | undefined) ?? {};
    return {
        autoscalingLimitMinCu: s.autoscalingLimitMinCu ?? 0.25,
        autoscalingLimitMaxCu: s.autoscalingLimitMaxCu ?? 0.25,
        suspendTimeoutSeconds: s.suspendTimeoutSeconds ?? 0,
    };
}

function projectOutputs(p: ProjectRecord): Props {
    const s = p.settings;
    const b = p.branches[p.defaultBranchId];
    // Neon's "default database": the oldest database of the default branch, with its owner.
    const db = b ? Object.values(b.databases).sort((x, y) => x.id - y.id)[0] : undefined;
    const role = db && b ? b.roles[db.ownerName] : undefined;
    const storePassword = (s.storePassword ?? "yes") === "yes";
    const password = storePassword && role ? role.password : "";
    const uri =
        db && role && storePassword
            ? connectionUri(pgRoleName(p.id, role.name), role.password, pgDatabaseName(p.defaultBranchId, db.name))
            : "";
    const branchIn = (unwrap(s.branch) as Props | undefined) ?? {};
    return {
        ...s,
        id: p.id,
        name: s.name,
        regionId: s.regionId ?? DEFAULT_REGION,
        pgVersion: s.pgVersion ?? DEFAULT_PG_VERSION,
        orgId: s.orgId ?? "",
        historyRetentionSeconds: s.historyRetentionSeconds ?? 86400,
        computeProvisioner: s.computeProvisioner ?? "k8s-neonvm",
        storePassword: s.storePassword ?? "yes",
        enableLogicalReplication: s.enableLogicalReplication ?? "no",
        allowedIpsProtectedBranchesOnly: s.allowedIpsProtectedBranchesOnly ?? "no",
        blockPublicConnections: s.blockPublicConnections ?? "no",
        blockVpcConnections: s.blockVpcConnections ?? "no",
        quota: s.quota ?? {},
        defaultEndpointSettings: { id: p.defaultEndpointId, ...defaultEndpointSettingsOf(s) },
        branch: {
            id: p.defaultBranchId,
            name: b?.name ?? branchIn.name ?? DEFAULT_BRANCH_NAME,
            roleName: branchIn.roleName ?? DEFAULT_ROLE_NAME,
            databaseName: branchIn.databaseName ?? DEFAULT_DATABASE_NAME,
        },
        defaultBranchId: p.defaultBranchId,
        defaultEndpointId: p.defaultEndpointId,
        databaseHost: "127.0.0.1",
        databaseHostPooler: "127.0.0.1",
        databaseName: db?.name ?? "",
        databaseUser: role?.name ?? "",
        databasePassword: password,
        connectionUri: uri,
        connectionUriPooler: uri,
    };
}

export const projectHandler: Handler = {
    fields: projectFields,
    secretOutputs: ["connectionUri", "connectionUriPooler", "databasePassword"],
    validate(inputs: Props, failures: CheckFailure[]) {
        const pg = num(inputs, "pgVersion");
        if (pg !== undefined && (!Number.isInteger(pg) || pg < 14 || pg > 18)) {
            failures.push({ property: "pgVersion", reason: `pgVersion must be 14 to 18 (got ${pg})` });
        }
        const h = num(inputs, "historyRetentionSeconds");
        if (h !== undefined && (h < 0 || h > 2592000)) {
            failures.push({
                property: "historyRetentionSeconds",
                reason: "historyRetentionSeconds must be between 0 and 2592000 (30 days)",
            });
        }
        const region = str(inputs, "regionId");
        if (region !== undefined && !/^(aws|azure)-[a-z0-9-]+$/.test(region)) {
            failures.push({
                property: "regionId",
                reason: `invalid regionId ${JSON.stringify(region)} (e.g. "aws-us-east-2")`,
            });
        }
        const branch = obj(inputs, "branch");
        if (branch && known(inputs, "branch")) {
            for (const [k, kind] of [
                ["roleName", "role"],
                ["databaseName", "database"],
            ] as const) {
                if (typeof branch[k] === "string") {
                    const err = nameError(kind, branch[k] as string);
                    if (err) failures.push({ property: `branch.${k}`, reason: err });
                }
            }
        }
        const eps = obj(inputs, "defaultEndpointSettings");
        if (eps && known(inputs, "defaultEndpointSettings")) {
            const min = eps.autoscalingLimitMinCu;
            const max = eps.autoscalingLimitMaxCu;
            if (typeof min === "number" && min < 0.25)
                failures.push({
                    property: "defaultEndpointSettings.autoscalingLimitMinCu",
                    reason: "autoscalingLimitMinCu must be at least 0.25",
                });
            if (typeof min === "number" && typeof max === "number" && max < min) {
                failures.push({
                    property: "defaultEndpointSettings.autoscalingLimitMaxCu",
                    reason: "autoscalingLimitMaxCu must not be below autoscalingLimitMinCu",
                });
            }
            const st = eps.suspendTimeoutSeconds;
            if (typeof st === "number" && (st < -1 || st > 604800)) {
                failures.push({
                    property: "defaultEndpointSettings.suspendTimeoutSeconds",
                    reason: "suspendTimeoutSeconds must be -1, 0 or up to 604800",
                });
            }
        }
    },
    async create(_ctx: Ctx, inputs: Props) {
        const store = projectStore();
        return store.locked(async () => {
            const branchIn = obj(inputs, "branch") ?? {};
            const roleName =
                typeof branchIn.roleName === "string" && branchIn.roleName ? branchIn.roleName : DEFAULT_ROLE_NAME;
            const dbName =
                typeof branchIn.databaseName === "string" && branchIn.databaseName
                    ? branchIn.databaseName
                    : DEFAULT_DATABASE_NAME;
            const branchName = typeof branchIn.name === "string" && branchIn.name ? branchIn.name : DEFAULT_BRANCH_NAME;
            const id = newProjectId();
            const branchId = newBranchId();
            const endpointId = newEndpointId();
            const password = newPassword(32);
            const t = now();
            const settings: Props = { ...inputs };
            const p: ProjectRecord = {
                id,
                settings,
                createdAt: t,
                defaultBranchId: branchId,
                defaultEndpointId: endpointId,
                nextDatabaseId: 2,
                branches: {
                    [branchId]: {
                        id: branchId,
                        name: branchName,
                        parentId: null,
                        parentLsn: null,
                        parentTimestamp: null,
                        protected: "no",
                        primary: true,
                        createdAt: t,
                        roles: { [roleName]: { name: roleName, password, protected: false, createdAt: t } },
                        databases: { [dbName]: { id: 1, name: dbName, ownerName: roleName, createdAt: t } },
                    },
                },
                endpoints: {
                    [endpointId]: {
                        id: endpointId,
                        branchId,
                        type: "read_write",
                        settings: defaultEndpointSettingsOf(settings),
                        createdAt: t,
                    },
                },
            };
            const group = pgGroupName(id);
            const role = pgRoleName(id, roleName);
            const db = pgDatabaseName(branchId, dbName);
            await withAdmin(async (c) => {
                try {
                    await ensureGroup(c, group);
                    await createLoginRole(c, role, group, password);
                    await createDatabase(c, db, role, group);
                } catch (e) {
                    // Create must be all-or-nothing.
                    await dropDatabase(c, db).catch(() => undefined);
                    await c.query(`DROP ROLE IF EXISTS ${ident(role)}`).catch(() => undefined);
                    await c.query(`DROP ROLE IF EXISTS ${ident(group)}`).catch(() => undefined);
                    throw neonError("error creating project", (e as Error).message);
                }
            });
            store.put(id, p);
            return { id, outs: projectOutputs(p) };
        });
    },
    async read(_ctx: Ctx, id: string) {
        const p = projectStore().get(id);
        return p ? projectOutputs(p) : undefined;
    },
    async importInputs(_ctx: Ctx, id: string) {
        // The record keeps the inputs as last applied (the checked ones, defaults included).
        return { ...loadProject(id, "error importing project").settings };
    },
    async update(_ctx: Ctx, id: string, olds: Props, news: Props) {
        const store = projectStore();
        return store.locked(() => {
            const p = loadProject(id, "error updating project");
            if (olds.enableLogicalReplication === "yes" && news.enableLogicalReplication === "no") {
                throw neonError("error updating project", "logical replication cannot be disabled once enabled");
            }
            p.settings = { ...news };
            const ep = p.endpoints[p.defaultEndpointId];
            if (ep) ep.settings = { ...ep.settings, ...defaultEndpointSettingsOf(p.settings) };
            store.put(id, p);
            return projectOutputs(p);
        });
    },
    async delete(_ctx: Ctx, id: string) {
        const store = projectStore();
        await store.locked(async () => {
            const p = store.get(id);
            if (!p) return;
            const dbs = projectDatabases(p);
            const roles = new Set(Object.values(p.branches).flatMap((b) => Object.keys(b.roles)));
            await withAdmin(async (c) => {
                for (const db of dbs) await dropDatabase(c, db);
                for (const r of roles) await dropRole(c, pgRoleName(id, r), []);
                await dropRole(c, pgGroupName(id), []);
            });
            store.remove(id);
        });
    },
};

// ---------------------------------------------------------------------------------------------
// Branch
// ---------------------------------------------------------------------------------------------

export const branchFields: Fields = {
    projectId: { type: "string", required: true, replace: true },
    name: { type: "string", autoname: { maxLength: 256 } },
    parentId: { type: "string", computed: true, replace: true },
    parentLsn: { type: "string", computed: true, replace: true },
    parentTimestamp: { type: "number", computed: true, replace: true },
    protected: { type: "string", computed: true, enum: YES_NO },
};

function branchOutputs(p: ProjectRecord, b: BranchRecord, logicalSize: number): Props {
    return {
        id: b.id,
        projectId: p.id,
        name: b.name,
        parentId: b.parentId ?? "",
        parentLsn: b.parentLsn ?? "",
        parentTimestamp: b.parentTimestamp ?? 0,
        protected: b.protected,
        logicalSize,
    };
}

function branchDatabases(b: BranchRecord): string[] {
    return Object.values(b.databases).map((d) => pgDatabaseName(b.id, d.name));
}

export const branchHandler: Handler = {
    fields: branchFields,
    secretOutputs: [],
    validate(inputs: Props, failures: CheckFailure[]) {
        if (!isAbsent(inputs.parentLsn) && !isAbsent(inputs.parentTimestamp)) {
            failures.push({ property: "parentLsn", reason: "parentLsn conflicts with parentTimestamp" });
        }
    },
    async create(_ctx: Ctx, inputs: Props) {
        if (str(inputs, "parentLsn") || num(inputs, "parentTimestamp")) {
            throw neonError(
                "error creating branch",
                "the local cloud cannot branch from a past point in time (parentLsn/parentTimestamp): it copies the parent's current state",
            );
        }
        const store = projectStore();
        return store.locked(async () => {
            const p = loadProject(str(inputs, "projectId"), "error creating branch");
            const parent = loadBranch(p, str(inputs, "parentId") || p.defaultBranchId, "error creating branch");
            const id = newBranchId();
            const t = now();
            const b: BranchRecord = {
                id,
                name: str(inputs, "name") ?? id,
                parentId: parent.id,
                parentLsn: null,
                parentTimestamp: Math.floor(Date.now() / 1000),
                protected: str(inputs, "protected") ?? "no",
                primary: false,
                createdAt: t,
                // Neon copies the parent's roles (same passwords) and databases.
                roles: structuredClone(parent.roles),
                databases: structuredClone(parent.databases),
            };
            const group = pgGroupName(p.id);
            const size = await withAdmin(async (c) => {
                b.parentLsn = await currentLsn(c);
                const done: string[] = [];
                try {
                    for (const d of Object.values(parent.databases)) {
                        const target = pgDatabaseName(id, d.name);
                        await copyDatabase(
                            c,
                            pgDatabaseName(parent.id, d.name),
                            target,
                            pgRoleName(p.id, d.ownerName),
                            group,
                        );
                        done.push(target);
                    }
                } catch (e) {
                    for (const db of done) await dropDatabase(c, db).catch(() => undefined);
                    throw neonError("error creating branch", (e as Error).message);
                }
                return sizeMiB(c, done);
            });
            p.branches[id] = b;
            store.put(p.id, p);
            return { id, outs: branchOutputs(p, b, size) };
        });
    },
    async read(_ctx: Ctx, id: string, state: Props) {
        const p = projectStore().get(str(state, "projectId") ?? "");
        const b = p?.branches[id];
        if (!p || !b) return undefined;
        const size = await withAdmin((c) => sizeMiB(c, branchDatabases(b))).catch(
            () => (state.logicalSize as number) ?? 0,
        );
        return branchOutputs(p, b, size);
    },
    async update(_ctx: Ctx, id: string, olds: Props, news: Props) {
        const store = projectStore();
        return store.locked(() => {
            const p = loadProject(str(olds, "projectId"), "error updating branch");
            const b = loadBranch(p, id, "error updating branch");
            b.name = str(news, "name") ?? b.name;
            b.protected = str(news, "protected") ?? b.protected;
            store.put(p.id, p);
            return branchOutputs(p, b, (olds.logicalSize as number) ?? 0);
        });
    },
    async delete(_ctx: Ctx, id: string, state: Props) {
        const store = projectStore();
        await store.locked(async () => {
            const p = store.get(str(state, "projectId") ?? "");
            const b = p?.branches[id];
            if (!p || !b) return; // gone with its project
            if (b.primary || id === p.defaultBranchId)
                throw neonError("error deleting branch", `cannot delete the project's default branch ${id}`);
            const children = Object.values(p.branches).filter((x) => x.parentId === id);
            if (children.length > 0) {
                throw neonError(
                    "error deleting branch",
                    `branch ${id} has child branches (${children.map((x) => x.id).join(", ")}); delete them first`,
                );
            }
            delete p.branches[id];
            for (const [eid, e] of Object.entries(p.endpoints)) if (e.branchId === id) delete p.endpoints[eid];
            await withAdmin(async (c) => {
                for (const db of branchDatabases(b)) await dropDatabase(c, db);
                for (const r of Object.keys(b.roles)) {
                    if (branchesWithRole(p, r).length === 0)
                        await dropRole(c, pgRoleName(p.id, r), projectDatabases(p));
                }
            });
            store.put(p.id, p);
        });
    },
};

// ---------------------------------------------------------------------------------------------
// Role
// ---------------------------------------------------------------------------------------------

export const roleFields: Fields = {
    projectId: { type: "string", required: true, replace: true },
    branchId: { type: "string", required: true, replace: true },
    name: { type: "string", autoname: { maxLength: 63 }, replace: true },
};

function roleOutputs(p: ProjectRecord, b: BranchRecord, r: RoleRecord): Props {
    return {
        id: complexId(p.id, b.id, r.name),
        projectId: p.id,
        branchId: b.id,
        name: r.name,
        password: r.password,
        protected: r.protected,
    };
}

function locate(id: string, state: Props): { projectId: string; branchId: string; name: string } {
    const fromId = parseComplexId(id);
    return {
        projectId: str(state, "projectId") ?? fromId?.projectId ?? "",
        branchId: str(state, "branchId") ?? fromId?.branchId ?? "",
        name: str(state, "name") ?? fromId?.name ?? "",
    };
}

export const roleHandler: Handler = {
    fields: roleFields,
    secretOutputs: ["password"],
    validate: validateName("role"),
    async create(_ctx: Ctx, inputs: Props) {
        const store = projectStore();
        return store.locked(async () => {
            const p = loadProject(str(inputs, "projectId"), "error creating role");
            const b = loadBranch(p, str(inputs, "branchId"), "error creating role");
            const name = str(inputs, "name") ?? "";
            if (b.roles[name])
                throw neonError("error creating role", `role ${JSON.stringify(name)} already exists on branch ${b.id}`);
            // One PostgreSQL role serves every branch of the project that has this role name.
            const sibling = branchesWithRole(p, name)[0]?.roles[name];
            const password = sibling?.password ?? newPassword(32);
            const pgRole = pgRoleName(p.id, name);
            await withAdmin(async (c) => {
                await ensureGroup(c, pgGroupName(p.id));
                if (!(await roleExists(c, pgRole))) await createLoginRole(c, pgRole, pgGroupName(p.id), password);
            });
            const r: RoleRecord = { name, password, protected: false, createdAt: now() };
            b.roles[name] = r;
            store.put(p.id, p);
            return { id: complexId(p.id, b.id, name), outs: roleOutputs(p, b, r) };
        });
    },
    async read(_ctx: Ctx, id: string, state: Props) {
        const loc = locate(id, state);
        const p = projectStore().get(loc.projectId);
        const b = p?.branches[loc.branchId];
        const r = b?.roles[loc.name];
        return p && b && r ? roleOutputs(p, b, r) : undefined;
    },
    async update(_ctx: Ctx, id: string, olds: Props) {
        // Every input forces a replacement: nothing to change in place.
        const loc = locate(id, olds);
        const p = loadProject(loc.projectId, "error updating role");
        const b = loadBranch(p, loc.branchId, "error updating role");
        const r = b.roles[loc.name];
        if (!r) throw neonError("error updating role", `role ${loc.name} not found`);
        return roleOutputs(p, b, r);
    },
    async delete(_ctx: Ctx, id: string, state: Props) {
        const loc = locate(id, state);
        const store = projectStore();
        await store.locked(async () => {
            const p = store.get(loc.projectId);
            const b = p?.branches[loc.branchId];
            if (!p || !b || !b.roles[loc.name]) return;
            const owned = Object.values(b.databases).filter((d) => d.ownerName === loc.name);
            if (owned.length > 0) {
                throw neonError(
                    "error deleting role",
                    `role ${loc.name} owns database(s) ${owned.map((d) => d.name).join(", ")} on branch ${b.id}; delete them first`,
                );
            }
            delete b.roles[loc.name];
            if (branchesWithRole(p, loc.name).length === 0) {
                await withAdmin((c) => dropRole(c, pgRoleName(p.id, loc.name), projectDatabases(p)));
            }
            store.put(p.id, p);
        });
    },
};

// ---------------------------------------------------------------------------------------------
// Database
// ---------------------------------------------------------------------------------------------

export const databaseFields: Fields = {
    projectId: { type: "string", required: true, replace: true },
    branchId: { type: "string", required: true, replace: true },
    name: { type: "string", autoname: { maxLength: 63 } },
    ownerName: { type: "string", required: true, replace: true },
};

function databaseOutputs(
    p: ProjectRecord,
    b: BranchRecord,
    d: { id: number; name: string; ownerName: string },
    pulumiId: string,
): Props {
    return {
        id: pulumiId,
        projectId: p.id,
        branchId: b.id,
        name: d.name,
        ownerName: d.ownerName,
        databaseId: String(d.id),
    };
}

export const databaseHandler: Handler = {
    fields: databaseFields,
    secretOutputs: [],
    validate: validateName("database"),
    async create(_ctx: Ctx, inputs: Props) {
        const store = projectStore();
        return store.locked(async () => {
            const p = loadProject(str(inputs, "projectId"), "error creating database");
            const b = loadBranch(p, str(inputs, "branchId"), "error creating database");
            const name = str(inputs, "name") ?? "";
            const owner = str(inputs, "ownerName") ?? "";
            if (!b.roles[owner])
                throw neonError("error creating database", `role ${JSON.stringify(owner)} not found on branch ${b.id}`);
            if (b.databases[name])
                throw neonError(
                    "error creating database",
                    `database ${JSON.stringify(name)} already exists on branch ${b.id}`,
                );
            await withAdmin((c) =>
                createDatabase(c, pgDatabaseName(b.id, name), pgRoleName(p.id, owner), pgGroupName(p.id)),
            );
            const d = { id: p.nextDatabaseId++, name, ownerName: owner, createdAt: now() };
            b.databases[name] = d;
            store.put(p.id, p);
            const id = complexId(p.id, b.id, name);
            return { id, outs: databaseOutputs(p, b, d, id) };
        });
    },
    async read(_ctx: Ctx, id: string, state: Props) {
        const loc = locate(id, state);
        const p = projectStore().get(loc.projectId);
        const b = p?.branches[loc.branchId];
        const d = b?.databases[loc.name];
        return p && b && d ? databaseOutputs(p, b, d, id) : undefined;
    },
    async update(_ctx: Ctx, id: string, olds: Props, news: Props) {
        const loc = locate(id, olds);
        const store = projectStore();
        return store.locked(async () => {
            const p = loadProject(loc.projectId, "error updating database");
            const b = loadBranch(p, loc.branchId, "error updating database");
            const d = b.databases[loc.name];
            if (!d) throw neonError("error updating database", `database ${loc.name} not found on branch ${b.id}`);
            const name = str(news, "name") ?? d.name;
            if (name !== d.name) {
                if (b.databases[name])
                    throw neonError(
                        "error updating database",
                        `database ${JSON.stringify(name)} already exists on branch ${b.id}`,
                    );
                await withAdmin((c) =>
                    c.query(
                        `ALTER DATABASE ${ident(pgDatabaseName(b.id, d.name))} RENAME TO ${ident(pgDatabaseName(b.id, name))}`,
                    ),
                ).catch((e: Error) => {
                    throw neonError(
                        "error updating database",
                        `${e.message} (PostgreSQL renames a database only while nobody is connected to it)`,
                    );
                });
                delete b.databases[d.name];
                d.name = name;
                b.databases[name] = d;
            }
            store.put(p.id, p);
            // The Pulumi id cannot change in an update: it keeps the old name.
            return databaseOutputs(p, b, d, id);
        });
    },
    async delete(_ctx: Ctx, id: string, state: Props) {
        const loc = locate(id, state);
        const store = projectStore();
        await store.locked(async () => {
            const p = store.get(loc.projectId);
            const b = p?.branches[loc.branchId];
            if (!p || !b || !b.databases[loc.name]) return;
            await withAdmin((c) => dropDatabase(c, pgDatabaseName(b.id, loc.name)));
            delete b.databases[loc.name];
            store.put(p.id, p);
        });
    },
};

// ---------------------------------------------------------------------------------------------
// Endpoint
// ---------------------------------------------------------------------------------------------

export const endpointFields: Fields = {
    projectId: { type: "string", required: true, replace: true },
    branchId: { type: "string", required: true },
    type: { type: "string", default: "read_write", enum: ["read_write", "read_only"], replace: true },
    regionId: { type: "string", computed: true, replace: true },
    autoscalingLimitMinCu: { type: "number", computed: true },
    autoscalingLimitMaxCu: { type: "number", computed: true },
    suspendTimeoutSeconds: { type: "number", computed: true },
    poolerEnabled: { type: "boolean", computed: true },
    poolerMode: { type: "string", computed: true, enum: ["transaction", "session"] },
    pgSettings: { type: "any" },
    disabled: { type: "boolean", computed: true },
    computeProvisioner: { type: "string", computed: true, enum: ["k8s-pod", "k8s-neonvm"] },
};

function endpointOutputs(p: ProjectRecord, e: EndpointRecord): Props {
    const s = e.settings;
    return {
        ...s,
        id: e.id,
        projectId: p.id,
        branchId: e.branchId,
        type: e.type,
        regionId: s.regionId ?? p.settings.regionId ?? DEFAULT_REGION,
        autoscalingLimitMinCu: s.autoscalingLimitMinCu ?? 0.25,
        autoscalingLimitMaxCu: s.autoscalingLimitMaxCu ?? 0.25,
        suspendTimeoutSeconds: s.suspendTimeoutSeconds ?? 0,
        poolerEnabled: s.poolerEnabled ?? false,
        poolerMode: s.poolerMode ?? "transaction",
        disabled: s.disabled ?? false,
        computeProvisioner: s.computeProvisioner ?? p.settings.computeProvisioner ?? "k8s-neonvm",
        host: "127.0.0.1",
        proxyHost: "127.0.0.1",
    };
}

function endpointSettings(inputs: Props): Props {
    const s: Props = { ...inputs };
    for (const k of ["projectId", "branchId", "type"]) delete s[k];
    return s;
}

function rwConflict(p: ProjectRecord, branchId: string, exceptId?: string): EndpointRecord | undefined {
    return Object.values(p.endpoints).find(
        (e) => e.branchId === branchId && e.type === "read_write" && e.id !== exceptId,
    );
}

export const endpointHandler: Handler = {
    fields: endpointFields,
    secretOutputs: [],
    async create(_ctx: Ctx, inputs: Props) {
        const store = projectStore();
        return store.locked(() => {
            const p = loadProject(str(inputs, "projectId"), "error creating endpoint");
            const b = loadBranch(p, str(inputs, "branchId"), "error creating endpoint");
            const type = (str(inputs, "type") ?? "read_write") as EndpointRecord["type"];
            const other = type === "read_write" ? rwConflict(p, b.id) : undefined;
            if (other)
                throw neonError(
                    "error creating endpoint",
                    `branch ${b.id} already has a read_write endpoint (${other.id})`,
                );
            const e: EndpointRecord = {
                id: newEndpointId(),
                branchId: b.id,
                type,
                settings: endpointSettings(inputs),
                createdAt: now(),
            };
            p.endpoints[e.id] = e;
            store.put(p.id, p);
            return { id: e.id, outs: endpointOutputs(p, e) };
        });
    },
    async read(_ctx: Ctx, id: string, state: Props) {
        const p = projectStore().get(str(state, "projectId") ?? "");
        const e = p?.endpoints[id];
        return p && e ? endpointOutputs(p, e) : undefined;
    },
    async update(_ctx: Ctx, id: string, olds: Props, news: Props) {
        const store = projectStore();
        return store.locked(() => {
            const p = loadProject(str(olds, "projectId"), "error updating endpoint");
            const e = p.endpoints[id];
            if (!e) throw neonError("error updating endpoint", `endpoint ${id} not found`);
            const branchId = str(news, "branchId") ?? e.branchId;
            loadBranch(p, branchId, "error updating endpoint");
            if (e.type === "read_write" && branchId !== e.branchId) {
                const other = rwConflict(p, branchId, id);
                if (other)
                    throw neonError(
                        "error updating endpoint",
                        `branch ${branchId} already has a read_write endpoint (${other.id})`,
                    );
            }
            e.branchId = branchId;
            e.settings = endpointSettings(news);
            store.put(p.id, p);
            return endpointOutputs(p, e);
        });
    },
    async delete(_ctx: Ctx, id: string, state: Props) {
        const store = projectStore();
        await store.locked(() => {
            const p = store.get(str(state, "projectId") ?? "");
            if (!p || !p.endpoints[id]) return;
            delete p.endpoints[id];
            store.put(p.id, p);
        });
    },
};

export const handlers: Readonly<Record<string, Handler>> = {
    [TOKENS.project]: projectHandler,
    [TOKENS.branch]: branchHandler,
    [TOKENS.role]: roleHandler,
    [TOKENS.database]: databaseHandler,
    [TOKENS.endpoint]: endpointHandler,
};

/** `getBranchRolePassword({projectId, branchId, roleName})` → `{…, password}` (secret). */
export async function invokeFunction(token: string, inputs: Props): Promise<{ outputs: Props }> {
    if (token !== "neon:index/getBranchRolePassword:getBranchRolePassword") {
        throw new Error(`the local cloud's neon stand-in does not implement the function ${token}`);
    }
    const p = loadProject(str(inputs, "projectId"), "error reading role password");
    const b = loadBranch(p, str(inputs, "branchId"), "error reading role password");
    const r = b.roles[str(inputs, "roleName") ?? ""];
    if (!r)
        throw neonError(
            "error reading role password",
            `role ${JSON.stringify(str(inputs, "roleName"))} not found on branch ${b.id}`,
        );
    return {
        outputs: {
            id: complexId(p.id, b.id, r.name),
            projectId: p.id,
            branchId: b.id,
            roleName: r.name,
            password: secret(r.password),
        },
    };
}
