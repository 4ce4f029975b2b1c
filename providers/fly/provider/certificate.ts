/**
 * `fly:index:Certificate`: an ACME certificate for a custom hostname, through
 * `POST /v1/apps/{app}/certificates/acme`, `POST …/{hostname}/check` and
 * `DELETE /v1/apps/{app}/certificates/{hostname}`. Changing `app` or `hostname` replaces it; a
 * hostname can hold one certificate, so when only the app changes the old certificate is
 * deleted first.
 *
 * Fly issues the certificate only once the hostname's DNS points at the app, which no API call
 * can do; so a pending certificate is not a failure: the create succeeds with `status`
 * `pending_validation`, logs the DNS records to create, and keeps them in `dnsRecords`. A later
 * `refresh` (or `up --refresh`) reads `active` once Fly has issued it.
 */
import { CheckResult, CreateResult, DiffResult, ReadResult, UpdateResult } from "@pulumi/pulumi/provider";
import { CertificateInputs, CertificateOutputs } from "../types";
import { FlyApiError, FlyCertificate, isNotFound } from "./client";
import { asObject, compact, diffInputs, diffResult, pick, ProviderContext, ResourceModule } from "./common";
import { APP_NAME_ALLOWED, APP_NAME_RE, Checker } from "./validate";
import { unwrapSecrets } from "./values";

export const CERT_INPUT_KEYS = ["app", "hostname"] as const;
const HOSTNAME_RE = /^(\*\.)?([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

export function checkCertificate(_olds: unknown, news: unknown): CheckResult {
    const c = new Checker();
    const n = asObject(news);
    c.pattern(n, "app", "app", APP_NAME_RE, APP_NAME_ALLOWED, 'the Fly app name, e.g. "fpsgame-api"');
    c.pattern(
        n,
        "hostname",
        "hostname",
        HOSTNAME_RE,
        'a lowercase DNS name such as "api.example.com" (or "*.example.com")',
        'the custom hostname, e.g. "api.example.com"',
    );
    return c.failures.length ? { inputs: news, failures: c.failures } : { inputs: news };
}

export function diffCertificate(olds: unknown, news: unknown): DiffResult {
    const { changed, replaces } = diffInputs(olds, news, CERT_INPUT_KEYS, CERT_INPUT_KEYS);
    return diffResult(changed, replaces, replaces.length > 0 && !replaces.includes("hostname"));
}

function certInputs(raw: unknown): CertificateInputs {
    const o = asObject(unwrapSecrets(raw));
    return { app: String(o.app ?? ""), hostname: String(o.hostname ?? "") };
}

/** The records Fly asks for (`dns_requirements`), one line each: `CNAME <host> -> <target>`. */
export function dnsRecordLines(inputs: CertificateInputs, cert: FlyCertificate): string[] {
    const req = cert.dns_requirements ?? {};
    const cname = typeof req.cname === "string" && req.cname !== "" ? req.cname : `${inputs.app}.fly.dev`;
    const lines = [`CNAME ${inputs.hostname} -> ${cname}`];
    const strings = (v: unknown): string[] =>
        Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
    const a = strings(req.a);
    const aaaa = strings(req.aaaa);
    if (a.length || aaaa.length) {
        lines.push(
            `(or instead of the CNAME: ${[...a.map((x) => `A ${inputs.hostname} -> ${x}`), ...aaaa.map((x) => `AAAA ${inputs.hostname} -> ${x}`)].join(", ")})`,
        );
    }
    const challenge = req.acme_challenge as { name?: unknown; target?: unknown } | undefined;
    if (challenge && typeof challenge.name === "string" && typeof challenge.target === "string") {
        lines.push(`CNAME ${challenge.name} -> ${challenge.target}`);
    }
    return lines;
}

function outputs(inputs: CertificateInputs, cert: FlyCertificate): CertificateOutputs {
    const status = cert.status ?? "pending_validation";
    return {
        ...inputs,
        status,
        configured: cert.configured === true,
        cnameTarget: cert.dns_requirements?.cname ?? `${inputs.app}.fly.dev`,
        dnsRecords: status === "active" ? [] : dnsRecordLines(inputs, cert),
    };
}

/** Says, once per create or refresh, what a pending certificate waits for. */
function reportPending(ctx: ProviderContext, inputs: CertificateInputs, cert: FlyCertificate): void {
    if ((cert.status ?? "pending_validation") === "active") {
        return;
    }
    const why = (cert.validation_errors as { message?: unknown }[] | undefined)
        ?.map((v) => (typeof v.message === "string" ? v.message : ""))
        .filter((m) => m !== "");
    ctx.log(
        `certificate for "${inputs.hostname}" in app "${inputs.app}" is ${cert.status ?? "pending_validation"}: ` +
            `Fly issues it once these DNS records exist: ${dnsRecordLines(inputs, cert).join("; ")}` +
            `${why?.length ? ` (Fly's check: ${why.join("; ")})` : ""}. Then run a refresh (npm run up -- --refresh) to record it active.`,
    );
}

/** `POST …/check` (Fly re-validates the DNS); falls back to the plain read if the check fails. */
async function checkedCertificate(ctx: ProviderContext, app: string, hostname: string): Promise<FlyCertificate> {
    try {
        return await ctx.client.checkCertificate(app, hostname);
    } catch (e) {
        if (isNotFound(e)) {
            throw e;
        }
        ctx.log(`checking the DNS of certificate "${hostname}" failed (${(e as Error).message}); reading it instead`);
        return ctx.client.getCertificate(app, hostname);
    }
}

async function createCertificate(ctx: ProviderContext, raw: unknown): Promise<CreateResult> {
    const i = certInputs(raw);
    let cert: FlyCertificate;
    try {
        cert = await ctx.client.requestAcmeCertificate(i.app, i.hostname);
    } catch (e) {
        // Already requested for this app (a retried create): adopt it.
        if (!(e instanceof FlyApiError && (e.status === 409 || e.status === 422))) {
            throw e;
        }
        cert = await ctx.client.getCertificate(i.app, i.hostname).catch(() => {
            throw e;
        });
        ctx.log(`adopting existing certificate for "${i.hostname}" in app "${i.app}"`);
    }
    if (cert.status !== "active") {
        cert = await checkedCertificate(ctx, i.app, i.hostname);
    }
    reportPending(ctx, i, cert);
    return { id: i.hostname, outs: outputs(i, cert) };
}

/** Reads the certificate back; an `<app>/<hostname>` id imports it (`pulumi import`). */
async function readCertificate(ctx: ProviderContext, id: string, props: unknown): Promise<ReadResult> {
    let i = certInputs(props);
    if (i.app === "" && id.includes("/")) {
        const slash = id.indexOf("/");
        i = { app: id.slice(0, slash), hostname: id.slice(slash + 1) };
        id = i.hostname;
    }
    if (i.app === "") {
        throw new Error(`Fly: cannot read certificate "${id}": its app is unknown; import it as "<app>/<hostname>"`);
    }
    let cert: FlyCertificate;
    try {
        cert = await ctx.client.getCertificate(i.app, id);
        if (cert.status !== "active") {
            cert = await checkedCertificate(ctx, i.app, id);
        }
    } catch (e) {
        if (isNotFound(e)) {
            return { id: "", props: {} };
        }
        throw e;
    }
    reportPending(ctx, i, cert);
    return { id, props: outputs(i, cert), inputs: { ...i } };
}

async function updateCertificate(
    _ctx: ProviderContext,
    _id: string,
    olds: unknown,
    news: unknown,
): Promise<UpdateResult> {
    return {
        outs: compact({
            ...pick(news, CERT_INPUT_KEYS),
            ...pick(olds, ["status", "configured", "cnameTarget", "dnsRecords"]),
        }),
    };
}

async function deleteCertificate(ctx: ProviderContext, id: string, props: unknown): Promise<void> {
    const i = certInputs(props);
    try {
        await ctx.client.deleteCertificate(i.app, id);
    } catch (e) {
        if (!isNotFound(e)) {
            throw e;
        }
    }
}

export const certificate: ResourceModule = {
    check: checkCertificate,
    diff: diffCertificate,
    create: createCertificate,
    read: readCertificate,
    update: updateCertificate,
    delete: deleteCertificate,
};
