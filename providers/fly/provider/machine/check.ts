/** The check of `fly:index:Machine`: validates inputs and says what is allowed for each bad value. */
import { CheckResult } from "@pulumi/pulumi/provider";
import { FLY_CPU_COUNTS, FLY_CPU_KINDS, FLY_MEMORY_STEP_MB, flyMemoryRangeMb, isFlyMemory } from "../../../../lib/facts/fly";
import { asObject } from "../common";
import { APP_NAME_ALLOWED, APP_NAME_RE, Checker, REGION_ALLOWED, REGION_RE } from "../validate";
import { isObject, isSecret, isUnknown, JsonObject, parseGoDuration } from "../values";
import { MANAGED_METADATA } from "./wire";

const HANDLERS = ["http", "tls", "tcp", "proxy_proto", "pg_tls", "edge_http"];
const ENV_KEY_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MACHINE_NAME_RE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Validates Machine inputs. Unknown values (preview) are skipped. */
export function checkMachine(_olds: unknown, news: unknown): CheckResult {
    const c = new Checker();
    const n = asObject(news);
    c.pattern(n, "app", "app", APP_NAME_RE, APP_NAME_ALLOWED, 'the Fly app name, e.g. "fpsgame-api"');
    c.pattern(n, "region", "region", REGION_RE, REGION_ALLOWED, 'a Fly region code, e.g. "iad"');
    c.pattern(
        n,
        "name",
        "name",
        MACHINE_NAME_RE,
        "1 to 63 lowercase letters, digits and dashes, starting and ending with a letter or digit",
        'a name unique in the app, e.g. "fpsgame-api-iad-1"',
    );
    c.string(n, "image", "image", 'a container image reference, e.g. "registry.fly.io/fpsgame-api:v1"');
    checkGuest(c, c.object(n, "guest", "guest", "{ cpuKind, cpus, memoryMb }"));
    c.stringMap(
        n,
        "env",
        "env",
        ENV_KEY_RE,
        "environment variable names (letters, digits and _, not starting with a digit)",
        "a map of plain environment variables ({} for none)",
    );
    const services = c.array(n, "services", "services", "a list of services ([] for none)");
    services?.forEach((s, i) => checkService(c, s, `services[${i}]`));
    const metrics = c.object(n, "metrics", "metrics");
    if (metrics !== undefined) {
        c.integer(metrics, "port", "metrics.port", 1, 65535, "the port serving metrics");
        c.pattern(
            metrics,
            "path",
            "metrics.path",
            /^\//,
            'a path starting with "/"',
            'the metrics path, e.g. "/metrics"',
        );
    }
    const metadata = c.object(n, "metadata", "metadata");
    if (metadata !== undefined) {
        for (const k of Object.keys(metadata)) {
            if (k in MANAGED_METADATA) {
                c.fail(`metadata.${k}`, `left unset: the provider sets metadata.${k} itself`, metadata[k]);
            } else {
                c.string(metadata, k, `metadata.${k}`);
            }
        }
    }
    c.oneOf(n, "restartPolicy", "restartPolicy", ["no", "always", "on-failure"] as const);
    c.integer(n, "minSecretsVersion", "minSecretsVersion", 0, Number.MAX_SAFE_INTEGER);
    c.integer(n, "waitTimeoutSeconds", "waitTimeoutSeconds", 1, 3600);
    return c.failures.length ? { inputs: news, failures: c.failures } : { inputs: news };
}

function checkGuest(c: Checker, g: JsonObject | undefined): void {
    if (g === undefined) {
        return;
    }
    const kind = c.oneOf(g, "cpuKind", "guest.cpuKind", FLY_CPU_KINDS, '"shared" or "performance"');
    const cpusRaw = c.get(g, "cpus", "guest.cpus", "the number of CPUs");
    let cpus: number | undefined;
    if (cpusRaw !== undefined && kind !== undefined) {
        const allowed = FLY_CPU_COUNTS[kind];
        if (typeof cpusRaw !== "number" || !allowed.includes(cpusRaw)) {
            c.fail("guest.cpus", `one of ${allowed.join(", ")} for ${kind} CPUs`, cpusRaw);
        } else {
            cpus = cpusRaw;
        }
    }
    const mem = c.get(g, "memoryMb", "guest.memoryMb", "the memory in MB, a multiple of 256");
    if (mem === undefined) {
        return;
    }
    if (kind === undefined || cpus === undefined) {
        if (typeof mem !== "number" || !Number.isInteger(mem) || mem <= 0 || mem % FLY_MEMORY_STEP_MB !== 0) {
            c.fail("guest.memoryMb", "a multiple of 256 MB", mem);
        }
        return;
    }
    const { min, max } = flyMemoryRangeMb(kind, cpus);
    if (typeof mem !== "number" || !isFlyMemory(kind, cpus, mem)) {
        const cpuText = `${cpus} ${kind} CPU${cpus === 1 ? "" : "s"}`;
        c.fail("guest.memoryMb", `a multiple of 256 from ${min} to ${max} MB for ${cpuText}`, mem);
    }
}

function checkService(c: Checker, raw: unknown, path: string): void {
    const s = isSecret(raw) ? raw.value : raw;
    if (isUnknown(s)) {
        return;
    }
    if (!isObject(s)) {
        c.fail(path, "an object", s);
        return;
    }
    const protocol = c.oneOf(s, "protocol", `${path}.protocol`, ["tcp", "udp"] as const, '"tcp" or "udp"');
    c.integer(s, "internalPort", `${path}.internalPort`, 1, 65535, "the port the app listens on inside the machine");
    const ports = c.array(s, "ports", `${path}.ports`, "a list of public ports");
    ports?.forEach((p, j) => {
        const pp = `${path}.ports[${j}]`;
        if (isUnknown(p)) {
            return;
        }
        if (!isObject(p)) {
            c.fail(pp, "an object", p);
            return;
        }
        c.integer(p, "port", `${pp}.port`, 1, 65535, "the public port");
        const handlers = c.array(
            p,
            "handlers",
            `${pp}.handlers`,
            'a list of handlers, e.g. ["tls", "http"] ([] for raw TCP/UDP)',
        );
        handlers?.forEach((h, k) => {
            if (!isUnknown(h) && (typeof h !== "string" || !HANDLERS.includes(h))) {
                c.fail(`${pp}.handlers[${k}]`, `one of ${HANDLERS.map((x) => JSON.stringify(x)).join(", ")}`, h);
            }
        });
        if (protocol === "udp" && handlers !== undefined && handlers.length > 0) {
            c.fail(`${pp}.handlers`, "empty for a UDP service", handlers);
        }
        c.boolean(p, "forceHttps", `${pp}.forceHttps`);
    });
    c.oneOf(s, "autostop", `${path}.autostop`, ["off", "stop", "suspend"] as const, '"off", "stop" or "suspend"');
    c.boolean(s, "autostart", `${path}.autostart`, "true or false");
    c.integer(
        s,
        "minMachinesRunning",
        `${path}.minMachinesRunning`,
        0,
        1000,
        "the number of machines kept running (0 allows scaling to zero)",
    );
    const conc = c.object(s, "concurrency", `${path}.concurrency`, "{ type, softLimit, hardLimit }");
    if (conc !== undefined) {
        const cp = `${path}.concurrency`;
        c.oneOf(conc, "type", `${cp}.type`, ["connections", "requests"] as const, '"connections" or "requests"');
        const soft = c.integer(
            conc,
            "softLimit",
            `${cp}.softLimit`,
            1,
            1_000_000,
            "the load at which Fly Proxy prefers other machines",
        );
        const hard = c.integer(
            conc,
            "hardLimit",
            `${cp}.hardLimit`,
            1,
            1_000_000,
            "the load at which Fly Proxy stops routing to the machine",
        );
        if (soft !== undefined && hard !== undefined && hard < soft) {
            c.fail(`${cp}.hardLimit`, `at least softLimit (${soft})`, hard);
        }
    }
    const checks = c.array(s, "checks", `${path}.checks`, "a list of health checks ([] for none)");
    checks?.forEach((k, j) => checkServiceCheck(c, k, `${path}.checks[${j}]`));
}

function checkServiceCheck(c: Checker, value: unknown, path: string): void {
    const raw = isSecret(value) ? value.value : value;
    if (isUnknown(raw)) {
        return;
    }
    if (!isObject(raw)) {
        c.fail(path, "an object", raw);
        return;
    }
    const type = c.oneOf(raw, "type", `${path}.type`, ["http", "tcp"] as const, '"http" or "tcp"');
    c.integer(raw, "port", `${path}.port`, 1, 65535);
    if (type === "http") {
        c.pattern(
            raw,
            "path",
            `${path}.path`,
            /^\//,
            'a path starting with "/"',
            'the HTTP path to probe, e.g. "/healthz"',
        );
        c.oneOf(raw, "method", `${path}.method`, ["GET", "HEAD", "POST", "PUT", "OPTIONS"] as const);
        c.oneOf(raw, "protocol", `${path}.protocol`, ["http", "https"] as const);
    }
    for (const [key, required] of [
        ["interval", true],
        ["timeout", true],
        ["gracePeriod", false],
    ] as const) {
        const v = c.get(raw, key, `${path}.${key}`, required ? 'a Go duration string, e.g. "15s"' : undefined);
        if (v !== undefined && (typeof v !== "string" || parseGoDuration(v) === undefined)) {
            c.fail(`${path}.${key}`, 'a Go duration string such as "15s", "500ms" or "1m30s"', v);
        }
    }
}
