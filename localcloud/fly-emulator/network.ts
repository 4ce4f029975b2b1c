/**
 * The Fly emulator's network resources of an app: IP assignments (`/v1/apps/{app}/ip_assignments`)
 * and ACME certificates (`/v1/apps/{app}/certificates`). A certificate stays `pending_validation`
 * until its hostname's DNS is marked valid (`POST /__emulator/dns`, the emulator's stand-in for the
 * world's DNS), and turns `active` `transitionDelayMs` after that, as Fly issues one only once
 * the hostname resolves to the app.
 */
import { type Model, type Reply, requireObject } from "./model";
import type { IpAssignment, JsonObject, StoredApp, StoredCertificate, StoredIp } from "./types";
import { ApiError, badRequest, rfc3339 } from "./util";

/** The one shared IPv4 address every app's `shared_v4` assignment gets. */
export const SHARED_V4_ADDRESS = "66.241.124.100";
const HOSTNAME_RE = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

/** Whether the certificate has been issued: its DNS was marked valid and the issuance delay has passed. */
function isIssued(c: StoredCertificate): boolean {
    return c.ready_at_ms !== null && Date.now() >= c.ready_at_ms;
}

/** `/v1/apps/{app}/ip_assignments` and `/v1/apps/{app}/certificates`. */
export class Network {
    constructor(private readonly model: Model) {}

    listIps(appName: string): Reply {
        const app = this.model.app(appName);
        return { status: 200, body: { ips: app.ips.map((ip) => this.ipWire(ip)) } };
    }

    assignIp(appName: string, rawBody: unknown): Reply {
        const app = this.model.app(appName);
        const body = requireObject(rawBody);
        const type = body.type;
        if (type !== "v4" && type !== "v6" && type !== "shared_v4" && type !== "private_v6") {
            throw badRequest(`invalid type ${JSON.stringify(type)}: use v4, v6, shared_v4 or private_v6`);
        }
        const region = typeof body.region === "string" && body.region !== "" ? body.region : "global";
        const serviceName = typeof body.service_name === "string" ? body.service_name : "";
        if (type === "shared_v4") {
            const existing = app.ips.find((ip) => ip.type === "shared_v4");
            if (existing) return { status: 200, body: this.ipWire(existing) };
        }
        const c = this.model.state.counters;
        let address: string;
        if (type === "shared_v4") address = SHARED_V4_ADDRESS;
        else if (type === "v4") {
            const n = ++c.v4;
            address = `137.66.${Math.floor(n / 254) % 256}.${(n % 254) + 1}`;
        } else if (type === "v6") address = `2a09:8280:1::${(++c.v6).toString(16)}`;
        else
            address = `fdaa:0:${(app.internal_numeric_id % 0xffff).toString(16)}:0:1::${(++c.private_v6).toString(16)}`;
        const ip: StoredIp = {
            ip: address,
            type,
            region,
            service_name: serviceName,
            shared: type === "shared_v4",
            created_at: rfc3339(),
        };
        app.ips.push(ip);
        this.model.persist();
        return { status: 200, body: this.ipWire(ip) };
    }

    releaseIp(appName: string, address: string): Reply {
        const app = this.model.app(appName);
        const index = app.ips.findIndex((ip) => ip.ip === address);
        if (index < 0) throw new ApiError(404, "ip assignment not found");
        app.ips.splice(index, 1);
        this.model.persist();
        return { status: 204 };
    }

    listCertificates(appName: string, query: URLSearchParams): Reply {
        const app = this.model.app(appName);
        const filter = query.get("filter") ?? "";
        const certificates = app.certificates
            .filter((c) => c.hostname.includes(filter))
            .map((c) => this.certificateSummary(c));
        return { status: 200, body: { certificates, total_count: certificates.length } };
    }

    requestAcmeCertificate(appName: string, rawBody: unknown): Reply {
        const app = this.model.app(appName);
        const body = requireObject(rawBody);
        const hostname = typeof body.hostname === "string" ? body.hostname.trim().toLowerCase() : "";
        if (!HOSTNAME_RE.test(hostname)) throw badRequest(`invalid hostname ${JSON.stringify(body.hostname)}`);
        if (hostname.endsWith(".fly.dev"))
            throw badRequest(`${hostname} is a fly.dev hostname; certificates are only for custom domains`);
        const owner = this.model.state.apps.find((a) => a.certificates.some((c) => c.hostname === hostname));
        if (owner && owner !== app)
            throw new ApiError(409, `hostname ${hostname} already has a certificate on another app`);
        const existing = app.certificates.find((c) => c.hostname === hostname);
        if (existing) return { status: 200, body: this.certificateDetail(app, existing) };
        const now = Date.now();
        const cert: StoredCertificate = {
            hostname,
            created_at: rfc3339(now),
            updated_at: rfc3339(now),
            ready_at_ms: this.dnsValid(hostname) ? now + this.model.opts.transitionDelayMs : null,
        };
        app.certificates.push(cert);
        // The answer describes the certificate as requested (pending); built before the state
        // file is written, so a slow disk cannot make a just-requested certificate look active.
        const detail = this.certificateDetail(app, cert);
        this.model.persist();
        return { status: 201, body: detail };
    }

    /**
     * `GET …/{hostname}`, and `POST …/{hostname}/check`, which also reports what the hostname's
     * DNS holds (`dns_records`) and, while it does not point at the app, why (`validation_errors`).
     */
    getCertificate(appName: string, hostname: string, check: boolean): Reply {
        const app = this.model.app(appName);
        const cert = this.certificate(app, hostname);
        const detail = this.certificateDetail(app, cert);
        if (check) {
            const resolves = this.dnsValid(cert.hostname);
            const a = app.ips.filter((ip) => ip.type === "v4" || ip.type === "shared_v4").map((ip) => ip.ip);
            const aaaa = app.ips.filter((ip) => ip.type === "v6").map((ip) => ip.ip);
            detail.dns_records = {
                a: resolves ? a : [],
                aaaa: resolves ? aaaa : [],
                cname: resolves ? [`${app.name}.fly.dev`] : [],
                resolved_addresses: resolves ? [...a, ...aaaa] : [],
                soa: null,
                acme_challenge_cname: null,
                ownership_txt: null,
            };
            if (!resolves) {
                detail.validation_errors = [
                    {
                        message: `${cert.hostname} has no CNAME to ${app.name}.fly.dev and no A/AAAA record with the app's addresses`,
                        remediation: `create a CNAME record ${cert.hostname} -> ${app.name}.fly.dev (or A/AAAA records with the app's IPs)`,
                        timestamp: rfc3339(),
                    },
                ];
            }
        }
        return { status: 200, body: detail };
    }

    /**
     * Test-only (`POST /__emulator/dns {hostname, valid}`): says whether `hostname` now resolves to
     * Fly. Marking it valid lets its pending certificates issue after `transitionDelayMs`; marking
     * it invalid again leaves an issued certificate active (Fly does not revoke one for that).
     */
    setDns(rawBody: unknown): Reply {
        const body = requireObject(rawBody);
        const hostname = typeof body.hostname === "string" ? body.hostname.trim().toLowerCase() : "";
        if (!HOSTNAME_RE.test(hostname)) throw badRequest(`invalid hostname ${JSON.stringify(body.hostname)}`);
        if (body.valid !== undefined && typeof body.valid !== "boolean")
            throw badRequest("invalid valid: must be a boolean (default true)");
        const valid = body.valid !== false;
        const state = this.model.state;
        const others = (state.dns_valid ?? []).filter((h) => h !== hostname);
        state.dns_valid = valid ? [...others, hostname] : others;
        const now = Date.now();
        const issuing: string[] = [];
        for (const app of state.apps) {
            for (const c of app.certificates) {
                if (valid && c.hostname === hostname && c.ready_at_ms === null) {
                    c.ready_at_ms = now + this.model.opts.transitionDelayMs;
                    c.updated_at = rfc3339(now);
                    issuing.push(app.name);
                }
            }
        }
        this.model.persist();
        return { status: 200, body: { hostname, valid, issuing_for_apps: issuing } };
    }

    private dnsValid(hostname: string): boolean {
        return (this.model.state.dns_valid ?? []).includes(hostname);
    }

    deleteCertificate(appName: string, hostname: string): Reply {
        const app = this.model.app(appName);
        const cert = this.certificate(app, hostname);
        app.certificates = app.certificates.filter((c) => c !== cert);
        this.model.persist();
        return { status: 204 };
    }

    private certificate(app: StoredApp, hostname: string): StoredCertificate {
        const cert = app.certificates.find((c) => c.hostname === hostname.toLowerCase());
        if (!cert) throw new ApiError(404, "certificate not found");
        return cert;
    }

    ipWire(ip: StoredIp): IpAssignment {
        return {
            ip: ip.ip,
            region: ip.region,
            service_name: ip.service_name,
            shared: ip.shared,
            created_at: ip.created_at,
        };
    }

    certificateStatus(c: StoredCertificate): string {
        return isIssued(c) ? "active" : "pending_validation";
    }

    private certificateSummary(c: StoredCertificate): JsonObject {
        const active = isIssued(c);
        return {
            hostname: c.hostname,
            status: this.certificateStatus(c),
            acme_dns_configured: active,
            acme_alpn_configured: active,
            acme_http_configured: false,
            ownership_txt_configured: false,
            configured: active,
            acme_requested: true,
            has_custom_certificate: false,
            has_fly_certificate: active,
            created_at: c.created_at,
            updated_at: active ? rfc3339(Math.max(c.ready_at_ms ?? 0, Date.parse(c.updated_at))) : c.updated_at,
        };
    }

    private certificateDetail(app: StoredApp, c: StoredCertificate): JsonObject {
        const active = isIssued(c);
        const issuedAt = Math.max(c.ready_at_ms ?? 0, Date.parse(c.created_at));
        const expiresAt = rfc3339(issuedAt + 90 * 24 * 3600 * 1000);
        const bare = c.hostname.replace(/^\*\./, "");
        return {
            hostname: c.hostname,
            configured: active,
            acme_requested: true,
            status: this.certificateStatus(c),
            dns_provider: "unknown",
            certificates: active
                ? [
                      {
                          source: "fly",
                          status: "active",
                          created_at: rfc3339(issuedAt),
                          expires_at: expiresAt,
                          issuer: "C=US, O=Let's Encrypt, CN=E6",
                          issued: [
                              { type: "ecdsa", expires_at: expiresAt, certificate_authority: "lets_encrypt" },
                              { type: "rsa", expires_at: expiresAt, certificate_authority: "lets_encrypt" },
                          ],
                      },
                  ]
                : [],
            validation: {
                dns_configured: active,
                alpn_configured: active,
                http_configured: false,
                ownership_txt_configured: false,
            },
            dns_requirements: {
                a: app.ips.filter((ip) => ip.type === "v4" || ip.type === "shared_v4").map((ip) => ip.ip),
                aaaa: app.ips.filter((ip) => ip.type === "v6").map((ip) => ip.ip),
                cname: `${app.name}.fly.dev`,
                acme_challenge: { name: `_acme-challenge.${bare}`, target: `${bare}.${app.id.slice(0, 6)}.flydns.net` },
                ownership: {
                    name: `_fly-ownership.${bare}`,
                    app_value: `app-${app.id}`,
                    org_value: `org-${app.org_slug}`,
                },
            },
            validation_errors: [],
        };
    }
}
