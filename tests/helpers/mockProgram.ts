/**
 * Runs the whole program (`index.ts`) under Pulumi mocks with a stack's real config file,
 * and records every resource: its type, name, parent, options, and inputs, with the paths
 * of the inputs that arrived as secrets. No engine, no network.
 *
 * `secure:` values in the stack file cannot be decrypted here, so each gets a fresh random
 * test value (returned in `secretValues`), passed to the program as a secret, which lets a
 * test check that none of them shows up anywhere in plain text.
 */
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { SECRET_SIG, SECRET_SIG_KEY } from "../../lib/facts/sentinels";

export const REPO_ROOT = path.resolve(__dirname, "..", "..");

export interface RecordedResource {
    type: string;
    name: string;
    /** Inputs with secret wrappers removed. */
    inputs: Record<string, unknown>;
    /** Dotted paths of inputs that arrived as secrets, e.g. `values.JWT_SECRET`. */
    secretPaths: string[];
    /** The state the mock returned (inputs plus synthesized outputs). */
    state: Record<string, unknown>;
    protect: boolean;
    deleteBeforeReplace: boolean;
    /** `additionalSecretOutputs`: outputs the engine must encrypt though the provider does not say so. */
    additionalSecretOutputs: string[];
    /** The parent's name, or undefined for children of the stack. */
    parent?: string;
    parentType?: string;
    /** Names of explicit `dependsOn` resources. */
    dependsOn: string[];
    custom: boolean;
}

export interface ProgramRun {
    resources: RecordedResource[];
    /** Stack outputs, resolved, with whether each is secret. */
    outputs: Record<string, { value: unknown; secret: boolean }>;
    /** The random values used for the stack file's `secure:` keys, by config key. */
    secretValues: Record<string, string>;
}

/** What a mocked password reset prints: this prefix and the command's name. */
export const ROTATED_PREFIX = "rotatedpw-";

export type StackName = "prod" | "staging" | "local";

/** Reads `Pulumi.<stack>.yaml` into a flat `namespace:key -> value` map, secure values replaced. */
export function readStackConfig(
    stack: string,
    overrides: Record<string, unknown> = {},
): { config: Record<string, string>; secretKeys: string[]; secretValues: Record<string, string> } {
    const file = path.join(REPO_ROOT, `Pulumi.${stack}.yaml`);
    const doc = parse(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> };
    const config: Record<string, string> = {};
    const secretKeys: string[] = [];
    const secretValues: Record<string, string> = {};
    for (const [key, value] of Object.entries({ ...(doc.config ?? {}), ...overrides })) {
        if (value === undefined) continue;
        if (value && typeof value === "object" && "secure" in (value as object)) {
            const v = `test-${key.replace(/[^a-z]/gi, "")}-${randomBytes(12).toString("hex")}`;
            config[key] = v;
            secretKeys.push(key);
            secretValues[key] = v;
        } else {
            config[key] = typeof value === "string" ? value : JSON.stringify(value);
        }
    }
    return { config, secretKeys, secretValues };
}

function unwrapSecrets(value: unknown, at: string, secretPaths: string[]): unknown {
    if (Array.isArray(value)) return value.map((v, i) => unwrapSecrets(v, `${at}[${i}]`, secretPaths));
    if (value && typeof value === "object") {
        const obj = value as Record<string, unknown>;
        if (obj[SECRET_SIG_KEY] === SECRET_SIG) {
            secretPaths.push(at);
            return unwrapSecrets(obj.value, at, []);
        }
        return Object.fromEntries(
            Object.entries(obj).map(([k, v]) => [k, unwrapSecrets(v, at ? `${at}.${k}` : k, secretPaths)]),
        );
    }
    return value;
}

/** Outputs a real provider computes, synthesized so the program's `apply`s have values. */
function synthesize(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
    switch (type) {
        case "neon:index/project:Project":
            return {
                connectionUri: `postgresql://${String((inputs.branch as Record<string, unknown>)?.roleName)}:mockpw-${name}@ep-mock.${String(inputs.regionId)}.aws.neon.tech/${String((inputs.branch as Record<string, unknown>)?.databaseName)}?sslmode=require`,
                databaseHost: `ep-mock.${String(inputs.regionId)}.aws.neon.tech`,
                databaseName: (inputs.branch as Record<string, unknown>)?.databaseName,
                databasePassword: `mockpw-${name}`,
                defaultBranchId: `br-mock-${name}`,
            };
        case "upstash:index/redisDatabase:RedisDatabase":
            return {
                endpoint: `${String(inputs.databaseName)}.upstash.io`,
                port: 6379,
                password: `mockredis-${name}`,
                databaseId: `mockdb-${name}`,
            };
        case "fly:index:AppSecrets":
            return { version: 1, names: Object.keys((inputs.values as Record<string, unknown>) ?? {}).sort() };
        case "fly:index:Machine":
            return { machineId: `m-${name}`, instanceId: "01MOCK", state: "started", privateIp: "fdaa::2" };
        case "command:local:Command":
            // A password reset prints the new password; the migrations print their summary.
            if (name.endsWith("-password-rotation")) return { stdout: `${ROTATED_PREFIX}${name}`, stderr: "" };
            return { stdout: "schema at version 3; nothing to do", stderr: "" };
        default:
            return {};
    }
}

/**
 * Runs `index.ts` for a stack under mocks. `overrides` replaces whole config keys
 * (`fpsgame-infra:api` etc.) before the program reads them.
 */
export async function runProgram(stack: StackName, overrides: Record<string, unknown> = {}): Promise<ProgramRun> {
    const { config, secretKeys, secretValues } = readStackConfig(stack, overrides);
    const resources: RecordedResource[] = [];
    const byName = new Map<string, RecordedResource>();
    let outputs: Record<string, { value: unknown; secret: boolean }> = {};

    let failure: unknown;
    // The SDK keeps its run state on the global object, shared by every copy of the module;
    // clear it so each run starts from an empty stack.
    const g = globalThis as unknown as { globalStore?: unknown; stackResource?: unknown };
    g.globalStore = undefined;
    g.stackResource = undefined;
    // isolateModulesAsync: the program is required after an await, and must still get a
    // fresh module registry (a plain isolateModules callback would have returned by then).
    await jest.isolateModulesAsync(async () => {
        // A fresh copy of the SDK and the program per run, so stacks don't share state.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const pulumi = require("@pulumi/pulumi") as typeof import("@pulumi/pulumi");
        await (async () => {
            await pulumi.runtime.setMocks(
                {
                    newResource: (args) => {
                        const secretPaths: string[] = [];
                        const inputs = unwrapSecrets(args.inputs, "", secretPaths) as Record<string, unknown>;
                        const state = { ...inputs, ...synthesize(args.type, args.name, inputs) };
                        const rec = byName.get(`${args.type}::${args.name}`);
                        if (rec) {
                            rec.inputs = inputs;
                            rec.secretPaths = secretPaths;
                            rec.state = state;
                        }
                        return { id: `${args.name}-id`, state };
                    },
                    call: (args) => args.inputs,
                },
                "fpsgame-infra",
                stack,
                false,
            );
            pulumi.runtime.setAllConfig(config, secretKeys);
            try {
                let program: Record<string, unknown> = {};
                // The program runs inside a root Stack resource, as under the engine, so a stack
                // transformation can see every resource's parent and options.
                const runInStack = (
                    pulumi.runtime as unknown as { runInPulumiStack(init: () => Promise<unknown>): Promise<unknown> }
                ).runInPulumiStack;
                await runInStack(async () => {
                    // Record parents and options as resources are declared (the mock sees neither).
                    pulumi.runtime.registerStackTransformation((args) => {
                        const opts = args.opts as import("@pulumi/pulumi").CustomResourceOptions;
                        const parent = opts.parent as
                            | (import("@pulumi/pulumi").Resource & { __name?: string; __pulumiType?: string })
                            | undefined;
                        const deps = Array.isArray(opts.dependsOn)
                            ? opts.dependsOn
                            : opts.dependsOn
                              ? [opts.dependsOn]
                              : [];
                        const rec: RecordedResource = {
                            type: args.type,
                            name: args.name,
                            inputs: {},
                            secretPaths: [],
                            state: {},
                            protect: opts.protect === true,
                            deleteBeforeReplace: opts.deleteBeforeReplace === true,
                            additionalSecretOutputs: [...(opts.additionalSecretOutputs ?? [])],
                            parent: parent?.__name,
                            parentType: parent?.__pulumiType,
                            dependsOn: (deps as (import("@pulumi/pulumi").Resource & { __name?: string })[]).map((d) =>
                                String(d.__name),
                            ),
                            custom: args.resource instanceof pulumi.CustomResource,
                        };
                        if (parent?.__pulumiType === "pulumi:pulumi:Stack") {
                            rec.parent = undefined;
                            rec.parentType = undefined;
                        }
                        resources.push(rec);
                        byName.set(`${args.type}::${args.name}`, rec);
                        return undefined;
                    });
                    try {
                        program = require(path.join(REPO_ROOT, "index.ts")) as Record<string, unknown>;
                    } catch (err) {
                        failure = err;
                    }
                    return {};
                });
                const entries = await Promise.all(
                    Object.entries(program).map(async ([k, v]) => {
                        const o = pulumi.output(v) as unknown as import("@pulumi/pulumi").Output<unknown>;
                        const value = await new Promise<unknown>((resolve) => o.apply((x: unknown) => resolve(x)));
                        const secret = await pulumi.isSecret(o);
                        return [k, { value, secret }] as const;
                    }),
                );
                outputs = Object.fromEntries(entries);
                // Let every pending registration reach the mock.
                for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
            } catch (err) {
                failure = err;
            }
        })();
    });
    if (failure) throw failure;
    return { resources, outputs, secretValues };
}

/** The resources of one type. */
export function ofType(run: ProgramRun, type: string): RecordedResource[] {
    return run.resources.filter((r) => r.type === type);
}

/** The one resource with this name; fails loudly if it is missing. */
export function named(run: ProgramRun, name: string): RecordedResource {
    const found = run.resources.filter((r) => r.name === name);
    if (found.length !== 1) throw new Error(`expected one resource named ${name}, found ${found.length}`);
    return found[0];
}
