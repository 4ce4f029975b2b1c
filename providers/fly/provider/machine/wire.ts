/**
 * The wire mapping of `fly:index:Machine`: our input properties to Fly's `MachineConfig` JSON and
 * back, and the normalized view that tells whether two configs mean the same.
 */
import { MachineInputs, MachineOutputs, Service, ServiceCheck, CpuKind } from "../../types";
import { FlyMachine, FlyMachineConfig, FlyService, FlyServiceCheck } from "../client";
import { asObject, compact, pick } from "../common";
import { formatGoDuration, JsonObject, parseGoDuration, unwrapSecrets } from "../values";

/** The input properties of a Machine, in the order they are diffed. */
export const MACHINE_INPUT_KEYS = [
    "app",
    "region",
    "name",
    "image",
    "guest",
    "env",
    "services",
    "metrics",
    "metadata",
    "restartPolicy",
    "minSecretsVersion",
    "waitTimeoutSeconds",
] as const;

/** The outputs Fly computes for a machine. */
export const COMPUTED_KEYS = ["machineId", "instanceId", "state", "privateIp"] as const;

/** Metadata the provider always sets; a user may not set these keys. */
export const MANAGED_METADATA: Readonly<Record<string, string>> = {
    fly_platform_version: "v2",
    fly_process_group: "app",
    managed_by: "pulumi",
};

/** The plain (secret-unwrapped) inputs, as validated by `check`. */
export function machineInputs(raw: unknown): MachineInputs {
    const o = asObject(unwrapSecrets(raw));
    const inputs: JsonObject = {};
    for (const k of MACHINE_INPUT_KEYS) {
        if (o[k] !== undefined && o[k] !== null) {
            inputs[k] = o[k];
        }
    }
    const m = inputs as unknown as MachineInputs;
    return { ...m, env: m.env ?? {}, services: m.services ?? [] };
}

function serviceCheckToWire(k: ServiceCheck): FlyServiceCheck {
    return compact({
        type: k.type,
        port: k.port,
        method: k.method,
        path: k.path,
        protocol: k.protocol,
        interval: k.interval,
        timeout: k.timeout,
        grace_period: k.gracePeriod,
    });
}

function serviceToWire(s: Service): FlyService {
    return compact({
        protocol: s.protocol,
        internal_port: s.internalPort,
        ports: s.ports.map((p) => compact({ port: p.port, handlers: p.handlers, force_https: p.forceHttps })),
        autostop: s.autostop,
        autostart: s.autostart,
        min_machines_running: s.minMachinesRunning,
        concurrency: {
            type: s.concurrency.type,
            soft_limit: s.concurrency.softLimit,
            hard_limit: s.concurrency.hardLimit,
        },
        checks: (s.checks ?? []).map(serviceCheckToWire),
    });
}

/**
 * The Fly `MachineConfig` for the inputs. Secrets never appear here: they are app secrets
 * (`AppSecrets`) that Fly injects at create and update, gated by `min_secrets_version`.
 */
export function toMachineConfig(m: MachineInputs): FlyMachineConfig {
    return compact({
        image: m.image,
        guest: { cpu_kind: m.guest.cpuKind, cpus: m.guest.cpus, memory_mb: m.guest.memoryMb },
        env: { ...m.env },
        services: m.services.map(serviceToWire),
        metrics: m.metrics ? { port: m.metrics.port, path: m.metrics.path } : undefined,
        metadata: { ...(m.metadata ?? {}), ...MANAGED_METADATA },
        restart: m.restartPolicy ? { policy: m.restartPolicy } : undefined,
    });
}

function autostopFromWire(v: unknown): "off" | "stop" | "suspend" | undefined {
    if (v === false) return "off";
    if (v === true) return "stop";
    if (v === "off" || v === "stop" || v === "suspend") return v;
    return undefined;
}

function durationFromWire(v: unknown): string | undefined {
    if (typeof v === "string") {
        return v;
    }
    const ns = parseGoDuration(v);
    return ns === undefined ? undefined : formatGoDuration(ns);
}

/**
 * The part of a wire config the provider manages, normalized so that two configs that mean
 * the same compare equal (Fly answers `autostop` as a boolean, durations as strings or
 * nanoseconds, and fills in defaults such as a check's port).
 */
export function managedView(c: FlyMachineConfig | undefined): JsonObject {
    const cfg = c ?? ({ image: "" } as FlyMachineConfig);
    return compact({
        image: cfg.image,
        guest: cfg.guest
            ? { cpu_kind: cfg.guest.cpu_kind, cpus: cfg.guest.cpus, memory_mb: cfg.guest.memory_mb }
            : undefined,
        env: cfg.env ?? {},
        services: (cfg.services ?? []).map((s) =>
            compact({
                protocol: s.protocol,
                internal_port: s.internal_port,
                ports: (s.ports ?? []).map((p) =>
                    compact({ port: p.port, handlers: p.handlers ?? [], force_https: p.force_https === true }),
                ),
                autostop: autostopFromWire(s.autostop),
                autostart: s.autostart === true,
                min_machines_running: s.min_machines_running ?? 0,
                concurrency: s.concurrency
                    ? compact({
                          type: s.concurrency.type ?? "connections",
                          soft_limit: s.concurrency.soft_limit,
                          hard_limit: s.concurrency.hard_limit,
                      })
                    : undefined,
                checks: (s.checks ?? []).map((k) =>
                    compact({
                        type: k.type,
                        port: k.port ?? s.internal_port,
                        method: k.type === "http" ? (k.method ?? "GET").toUpperCase() : undefined,
                        path: k.path,
                        protocol: k.type === "http" ? (k.protocol ?? "http") : undefined,
                        interval: parseGoDuration(k.interval),
                        timeout: parseGoDuration(k.timeout),
                        grace_period: parseGoDuration(k.grace_period),
                    }),
                ),
            }),
        ),
        metrics: cfg.metrics ? { port: cfg.metrics.port, path: cfg.metrics.path } : undefined,
        metadata: cfg.metadata ?? {},
        restart: cfg.restart?.policy,
    });
}

/** Translates a machine read from Fly back to input properties (for refresh after drift). */
export function inputsFromMachine(machine: FlyMachine, app: string, prior: Partial<MachineInputs>): MachineInputs {
    const cfg: FlyMachineConfig = machine.config ?? { image: "" };
    const userMetadata: Record<string, string> = {};
    for (const [k, v] of Object.entries(cfg.metadata ?? {})) {
        if (!(k in MANAGED_METADATA) && !(k.startsWith("fly_") && !(prior.metadata && k in prior.metadata))) {
            userMetadata[k] = v;
        }
    }
    const services: Service[] = (cfg.services ?? []).map((s) =>
        compact({
            protocol: s.protocol as Service["protocol"],
            internalPort: s.internal_port,
            ports: (s.ports ?? []).map((p) =>
                compact({ port: p.port ?? 0, handlers: p.handlers ?? [], forceHttps: p.force_https }),
            ),
            autostop: autostopFromWire(s.autostop) ?? "off",
            autostart: s.autostart === true,
            minMachinesRunning: s.min_machines_running ?? 0,
            concurrency: {
                type: (s.concurrency?.type ?? "connections") as Service["concurrency"]["type"],
                softLimit: s.concurrency?.soft_limit ?? 0,
                hardLimit: s.concurrency?.hard_limit ?? 0,
            },
            checks: (s.checks ?? []).map((k) =>
                compact({
                    type: k.type as ServiceCheck["type"],
                    port: k.port,
                    method: k.method,
                    path: k.path,
                    protocol: k.protocol as ServiceCheck["protocol"],
                    interval: durationFromWire(k.interval) ?? "",
                    timeout: durationFromWire(k.timeout) ?? "",
                    gracePeriod: durationFromWire(k.grace_period),
                }),
            ),
        }),
    );
    return compact({
        app,
        region: machine.region,
        name: machine.name,
        image: cfg.image,
        guest: {
            cpuKind: (cfg.guest?.cpu_kind ?? "shared") as CpuKind,
            cpus: cfg.guest?.cpus ?? 1,
            memoryMb: cfg.guest?.memory_mb ?? 256,
        },
        env: cfg.env ?? {},
        services,
        metrics: cfg.metrics ? { port: cfg.metrics.port, path: cfg.metrics.path } : undefined,
        metadata: Object.keys(userMetadata).length || prior.metadata !== undefined ? userMetadata : undefined,
        restartPolicy:
            prior.restartPolicy !== undefined || cfg.restart?.policy !== undefined
                ? (cfg.restart?.policy as MachineInputs["restartPolicy"])
                : undefined,
        minSecretsVersion: prior.minSecretsVersion,
        waitTimeoutSeconds: prior.waitTimeoutSeconds,
    });
}

/** The outputs of a machine: its inputs as given (secret wrappers kept) and what Fly computed. */
export function machineOutputs(rawInputs: unknown, machine: FlyMachine): JsonObject {
    const computed: Pick<MachineOutputs, "machineId" | "instanceId" | "state" | "privateIp"> = {
        machineId: machine.id,
        instanceId: machine.instance_id,
        state: machine.state,
        privateIp: machine.private_ip ?? "",
    };
    // The raw inputs keep their secret wrappers (an env value passed as a secret stays one).
    return compact({ ...pick(rawInputs, MACHINE_INPUT_KEYS), ...computed });
}
