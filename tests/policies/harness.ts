/**
 * Runs a policy's validation on synthetic args as `@pulumi/policy`'s analyzer server would,
 * without the CLI and without `new PolicyPack` (it starts a gRPC server, see @pulumi/policy's policyPack.ts):
 * props go through the SDK's unknown-checking proxy, and config is the schema's top-level
 * `default`s under the stack's overrides, as the CLI fills it.
 */
import * as path from "path";
import type { FpsPolicy, ResourceValidationArgs, StackValidationArgs } from "../../policies/src";

// From the pack's own node_modules: the root project does not depend on @pulumi/policy.
const proxy = require.resolve("@pulumi/policy/proxy", { paths: [path.join(__dirname, "../../policies")] });
const sdk = require(proxy) as {
    unknownCheckingProxy<T>(p: T): T;
    UnknownValueError: new () => Error;
    unknownNumberValue: string;
};
/** What reading an unknown (preview-time) value throws; the SDK turns it into an advisory note. */
export const UnknownValueError = sdk.UnknownValueError;
/** The policy SDK's sentinel for a number not known yet (strings use Pulumi's `UNKNOWN`). */
export const UNKNOWN_NUMBER = sdk.unknownNumberValue;

/** A resource: its inputs (resource policies) or its state (stack policies), unproxied. */
export type TestResource = {
    type: string;
    name: string;
    props: Record<string, unknown>;
    protect?: boolean;
    parent?: string;
};
class NotApplicable extends Error {}

/** The config a policy gets: a fresh copy of its schema defaults, then `overrides`. */
export function configFor(policy: FpsPolicy, overrides: Record<string, unknown> = {}): Record<string, unknown> {
    const defaults = Object.entries(policy.configSchema?.properties ?? {}).map(([k, s]) => [k, s.default]);
    return { ...structuredClone(Object.fromEntries(defaults.filter(([, v]) => v !== undefined))), ...overrides };
}

/** The messages a policy reports for one resource, or for a stack of them; `"n/a"` if it does not apply. */
export async function validate(
    policy: FpsPolicy,
    target: TestResource | TestResource[],
    overrides?: Record<string, unknown>,
): Promise<string[] | "n/a"> {
    const config = configFor(policy, overrides);
    const common = {
        stackTags: new Map(),
        getConfig: () => config,
        notApplicable: (r?: string) => {
            throw new NotApplicable(r);
        },
    };
    const args = (r: TestResource) => ({
        ...common,
        type: r.type,
        name: r.name,
        urn: `urn:pulumi:test::fpsgame-infra::${r.type}::${r.name}`,
        props: sdk.unknownCheckingProxy(r.props),
        opts: {
            protect: r.protect ?? false,
            ignoreChanges: [],
            aliases: [],
            additionalSecretOutputs: [],
            customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
        },
        isType: () => false,
        asType: () => undefined,
        dependencies: [],
        propertyDependencies: {},
    });
    const messages: string[] = [];
    const report = (message: string) => void messages.push(message);
    try {
        if ("validateStack" in policy)
            await policy.validateStack(
                { ...common, resources: [target].flat().map(args) } as unknown as StackValidationArgs,
                report,
            );
        else if (Array.isArray(target)) throw new Error(`${policy.name} validates one resource at a time`);
        else
            for (const fn of [policy.validateResource ?? []].flat())
                await fn(args(target) as unknown as ResourceValidationArgs, report);
    } catch (e) {
        if (e instanceof NotApplicable) return "n/a";
        throw e;
    }
    return messages;
}
