/**
 * The Fly emulator's model behind a thin facade: one object per Fly resource (`apps.ts`,
 * `machines.ts`, `leases.ts`, `secrets.ts`, `network.ts` for IPs and certificates) sharing one
 * `Model` (`model.ts`: the state, persisted after every mutation) and one `Lifecycle`
 * (`lifecycle.ts`: machine state transitions and waits). Each operation takes already parsed
 * request parts and returns a `Reply` (or throws `ApiError`); `server.ts` does the HTTP.
 */
import { Apps } from "./apps";
import { Edge } from "./edge";
import { Leases } from "./leases";
import { Lifecycle } from "./lifecycle";
import { Machines } from "./machines";
import { type CoreOptions, Model } from "./model";
import { Network } from "./network";
import { Secrets } from "./secrets";
import type { Inventory, JsonObject } from "./types";

export { DEFAULT_REGION } from "./machines";
export { SHARED_V4_ADDRESS } from "./network";
export type { CoreOptions, Reply } from "./model";

/** The emulated Fly Machines API: its resources, and the test-only views across them. */
export class FlyCore {
    readonly apps: Apps;
    readonly machines: Machines;
    readonly leases: Leases;
    readonly secrets: Secrets;
    readonly network: Network;
    /** `<app>.fly.dev` as the machines would serve it (`edge.ts`). */
    readonly edge: Edge;
    private readonly model: Model;
    private readonly lifecycle: Lifecycle;

    constructor(opts: CoreOptions) {
        this.model = new Model(opts);
        this.lifecycle = new Lifecycle(this.model);
        this.model.persist();
        this.leases = new Leases(this.model);
        this.secrets = new Secrets(this.model);
        this.network = new Network(this.model);
        this.apps = new Apps(this.model, this.lifecycle);
        this.machines = new Machines(this.model, this.lifecycle, this.leases, this.secrets);
        this.edge = new Edge(this.model);
    }

    /** Cancels pending transitions and answers pending waits (the server is going away). */
    close(): void {
        this.lifecycle.close();
        this.edge.close();
    }

    /** Every app with its live machines, IPs and certificates (test-only). */
    inventory(): Inventory {
        return {
            apps: this.model.state.apps.map((app) => ({
                name: app.name,
                id: app.id,
                org: app.org_slug,
                secrets_version: app.secrets_version,
                secret_names: app.secrets.map((s) => s.name),
                machines: this.model.liveMachines(app).map((m) => ({
                    id: m.id,
                    name: m.name,
                    region: m.region,
                    state: m.state,
                    instance_id: m.instance_id,
                    image: String(m.config.image),
                    guest: m.config.guest,
                    secrets_version: m.secrets_version,
                    cordoned: m.cordoned,
                    config: JSON.parse(JSON.stringify(m.config)) as JsonObject,
                })),
                ips: app.ips.map((ip) => this.network.ipWire(ip)),
                certificates: app.certificates.map((c) => ({
                    hostname: c.hostname,
                    status: this.network.certificateStatus(c),
                })),
            })),
        };
    }
}
