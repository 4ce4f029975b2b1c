/**
 * Finds a Vercel project made by hand (the dashboard) by its name, through Vercel's REST API,
 * for `npm run adopt`: its id, framework, Git repository, env vars (ids, keys, targets, whether
 * sensitive: never their values) and domains.
 */
import { VERCEL_API_URL } from "../../lib/facts/vercel";
import { callJson } from "./http";

export interface VercelEnvFound {
    readonly id: string;
    readonly key: string;
    readonly targets: readonly string[];
    /** Vercel's type: `sensitive`, `encrypted`, `plain`, `system`, … */
    readonly type: string;
    readonly sensitive: boolean;
    readonly gitBranch?: string;
}

export interface VercelProjectFound {
    readonly projectId: string;
    readonly name: string;
    readonly framework?: string;
    /** `owner/name` as the provider's `gitRepository.repo` takes it. */
    readonly gitRepository?: { readonly type: string; readonly repo: string; readonly productionBranch?: string };
    readonly envs: readonly VercelEnvFound[];
    readonly domains: readonly { readonly name: string; readonly gitBranch?: string; readonly redirect?: string }[];
}

export interface FindVercelProjectArgs {
    /** The project's name, exactly (Vercel's names are unique per account or team). */
    readonly name: string;
    /** A Vercel access token (sent as a bearer token, never shown). */
    readonly token: string;
    /** The team owning the project; the token's personal account when absent. */
    readonly teamId?: string;
    /** @default "https://api.vercel.com" */
    readonly baseUrl?: string;
}

interface ProjectJson {
    id: string;
    name: string;
    framework?: string | null;
    link?: { type?: string; org?: string; repo?: string; productionBranch?: string } | null;
}

/** The project named `name`, or undefined when there is none. */
export async function findVercelProject(args: FindVercelProjectArgs): Promise<VercelProjectFound | undefined> {
    const base = args.baseUrl ?? VERCEL_API_URL;
    const headers = { authorization: `Bearer ${args.token}` };
    const team = args.teamId ? `?teamId=${encodeURIComponent(args.teamId)}` : "";
    const get = <T>(path: string, absentOn?: number[]) =>
        callJson<T>({ service: "Vercel", baseUrl: base, path, headers, absentOn });
    const name = encodeURIComponent(args.name);
    const p = await get<ProjectJson>(`/v9/projects/${name}${team}`, [404]);
    // GET by id-or-name also answers for an id; only a project of that very name is it.
    if (!p || p.name !== args.name) return undefined;
    const id = encodeURIComponent(p.id);
    const { envs } = (await get<{
        envs: { id: string; key: string; target?: string[] | string; type: string; gitBranch?: string | null }[];
    }>(`/v9/projects/${id}/env${team}`))!;
    const { domains } = (await get<{
        domains: { name: string; gitBranch?: string | null; redirect?: string | null }[];
    }>(`/v9/projects/${id}/domains${team}`))!;
    const link = p.link ?? undefined;
    return {
        projectId: p.id,
        name: p.name,
        ...(p.framework ? { framework: p.framework } : {}),
        ...(link?.type && link.org && link.repo
            ? {
                  gitRepository: {
                      type: link.type,
                      repo: `${link.org}/${link.repo}`,
                      ...(link.productionBranch ? { productionBranch: link.productionBranch } : {}),
                  },
              }
            : {}),
        envs: envs.map((e) => ({
            id: e.id,
            key: e.key,
            targets: (Array.isArray(e.target) ? e.target : e.target ? [e.target] : []).slice().sort(),
            type: e.type,
            sensitive: e.type === "sensitive",
            ...(e.gitBranch ? { gitBranch: e.gitBranch } : {}),
        })),
        domains: domains.map((d) => ({
            name: d.name,
            ...(d.gitBranch ? { gitBranch: d.gitBranch } : {}),
            ...(d.redirect ? { redirect: d.redirect } : {}),
        })),
    };
}
