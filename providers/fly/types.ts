/**
 * Shapes of the Fly resources, shared by the program-side SDK (`sdk.ts`) and the provider
 * plugin (`provider/`). Property names are camelCase, as Pulumi users and policy authors
 * expect; the provider's HTTP client translates them to the Fly Machines API's snake_case
 * (https://fly.io/docs/machines/api/machines-resource/).
 *
 * Type tokens: `fly:index:App`, `fly:index:AppSecrets`, `fly:index:Machine`,
 * `fly:index:IpAddress`, `fly:index:Certificate`.
 */
import type { FlyCpuKind } from "../../lib/facts/fly";

/** The Fly package name and the version of the provider plugin in `providers/fly`. */
export const FLY_PACKAGE = "fly";
export const FLY_PROVIDER_VERSION = "0.1.0";

export const FlyTypes = {
    App: "fly:index:App",
    AppSecrets: "fly:index:AppSecrets",
    Machine: "fly:index:Machine",
    IpAddress: "fly:index:IpAddress",
    Certificate: "fly:index:Certificate",
} as const;

/** A Fly app (`POST /v1/apps`). Changing `name` or `org` replaces the app. */
export interface AppInputs {
    /** Globally unique app name, e.g. `fpsgame-api`. */
    name: string;
    /** Organization slug, e.g. `personal`. */
    org: string;
    /** Optional custom private network name. */
    network?: string;
}
export interface AppOutputs extends AppInputs {
    /** Fly's internal app id. */
    appId: string;
    /** `pending` | `deployed` | `suspended`. */
    status: string;
}

/**
 * The app's secrets, set in bulk through `POST /v1/apps/{app}/secrets`. Values are secret
 * inputs: they reach Fly's secret store and never a machine config. A key removed from
 * `values` is unset on Fly.
 */
export interface AppSecretsInputs {
    app: string;
    /** Secret name -> value. Every value is a Pulumi secret. */
    values: Record<string, string>;
}
export interface AppSecretsOutputs extends AppSecretsInputs {
    /** Fly's monotonically increasing secrets version after the last change. */
    version: number;
    /** The secret names, sorted (not secret). */
    names: string[];
}

/** A Fly CPU kind; the list lives in `lib/facts/fly.ts`. */
export type CpuKind = FlyCpuKind;

export interface Guest {
    cpuKind: CpuKind;
    cpus: number;
    memoryMb: number;
}

export interface ServiceCheck {
    type: "http" | "tcp";
    /** Defaults to the service's internal port. */
    port?: number;
    method?: string;
    path?: string;
    protocol?: "http" | "https";
    /** Go duration strings, as Fly's API takes them: `15s`, `2s`. */
    interval: string;
    timeout: string;
    gracePeriod?: string;
}

export interface ServicePort {
    port: number;
    handlers: string[];
    forceHttps?: boolean;
}

export interface Concurrency {
    /** `connections` suits WebSockets: one long-lived connection is one unit of load. */
    type: "connections" | "requests";
    softLimit: number;
    hardLimit: number;
}

export interface Service {
    protocol: "tcp" | "udp";
    internalPort: number;
    ports: ServicePort[];
    autostop: "off" | "stop" | "suspend";
    autostart: boolean;
    minMachinesRunning: number;
    concurrency: Concurrency;
    checks: ServiceCheck[];
}

export interface Metrics {
    port: number;
    path: string;
}

/**
 * One Fly Machine (`POST /v1/apps/{app}/machines`). `app`, `region` and `name` are
 * immutable on Fly, so changing one replaces the machine; every other field is an
 * in-place update (the full config is re-sent, and the machine restarts).
 */
export interface MachineInputs {
    app: string;
    region: string;
    /** Stable, unique within the app: `<app>-<region>-<n>`. Used to adopt a machine after a failed create. */
    name: string;
    image: string;
    guest: Guest;
    /** Plain, non-secret environment. Secrets go through `AppSecrets`. */
    env: Record<string, string>;
    services: Service[];
    metrics?: Metrics;
    metadata?: Record<string, string>;
    restartPolicy?: "no" | "always" | "on-failure";
    /**
     * The app's secrets version this machine must see (`AppSecrets.version`). A secret
     * rotation raises it, which updates (restarts) the machine so it loads the new values.
     */
    minSecretsVersion?: number;
    /** How long an update or create waits for the machine to start and its checks to pass. */
    waitTimeoutSeconds?: number;
}
export interface MachineOutputs extends MachineInputs {
    machineId: string;
    /** Changes on every update of the machine. */
    instanceId: string;
    state: string;
    privateIp: string;
}

/** A public IP for the app (`POST /v1/apps/{app}/ip_assignments`). Any change replaces it. */
export interface IpAddressInputs {
    app: string;
    type: "v4" | "v6" | "shared_v4";
    region?: string;
}
export interface IpAddressOutputs extends IpAddressInputs {
    address: string;
}

/** An ACME certificate for a custom hostname (`POST /v1/apps/{app}/certificates/acme`). */
export interface CertificateInputs {
    app: string;
    hostname: string;
}
export interface CertificateOutputs extends CertificateInputs {
    /** Fly's status: `pending_validation` until the hostname's DNS points at the app, then `active`. */
    status: string;
    /** True once Fly sees the hostname's DNS pointing at the app. */
    configured: boolean;
    /** The CNAME target the hostname must point at, e.g. `fpsgame-api.fly.dev`. */
    cnameTarget: string;
    /**
     * The DNS records to create for the certificate to issue, one per line as an operator types
     * them into a DNS provider: `CNAME api.example.com -> fpsgame-api.fly.dev`.
     */
    dnsRecords: string[];
}
