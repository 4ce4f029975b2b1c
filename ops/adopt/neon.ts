/**
 * Finds a Neon project made by hand (the console) by its name, through Neon's HTTP API, for
 * `npm run adopt`: its id, region, default branch, that branch's databases and roles. Passwords
 * are never read.
 */
import { NEON_API_URL } from "../../lib/facts/neon";
import { callJson } from "./http";

export interface NeonProjectFound {
    readonly projectId: string;
    readonly name: string;
    readonly regionId: string;
    readonly pgVersion: number;
    readonly historyRetentionSeconds: number;
    readonly defaultEndpointSettings: {
        readonly autoscalingLimitMinCu: number;
        readonly autoscalingLimitMaxCu: number;
        readonly suspendTimeoutSeconds: number;
    };
    readonly defaultBranch: { readonly id: string; readonly name: string };
    /** The default branch's databases. */
    readonly databases: readonly { readonly name: string; readonly ownerName: string }[];
    /** The default branch's roles. */
    readonly roles: readonly { readonly name: string; readonly protected: boolean }[];
}

export interface FindNeonProjectArgs {
    /** The project's name, exactly. */
    readonly name: string;
    /** A Neon API key (sent as a bearer token, never shown). */
    readonly apiKey: string;
    /** @default "https://console.neon.tech/api/v2" */
    readonly baseUrl?: string;
}

interface ProjectJson {
    id: string;
    name: string;
    region_id: string;
    pg_version: number;
    history_retention_seconds?: number;
    default_endpoint_settings?: {
        autoscaling_limit_min_cu?: number;
        autoscaling_limit_max_cu?: number;
        suspend_timeout_seconds?: number;
    };
}

/** Neon's page size for the project list: the most it allows. */
const PAGE = 400;

/**
 * The project named `name`, or undefined when there is none. Two projects of that name are an
 * error (adopting one of them would be a guess).
 */
export async function findNeonProject(args: FindNeonProjectArgs): Promise<NeonProjectFound | undefined> {
    const base = args.baseUrl ?? NEON_API_URL;
    const headers = { authorization: `Bearer ${args.apiKey}` };
    const get = <T>(path: string) => callJson<T>({ service: "Neon", baseUrl: base, path, headers });
    const matches: ProjectJson[] = [];
    // `search` matches part of a name or id; page until a short page.
    for (let cursor: string | undefined; ;) {
        const q = new URLSearchParams({ search: args.name, limit: String(PAGE), ...(cursor ? { cursor } : {}) });
        const page = (await get<{ projects: ProjectJson[]; pagination?: { cursor?: string } }>(`/projects?${q}`))!;
        matches.push(...page.projects.filter((p) => p.name === args.name));
        cursor = page.pagination?.cursor;
        if (page.projects.length < PAGE || !cursor) break;
    }
    if (matches.length === 0) return undefined;
    if (matches.length > 1) {
        throw new Error(
            `Neon: ${matches.length} projects are named ${JSON.stringify(args.name)} (${matches.map((p) => p.id).join(", ")}); rename all but one, or adopt by id`,
        );
    }
    const p = matches[0];
    const id = encodeURIComponent(p.id);
    const { branches } = (await get<{ branches: { id: string; name: string; default?: boolean; primary?: boolean }[] }>(
        `/projects/${id}/branches`,
    ))!;
    const main = branches.find((b) => b.default) ?? branches.find((b) => b.primary);
    if (!main) throw new Error(`Neon: project ${p.id} (${JSON.stringify(p.name)}) has no default branch`);
    const b = encodeURIComponent(main.id);
    const { databases } = (await get<{ databases: { name: string; owner_name: string }[] }>(
        `/projects/${id}/branches/${b}/databases`,
    ))!;
    const { roles } = (await get<{ roles: { name: string; protected?: boolean }[] }>(
        `/projects/${id}/branches/${b}/roles`,
    ))!;
    const eps = p.default_endpoint_settings ?? {};
    return {
        projectId: p.id,
        name: p.name,
        regionId: p.region_id,
        pgVersion: p.pg_version,
        historyRetentionSeconds: p.history_retention_seconds ?? 86400,
        defaultEndpointSettings: {
            autoscalingLimitMinCu: eps.autoscaling_limit_min_cu ?? 0.25,
            autoscalingLimitMaxCu: eps.autoscaling_limit_max_cu ?? 0.25,
            suspendTimeoutSeconds: eps.suspend_timeout_seconds ?? 0,
        },
        defaultBranch: { id: main.id, name: main.name },
        databases: databases.map((d) => ({ name: d.name, ownerName: d.owner_name })),
        roles: roles.map((r) => ({ name: r.name, protected: r.protected ?? false })),
    };
}
