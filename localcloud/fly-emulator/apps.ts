/** The Fly emulator's apps: `/v1/apps` create, get, list and delete. */
import type { Lifecycle } from "./lifecycle";
import { type Model, type Reply, requireObject, truthy } from "./model";
import type { JsonObject, StoredApp } from "./types";
import { ApiError, badRequest, newAppId } from "./util";

const APP_NAME_RE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** `/v1/apps`. */
export class Apps {
    constructor(
        private readonly model: Model,
        private readonly lifecycle: Lifecycle,
    ) {}

    createApp(rawBody: unknown): Reply {
        const body = requireObject(rawBody);
        const name = body.app_name ?? body.name;
        if (typeof name !== "string" || name === "") throw badRequest("app_name is required");
        if (!APP_NAME_RE.test(name)) {
            throw badRequest(
                `invalid app_name ${JSON.stringify(name)}: use 1-63 lowercase letters, digits and dashes, not starting or ending with a dash`,
            );
        }
        const org = body.org_slug;
        if (typeof org !== "string" || org === "") throw badRequest("org_slug is required");
        if (this.model.state.apps.some((a) => a.name === name)) {
            // App names are global across all organizations on Fly.
            throw new ApiError(422, "Name has already been taken", "name_taken");
        }
        const network = typeof body.network === "string" ? body.network : "";
        const app: StoredApp = {
            id: newAppId(),
            name,
            org_slug: org,
            network,
            internal_numeric_id: ++this.model.state.counters.app_numeric_id,
            created_at_ms: Date.now(),
            secrets_version: 0,
            secrets: [],
            machines: [],
            ips: [],
            certificates: [],
        };
        this.model.state.apps.push(app);
        this.model.persist();
        return { status: 201, body: { ...this.appWire(app), created_at: app.created_at_ms } };
    }

    getApp(name: string): Reply {
        return { status: 200, body: this.appWire(this.model.app(name)) };
    }

    listApps(query: URLSearchParams): Reply {
        const org = query.get("org_slug");
        const apps = this.model.state.apps
            .filter((a) => !org || a.org_slug === org)
            .map((a) => ({
                id: a.id,
                name: a.name,
                machine_count: this.model.liveMachines(a).length,
                volume_count: 0,
                network: a.network,
            }));
        return { status: 200, body: { total_apps: apps.length, apps } };
    }

    deleteApp(name: string, query: URLSearchParams): Reply {
        const app = this.model.app(name);
        const live = this.model.liveMachines(app);
        if (live.length > 0 && !truthy(query.get("force"))) {
            throw new ApiError(
                412,
                `app ${name} still has ${live.length} machine(s); destroy them first or delete the app with force=true`,
            );
        }
        for (const m of live) this.lifecycle.destroy(m, "user");
        this.model.state.apps = this.model.state.apps.filter((a) => a !== app);
        this.model.persist();
        return { status: 202 };
    }

    private appWire(app: StoredApp): JsonObject {
        const live = this.model.liveMachines(app);
        return {
            id: app.id,
            name: app.name,
            status: live.length > 0 ? "deployed" : "pending",
            organization: { name: app.org_slug, slug: app.org_slug },
            internal_numeric_id: app.internal_numeric_id,
            network: app.network,
            machine_count: live.length,
            volume_count: 0,
            cname_target: `${app.name}.fly.dev`,
            app_role: "",
        };
    }
}
