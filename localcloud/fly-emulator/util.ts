/**
 * Small pure helpers of the Fly emulator: API errors, identifiers in Fly's formats, Go
 * duration strings, image references. No state, no I/O.
 */
import { createHash, randomInt } from "node:crypto";
import { hex, randomLowerAlnum, wordPair } from "../stand-ins/common/ids";

/**
 * An error answered as `{"error": message, "status"?: code}` with the given HTTP status, the
 * shape of Fly's Machines API errors (`flaps.errorResponse`).
 */
export class ApiError extends Error {
    constructor(
        readonly httpStatus: number,
        message: string,
        /** Fly's error code (`insufficient_capacity`, `name_taken`, `unknown`), when one applies. */
        readonly code?: string,
    ) {
        super(message);
        this.name = "ApiError";
    }

    body(): { error: string; status?: string } {
        return this.code === undefined ? { error: this.message } : { error: this.message, status: this.code };
    }

    toReply(): { status: number; body: { error: string; status?: string } } {
        return { status: this.httpStatus, body: this.body() };
    }
}

export const badRequest = (message: string): ApiError => new ApiError(400, message);

// ---------------------------------------------------------------------------------------------
// Identifiers
// ---------------------------------------------------------------------------------------------

/** A machine id: 14 lowercase hex characters, e.g. `1857156b526dd8`. */
export function newMachineId(): string {
    return hex(7);
}

/** An app id like Fly's: 16 lowercase alphanumerics, e.g. `z4k69dxd8r31p5mx`. */
export function newAppId(): string {
    return randomLowerAlnum(16);
}

/** A lease nonce (opaque to clients). */
export function newNonce(): string {
    return hex(6);
}

/** A generated machine name, as Fly makes them: `aged-thunder-7371`. */
export function newMachineName(): string {
    return `${wordPair()}-${randomInt(1000, 10000)}`;
}

/** A 6PN private address in the app's network: `fdaa:0:<net>:a7b:<x>:<y>:<z>:2`. */
export function newPrivateIp(appId: string): string {
    const net = createHash("sha256")
        .update(appId)
        .digest("hex")
        .slice(0, 4)
        .replace(/^0+(?=.)/, "");
    const group = (): string => randomInt(1, 0x10000).toString(16);
    return `fdaa:0:${net}:a7b:${group()}:${group()}:${group()}:2`;
}

/** The digest Fly reports for a secret (never its value). */
export function secretDigest(value: string): string {
    return createHash("sha256").update(value).digest("hex").slice(0, 16);
}

/** RFC 3339 without fractional seconds, as Fly writes `created_at`/`updated_at`. */
export function rfc3339(ms: number = Date.now()): string {
    return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

// ---------------------------------------------------------------------------------------------
// Go durations
// ---------------------------------------------------------------------------------------------

// Its own copy of lib/facts/durations.ts (the emulator shares none of our understanding of Fly);
// localcloud/tests/fly-emulator-facts.test.ts holds the two equal.
const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, μs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Parses a Go duration string (`"15s"`, `"1m30s"`, `"500ms"`) into nanoseconds; `undefined` if malformed. */
export function parseGoDuration(text: string): number | undefined {
    if (text === "0") return 0;
    const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/gy;
    let total = 0;
    let consumed = 0;
    let match: RegExpExecArray | null;
    while ((match = re.exec(text)) !== null) {
        total += parseFloat(match[1]) * UNIT_NS[match[2]];
        consumed = re.lastIndex;
    }
    return consumed === text.length && consumed > 0 ? Math.round(total) : undefined;
}

function trimNumber(n: number): string {
    return Number(n.toFixed(9)).toString();
}

/** Formats nanoseconds the way Go's `time.Duration.String()` does: `15s`, `1m30s`, `500ms`, `1h0m0s`. */
export function formatGoDuration(ns: number): string {
    if (ns === 0) return "0s";
    const sign = ns < 0 ? "-" : "";
    const abs = Math.abs(ns);
    if (abs < 1e3) return `${sign}${abs}ns`;
    if (abs < 1e6) return `${sign}${trimNumber(abs / 1e3)}µs`;
    if (abs < 1e9) return `${sign}${trimNumber(abs / 1e6)}ms`;
    const hours = Math.floor(abs / 3600e9);
    const minutes = Math.floor((abs % 3600e9) / 60e9);
    const seconds = (abs % 60e9) / 1e9;
    let out = sign;
    if (hours > 0) out += `${hours}h`;
    if (hours > 0 || minutes > 0) out += `${minutes}m`;
    return `${out}${trimNumber(seconds)}s`;
}

/**
 * Accepts a duration as Fly does (a Go duration string, or an integer number of nanoseconds)
 * and returns Go's canonical string, which is what Fly sends back.
 */
export function normalizeDuration(value: unknown, field: string): string {
    if (typeof value === "number" && Number.isInteger(value) && value >= 0) return formatGoDuration(value);
    if (typeof value === "string") {
        const ns = parseGoDuration(value.trim());
        if (ns !== undefined) return formatGoDuration(ns);
    }
    throw badRequest(
        `invalid ${field}: ${JSON.stringify(value)} is not a duration (use a Go duration string such as "15s")`,
    );
}

// ---------------------------------------------------------------------------------------------
// Image references
// ---------------------------------------------------------------------------------------------

// The reference grammar of the OCI distribution spec (github.com/distribution/reference,
// `reference.go`): an optional registry host (with a port), lowercase path components, a tag, a digest.
const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*(?::[0-9]+)?)`;
const PATH_COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const IMAGE_REFERENCE = new RegExp(
    `^(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*(?::[\\w][\\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$`,
);
/** The longest repository name the grammar allows. */
const MAX_IMAGE_NAME_LENGTH = 255;

/**
 * Whether `image` is a valid image reference: `[registry[:port]/]repository[:tag][@sha256:<64 hex>]`
 * with the repository in lowercase. The emulator pulls nothing, so this is all it can check.
 */
export function isImageReference(image: string): boolean {
    const name = image.replace(/@.*$/, "").replace(/:[\w][\w.-]*$/, "");
    return IMAGE_REFERENCE.test(image) && name.length <= MAX_IMAGE_NAME_LENGTH;
}

export interface ImageRef {
    registry: string;
    repository: string;
    tag: string;
    digest: string;
    labels: Record<string, string>;
}

/**
 * Splits `config.image` into Fly's `image_ref`. Docker Hub short names resolve as Fly does,
 * through `docker-hub-mirror.fly.io` and `library/`. The emulator pulls nothing, so an image
 * without `@sha256:` gets a stable fake digest derived from its name.
 */
export function parseImageRef(image: string): ImageRef {
    let rest = image.trim();
    let digest = "";
    const at = rest.indexOf("@");
    if (at >= 0) {
        digest = rest.slice(at + 1);
        rest = rest.slice(0, at);
    }
    let registry = "docker-hub-mirror.fly.io";
    const slash = rest.indexOf("/");
    const first = slash >= 0 ? rest.slice(0, slash) : "";
    let path = rest;
    if (slash >= 0 && (first.includes(".") || first.includes(":") || first === "localhost")) {
        registry = first;
        path = rest.slice(slash + 1);
    } else if (slash < 0) {
        path = `library/${rest}`;
    }
    let tag = "";
    const colon = path.lastIndexOf(":");
    if (colon > path.lastIndexOf("/")) {
        tag = path.slice(colon + 1);
        path = path.slice(0, colon);
    } else if (!digest) {
        tag = "latest";
    }
    if (!digest) digest = `sha256:${createHash("sha256").update(image).digest("hex")}`;
    return { registry, repository: path, tag, digest, labels: {} };
}

export function isPlainObject(value: unknown): value is { [key: string]: unknown } {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}
