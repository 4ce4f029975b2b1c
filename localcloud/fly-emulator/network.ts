/**
 * The Fly emulator's network resources of an app: IP assignments (`/v1/apps/{app}/ip_assignments`)
 * and ACME certificates (`/v1/apps/{app}/certificates`), which turn active after `transitionDelayMs`.
 */
import { type Model, type Reply, requireObject } from "./model";
import type { IpAssignment, JsonObject, StoredApp, StoredCertificate, StoredIp } from "./types";
import { ApiError, badRequest, rfc3339 } from "./util";

/** The one shared IPv4 address every app's `shared_v4` assignment gets. */
export const SHARED_V4_ADDRESS = "66.241.124.100";
const HOSTNAME_RE = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

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
            ready_at_ms: now + this.model.opts.transitionDelayMs,
        };
        app.certificates.push(cert);
        // The answer describes the certificate as requested (pending); built before the state
        // file is written, so a slow disk cannot make a just-requested certificate look active.
        const detail = this.certificateDetail(app, cert);
        this.model.persist();
        return { status: 201, body: detail };
    }

    getCertificate(appName: string, hostname: string, check: boolean): Reply {
        const app = this.model.app(appName);
        const cert = this.certificate(app, hostname);
        const detail = this.certificateDetail(app, cert);
        if (check) {
            const active = Date.now() >= cert.ready_at_ms;
            const a = app.ips.filter((ip) => ip.type === "v4" || ip.type === "shared_v4").map((ip) => ip.ip);
            const aaaa = app.ips.filter((ip) => ip.type === "v6").map((ip) => ip.ip);
            detail.dns_records = {
                a: active ? a : [],
                aaaa: active ? aaaa : [],
                cname: active ? [`${app.name}.fly.dev`] : [],
                resolved_addresses: active ? [...a, ...aaaa] : [],
                soa: null,
                acme_challenge_cname: null,
                ownership_txt: null,
            };
        }
        return { status: 200, body: detail };
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
        return Date.now() >= c.ready_at_ms ? "active" : "pending_validation";
    }

    private certificateSummary(c: StoredCertificate): JsonObject {
        const active = Date.now() >= c.ready_at_ms;
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
            updated_at: active ? rfc3339(Math.max(c.ready_at_ms, Date.parse(c.updated_at))) : c.updated_at,
        };
    }

    private certificateDetail(app: StoredApp, c: StoredCertificate): JsonObject {
        const active = Date.now() >= c.ready_at_ms;
        const issuedAt = Math.max(c.ready_at_ms, Date.parse(c.created_at));
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
