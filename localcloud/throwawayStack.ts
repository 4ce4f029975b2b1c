/**
 * Throwaway stacks of the real program for end-to-end tests and benchmarks: a copy of
 * `Pulumi.local.yaml` with names of its own (so stacks never collide in the local cloud),
 * run on the real engine in the local environment through the Automation API, and removed
 * afterwards.
 */
import { Deployment, EngineEvent, OpType, PropertyDiff } from "@pulumi/pulumi/automation";
import * as fs from "fs";
import * as path from "path";
import { parse, stringify } from "yaml";
import { localStackEnv, REPO_ROOT } from "./stackEnv";
import { checkpointDeployment, fileBackendDir, stackCheckpoint } from "../ops/backend";
import { policyOptions } from "../ops/pulumi";
import {
    openStack,
    OpOutput,
    PROJECT,
    ProjectStack,
    runOp,
    runPulumi,
    setSecretConfig,
    upStack,
} from "../ops/workspace";
import { EmulatorInventory, flyInventory } from "./summary";

/** A step the engine plans, from the preview's events. */
export interface PreviewStep {
    op: OpType;
    urn: string;
    type: string;
    detailedDiff?: Record<string, PropertyDiff>;
    diffReasons?: string[];
}

/** What an operation printed and whether it succeeded. */
export type RunResult = OpOutput;

/** A resource in the stack's state. */
export interface StateResource {
    urn: string;
    id: string;
    type: string;
    outputs: Record<string, unknown>;
}

/** What the tests read of a deployment. */
interface StateDeployment {
    resources?: StateResource[];
    pending_operations?: { type: string; resource: { urn: string } }[];
}

export interface OpOptions {
    /** Run the policy pack with the local stack's policy config. */
    policy?: boolean;
    /** `up` only: run a preview first (with the same policy), and stop there if it fails. */
    preview?: boolean;
}

export class ThrowawayStack {
    readonly name: string;
    readonly file: string;
    readonly env: NodeJS.ProcessEnv;
    readonly appName: string;
    private opened?: Promise<ProjectStack>;

    /** The program's folder: this checkout, or a variant of it (see {@link ThrowawayStack.constructor}). */
    readonly workDir: string;

    /**
     * Writes `Pulumi.<prefix>-<suffix>.yaml` from the local stack file, with per-stack names.
     * `init()` creates the stack in the local backend. With `workDir` (a variant of the program,
     * e.g. with a migration of its own), the stack file lives there and the checkout holds a
     * link to it, as the project's commands look for stack files in the checkout.
     */
    constructor(suffix: string, prefix = "e2e", workDir: string = REPO_ROOT, env: NodeJS.ProcessEnv = process.env) {
        this.name = `${prefix}-${suffix}`;
        this.workDir = workDir;
        this.file = path.join(workDir, `Pulumi.${this.name}.yaml`);
        // `env` picks the local cloud's options, e.g. LOCALCLOUD_BACKEND=postgres.
        this.env = localStackEnv(env);
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
        if (workDir !== REPO_ROOT) {
            fs.rmSync(this.linkInCheckout(), { force: true });
            fs.symlinkSync(this.file, this.linkInCheckout());
        }
    }

    private linkInCheckout(): string {
        return path.join(REPO_ROOT, `Pulumi.${this.name}.yaml`);
    }

    /** The stack on the Automation API (created by `init()`, else selected). */
    stack(): Promise<ProjectStack> {
        this.opened ??= openStack(this.name, { env: this.env, workDir: this.workDir });
        return this.opened;
    }

    /**
     * Creates the stack in the local backend. One left by a run that died before its cleanup is
     * destroyed and removed first (with a line saying so), so a crashed run cannot wedge the next.
     */
    async init(): Promise<void> {
        const existing = await openStack(this.name, { mode: "ensure", env: this.env, workDir: this.workDir });
        if (!existing.created) {
            process.stderr.write(
                `${this.name}: a stack left by an earlier run exists; destroying and removing it first\n`,
            );
            this.opened = Promise.resolve(existing);
            const text = fs.readFileSync(this.file, "utf8");
            await this.remove();
            fs.writeFileSync(this.file, text);
            this.opened = openStack(this.name, { mode: "create", env: this.env, workDir: this.workDir });
        } else {
            this.opened = Promise.resolve(existing);
        }
        await this.opened;
    }

    /**
     * `pulumi <args> --stack <name>` in the local environment, output captured: for what the
     * Automation API has no method for.
     */
    async run(args: string[]): Promise<RunResult> {
        return runPulumi(this.name, [...args, "--stack", this.name], { capture: true }, this.env);
    }

    /** {@link run}, throwing when the command fails. */
    async ok(args: string[]): Promise<RunResult> {
        const r = await this.run(args);
        if (r.code !== 0) throw new Error(`pulumi ${args.join(" ")} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
        return r;
    }

    /**
     * Sets a config value by path (`api.regions.sjc`), as an operator would. A secret goes
     * through stdin, never argv (see setSecretConfig), so neither `ps` nor an error shows it.
     */
    async configSet(pathKey: string, value: string, opts: { secret?: boolean } = {}): Promise<void> {
        const ps = await this.stack();
        const key = `${PROJECT}:${pathKey}`;
        if (opts.secret) await setSecretConfig(ps, key, value, { path: true });
        else await ps.stack.setConfig(key, { value, secret: false }, true);
    }

    /** Removes a config value by path. */
    async configRemove(pathKey: string): Promise<void> {
        await (await this.stack()).stack.removeConfig(`${PROJECT}:${pathKey}`, true);
    }

    private policyFor(opts: OpOptions): ReturnType<typeof policyOptions> | Record<string, never> {
        return opts.policy ? policyOptions(this.name, "local") : {};
    }

    /** A preview (with the policy pack if asked). */
    async preview(opts: OpOptions = {}): Promise<RunResult> {
        const ps = await this.stack();
        return runOp((s) => ps.stack.preview({ ...this.policyFor(opts), ...s }));
    }

    /** An up (by default without a preview of its own, as the Automation API runs it). */
    async up(opts: OpOptions = {}): Promise<RunResult> {
        if (opts.preview) {
            const p = await this.preview(opts);
            if (p.code !== 0) return p;
        }
        const ps = await this.stack();
        return runOp((s) => upStack(ps.stack, { ...this.policyFor(opts), ...s }));
    }

    /** {@link up}, throwing when it fails. */
    async upOk(opts: OpOptions = {}): Promise<RunResult> {
        const r = await this.up(opts);
        if (r.code !== 0) throw new Error(`up failed:\n${r.stdout}\n${r.stderr}`);
        return r;
    }

    /** Destroys the stack's resources (the stack stays). */
    async destroy(): Promise<RunResult> {
        const ps = await this.stack();
        return runOp((s) => ps.stack.destroy(s));
    }

    /** The steps a preview plans, without same-steps, from the engine's events. */
    async previewSteps(): Promise<PreviewStep[]> {
        const ps = await this.stack();
        const steps: PreviewStep[] = [];
        const onEvent = (e: EngineEvent) => {
            const m = e.resourcePreEvent?.metadata;
            if (m && m.op !== "same") {
                steps.push({ op: m.op, urn: m.urn, type: m.type, detailedDiff: m.detailedDiff, diffReasons: m.diffs });
            }
        };
        const r = await runOp((s) => ps.stack.preview({ onEvent, ...s }));
        if (r.code !== 0) throw new Error(`preview failed:\n${r.stdout}\n${r.stderr}`);
        return steps;
    }

    /** The state file of the stack in the local file backend. */
    stateFile(): string {
        const base = fileBackendDir(this.env);
        const found = base === undefined ? undefined : stackCheckpoint(base, PROJECT, this.name);
        if (!found) throw new Error(`no state file for ${this.name} under ${this.env.PULUMI_BACKEND_URL}`);
        return found;
    }

    /**
     * The stack's latest deployment. Secret values stay encrypted: read from its checkpoint in a
     * file backend (the very state that export would print, without a CLI start: see
     * ops/backend.ts), else `pulumi stack export` without `--show-secrets`, so both give the same.
     * With `secrets`, the Automation API's export, secrets decrypted (in memory, never printed).
     */
    private async deployment(opts: { secrets?: boolean } = {}): Promise<StateDeployment> {
        if (opts.secrets) return (await (await this.stack()).workspace.exportStack(this.name)).deployment;
        return (
            checkpointDeployment(this.env, PROJECT, this.name) ??
            (JSON.parse((await this.ok(["stack", "export"])).stdout) as Deployment).deployment
        );
    }

    /**
     * Resources of a type in the stack's state; secret values encrypted unless `secrets` asks
     * for them decrypted.
     */
    async stateResources(type: string, opts: { secrets?: boolean } = {}): Promise<StateResource[]> {
        return ((await this.deployment(opts)).resources ?? []).filter((x) => x.type === type);
    }

    /** Operations an interrupted update left pending in the state: `<type> <urn>`. */
    async pendingOperations(): Promise<string[]> {
        return ((await this.deployment()).pending_operations ?? []).map((op) => `${op.type} ${op.resource.urn}`);
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

    /**
     * Destroys the stack's resources and removes the stack and its file. A stack whose state is
     * already empty (a test destroyed it) skips the destroy, an engine run with nothing to do; one
     * the backend does not hold (its `init()` failed) has only its file removed, so an `afterAll`
     * does not add a second failure to the first.
     */
    async remove(): Promise<void> {
        try {
            const base = fileBackendDir(this.env);
            if (base !== undefined && stackCheckpoint(base, PROJECT, this.name) === undefined) return;
            if (((await this.deployment()).resources ?? []).length > 0) {
                // A failed destroy would leave machines, databases and Redis servers behind with
                // no state pointing at them: fail loudly instead of removing the stack anyway.
                const r = await this.destroy();
                if (r.code !== 0) throw new Error(`destroy of ${this.name} failed:\n${r.stdout}\n${r.stderr}`);
            }
            const ps = await this.stack();
            await ps.workspace.removeStack(this.name);
        } finally {
            fs.rmSync(this.file, { force: true });
            if (this.workDir !== REPO_ROOT) fs.rmSync(this.linkInCheckout(), { force: true });
        }
    }
}

/** The resource type in a URN: `urn:pulumi:<stack>::<project>::<parent$…$type>::<name>`. */
export function urnType(urn: string): string {
    const qualified = urn.split("::")[2] ?? "";
    return qualified.split("$").pop() ?? "";
}
