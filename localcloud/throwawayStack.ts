/**
 * Throwaway stacks of the real program for end-to-end tests and benchmarks: a copy of
 * `Pulumi.local.yaml` with names of its own (so stacks never collide in the local cloud),
 * run on the real engine in the local environment, and removed afterwards.
 */
import * as fs from "fs";
import * as path from "path";
import { parse, stringify } from "yaml";
import { localStackEnv, REPO_ROOT } from "./stackEnv";
import { policyArgs, pulumi, RunResult } from "../ops/pulumi";
import { EmulatorInventory, flyInventory } from "./summary";

export interface PreviewStep {
    op: string;
    urn: string;
    type?: string;
    detailedDiff?: Record<string, { kind: string }> | null;
    diffReasons?: string[];
}

export class ThrowawayStack {
    readonly name: string;
    readonly file: string;
    readonly env: NodeJS.ProcessEnv;
    readonly appName: string;

    /**
     * Writes `Pulumi.<prefix>-<suffix>.yaml` from the local stack file, with per-stack names and
     * `edit` applied to its config, and creates the stack in the local backend.
     */
    constructor(suffix: string, prefix = "e2e") {
        this.name = `${prefix}-${suffix}`;
        this.file = path.join(REPO_ROOT, `Pulumi.${this.name}.yaml`);
        this.env = localStackEnv();
        this.appName = `fpsgame-api-${this.name}`;
        const doc = parse(fs.readFileSync(path.join(REPO_ROOT, "Pulumi.local.yaml"), "utf8")) as {
            config: Record<string, Record<string, unknown>>;
        };
        const c = doc.config;
        c["fpsgame-infra:api"].appName = this.appName;
        c["fpsgame-infra:frontend"].projectName = `fpsgame-web-${this.name}`;
        // Vercel domains are unique across projects, as on Vercel.
        c["fpsgame-infra:frontend"].domain = `${this.name}.fpsgame.localhost`;
        c["fpsgame-infra:database"].projectName = `fpsgame-${this.name}`;
        c["fpsgame-infra:redis"].databaseName = `fpsgame-${this.name}`;
        fs.writeFileSync(this.file, stringify(doc));
    }

    /** `pulumi <args> --stack <name>` in the local environment, output captured. */
    run(args: string[]): Promise<RunResult> {
        return pulumi(this.name, args, { capture: true, env: this.env });
    }

    async ok(args: string[]): Promise<RunResult> {
        const r = await this.run(args);
        if (r.code !== 0) throw new Error(`pulumi ${args.join(" ")} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
        return r;
    }

    async init(): Promise<void> {
        await this.ok(["stack", "init"]);
    }

    /**
     * Sets a config value by path (`api.regions.sjc`), as an operator would. A secret goes
     * through stdin, never argv, so neither `ps` nor an error message can show it.
     */
    async configSet(pathKey: string, value: string, opts: { secret?: boolean } = {}): Promise<void> {
        const args = ["config", "set", "--path", `fpsgame-infra:${pathKey}`];
        if (!opts.secret) {
            await this.ok([...args, value]);
            return;
        }
        const r = await pulumi(this.name, [...args, "--secret", "--non-interactive"], {
            capture: true,
            env: this.env,
            input: value,
        });
        if (r.code !== 0)
            throw new Error(
                `pulumi config set --secret ${pathKey} failed (${r.code}): ${r.stderr.split(value).join("[secret]")}`,
            );
    }

    async up(extra: string[] = []): Promise<RunResult> {
        return this.run(["up", "--yes", "--skip-preview", "--non-interactive", ...extra]);
    }

    async upOk(extra: string[] = []): Promise<RunResult> {
        const r = await this.up(extra);
        if (r.code !== 0) throw new Error(`up failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
        return r;
    }

    /** The steps `pulumi preview --json` plans, without same-steps. */
    async previewSteps(extra: string[] = []): Promise<PreviewStep[]> {
        const r = await this.ok(["preview", "--json", "--non-interactive", ...extra]);
        const doc = JSON.parse(r.stdout) as { steps?: PreviewStep[] };
        return (doc.steps ?? []).filter((s) => s.op !== "same").map((s) => ({ ...s, type: urnType(s.urn) }));
    }

    /** The policy pack arguments for this stack (the local stack's policy config). */
    policy(): string[] {
        return policyArgs(this.name, "local");
    }

    /** The state file of the stack in the local file backend. */
    stateFile(): string {
        const base = this.env.PULUMI_BACKEND_URL!.replace(/^file:\/\//, "");
        const candidates = [
            path.join(base, ".pulumi", "stacks", "fpsgame-infra", `${this.name}.json`),
            path.join(base, ".pulumi", "stacks", `${this.name}.json`),
        ];
        const found = candidates.find((f) => fs.existsSync(f));
        if (!found) throw new Error(`no state file for ${this.name} under ${base}`);
        return found;
    }

    /** Resources of a type in the stack's state (outputs, secrets still encrypted). */
    async stateResources(type: string): Promise<{ urn: string; id: string; outputs: Record<string, unknown> }[]> {
        const r = await this.ok(["stack", "export"]);
        const doc = JSON.parse(r.stdout) as {
            deployment: { resources?: { type: string; urn: string; id: string; outputs: Record<string, unknown> }[] };
        };
        return (doc.deployment.resources ?? []).filter((x) => x.type === type);
    }

    async inventory(): Promise<EmulatorInventory["apps"][number] | undefined> {
        return (await flyInventory()).apps.find((a) => a.name === this.appName);
    }

    /** Machines per region in the Fly emulator. */
    async machinesPerRegion(): Promise<Record<string, number>> {
        const app = await this.inventory();
        const out: Record<string, number> = {};
        for (const m of app?.machines ?? []) out[m.region] = (out[m.region] ?? 0) + 1;
        return out;
    }

    /** Destroys the stack's resources and removes the stack and its file. */
    async remove(): Promise<void> {
        try {
            // A failed destroy would leave machines, databases and Redis servers behind with
            // no state pointing at them: fail loudly instead of removing the stack anyway.
            await this.ok(["destroy", "--yes", "--skip-preview", "--non-interactive"]);
            await this.ok(["stack", "rm", "--yes"]);
        } finally {
            fs.rmSync(this.file, { force: true });
        }
    }
}

/** The resource type in a URN: `urn:pulumi:<stack>::<project>::<parent$…$type>::<name>`. */
export function urnType(urn: string): string {
    const qualified = urn.split("::")[2] ?? "";
    return qualified.split("$").pop() ?? "";
}
