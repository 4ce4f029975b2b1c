/**
 * The Fly emulator's machine leases: `/v1/apps/{app}/machines/{id}/lease`. A leased machine's
 * mutations need the lease's nonce (`fly-machine-lease-nonce`).
 */
import { ulid } from "ulid";
import { type Model, type Reply, requireObject } from "./model";
import type { StoredLease, StoredMachine } from "./types";
import { ApiError, badRequest, newNonce, rfc3339 } from "./util";

const DEFAULT_LEASE_TTL_SECONDS = 30;
const LEASE_OWNER = "local@fly-emulator";

/** `/v1/apps/{app}/machines/{id}/lease`, and the lease check of every machine mutation. */
export class Leases {
    constructor(private readonly model: Model) {}

    acquireLease(
        appName: string,
        id: string,
        query: URLSearchParams,
        rawBody: unknown,
        nonce: string | undefined,
    ): Reply {
        const app = this.model.app(appName);
        const m = this.model.machine(app, id);
        const body = rawBody === undefined ? {} : requireObject(rawBody);
        const ttlRaw = query.get("ttl") ?? body.ttl ?? DEFAULT_LEASE_TTL_SECONDS;
        const ttl = typeof ttlRaw === "string" ? Number(ttlRaw) : ttlRaw;
        if (typeof ttl !== "number" || !Number.isInteger(ttl) || ttl < 1)
            throw badRequest("invalid ttl: must be a positive integer number of seconds");
        const description = typeof body.description === "string" ? body.description : "";
        const current = this.activeLease(m);
        if (current) {
            if (nonce !== current.nonce) throw this.leaseConflict(m, current);
            current.expires_at_ms = Date.now() + ttl * 1000;
            current.version = ulid();
            if (description) current.description = description;
            this.model.persist();
            return { status: 200, body: this.leaseWire(current) };
        }
        m.lease = this.newLease(ttl, description);
        this.model.persist();
        return { status: 201, body: this.leaseWire(m.lease) };
    }

    getLease(appName: string, id: string): Reply {
        const app = this.model.app(appName);
        const lease = this.activeLease(this.model.machine(app, id));
        if (!lease) throw new ApiError(404, "lease not found");
        return { status: 200, body: this.leaseWire(lease) };
    }

    releaseLease(appName: string, id: string, nonce: string | undefined): Reply {
        const app = this.model.app(appName);
        // Releasing after a destroy is routine (flyctl defers the release), so destroyed machines are accepted.
        const m = this.model.machine(app, id, { allowDestroyed: true });
        const lease = this.activeLease(m);
        if (lease) {
            if (nonce !== lease.nonce) throw this.leaseConflict(m, lease);
            delete m.lease;
            this.model.persist();
        }
        return { status: 200, body: { status: "success", data: { ok: true } } };
    }

    /** Mutations of a leased machine need the lease's nonce. */
    checkLease(m: StoredMachine, nonce: string | undefined): void {
        const lease = this.activeLease(m);
        if (lease && nonce !== lease.nonce) throw this.leaseConflict(m, lease);
    }

    newLease(ttlSeconds: number, description: string): StoredLease {
        return {
            nonce: newNonce(),
            expires_at_ms: Date.now() + ttlSeconds * 1000,
            owner: LEASE_OWNER,
            description,
            version: ulid(),
        };
    }

    private activeLease(m: StoredMachine): StoredLease | undefined {
        if (m.lease && m.lease.expires_at_ms > Date.now()) return m.lease;
        delete m.lease;
        return undefined;
    }

    private leaseConflict(m: StoredMachine, lease: StoredLease): ApiError {
        return new ApiError(
            409,
            `machine ID ${m.id} lease currently held by ${lease.owner}, expires at ${rfc3339(lease.expires_at_ms)}; send its nonce in the fly-machine-lease-nonce header`,
        );
    }

    private leaseWire(lease: StoredLease): unknown {
        return {
            status: "success",
            data: {
                nonce: lease.nonce,
                expires_at: Math.floor(lease.expires_at_ms / 1000),
                owner: lease.owner,
                description: lease.description,
                version: lease.version,
            },
        };
    }
}
