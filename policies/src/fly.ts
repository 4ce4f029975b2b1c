/**
 * Policies for the Fly.io API: regions and machine counts, VM sizes, health checks, TLS,
 * WebSocket concurrency, secrets and image pinning.
 *
 * They read `fly:index:Machine` inputs (camelCase, `providers/fly/types.ts`). The runbook cited
 * in each description is `docs/runbook.md` (Operational Runbooks).
 */
import {
    count,
    hasCredentialsInUrl,
    isSecretKey,
    resourcesOfType,
    ResourceValidationPolicy,
    secretKeyPatternsSchema,
    StackValidationPolicy,
    Types,
    unwrapSecret,
    validateTypes,
} from "./common";

/** The parts of `fly:index:Machine` inputs the policies read. Everything is optional: inputs may be partial. */
export interface MachineProps {
    app?: string;
    region?: string;
    name?: string;
    image?: string;
    guest?: { cpuKind?: string; cpus?: number; memoryMb?: number };
    env?: Record<string, unknown>;
    services?: ServiceProps[];
}

/** One entry of a machine's `services`. */
export interface ServiceProps {
    protocol?: string;
    internalPort?: number;
    ports?: { port?: number; handlers?: string[]; forceHttps?: boolean }[];
    /** `"off" | "stop" | "suspend"` in the provider; read as unknown input, so a stray boolean is caught too. */
    autostop?: unknown;
    autostart?: unknown;
    minMachinesRunning?: number;
    concurrency?: { type?: string; softLimit?: number; hardLimit?: number };
    checks?: { type?: string; path?: string }[];
}

/** How a service is named in messages: by its internal port, which is unique within a machine. */
function serviceLabel(service: ServiceProps, machine: string): string {
    return `The service on internal port ${service.internalPort ?? "(unset)"} of machine ${machine}`;
}

/** Machines grouped by app, then by region, in input order. */
function machinesByAppAndRegion(machines: { props: MachineProps; name: string }[]): Map<string, Map<string, string[]>> {
    const apps = new Map<string, Map<string, string[]>>();
    for (const m of machines) {
        const app = m.props.app ?? "(no app)";
        const region = m.props.region ?? "(no region)";
        const regions = apps.get(app) ?? new Map<string, string[]>();
        regions.set(region, [...(regions.get(region) ?? []), m.name]);
        apps.set(app, regions);
    }
    return apps;
}

// ------------------------------------------------------------------------------------------------

/** Config of {@link flyMinRegions}. */
export interface FlyMinRegionsConfig {
    /** Distinct regions each Fly app must run machines in. @default 2 */
    minRegions?: number;
}

/** Checks whether every Fly app runs machines in at least `minRegions` regions. */
export const flyMinRegions: StackValidationPolicy = {
    name: "fly-min-regions",
    description:
        "Checks whether every Fly app runs machines in at least `minRegions` regions, so a regional outage " +
        "or a bad host leaves players a nearby region (runbook: Scaling > Backend Scaling, horizontal; " +
        "Disaster Recovery).",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            minRegions: { type: "integer", minimum: 1, default: 2 },
        },
    },
    validateStack: (args, reportViolation) => {
        const { minRegions } = args.getConfig<Required<FlyMinRegionsConfig>>();
        const machines = resourcesOfType(args, Types.flyMachine).map((r) => ({
            props: r.props as MachineProps,
            name: r.name,
        }));
        for (const [app, regions] of machinesByAppAndRegion(machines)) {
            if (regions.size < minRegions) {
                const codes = [...regions.keys()].sort().join(", ");
                reportViolation(
                    `Fly app ${app} must run machines in at least ${count(minRegions, "region")}; it runs in ${regions.size} (${codes}).`,
                );
            }
        }
    },
};

/** Config of {@link flyMinMachinesPerRegion}. */
export interface FlyMinMachinesPerRegionConfig {
    /** Machines each region of a Fly app must have. @default 2 */
    minMachinesPerRegion?: number;
}

/** Checks whether every region of every Fly app has at least `minMachinesPerRegion` machines. */
export const flyMinMachinesPerRegion: StackValidationPolicy = {
    name: "fly-min-machines-per-region",
    description:
        "Checks whether every region of every Fly app has at least `minMachinesPerRegion` machines, so a " +
        "rolling deploy or a crashed machine never empties a region (runbook: Scaling > Backend Scaling, " +
        "`fly scale count 1 --region ...`; Deployments > Rollback Criteria: health check failures).",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            minMachinesPerRegion: { type: "integer", minimum: 1, default: 2 },
        },
    },
    validateStack: (args, reportViolation) => {
        const { minMachinesPerRegion } = args.getConfig<Required<FlyMinMachinesPerRegionConfig>>();
        const machines = resourcesOfType(args, Types.flyMachine).map((r) => ({
            props: r.props as MachineProps,
            name: r.name,
        }));
        for (const [app, regions] of machinesByAppAndRegion(machines)) {
            for (const [region, names] of [...regions].sort(([a], [b]) => a.localeCompare(b))) {
                if (names.length < minMachinesPerRegion) {
                    reportViolation(
                        `Fly app ${app} must keep at least ${count(minMachinesPerRegion, "machine")} in region ${region}; it has ${names.length}.`,
                    );
                }
            }
        }
    },
};

/** Config of {@link flyMinMachinesRunning}. */
export interface FlyMinMachinesRunningConfig {
    /** The lowest `services[].minMachinesRunning` allowed. @default 1 */
    minMachinesRunning?: number;
}

/** Checks whether every service keeps at least `minMachinesRunning` machines running when idle. */
export const flyMinMachinesRunning: ResourceValidationPolicy = {
    name: "fly-min-machines-running",
    description:
        "Checks whether every Fly service sets `minMachinesRunning` to at least `minMachinesRunning`, so " +
        "autostop never stops every machine and the first player after a quiet spell does not wait for a " +
        "cold start (runbook: Scaling > Backend Scaling, auto-scaling; WebSocket Disconnections).",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            minMachinesRunning: { type: "integer", minimum: 0, default: 1 },
        },
    },
    validateResource: validateTypes(Types.flyMachine, (props, args, reportViolation) => {
        const { minMachinesRunning } = args.getConfig<Required<FlyMinMachinesRunningConfig>>();
        for (const service of (props as MachineProps).services ?? []) {
            const value = service.minMachinesRunning;
            if (typeof value !== "number" || value < minMachinesRunning) {
                reportViolation(
                    `${serviceLabel(service, args.name)} must keep at least ${count(minMachinesRunning, "machine")} running ` +
                        `(minMachinesRunning is ${value ?? "not set"}).`,
                );
            }
        }
    }),
};

/** Config of {@link flyMinMemory}. */
export interface FlyMinMemoryConfig {
    /** The least memory a machine may have, in MB. @default 1024 */
    minMemoryMb?: number;
}

/** Checks whether every machine has at least `minMemoryMb` of memory. */
export const flyMinMemory: ResourceValidationPolicy = {
    name: "fly-min-memory",
    description:
        "Checks whether every Fly machine has at least `minMemoryMb` of memory: the runbook's fix for memory " +
        "above 90% and OOM kills is to raise `memory_mb` to 1024 (runbook: Incident Response > High Memory " +
        "Usage; Scaling > Vertical Scaling).",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            minMemoryMb: { type: "integer", minimum: 256, default: 1024 },
        },
    },
    validateResource: validateTypes(Types.flyMachine, (props, args, reportViolation) => {
        const { minMemoryMb } = args.getConfig<Required<FlyMinMemoryConfig>>();
        const memoryMb = (props as MachineProps).guest?.memoryMb;
        if (typeof memoryMb !== "number" || memoryMb < minMemoryMb) {
            reportViolation(
                `Machine ${args.name} must have at least ${minMemoryMb} MB of memory (guest.memoryMb is ${memoryMb ?? "not set"}).`,
            );
        }
    }),
};

/**
 * The guest sizes allowed by default: `<cpuKind>-<cpus>x-<memoryMb>`, the production sizes from
 * 1 GB up. Fly's limits are 256–2048 MB per shared CPU and 2048–8192 MB per performance CPU.
 */
export const DEFAULT_ALLOWED_GUESTS: string[] = [
    "shared-1x-1024",
    "shared-1x-2048",
    "shared-2x-1024",
    "shared-2x-2048",
    "shared-2x-4096",
    "shared-4x-2048",
    "shared-4x-4096",
    "shared-4x-8192",
    "performance-1x-2048",
    "performance-1x-4096",
    "performance-2x-4096",
    "performance-2x-8192",
];

/** A guest as written in `allowedGuests`: `shared-2x-1024` is 2 shared CPUs with 1024 MB. */
export function guestSize(guest: MachineProps["guest"]): string {
    return `${guest?.cpuKind ?? "(unset)"}-${guest?.cpus ?? "(unset)"}x-${guest?.memoryMb ?? "(unset)"}`;
}

/** Config of {@link flyAllowedGuestSizes}. */
export interface FlyAllowedGuestSizesConfig {
    /** Allowed sizes, each `<cpuKind>-<cpus>x-<memoryMb>`, e.g. `shared-2x-1024`. */
    allowedGuests?: string[];
}

/** Checks whether every machine's guest size is on the allow-list. */
export const flyAllowedGuestSizes: ResourceValidationPolicy = {
    name: "fly-allowed-guest-sizes",
    description:
        "Checks whether every Fly machine uses a guest size from `allowedGuests` (`<cpuKind>-<cpus>x-<memoryMb>`), " +
        "so sizes stay ones that were load-tested and priced, and a typo cannot launch a 16-CPU machine " +
        "(runbook: Scaling > Vertical Scaling; Incident Response > High Memory Usage).",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            allowedGuests: {
                type: "array",
                items: { type: "string", pattern: "^(shared|performance)-[0-9]+x-[0-9]+$" },
                minItems: 1,
                default: DEFAULT_ALLOWED_GUESTS,
            },
        },
    },
    validateResource: validateTypes(Types.flyMachine, (props, args, reportViolation) => {
        const { allowedGuests } = args.getConfig<Required<FlyAllowedGuestSizesConfig>>();
        const size = guestSize((props as MachineProps).guest);
        if (!allowedGuests.includes(size)) {
            reportViolation(
                `Machine ${args.name} must use an allowed guest size; ${size} is not one of ${allowedGuests.join(", ")}.`,
            );
        }
    }),
};

/** Config of {@link flyHealthChecks}. */
export interface FlyHealthChecksConfig {
    /** Paths every service must have an HTTP check on. @default ["/healthz", "/readyz"] */
    requiredCheckPaths?: string[];
}

/** Checks whether every service has HTTP checks on the health and readiness paths. */
export const flyHealthChecks: ResourceValidationPolicy = {
    name: "fly-health-checks",
    description:
        "Checks whether every Fly service has HTTP checks on `/healthz` and `/readyz`: Fly routes only to " +
        "machines that pass them, deploys wait on them, and failing health checks are the first rollback " +
        "criterion (runbook: Deployments > Rollback Criteria; Incident Response > High Error Rate, check health).",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            requiredCheckPaths: {
                type: "array",
                items: { type: "string", pattern: "^/" },
                default: ["/healthz", "/readyz"],
            },
        },
    },
    validateResource: validateTypes(Types.flyMachine, (props, args, reportViolation) => {
        const { requiredCheckPaths } = args.getConfig<Required<FlyHealthChecksConfig>>();
        for (const service of (props as MachineProps).services ?? []) {
            const httpPaths = (service.checks ?? []).filter((c) => c.type === "http").map((c) => c.path);
            for (const path of requiredCheckPaths) {
                if (!httpPaths.includes(path)) {
                    reportViolation(`${serviceLabel(service, args.name)} must have an HTTP check on ${path}.`);
                }
            }
        }
    }),
};

/** Checks whether every HTTP service redirects plain HTTP to HTTPS and terminates TLS on 443. */
export const flyForceHttps: ResourceValidationPolicy = {
    name: "fly-force-https",
    description:
        "Checks whether every Fly service that speaks HTTP forces HTTPS: a port with the `http` handler and " +
        "no `tls` handler (port 80) sets `forceHttps`, and port 443 has the `tls` handler, so game sessions " +
        "and tokens never cross the internet in clear text and `wss://` works (runbook: Maintenance > " +
        "Certificate Management; WebSocket Disconnections, `wscat -c wss://...`).",
    enforcementLevel: "mandatory",
    validateResource: validateTypes(Types.flyMachine, (props, args, reportViolation) => {
        for (const service of (props as MachineProps).services ?? []) {
            const label = serviceLabel(service, args.name);
            const ports = service.ports ?? [];
            for (const p of ports) {
                const handlers = p.handlers ?? [];
                // Port 443 without tls is its own violation below; forceHttps would not fix it.
                if (p.port !== 443 && handlers.includes("http") && !handlers.includes("tls") && p.forceHttps !== true) {
                    reportViolation(`Port ${p.port} of ${lowerFirst(label)} must set forceHttps: true.`);
                }
                if (p.port === 443 && !handlers.includes("tls")) {
                    reportViolation(`Port 443 of ${lowerFirst(label)} must have the tls handler.`);
                }
            }
            const speaksHttp = ports.some((p) => (p.handlers ?? []).includes("http"));
            if (speaksHttp && !ports.some((p) => p.port === 443)) {
                reportViolation(`${label} must expose port 443 with the tls handler.`);
            }
        }
    }),
};

function lowerFirst(s: string): string {
    return s.charAt(0).toLowerCase() + s.slice(1);
}

/** Checks whether every service counts concurrency in connections. */
export const flyWebsocketConcurrency: ResourceValidationPolicy = {
    name: "fly-websocket-concurrency",
    description:
        "Checks whether every Fly service counts concurrency in `connections`: a WebSocket is one long-lived " +
        "connection carrying many messages, so `requests` limits would let one machine take every player " +
        "and load-balance badly (runbook: Incident Response > WebSocket Disconnections, connection count, scale up under load).",
    enforcementLevel: "mandatory",
    validateResource: validateTypes(Types.flyMachine, (props, args, reportViolation) => {
        for (const service of (props as MachineProps).services ?? []) {
            const type = service.concurrency?.type;
            if (type !== "connections") {
                reportViolation(
                    `${serviceLabel(service, args.name)} must count concurrency in connections (concurrency.type is ${type ?? "not set"}).`,
                );
            }
        }
    }),
};

/** Config of {@link flyNoPlainSecrets}. */
export interface FlyNoPlainSecretsConfig {
    /** Regular expressions for env var names that hold credentials. */
    secretKeyPatterns?: string[];
}

/** Checks whether a machine's plain `env` holds a credential. */
export const flyNoPlainSecrets: ResourceValidationPolicy = {
    name: "fly-no-plain-secrets",
    description:
        "Checks whether a Fly machine's plain `env` holds a credential (a name like `*_SECRET`, `*_TOKEN`, " +
        "`*_KEY`, `*PASSWORD*`, `DATABASE_URL`, `REDIS_URL`, or a URL with a password in it): machine env " +
        "is stored and shown in clear text, while `fly:index:AppSecrets` is encrypted and rotatable " +
        "(runbook: Maintenance > Updating Secrets, `fly secrets set`).",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            secretKeyPatterns: secretKeyPatternsSchema,
        },
    },
    validateResource: validateTypes(Types.flyMachine, (props, args, reportViolation) => {
        const { secretKeyPatterns } = args.getConfig<Required<FlyNoPlainSecretsConfig>>();
        for (const [key, raw] of Object.entries((props as MachineProps).env ?? {})) {
            const value = unwrapSecret(raw);
            if (isSecretKey(key, secretKeyPatterns)) {
                reportViolation(
                    `Env var ${key} of machine ${args.name} must be set through fly:index:AppSecrets, not plain env.`,
                );
            } else if (typeof value === "string" && hasCredentialsInUrl(value)) {
                reportViolation(
                    `Env var ${key} of machine ${args.name} must not embed a password in a URL; set it through fly:index:AppSecrets.`,
                );
            }
        }
    }),
};

/** Config of {@link flyImageDigest}. */
export interface FlyImageDigestConfig {
    /** Whether images must be pinned by digest (`@sha256:`). @default true */
    requireImageDigest?: boolean;
}

const DIGEST = /@sha256:[a-f0-9]{64}$/;

/** Checks whether every machine's image is pinned by digest, when the config asks for it. */
export const flyImageDigest: ResourceValidationPolicy = {
    name: "fly-image-digest",
    description:
        "Checks whether every Fly machine's image is pinned by digest (`@sha256:`) when `requireImageDigest` " +
        "is set: a tag can be re-pushed, so the image that passed staging is not guaranteed to be the one " +
        "prod runs, and a rollback to a tag may not restore the old code (runbook: Rollbacks > Backend " +
        "Rollback; Manual Deployment, `fly deploy --image`).",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            requireImageDigest: { type: "boolean", default: true },
        },
    },
    validateResource: validateTypes(Types.flyMachine, (props, args, reportViolation) => {
        const { requireImageDigest } = args.getConfig<Required<FlyImageDigestConfig>>();
        if (!requireImageDigest) {
            return;
        }
        const image = (props as MachineProps).image;
        if (typeof image !== "string" || !DIGEST.test(image)) {
            reportViolation(
                `Machine ${args.name} must pin its image by digest (@sha256:<64 hex>); ${image ?? "no image"} is not.`,
            );
        }
    }),
};
