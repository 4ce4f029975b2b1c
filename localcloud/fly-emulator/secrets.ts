/**
 * The Fly emulator's app secrets: `/v1/apps/{app}/secrets`, the app's secrets version, and the
 * values a machine is given at create and update (gated by `min_secrets_version`).
 */
import { type Model, type Reply, requireObject, truthy } from "./model";
import type { JsonObject, StoredApp, StoredMachine } from "./types";
import { ApiError, badRequest, isPlainObject, rfc3339, secretDigest } from "./util";

const SECRET_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `/v1/apps/{app}/secrets`. */
export class Secrets {
    constructor(private readonly model: Model) {}

    listSecrets(appName: string, query: URLSearchParams): Reply {
        const app = this.model.app(appName);
        this.checkSecretsReadVersion(app, query);
        const show = truthy(query.get("show_secrets"));
        return { status: 200, body: { secrets: app.secrets.map((s) => this.secretWire(s, show)) } };
    }

    getSecret(appName: string, name: string, query: URLSearchParams): Reply {
        const app = this.model.app(appName);
        this.checkSecretsReadVersion(app, query);
        const secret = app.secrets.find((s) => s.name === name);
        if (!secret) throw new ApiError(404, "secret not found");
        return { status: 200, body: this.secretWire(secret, truthy(query.get("show_secrets"))) };
    }

    setSecret(appName: string, name: string, rawBody: unknown): Reply {
        const app = this.model.app(appName);
        const body = requireObject(rawBody);
        if (typeof body.value !== "string") throw badRequest("value is required and must be a string");
        this.applySecrets(app, { [name]: body.value });
        const secret = app.secrets.find((s) => s.name === name);
        return { status: 200, body: { ...this.secretWire(secret!, false), version: app.secrets_version } };
    }

    deleteSecret(appName: string, name: string): Reply {
        const app = this.model.app(appName);
        if (!app.secrets.some((s) => s.name === name)) throw new ApiError(404, "secret not found");
        this.applySecrets(app, { [name]: null });
        return { status: 200, body: { version: app.secrets_version } };
    }

    updateSecrets(appName: string, rawBody: unknown): Reply {
        const app = this.model.app(appName);
        const body = requireObject(rawBody);
        if (!isPlainObject(body.values))
            throw badRequest("values is required: an object of secret name to value (null unsets)");
        const changes: Record<string, string | null> = {};
        for (const [name, value] of Object.entries(body.values)) {
            if (value !== null && typeof value !== "string")
                throw badRequest(`invalid value for secret ${name}: must be a string, or null to unset`);
            changes[name] = value;
        }
        if (Object.keys(changes).length === 0) throw badRequest("values must name at least one secret");
        this.applySecrets(app, changes);
        return {
            status: 200,
            body: { secrets: app.secrets.map((s) => this.secretWire(s, false)), version: app.secrets_version },
        };
    }

    /** The app's current secret values and version (test-only; never on the `/v1` API). */
    secretValues(appName: string): { app: string; version: number; values: Record<string, string> } {
        const app = this.model.app(appName);
        return {
            app: app.name,
            version: app.secrets_version,
            values: Object.fromEntries(app.secrets.map((s) => [s.name, s.value])),
        };
    }

    checkMinSecretsVersion(app: StoredApp, min: number | undefined): void {
        if (min !== undefined && min > app.secrets_version) {
            throw new ApiError(
                422,
                `min_secrets_version ${min} is newer than app ${app.name}'s secrets version ${app.secrets_version}`,
            );
        }
    }

    private checkSecretsReadVersion(app: StoredApp, query: URLSearchParams): void {
        const raw = query.get("version");
        if (raw === null || raw === "") return;
        const version = Number(raw);
        if (!Number.isInteger(version) || version < 0) throw badRequest(`invalid version ${JSON.stringify(raw)}`);
        if (version > app.secrets_version) {
            throw new ApiError(
                422,
                `secrets version ${version} is newer than app ${app.name}'s secrets version ${app.secrets_version}`,
            );
        }
    }

    /** Machines pick secrets up only on create/update: record the version and values they were given. */
    giveSecrets(app: StoredApp, m: StoredMachine, skip: boolean): void {
        m.secrets_version = skip ? null : app.secrets_version;
        m.secret_values = skip ? {} : Object.fromEntries(app.secrets.map((s) => [s.name, s.value]));
    }

    /** Sets (string) or unsets (null) secrets, bumping the app's secrets version once. */
    private applySecrets(app: StoredApp, changes: Record<string, string | null>): void {
        for (const name of Object.keys(changes)) {
            if (!SECRET_NAME_RE.test(name)) {
                throw badRequest(
                    `invalid secret name ${JSON.stringify(name)}: use letters, digits and underscores, not starting with a digit`,
                );
            }
        }
        const now = rfc3339();
        for (const [name, value] of Object.entries(changes)) {
            const index = app.secrets.findIndex((s) => s.name === name);
            if (value === null) {
                if (index >= 0) app.secrets.splice(index, 1);
            } else if (index >= 0) {
                app.secrets[index] = { ...app.secrets[index], value, digest: secretDigest(value), updated_at: now };
            } else {
                app.secrets.push({ name, value, digest: secretDigest(value), created_at: now, updated_at: now });
            }
        }
        app.secrets.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
        app.secrets_version++;
        this.model.persist();
    }

    private secretWire(
        s: { name: string; value: string; digest: string; created_at: string; updated_at: string },
        showValue: boolean,
    ): JsonObject {
        const wire: JsonObject = { name: s.name, digest: s.digest, created_at: s.created_at, updated_at: s.updated_at };
        if (showValue) wire.value = s.value;
        return wire;
    }
}
