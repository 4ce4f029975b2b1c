/**
 * The part of Vercel's REST API (`https://api.vercel.com`, bearer token) that discovery needs,
 * served from the vercel stand-in's records (the router `stand-ins/api.ts` serves it under
 * `/vercel`):
 *
 *   GET /v9/projects/{idOrName}           the project (`?teamId=` for a team's)
 *   GET /v9/projects/{idOrName}/env       {envs: […], pagination}
 *   GET /v9/projects/{idOrName}/domains   {domains: […], pagination}
 *
 * Env var values as Vercel returns them: a sensitive variable's value never (type `sensitive`);
 * the others (type `encrypted`, as the Terraform provider creates them) as an opaque ciphertext,
 * or in clear with `?decrypt=true`. Differences: any non-empty bearer token is accepted (a
 * missing one gets Vercel's 403 `forbidden`); the ciphertext is an HMAC under a key of this
 * process, not something Vercel could decrypt; no pagination beyond one page.
 */
import { createHmac, randomBytes } from "node:crypto";
import { ApiError, ApiRequest, ApiResponse, bearerToken, match } from "../common/http";
import { ProjectRecord, projectStore } from "./resources";

/** Never leaves this process: the stand-in's ciphertext is only a value that is not the secret. */
const CIPHER_KEY = randomBytes(32);

function vercelError(status: number, code: string, message: string, extra: Record<string, unknown> = {}): ApiError {
    return new ApiError(status, { error: { code, message, ...extra } }, `${code}: ${message}`);
}

function findProject(idOrName: string, teamId: string): ProjectRecord {
    const store = projectStore();
    const byId = /^prj_[A-Za-z0-9]+$/.test(idOrName) ? store.get(idOrName) : undefined;
    const p = byId ?? store.list().find((x) => x.name === idOrName && x.teamId === teamId);
    if (!p || p.teamId !== teamId) throw vercelError(404, "not_found", "Project not found.");
    return p;
}

/** `{type, repo}` of the program (`owner/name`) as Vercel's `link`. */
function linkJson(p: ProjectRecord): Record<string, unknown> | undefined {
    const repo = p.settings.gitRepository as { type?: string; repo?: string; productionBranch?: string } | undefined;
    if (!repo?.repo) return undefined;
    const [org, name] = repo.repo.split("/");
    return {
        type: repo.type,
        org,
        repo: name,
        productionBranch: repo.productionBranch ?? "main",
        createdAt: p.createdAt,
        updatedAt: p.updatedAt,
    };
}

/** A project as GET /v9/projects/{idOrName} shows it. */
export function projectJson(p: ProjectRecord): Record<string, unknown> {
    const s = p.settings;
    return {
        id: p.id,
        name: p.name,
        accountId: p.teamId || "localcloud",
        framework: s.framework ?? null,
        buildCommand: s.buildCommand ?? null,
        devCommand: s.devCommand ?? null,
        installCommand: s.installCommand ?? null,
        outputDirectory: s.outputDirectory ?? null,
        rootDirectory: s.rootDirectory ?? null,
        nodeVersion: s.nodeVersion ?? "22.x",
        serverlessFunctionRegion: s.serverlessFunctionRegion ?? "iad1",
        link: linkJson(p),
        createdAt: p.createdAt,
        updatedAt: p.updatedAt,
    };
}

function envJson(p: ProjectRecord, e: ProjectRecord["envs"][number], decrypt: boolean): Record<string, unknown> {
    const value = e.sensitive
        ? undefined
        : decrypt
          ? e.value
          : createHmac("sha256", CIPHER_KEY).update(`${e.id}\0${e.value}`).digest("base64");
    return {
        id: e.id,
        key: e.key,
        ...(value !== undefined ? { value } : {}),
        type: e.sensitive ? "sensitive" : "encrypted",
        target: e.targets,
        customEnvironmentIds: e.customEnvironmentIds,
        gitBranch: e.gitBranch,
        comment: e.comment,
        configurationId: null,
        createdAt: e.createdAt,
        updatedAt: e.updatedAt,
        decrypted: decrypt && !e.sensitive,
    };
}

function apexOf(domain: string): string {
    return domain.split(".").slice(-2).join(".");
}

const ONE_PAGE = (count: number) => ({ count, next: null, prev: null });

/** Vercel's REST API under `/vercel`. */
export async function vercelApi(req: ApiRequest): Promise<ApiResponse | undefined> {
    if (bearerToken(req) === undefined) {
        throw vercelError(403, "forbidden", "The request is missing an authentication token", { missingToken: true });
    }
    if (req.method !== "GET") return undefined;
    const teamId = req.query.get("teamId") ?? "";
    let m: Record<string, string> | undefined;
    if ((m = match("/v9/projects/:p", req.path))) return { status: 200, body: projectJson(findProject(m.p, teamId)) };
    if ((m = match("/v9/projects/:p/env", req.path))) {
        const p = findProject(m.p, teamId);
        const decrypt = req.query.get("decrypt") === "true";
        const envs = p.envs.map((e) => envJson(p, e, decrypt));
        return { status: 200, body: { envs, pagination: ONE_PAGE(envs.length) } };
    }
    if ((m = match("/v9/projects/:p/domains", req.path))) {
        const p = findProject(m.p, teamId);
        const domains = p.domains.map((d) => ({
            name: d.name,
            apexName: apexOf(d.name),
            projectId: p.id,
            redirect: d.redirect ?? null,
            redirectStatusCode: d.redirectStatusCode ?? null,
            gitBranch: d.gitBranch ?? null,
            customEnvironmentId: d.customEnvironmentId ?? null,
            verified: true,
            createdAt: d.createdAt,
            updatedAt: d.createdAt,
        }));
        return { status: 200, body: { domains, pagination: ONE_PAGE(domains.length) } };
    }
    return undefined;
}
