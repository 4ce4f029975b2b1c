/** Small queries over a mocked program run, shared by the program tests. */
import { ofType, ProgramRun, RecordedResource } from "./mockProgram";

export const T = {
    machine: "fly:index:Machine",
    secrets: "fly:index:AppSecrets",
    ip: "fly:index:IpAddress",
    envVar: "vercel:index/projectEnvironmentVariable:ProjectEnvironmentVariable",
    vercelProject: "vercel:index/project:Project",
    neonProject: "neon:index/project:Project",
    redis: "upstash:index/redisDatabase:RedisDatabase",
    command: "command:local:Command",
};

export function machinesPerRegion(run: ProgramRun): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const m of ofType(run, T.machine)) {
        const region = String(m.inputs.region);
        (out[region] ??= []).push(m.name);
    }
    for (const names of Object.values(out)) names.sort();
    return out;
}

/** Every dotted path in `value` whose string contains `needle`. */
export function pathsContaining(value: unknown, needle: string, at = ""): string[] {
    if (typeof value === "string") return value.includes(needle) ? [at] : [];
    if (Array.isArray(value)) return value.flatMap((v, i) => pathsContaining(v, needle, `${at}[${i}]`));
    if (value && typeof value === "object") {
        return Object.entries(value).flatMap(([k, v]) => pathsContaining(v, needle, at ? `${at}.${k}` : k));
    }
    return [];
}

/** Places a secret value sits in plain text: inputs outside every secret path. */
export function plainTextLeaks(run: ProgramRun, secret: string): string[] {
    return run.resources.flatMap((r: RecordedResource) =>
        pathsContaining(r.inputs, secret)
            .filter((p) => !r.secretPaths.some((s) => p === s || p.startsWith(`${s}.`) || p.startsWith(`${s}[`)))
            .map((p) => `${r.name}.${p}`),
    );
}
