import * as pulumi from "@pulumi/pulumi";
import * as fly from "../providers/fly/sdk";
import { CpuKind, MachineInputs, Service } from "../providers/fly/types";

/** Arguments of {@link FlyApiApp}. */
export interface FlyApiAppArgs {
    /** The Fly app name, global across Fly, e.g. `fpsgame-api`. */
    readonly appName: string;
    /** The Fly organization slug. */
    readonly org: string;
    /**
     * The API image. A change rolls the machines, `rollout` machines at a time.
     * @example "registry.fly.io/fpsgame-api:v1.4.2"
     */
    readonly image: string;
    /** Fly region code -> machines created there. @example { sjc: 3, iad: 3 } */
    readonly regions: Readonly<Record<string, number>>;
    /** Guest size of every machine. A change updates the machines in place. */
    readonly vm: { readonly cpuKind: CpuKind; readonly cpus: number; readonly memoryMb: number };
    /** Autostop/autostart, and the machines kept running when idle. */
    readonly autoscale: {
        readonly minMachinesRunning: number;
        readonly autostop: "off" | "stop" | "suspend";
        readonly autostart: boolean;
    };
    /** The port the API listens on inside the machine. @default 8080 */
    readonly internalPort: number;
    /** Concurrency limits, counted in connections so one WebSocket is one unit of load. */
    readonly concurrency: { readonly softLimit: number; readonly hardLimit: number };
    /** HTTP paths of the API. @default { health: "/healthz", ready: "/readyz", metrics: "/metrics", websocket: "/ws" } */
    readonly paths: {
        readonly health: string;
        readonly ready: string;
        readonly metrics: string;
        readonly websocket: string;
    };
    /** Check timings (Go durations) and how long a machine may take to pass them. */
    readonly checks: {
        readonly interval: string;
        readonly timeout: string;
        readonly gracePeriod: string;
        readonly waitTimeoutSeconds: number;
    };
    /** Rolling updates: `maxParallel` machines at once, or a `fraction` of all machines. @default { maxParallel: 1 } */
    readonly rollout: { readonly maxParallel?: number; readonly fraction?: number };
    /** Plain, non-secret environment. */
    readonly env: Readonly<Record<string, string>>;
    /**
     * App secrets (name -> value). Set through Fly's secrets API, never in a machine config;
     * every value is kept secret. A change restarts the machines, rolling.
     */
    readonly secrets: Readonly<Record<string, pulumi.Input<string>>>;
    /** A custom domain: gets a certificate and becomes the public API host. */
    readonly customDomain?: string;
}

/**
 * The `fpsgame-api` backend on Fly.io: the app, its secrets, its public IPs (and a
 * certificate for a custom domain), and its machines, keyed by region code.
 *
 * Each machine is its own resource named `${name}-<region>-<n>`, so adding one to a region
 * is one create, a VM size change is an in-place update of each, and a change to one region
 * never touches another. Machines are chained with `dependsOn` in batches (interleaving
 * regions), which makes an image or secret change roll through them batch by batch: the
 * provider waits for each machine's checks before the next batch starts.
 */
export class FlyApiApp extends pulumi.ComponentResource {
    /** The component's type token (also what `npm run adopt` imports it as). */
    static readonly TYPE = "fpsgame:fly:ApiApp";

    /** `https://<host>`: the public API URL. */
    public readonly apiUrl: pulumi.Output<string>;
    /** `wss://<host>/ws`: the game's WebSocket URL. */
    public readonly wsUrl: pulumi.Output<string>;
    public readonly healthUrl: pulumi.Output<string>;
    public readonly readyUrl: pulumi.Output<string>;
    public readonly metricsUrl: pulumi.Output<string>;
    /** Region code -> machines there. */
    public readonly machinesPerRegion: pulumi.Output<Record<string, number>>;
    /** The machines, keyed `<region>-<n>`. */
    public readonly machines: Record<string, fly.Machine>;
    public readonly app: fly.App;
    public readonly appSecrets: fly.AppSecrets;

    constructor(name: string, args: FlyApiAppArgs, opts?: pulumi.ComponentResourceOptions) {
        super(FlyApiApp.TYPE, name, {}, opts);

        const app = createApp(this);
        const appSecrets = createSecrets(this, app);
        createPublicAddresses(this, app);
        const host = args.customDomain ?? `${args.appName}.fly.dev`;
        const machines = createMachines(this, app, appSecrets);

        this.app = app;
        this.appSecrets = appSecrets;
        this.machines = machines;
        this.apiUrl = pulumi.output(`https://${host}`);
        this.wsUrl = pulumi.output(`wss://${host}${args.paths.websocket}`);
        this.healthUrl = pulumi.output(`https://${host}${args.paths.health}`);
        this.readyUrl = pulumi.output(`https://${host}${args.paths.ready}`);
        this.metricsUrl = pulumi.output(`https://${host}${args.paths.metrics}`);
        this.machinesPerRegion = pulumi.output({ ...args.regions });
        this.registerOutputs({
            apiUrl: this.apiUrl,
            wsUrl: this.wsUrl,
            machinesPerRegion: this.machinesPerRegion,
        });

        function createApp(parent: FlyApiApp): fly.App {
            return new fly.App(`${name}-app`, { name: args.appName, org: args.org }, { parent });
        }

        function createSecrets(parent: FlyApiApp, flyApp: fly.App): fly.AppSecrets {
            const values = pulumi.secret(pulumi.output(args.secrets as Record<string, pulumi.Input<string>>));
            return new fly.AppSecrets(`${name}-secrets`, { app: flyApp.name, values }, { parent });
        }

        function createPublicAddresses(parent: FlyApiApp, flyApp: fly.App): void {
            // A new Fly app has no public address until one is allocated (https://fly.io/docs/networking/services/#ip-addresses).
            new fly.IpAddress(`${name}-ip-v4`, { app: flyApp.name, type: "shared_v4" }, { parent });
            new fly.IpAddress(`${name}-ip-v6`, { app: flyApp.name, type: "v6" }, { parent });
            if (args.customDomain) {
                new fly.Certificate(`${name}-cert`, { app: flyApp.name, hostname: args.customDomain }, { parent });
            }
        }

        function createMachines(
            parent: FlyApiApp,
            flyApp: fly.App,
            secrets: fly.AppSecrets,
        ): Record<string, fly.Machine> {
            const upstream = opts?.dependsOn ?? [];
            const order = rolloutOrder(args.regions);
            const batch = batchSize(order.length, args.rollout);
            const created: Record<string, fly.Machine> = {};
            const byPosition: fly.Machine[] = [];
            order.forEach(({ region, index }, position) => {
                const key = `${region}-${index}`;
                const previousBatch = byPosition.slice(
                    Math.max(0, (Math.floor(position / batch) - 1) * batch),
                    Math.floor(position / batch) * batch,
                );
                const machine = new fly.Machine(
                    machineResourceName(name, region, index),
                    {
                        ...machineSpec(args, region, index),
                        app: flyApp.name,
                        minSecretsVersion: secrets.version,
                    },
                    // The first batch also waits for whatever the component was told to wait for
                    // (the migrations): Pulumi does not pass a component's dependsOn to its children.
                    // A machine adopted from `fly deploy` (npm run adopt) keeps the name Fly gave it:
                    // a name cannot change in place, and renaming would replace a machine that serves
                    // players. The name follows from the app, the region and the index, which are in
                    // the URN or replace the machine themselves, so ignoring it hides nothing else.
                    {
                        parent,
                        dependsOn: position < batch ? upstream : previousBatch,
                        ignoreChanges: ["name"],
                    },
                );
                byPosition.push(machine);
                created[key] = machine;
            });
            return created;
        }
    }
}

/** The logical name of a region's n-th machine: `api-iad-1`, keyed by region code, never by position. */
export function machineResourceName(name: string, region: string, index: number): string {
    return `${name}-${region}-${index}`;
}

/**
 * The order machines roll in: the first machine of every region, then the second, and so
 * on, so each batch takes at most a few machines out of any one region, and adding a
 * machine to a region appends it near the end instead of shifting the others.
 */
export function rolloutOrder(regions: Readonly<Record<string, number>>): { region: string; index: number }[] {
    const codes = Object.keys(regions).sort();
    const max = Math.max(0, ...Object.values(regions));
    const order: { region: string; index: number }[] = [];
    for (let index = 1; index <= max; index++) {
        for (const region of codes) {
            if (index <= regions[region]) order.push({ region, index });
        }
    }
    return order;
}

/** Machines per rollout batch: `maxParallel`, or `fraction` of all machines rounded up, at least 1. */
export function batchSize(total: number, rollout: { maxParallel?: number; fraction?: number }): number {
    if (rollout.fraction !== undefined) return Math.max(1, Math.ceil(total * rollout.fraction));
    return Math.max(1, rollout.maxParallel ?? 1);
}

/** The desired spec of one machine, minus the app and secrets version (which are outputs). */
export function machineSpec(
    args: FlyApiAppArgs,
    region: string,
    index: number,
): Omit<MachineInputs, "app" | "minSecretsVersion"> {
    const check = (path: string) => ({
        type: "http" as const,
        port: args.internalPort,
        method: "GET",
        path,
        protocol: "http" as const,
        interval: args.checks.interval,
        timeout: args.checks.timeout,
        gracePeriod: args.checks.gracePeriod,
    });
    const service: Service = {
        protocol: "tcp",
        internalPort: args.internalPort,
        ports: [
            { port: 80, handlers: ["http"], forceHttps: true },
            { port: 443, handlers: ["tls", "http"] },
        ],
        autostop: args.autoscale.autostop,
        autostart: args.autoscale.autostart,
        minMachinesRunning: args.autoscale.minMachinesRunning,
        concurrency: {
            type: "connections",
            softLimit: args.concurrency.softLimit,
            hardLimit: args.concurrency.hardLimit,
        },
        checks: [check(args.paths.health), check(args.paths.ready)],
    };
    return {
        region,
        name: `${args.appName}-${region}-${index}`,
        image: args.image,
        guest: { cpuKind: args.vm.cpuKind, cpus: args.vm.cpus, memoryMb: args.vm.memoryMb },
        env: {
            ...args.env,
            PORT: String(args.internalPort),
            WS_PATH: args.paths.websocket,
            HEALTH_PATH: args.paths.health,
            READY_PATH: args.paths.ready,
            METRICS_PATH: args.paths.metrics,
        },
        services: [service],
        metrics: { port: args.internalPort, path: args.paths.metrics },
        metadata: { fpsgame_region_index: String(index) },
        restartPolicy: "on-failure",
        waitTimeoutSeconds: args.checks.waitTimeoutSeconds,
    };
}
