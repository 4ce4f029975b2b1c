/**
 * The Vercel stand-in's resources: Project, ProjectEnvironmentVariable, ProjectDomain and
 * Deployment, kept as one JSON record per project under `$LOCALCLOUD_STATE_DIR/vercel/projects`.
 *
 * Replacement rules follow vercel/terraform-provider-vercel's plan modifiers:
 *   Project:                    teamId (when set)
 *   ProjectEnvironmentVariable: projectId, key, sensitive, customEnvironmentIds, teamId (when set)
 *   ProjectDomain:              projectId, domain, teamId (when set)
 *   Deployment:                 every input but deleteOnDestroy
 * and Vercel's API rules that matter to the program: `sensitive` is required, variables
 * targeting development must not be sensitive, two variables with the same key, git branch and
 * an overlapping target conflict (ENV_CONFLICT), project names are unique per team, a domain
 * belongs to one project.
 */
import * as path from "node:path";
import { isDeepStrictEqual } from "node:util";
import type { CheckFailure } from "@pulumi/pulumi/provider";
import { localcloudPaths } from "../../services/env";
import { randomLowerAlnum, randomString } from "../common/ids";
import type { Ctx, Handler } from "../common/provider";
import { bool, Fields, known, num, obj, str, strList } from "../common/schema";
import { JsonStore } from "../common/store";
import { isAbsent, Props, unwrap } from "../common/values";

export const TOKENS = {
    project: "vercel:index/project:Project",
    envVar: "vercel:index/projectEnvironmentVariable:ProjectEnvironmentVariable",
    domain: "vercel:index/projectDomain:ProjectDomain",
    deployment: "vercel:index/deployment:Deployment",
} as const;

export const ENV_TARGETS = ["production", "preview", "development"] as const;

export interface EnvRecord {
    id: string;
    key: string;
    value: string;
    sensitive: boolean;
    targets: string[];
    customEnvironmentIds: string[];
    gitBranch?: string;
    comment?: string;
    createdAt: number;
    updatedAt: number;
}

export interface DomainRecord {
    name: string;
    gitBranch?: string;
    redirect?: string;
    redirectStatusCode?: number;
    customEnvironmentId?: string;
    createdAt: number;
}

export interface DeploymentRecord {
    id: string;
    url: string;
    production: boolean;
    /** The git ref it was built from (absent for a `files` deployment). */
    ref?: string;
    /** The keys of the env it was built with (values stay in the state, which marks them secret). */
    envKeys: string[];
    createdAt: number;
}

export interface ProjectRecord {
    id: string;
    name: string;
    teamId: string;
    createdAt: number;
    updatedAt: number;
    /** The project's inputs other than name and teamId, as last applied. */
    settings: Props;
    envs: EnvRecord[];
    domains: DomainRecord[];
    deployments: DeploymentRecord[];
    /** The deployment the production domains point at: the newest production deployment. */
    productionDeploymentId?: string;
}

/** The projects store; the directory is resolved on each call so tests can point it elsewhere. */
export function projectStore(): JsonStore<ProjectRecord> {
    return new JsonStore<ProjectRecord>(path.join(localcloudPaths().stateDir, "vercel", "projects"));
}

/** The error text the bridged provider shows, "<summary>: <detail>". */
function vercelError(summary: string, detail: string): Error {
    return new Error(`${summary}: ${detail}`);
}

// ---------------------------------------------------------------------------------------------
// Project
// ---------------------------------------------------------------------------------------------

/** Inputs that the real provider fills in when left out (Optional + Computed). */
const PROJECT_COMPUTED_DEFAULTS: Readonly<Props> = {
    autoAssignCustomDomains: true,
    automaticallyExposeSystemEnvironmentVariables: true,
    directoryListing: false,
    gitForkProtection: true,
    gitLfs: false,
    nodeVersion: "22.x",
    previewDeploymentsDisabled: false,
    prioritiseProductionBuilds: false,
    protectedSourcemaps: false,
    serverlessFunctionRegion: "iad1",
};

const PLAIN_STRINGS = [
    "framework",
    "buildCommand",
    "devCommand",
    "installCommand",
    "outputDirectory",
    "rootDirectory",
    "ignoreCommand",
];
const COMPUTED_ANY = [
    "autoAssignCustomDomains",
    "automaticallyExposeSystemEnvironmentVariables",
    "buildMachineType",
    "customerSuccessCodeVisibility",
    "directoryListing",
    "enableAffectedProjectsDeployments",
    "enablePreviewFeedback",
    "enableProductionFeedback",
    "functionFailover",
    "gitComments",
    "gitForkProtection",
    "gitLfs",
    "gitProviderOptions",
    "oidcTokenConfig",
    "onDemandConcurrentBuilds",
    "optionsAllowlist",
    "passwordProtection",
    "previewComments",
    "previewDeploymentSuffix",
    "previewDeploymentsDisabled",
    "prioritiseProductionBuilds",
    "protectedSourcemaps",
    "publicSource",
    "resourceConfig",
    "skewProtection",
    "trustedIps",
    "trustedSources",
    "vercelAuthentication",
    "nodeVersion",
    "serverlessFunctionRegion",
];

export const projectFields: Fields = {
    name: { type: "string", autoname: { maxLength: 52, lowercase: true } },
    teamId: { type: "string", computed: true, replace: true },
    ...Object.fromEntries(PLAIN_STRINGS.map((k) => [k, { type: "string" as const }])),
    ...Object.fromEntries(COMPUTED_ANY.map((k) => [k, { type: "any" as const, computed: true }])),
    gitRepository: { type: "object" },
    environments: { type: "any" },
};

/** Vercel: up to 100 lowercase letters, digits, '.', '_' and '-', and no '---'. */
export function projectNameError(name: string): string | undefined {
    if (name.length === 0 || name.length > 100 || !/^[a-z0-9._-]+$/.test(name) || name.includes("---")) {
        return `The name of a Project can only contain up to 100 alphanumeric lowercase characters, '.', '_' and '-', and cannot contain the sequence '---' (got ${JSON.stringify(name)})`;
    }
    return undefined;
}

function projectOutputs(p: ProjectRecord): Props {
    return {
        ...PROJECT_COMPUTED_DEFAULTS,
        ...p.settings,
        id: p.id,
        name: p.name,
        teamId: p.teamId,
    };
}

function projectSettings(inputs: Props): Props {
    const s: Props = { ...inputs };
    delete s.name;
    delete s.teamId;
    return s;
}

/** The inputs the program passes for a project, rebuilt from its record (an import). */
function projectInputs(p: ProjectRecord): Props {
    return { name: p.name, ...p.settings, ...(p.teamId ? { teamId: p.teamId } : {}) };
}

/**
 * An import id: `<id>` or `<teamId>/<id>` for a project, `<projectId>/<x>` or
 * `<teamId>/<projectId>/<x>` for an env var (x = its id) or a domain (x = its name), as the
 * Terraform provider takes them.
 */
export function parseImportId(id: string, parts: 1 | 2): { teamId?: string; projectId?: string; last: string } {
    const xs = id.split("/");
    if (parts === 1) return xs.length === 2 ? { teamId: xs[0], last: xs[1] } : { last: id };
    if (xs.length === 3) return { teamId: xs[0], projectId: xs[1], last: xs[2] };
    if (xs.length === 2) return { projectId: xs[0], last: xs[1] };
    return { last: id };
}

function nameTaken(store: JsonStore<ProjectRecord>, teamId: string, name: string, exceptId?: string): boolean {
    return store.list().some((p) => p.teamId === teamId && p.name === name && p.id !== exceptId);
}

export const projectHandler: Handler = {
    fields: projectFields,
    secretOutputs: [],
    validate(inputs: Props, failures: CheckFailure[]) {
        if (known(inputs, "name")) {
            const err = projectNameError(str(inputs, "name") ?? "");
            if (err) failures.push({ property: "name", reason: err });
        }
        const repo = obj(inputs, "gitRepository");
        if (repo && known(inputs, "gitRepository")) {
            if (!["github", "gitlab", "bitbucket"].includes(String(repo.type))) {
                failures.push({
                    property: "gitRepository.type",
                    reason: `gitRepository.type must be one of "github", "gitlab", "bitbucket"`,
                });
            }
            if (typeof repo.repo !== "string" || !/^[^/\s]+\/[^\s]+$/.test(repo.repo)) {
                failures.push({ property: "gitRepository.repo", reason: `gitRepository.repo must be "owner/name"` });
            }
        }
    },
    async create(_ctx: Ctx, inputs: Props) {
        const store = projectStore();
        return store.locked(() => {
            const name = str(inputs, "name") ?? "";
            const teamId = str(inputs, "teamId") ?? "";
            if (nameTaken(store, teamId, name)) {
                throw vercelError(
                    "Error creating project",
                    `Could not create project, unexpected error: conflict - Project "${name}" already exists, please use a different name.`,
                );
            }
            const now = Date.now();
            const rec: ProjectRecord = {
                id: `prj_${randomString(28)}`,
                name,
                teamId,
                createdAt: now,
                updatedAt: now,
                settings: projectSettings(inputs),
                envs: [],
                domains: [],
                deployments: [],
            };
            store.put(rec.id, rec);
            return { id: rec.id, outs: projectOutputs(rec) };
        });
    },
    async read(_ctx: Ctx, id: string) {
        const rec = projectStore().get(parseImportId(id, 1).last);
        return rec ? projectOutputs(rec) : undefined;
    },
    async importInputs(_ctx: Ctx, id: string) {
        const rec = projectStore().get(id);
        if (!rec) throw vercelError("Error importing project", `Could not find project ${id}`);
        return projectInputs(rec);
    },
    async update(_ctx: Ctx, id: string, _olds: Props, news: Props) {
        const store = projectStore();
        return store.locked(() => {
            const rec = store.get(id);
            if (!rec)
                throw vercelError(
                    "Error updating project",
                    `Could not update project, unexpected error: not_found - Project not found (${id})`,
                );
            const name = str(news, "name") ?? rec.name;
            if (name !== rec.name && nameTaken(store, rec.teamId, name, id)) {
                throw vercelError(
                    "Error updating project",
                    `Could not update project, unexpected error: conflict - Project "${name}" already exists, please use a different name.`,
                );
            }
            rec.name = name;
            rec.settings = projectSettings(news);
            rec.updatedAt = Date.now();
            store.put(id, rec);
            return projectOutputs(rec);
        });
    },
    async delete(_ctx: Ctx, id: string) {
        // Deleting a Vercel project deletes its env vars, domains and deployments with it.
        const store = projectStore();
        await store.locked(() => store.remove(id));
    },
};

// ---------------------------------------------------------------------------------------------
// ProjectEnvironmentVariable
// ---------------------------------------------------------------------------------------------

export const envVarFields: Fields = {
    projectId: { type: "string", required: true, replace: true },
    key: { type: "string", required: true, replace: true },
    sensitive: { type: "boolean", required: true, replace: true },
    value: { type: "string" },
    valueWo: { type: "string" },
    valueWoVersion: { type: "number" },
    targets: { type: "stringSet", computed: true, enum: ENV_TARGETS },
    customEnvironmentIds: { type: "stringSet", computed: true, replace: true },
    gitBranch: { type: "string" },
    comment: { type: "string" },
    teamId: { type: "string", computed: true, replace: true },
};

/**
 * Vercel's conflict rule: same key, same git branch (none ≡ none), and an overlapping target or
 * custom environment. Returns the conflicting variable and the overlapping target.
 */
export function findEnvConflict(
    envs: readonly EnvRecord[],
    candidate: Pick<EnvRecord, "key" | "targets" | "customEnvironmentIds" | "gitBranch">,
    exceptId?: string,
): { env: EnvRecord; target: string } | undefined {
    for (const e of envs) {
        if (e.id === exceptId || e.key !== candidate.key || (e.gitBranch ?? "") !== (candidate.gitBranch ?? ""))
            continue;
        const t =
            e.targets.find((x) => candidate.targets.includes(x)) ??
            e.customEnvironmentIds.find((x) => candidate.customEnvironmentIds.includes(x));
        if (t !== undefined) return { env: e, target: t };
    }
    return undefined;
}

function envConflictMessage(key: string, target: string, gitBranch: string | undefined, conflictingId: string): string {
    const branch = gitBranch ? ` on branch ${gitBranch}` : "";
    return `ENV_CONFLICT - A variable with the name \`${key}\` already exists for the target ${target}${branch} the conflicting environment variable ID is ${conflictingId}`;
}

function envOutputs(projectId: string, teamId: string, e: EnvRecord): Props {
    return {
        id: e.id,
        projectId,
        teamId,
        key: e.key,
        value: e.value,
        sensitive: e.sensitive,
        targets: e.targets,
        customEnvironmentIds: e.customEnvironmentIds,
        gitBranch: e.gitBranch,
        comment: e.comment,
    };
}

function envFromInputs(inputs: Props): Omit<EnvRecord, "id" | "createdAt" | "updatedAt"> {
    return {
        key: str(inputs, "key") ?? "",
        value: str(inputs, "value") ?? str(inputs, "valueWo") ?? "",
        sensitive: bool(inputs, "sensitive") ?? false,
        targets: [...new Set(strList(inputs, "targets") ?? [])].sort(),
        customEnvironmentIds: [...new Set(strList(inputs, "customEnvironmentIds") ?? [])].sort(),
        gitBranch: str(inputs, "gitBranch") || undefined,
        comment: str(inputs, "comment") || undefined,
    };
}

function findProjectWithEnv(
    store: JsonStore<ProjectRecord>,
    projectId: string | undefined,
    envId: string,
): { p: ProjectRecord; e: EnvRecord } | undefined {
    const candidates = projectId ? [store.get(projectId)] : store.list();
    for (const p of candidates) {
        const e = p?.envs.find((x) => x.id === envId);
        if (p && e) return { p, e };
    }
    return undefined;
}

export const envVarHandler: Handler = {
    fields: envVarFields,
    secretOutputs: ["value", "valueWo"],
    validate(inputs: Props, failures: CheckFailure[], olds: Props) {
        const hasValue = !isAbsent(inputs.value);
        const hasWo = !isAbsent(inputs.valueWo);
        // An import of a sensitive variable checks the inputs it read (no value: the API hides
        // it) against themselves; only there may both be absent.
        const importedSensitive =
            !hasValue && !hasWo && unwrap(inputs.sensitive) === true && isDeepStrictEqual(unwrap(olds), unwrap(inputs));
        if (hasValue === hasWo && !importedSensitive) {
            failures.push({ property: "value", reason: "Exactly one of `value` or `valueWo` must be set" });
        }
        const targets = unwrap(inputs.targets);
        const customs = unwrap(inputs.customEnvironmentIds);
        const emptyList = (v: unknown) => isAbsent(v) || (Array.isArray(v) && v.length === 0);
        if (emptyList(targets) && emptyList(customs)) {
            failures.push({
                property: "targets",
                reason: "At least one of `targets` or `customEnvironmentIds` must be set",
            });
        }
        if (known(inputs, "targets") && known(inputs, "sensitive")) {
            const dev = (strList(inputs, "targets") ?? []).includes("development");
            if (dev && bool(inputs, "sensitive") !== false) {
                failures.push({
                    property: "sensitive",
                    reason: "Project Environment Variable Invalid: Environment variables targeting `development` must explicitly set `sensitive = false`.",
                });
            }
        }
    },
    async create(_ctx: Ctx, inputs: Props) {
        const store = projectStore();
        const projectId = str(inputs, "projectId") ?? "";
        return store.locked(() => {
            const p = store.get(projectId);
            if (!p) {
                throw vercelError(
                    "Error creating project environment variable",
                    "Could not find project, please make sure both the project_id and team_id match the project and team you wish to deploy to.",
                );
            }
            const fields = envFromInputs(inputs);
            const conflict = findEnvConflict(p.envs, fields);
            if (conflict) {
                throw vercelError(
                    "Error creating project environment variable",
                    `Could not create project environment variable, unexpected error: ${envConflictMessage(fields.key, conflict.target, fields.gitBranch, conflict.env.id)}`,
                );
            }
            const now = Date.now();
            const e: EnvRecord = { id: randomString(16), ...fields, createdAt: now, updatedAt: now };
            p.envs.push(e);
            p.updatedAt = now;
            store.put(p.id, p);
            return { id: e.id, outs: envOutputs(p.id, p.teamId, e) };
        });
    },
    async read(_ctx: Ctx, id: string, state: Props) {
        const importing = Object.keys(state).length === 0;
        const ref = importing ? parseImportId(id, 2) : { projectId: str(state, "projectId"), last: id };
        const found = findProjectWithEnv(projectStore(), ref.projectId, ref.last);
        if (!found) return undefined;
        const outs = envOutputs(found.p.id, found.p.teamId, found.e);
        // Vercel's API never returns a sensitive variable's value, so the provider imports it as
        // null (its docs say so); the next `up` sets it from the program (an update in place).
        if (importing && found.e.sensitive) delete outs.value;
        return outs;
    },
    async importInputs(_ctx: Ctx, id: string, outs: Props) {
        const found = findProjectWithEnv(projectStore(), str(outs, "projectId"), id);
        if (!found) throw vercelError("Error importing project environment variable", `Could not find ${id}`);
        const { p, e } = found;
        return {
            projectId: p.id,
            key: e.key,
            ...(e.sensitive ? {} : { value: e.value }),
            sensitive: e.sensitive,
            targets: e.targets,
            ...(e.customEnvironmentIds.length > 0 ? { customEnvironmentIds: e.customEnvironmentIds } : {}),
            ...(e.gitBranch ? { gitBranch: e.gitBranch } : {}),
            ...(e.comment ? { comment: e.comment } : {}),
            ...(p.teamId ? { teamId: p.teamId } : {}),
        };
    },
    async update(_ctx: Ctx, id: string, olds: Props, news: Props) {
        const store = projectStore();
        return store.locked(() => {
            const found = findProjectWithEnv(store, str(olds, "projectId"), id);
            if (!found) {
                throw vercelError(
                    "Error updating project environment variable",
                    `Could not update project environment variable, unexpected error: not_found - Environment Variable ${id} not found`,
                );
            }
            const { p, e } = found;
            const next = envFromInputs(news);
            if (isAbsent(news.targets)) next.targets = e.targets;
            if (isAbsent(news.customEnvironmentIds)) next.customEnvironmentIds = e.customEnvironmentIds;
            const conflict = findEnvConflict(p.envs, next, id);
            if (conflict) {
                throw vercelError(
                    "Error updating project environment variable",
                    `Could not update project environment variable, unexpected error: ${envConflictMessage(next.key, conflict.target, next.gitBranch, conflict.env.id)}`,
                );
            }
            Object.assign(e, next, { updatedAt: Date.now() });
            store.put(p.id, p);
            return envOutputs(p.id, p.teamId, e);
        });
    },
    async delete(_ctx: Ctx, id: string, state: Props) {
        const store = projectStore();
        await store.locked(() => {
            const found = findProjectWithEnv(store, str(state, "projectId"), id);
            if (!found) return; // already gone (e.g. with its project)
            found.p.envs = found.p.envs.filter((x) => x.id !== id);
            store.put(found.p.id, found.p);
        });
    },
};

// ---------------------------------------------------------------------------------------------
// ProjectDomain
// ---------------------------------------------------------------------------------------------

export const domainFields: Fields = {
    projectId: { type: "string", required: true, replace: true },
    domain: { type: "string", required: true, replace: true },
    teamId: { type: "string", computed: true, replace: true },
    gitBranch: { type: "string" },
    redirect: { type: "string" },
    redirectStatusCode: { type: "number" },
    customEnvironmentId: { type: "string" },
    waitForReady: { type: "boolean" },
};

const DOMAIN_RE = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$/;

function domainOutputs(p: ProjectRecord, d: DomainRecord, inputs: Props): Props {
    return {
        id: d.name,
        projectId: p.id,
        teamId: p.teamId,
        domain: d.name,
        gitBranch: d.gitBranch,
        redirect: d.redirect,
        redirectStatusCode: d.redirectStatusCode,
        customEnvironmentId: d.customEnvironmentId,
        waitForReady: inputs.waitForReady,
        verified: true,
        verifications: [],
    };
}

function domainFromInputs(inputs: Props): Omit<DomainRecord, "createdAt"> {
    return {
        name: str(inputs, "domain") ?? "",
        gitBranch: str(inputs, "gitBranch") || undefined,
        redirect: str(inputs, "redirect") || undefined,
        redirectStatusCode: num(inputs, "redirectStatusCode"),
        customEnvironmentId: str(inputs, "customEnvironmentId") || undefined,
    };
}

export const domainHandler: Handler = {
    fields: domainFields,
    secretOutputs: [],
    validate(inputs: Props, failures: CheckFailure[]) {
        if (known(inputs, "domain") && !DOMAIN_RE.test(str(inputs, "domain") ?? "")) {
            failures.push({
                property: "domain",
                reason: `Invalid domain ${JSON.stringify(str(inputs, "domain"))}: use a lowercase fully qualified name`,
            });
        }
        const code = num(inputs, "redirectStatusCode");
        if (code !== undefined && ![301, 302, 307, 308].includes(code)) {
            failures.push({
                property: "redirectStatusCode",
                reason: "redirectStatusCode must be one of 301, 302, 307, 308",
            });
        }
    },
    async create(_ctx: Ctx, inputs: Props) {
        const store = projectStore();
        return store.locked(() => {
            const projectId = str(inputs, "projectId") ?? "";
            const p = store.get(projectId);
            if (!p)
                throw vercelError(
                    "Error adding domain to project",
                    `Could not add domain to project, unexpected error: not_found - Project not found (${projectId})`,
                );
            const d: DomainRecord = { ...domainFromInputs(inputs), createdAt: Date.now() };
            const owner = store.list().find((x) => x.domains.some((y) => y.name === d.name));
            if (owner) {
                throw vercelError(
                    "Error adding domain to project",
                    `Could not add domain ${d.name} to project, unexpected error: domain_already_in_use - Cannot add ${d.name} since it's already in use by ${owner.id === p.id ? "this project" : "another project"}.`,
                );
            }
            p.domains.push(d);
            store.put(p.id, p);
            return { id: d.name, outs: domainOutputs(p, d, inputs) };
        });
    },
    async read(_ctx: Ctx, id: string, state: Props) {
        const importing = Object.keys(state).length === 0;
        const ref = importing ? parseImportId(id, 2) : { projectId: str(state, "projectId"), last: id };
        const p = ref.projectId ? projectStore().get(ref.projectId) : undefined;
        const d = p?.domains.find((x) => x.name === ref.last);
        return p && d ? domainOutputs(p, d, state) : undefined;
    },
    async importInputs(_ctx: Ctx, id: string, outs: Props) {
        const p = projectStore().get(str(outs, "projectId") ?? "");
        const d = p?.domains.find((x) => x.name === id);
        if (!p || !d) throw vercelError("Error importing project domain", `Could not find domain ${id}`);
        return {
            projectId: p.id,
            domain: d.name,
            ...(d.gitBranch ? { gitBranch: d.gitBranch } : {}),
            ...(d.redirect ? { redirect: d.redirect } : {}),
            ...(d.redirectStatusCode !== undefined ? { redirectStatusCode: d.redirectStatusCode } : {}),
            ...(d.customEnvironmentId ? { customEnvironmentId: d.customEnvironmentId } : {}),
            ...(p.teamId ? { teamId: p.teamId } : {}),
        };
    },
    async update(_ctx: Ctx, id: string, olds: Props, news: Props) {
        const store = projectStore();
        return store.locked(() => {
            const p = store.get(str(olds, "projectId") ?? "");
            const d = p?.domains.find((x) => x.name === id);
            if (!p || !d)
                throw vercelError(
                    "Error updating project domain",
                    `Could not update project domain, unexpected error: not_found - Domain ${id} not found`,
                );
            Object.assign(d, domainFromInputs(news), { name: id });
            store.put(p.id, p);
            return domainOutputs(p, d, news);
        });
    },
    async delete(_ctx: Ctx, id: string, state: Props) {
        const store = projectStore();
        await store.locked(() => {
            const p = store.get(str(state, "projectId") ?? "");
            if (!p) return;
            p.domains = p.domains.filter((x) => x.name !== id);
            store.put(p.id, p);
        });
    },
};

// ---------------------------------------------------------------------------------------------
// Deployment (bookkeeping only: nothing is built or served; the record keeps its ref, its env's
// keys and which deployment the production domains point at)
// ---------------------------------------------------------------------------------------------

export const deploymentFields: Fields = {
    projectId: { type: "string", required: true, replace: true },
    teamId: { type: "string", computed: true, replace: true },
    files: { type: "any", replace: true },
    ref: { type: "string", replace: true },
    production: { type: "boolean", replace: true },
    environment: { type: "any", replace: true },
    projectSettings: { type: "any", replace: true },
    pathPrefix: { type: "string", replace: true },
    meta: { type: "any", computed: true, replace: true },
    customEnvironmentId: { type: "string", replace: true },
    deleteOnDestroy: { type: "boolean" },
};

export const deploymentHandler: Handler = {
    fields: deploymentFields,
    secretOutputs: ["environment"],
    validate(inputs: Props, failures: CheckFailure[]) {
        if (isAbsent(inputs.files) && isAbsent(inputs.ref)) {
            failures.push({ property: "files", reason: "Either `files` or `ref` must be set" });
        }
        if (!isAbsent(inputs.files) && !isAbsent(inputs.ref)) {
            failures.push({ property: "ref", reason: "`files` and `ref` are mutually exclusive" });
        }
    },
    async create(_ctx: Ctx, inputs: Props) {
        const store = projectStore();
        return store.locked(() => {
            const projectId = str(inputs, "projectId") ?? "";
            const p = store.get(projectId);
            if (!p)
                throw vercelError(
                    "Error creating deployment",
                    `Could not create deployment, unexpected error: not_found - Project not found (${projectId})`,
                );
            if (!isAbsent(inputs.ref) && !p.settings.gitRepository) {
                throw vercelError(
                    "Error creating deployment",
                    "Could not create deployment, unexpected error: a `ref` needs the project to have a gitRepository",
                );
            }
            const production = bool(inputs, "production") ?? false;
            const d: DeploymentRecord = {
                id: `dpl_${randomString(28)}`,
                url: `${p.name}-${randomLowerAlnum(9)}.vercel.app`,
                production,
                ref: str(inputs, "ref") || undefined,
                envKeys: Object.keys((unwrap(inputs.environment) as Props | undefined) ?? {}).sort(),
                createdAt: Date.now(),
            };
            p.deployments.push(d);
            // As on Vercel, a new production deployment takes the production domains.
            if (production) p.productionDeploymentId = d.id;
            store.put(p.id, p);
            return { id: d.id, outs: deploymentOutputs(p, d, inputs) };
        });
    },
    async read(_ctx: Ctx, id: string, state: Props) {
        const p = projectStore().get(str(state, "projectId") ?? "");
        const d = p?.deployments.find((x) => x.id === id);
        return p && d ? deploymentOutputs(p, d, state) : undefined;
    },
    async update(_ctx: Ctx, id: string, olds: Props, news: Props) {
        const p = projectStore().get(str(olds, "projectId") ?? "");
        const d = p?.deployments.find((x) => x.id === id);
        if (!p || !d)
            throw vercelError(
                "Error updating deployment",
                `Could not update deployment, unexpected error: not_found - Deployment ${id} not found`,
            );
        return deploymentOutputs(p, d, news);
    },
    async delete(_ctx: Ctx, id: string, state: Props) {
        if (bool(state, "deleteOnDestroy") !== true) return; // Vercel keeps deployments by default
        const store = projectStore();
        await store.locked(() => {
            const p = store.get(str(state, "projectId") ?? "");
            if (!p) return;
            p.deployments = p.deployments.filter((x) => x.id !== id);
            if (p.productionDeploymentId === id) {
                // Vercel leaves the domains on the deleted deployment's predecessor.
                p.productionDeploymentId = p.deployments.filter((x) => x.production).at(-1)?.id;
            }
            store.put(p.id, p);
        });
    },
};

function deploymentOutputs(p: ProjectRecord, d: DeploymentRecord, inputs: Props): Props {
    const domains = [d.url];
    if (d.production) domains.push(`${p.name}.vercel.app`, ...p.domains.filter((x) => !x.gitBranch).map((x) => x.name));
    return {
        ...inputs,
        id: d.id,
        projectId: p.id,
        teamId: p.teamId,
        production: d.production,
        url: d.url,
        domains,
    };
}

export const handlers: Readonly<Record<string, Handler>> = {
    [TOKENS.project]: projectHandler,
    [TOKENS.envVar]: envVarHandler,
    [TOKENS.domain]: domainHandler,
    [TOKENS.deployment]: deploymentHandler,
};
