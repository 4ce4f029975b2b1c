/**
 * `fly:index:Certificate`: an ACME certificate for a custom hostname, through
 * `POST /v1/apps/{app}/certificates/acme` and `DELETE /v1/apps/{app}/certificates/{hostname}`.
 * Changing `app` or `hostname` replaces it; a hostname can hold one certificate, so when
 * only the app changes the old certificate is deleted first.
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

function outputs(inputs: CertificateInputs, cert: FlyCertificate): CertificateOutputs {
    return {
        ...inputs,
        status: cert.status ?? "pending_validation",
        cnameTarget: cert.dns_requirements?.cname ?? `${inputs.app}.fly.dev`,
    };
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
    return { id: i.hostname, outs: outputs(i, cert) };
}

async function readCertificate(ctx: ProviderContext, id: string, props: unknown): Promise<ReadResult> {
    const i = certInputs(props);
    let cert: FlyCertificate;
    try {
        cert = await ctx.client.getCertificate(i.app, id);
    } catch (e) {
        if (isNotFound(e)) {
            return { id: "", props: {} };
        }
        throw e;
    }
    return { id, props: outputs(i, cert), inputs: { ...i } };
}

async function updateCertificate(
    _ctx: ProviderContext,
    _id: string,
    olds: unknown,
    news: unknown,
): Promise<UpdateResult> {
    return { outs: compact({ ...pick(news, CERT_INPUT_KEYS), ...pick(olds, ["status", "cnameTarget"]) }) };
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
