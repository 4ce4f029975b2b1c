/**
 * Policies for review stacks (`pr-<n>`, one per pull request, derived from staging's file by the
 * repository's `lib/review.ts`): the base's backend at its smallest, on a branch of the base's
 * database and a preview of the base's frontend, and nothing the close workflow cannot destroy.
 *
 * They are on only in `config/review.json`; every full stack's file disables them. The sizes they
 * hold a review stack to are the pack's copy of `REVIEW_SIZE`, `REVIEW_BASE_STACK` and
 * `FORBIDDEN_REVIEW_BASES` in `lib/review.ts`, set in `review.json` and in the defaults below.
 */
import type { MachineProps, ServiceProps } from "./fly";
import {
    count,
    resourcesOfType,
    ResourceValidationPolicy,
    StackValidationPolicy,
    Types,
    unwrapSecret,
    validateTypes,
} from "./common";

/** A Fly machine of the stack, as the stack policies read it. */
function machinesOf(resources: { type: string; name: string; props: Record<string, unknown> }[]) {
    return resources
        .filter((r) => r.type === Types.flyMachine)
        .map((r) => ({ name: r.name, props: r.props as MachineProps }));
}

// ------------------------------------------------------------------------------------------------

/** Checks whether every Fly machine of a review stack runs in one region. */
export const reviewSingleRegion: StackValidationPolicy = {
    name: "review-single-region",
    description:
        "Checks whether every Fly machine of a review stack runs in one region (the base's primary region): a " +
        "review stack is a throwaway copy for one pull request, and a second region doubles its cost without " +
        "testing anything the base's regions do not (runbook: Scaling > Backend Scaling, scale in specific regions).",
    enforcementLevel: "mandatory",
    // No knobs: one region is what makes it a review stack.
    configSchema: { properties: {} },
    validateStack: (args, reportViolation) => {
        const byRegion = new Map<string, string[]>();
        for (const m of machinesOf(args.resources)) {
            const region = m.props.region ?? "(no region)";
            byRegion.set(region, [...(byRegion.get(region) ?? []), m.name]);
        }
        if (byRegion.size > 1) {
            const found = [...byRegion]
                .sort(([a], [b]) => a.localeCompare(b))
                .map(([region, names]) => `${region} (${names.join(", ")})`)
                .join(", ");
            reportViolation(
                `A review stack must run its Fly machines in one region; it runs them in ${byRegion.size} regions: ${found}.`,
            );
        }
    },
};

/** Config of {@link reviewSingleMachine}. */
export interface ReviewSingleMachineConfig {
    /** The most Fly machines a review stack may declare. @default 1 */
    maxMachines?: number;
}

/** Checks whether a review stack declares at most `maxMachines` Fly machines. */
export const reviewSingleMachine: StackValidationPolicy = {
    name: "review-single-machine",
    description:
        "Checks whether a review stack declares at most `maxMachines` Fly machines (1): one machine is enough " +
        "to try a pull request, and every review stack open at once pays for each of its machines " +
        "(runbook: Scaling > Backend Scaling, `fly scale count`).",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            maxMachines: { type: "integer", minimum: 1, default: 1 },
        },
    },
    validateStack: (args, reportViolation) => {
        const { maxMachines } = args.getConfig<Required<ReviewSingleMachineConfig>>();
        const machines = machinesOf(args.resources);
        if (machines.length > maxMachines) {
            reportViolation(
                `A review stack may run at most ${count(maxMachines, "Fly machine")}; it declares ${machines.length} ` +
                    `(${machines.map((m) => m.name).join(", ")}).`,
            );
        }
    },
};

/** Config of {@link reviewAutostop}. */
export interface ReviewAutostopConfig {
    /** `services[].autostop` values that stop an idle machine. @default ["stop", "suspend"] */
    allowedAutostop?: string[];
    /** The highest `services[].minMachinesRunning` allowed. @default 0 */
    maxMinMachinesRunning?: number;
}

/** Checks whether every review machine stops when idle and starts on the next request. */
export const reviewAutostop: ResourceValidationPolicy = {
    name: "review-autostop",
    description:
        "Checks whether every Fly machine of a review stack stops when idle: each service sets `autostop` to one " +
        "of `allowedAutostop` (stop, suspend; not off), `autostart` to true so Fly's proxy starts it on the next " +
        "request, and `minMachinesRunning` to at most `maxMinMachinesRunning` (0). A machine without a service " +
        "never stops. A review stack is idle most of its life and should cost nothing then " +
        "(runbook: Scaling > Backend Scaling, auto-scaling, scale to zero when idle).",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            allowedAutostop: {
                type: "array",
                items: { type: "string", enum: ["stop", "suspend"] },
                minItems: 1,
                default: ["stop", "suspend"],
            },
            maxMinMachinesRunning: { type: "integer", minimum: 0, default: 0 },
        },
    },
    validateResource: validateTypes(Types.flyMachine, (props, args, reportViolation) => {
        const { allowedAutostop, maxMinMachinesRunning } = args.getConfig<Required<ReviewAutostopConfig>>();
        const services: ServiceProps[] = (props as MachineProps).services ?? [];
        if (services.length === 0) {
            // Fly stops idle machines only through a service's autostop: without one it runs for good.
            reportViolation(
                `Machine ${args.name} of a review stack must have a service with autostop (${allowedAutostop.join(" or ")}); it has no services.`,
            );
        }
        for (const service of services) {
            const label = `The service on internal port ${service.internalPort ?? "(unset)"} of machine ${args.name}`;
            // The provider's type is "off" | "stop" | "suspend"; a boolean false (fly.toml's old form) is "off" too.
            if (typeof service.autostop !== "string" || !allowedAutostop.includes(service.autostop)) {
                reportViolation(
                    `${label} must stop when idle: autostop is ${String(service.autostop ?? "not set")}; allowed: ${allowedAutostop.join(", ")}.`,
                );
            }
            if (service.autostart !== true) {
                reportViolation(
                    `${label} must start on the next request: autostart is ${String(service.autostart ?? "not set")}; allowed: true.`,
                );
            }
            const min = service.minMachinesRunning;
            if (typeof min !== "number" || min > maxMinMachinesRunning) {
                reportViolation(
                    `${label} must let every machine stop: minMachinesRunning is ${min ?? "not set"}; allowed: at most ${maxMinMachinesRunning}.`,
                );
            }
        }
    }),
};

/** Config of {@link reviewBaseStack}. */
export interface ReviewBaseStackConfig {
    /** The stack a review stack branches and previews on. @default "staging" */
    baseStack?: string;
    /** Stacks a review stack may never reference. @default ["prod"] */
    forbiddenStacks?: string[];
}

/** The stack name of a StackReference: the last segment of `org/project/stack` (or the name itself). */
export function referencedStack(fullName: string): string {
    return fullName.split("/").pop() ?? fullName;
}

/**
 * The stack's own `fpsgame-infra:review` section: the engine passes a policy pack the stack's
 * config in `PULUMI_CONFIG` (a JSON object of `namespace:key` to the value as text; an object
 * value is its JSON), as it passes it to the program. Undefined when the stack has none.
 */
export function stackReviewSection(env: NodeJS.ProcessEnv = process.env): Record<string, unknown> | undefined {
    if (!env.PULUMI_CONFIG) return undefined;
    const raw = (JSON.parse(env.PULUMI_CONFIG) as Record<string, unknown>)["fpsgame-infra:review"];
    if (raw === undefined) return undefined;
    const value: unknown = typeof raw === "string" ? JSON.parse(raw) : raw;
    return value !== null && typeof value === "object" ? (value as Record<string, unknown>) : {};
}

/** Outputs of a StackReference's state, secrets unwrapped (the engine keeps secret outputs wrapped). */
function referenceOutputs(props: Record<string, unknown>): Record<string, unknown> {
    const outputs = unwrapSecret(props.outputs);
    return outputs !== null && typeof outputs === "object" ? (outputs as Record<string, unknown>) : {};
}

/**
 * Checks whether a review stack holds no Neon project of its own, references only its base stack
 * (never a forbidden one), and branches the base's database.
 */
export const reviewBaseStack: StackValidationPolicy = {
    name: "review-base-stack",
    description:
        "Checks whether a review stack branches its base stack's database instead of owning one: it declares no " +
        "Neon project, references at most one stack with `pulumi.StackReference`, and that one is `baseStack` " +
        "(staging) and none of `forbiddenStacks` (prod), and each Neon branch's `projectId` and `parentId` are the " +
        "reference's `databaseProjectId` and `databaseBranchId` outputs when both are known. A review of prod's data " +
        "or a project of its own would put players' data or a second database bill behind a pull request " +
        "(runbook: Disaster Recovery > Data Loss; Database Rollback, Neon branches).",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            baseStack: { type: "string", minLength: 1, default: "staging" },
            forbiddenStacks: { type: "array", items: { type: "string", minLength: 1 }, default: ["prod"] },
        },
    },
    validateStack: (args, reportViolation) => {
        const { baseStack, forbiddenStacks } = args.getConfig<Required<ReviewBaseStackConfig>>();
        // The checks that need no unknown value come first: a preview-time unknown read further down
        // stops the policy (the SDK reports it as advisory), and what was reported before it stands.
        // The base the stack's file names, which the program's StackReference is made from: the
        // one check of the base that sees every preview, as the reference itself is not passed.
        const review = stackReviewSection();
        if (review !== undefined) {
            const named = review.baseStack;
            if (typeof named === "string" && forbiddenStacks.includes(named)) {
                reportViolation(
                    `Review stack must never be based on ${named}: fpsgame-infra:review.baseStack is ${named} ` +
                        `(forbidden: ${forbiddenStacks.join(", ")}); allowed: ${baseStack}.`,
                );
            } else if (named !== baseStack) {
                reportViolation(
                    `Review stack must be based on ${baseStack}: fpsgame-infra:review.baseStack is ` +
                        `${JSON.stringify(named ?? null)}; allowed: ${baseStack}.`,
                );
            }
        }
        for (const p of resourcesOfType(args, Types.neonProject)) {
            reportViolation(
                `Review stack must not declare a Neon project: ${p.name} (${Types.neonProject}) found; allowed: ` +
                    `a ${Types.neonBranch} of ${baseStack}'s project.`,
            );
        }
        // A StackReference is read, not registered: during `pulumi preview`/`up` the engine gives
        // AnalyzeStack the registered resources only (the step generator's `news`; reads go to
        // `reads`), so the reference is usually absent here. It is present when a snapshot is
        // analyzed as a whole, and under mocks. Absence is therefore no violation; what is there is checked.
        const refs = resourcesOfType(args, Types.stackReference).map((r) => {
            const raw = unwrapSecret(r.props.name);
            const fullName = typeof raw === "string" ? raw : r.name;
            return { resource: r, fullName, stack: referencedStack(fullName) };
        });
        if (refs.length > 1) {
            reportViolation(
                `Review stack must reference one stack, its base ${baseStack}; it references ${refs.length}: ` +
                    `${refs.map((r) => r.fullName).join(", ")}.`,
            );
        }
        for (const ref of refs) {
            if (forbiddenStacks.includes(ref.stack)) {
                reportViolation(
                    `Review stack must never reference ${ref.stack}: StackReference ${ref.fullName} is to a forbidden ` +
                        `stack (forbidden: ${forbiddenStacks.join(", ")}); allowed: ${baseStack}.`,
                );
            } else if (ref.stack !== baseStack) {
                reportViolation(
                    `Review stack must reference its base stack ${baseStack}: StackReference ${ref.fullName} is to ${ref.stack}.`,
                );
            }
        }
        if (refs.length !== 1 || refs[0].stack !== baseStack) {
            return;
        }
        // Only now read values that may be unknown at preview (the reference's outputs, the branch's ids).
        const outputs = referenceOutputs(refs[0].resource.props);
        const expected = { projectId: outputs.databaseProjectId, parentId: outputs.databaseBranchId };
        const outputName = { projectId: "databaseProjectId", parentId: "databaseBranchId" } as const;
        for (const branch of resourcesOfType(args, Types.neonBranch)) {
            for (const key of ["projectId", "parentId"] as const) {
                const want = unwrapSecret(expected[key]);
                const got = unwrapSecret(branch.props[key]);
                // An output the base does not export (yet) is not a mismatch: nothing to compare with.
                if (typeof want !== "string") continue;
                if (got !== want) {
                    reportViolation(
                        `Neon branch ${branch.name} must branch ${baseStack}'s database: ${key} is ${String(got ?? "not set")}; ` +
                            `allowed: ${want} (${baseStack}'s ${outputName[key]}).`,
                    );
                }
            }
        }
    },
};

/** Config of {@link reviewPreviewOnly}. */
export interface ReviewPreviewOnlyConfig {
    /** The Vercel targets a review stack's env vars may have. @default ["preview"] */
    allowedTargets?: string[];
}

/** One Vercel env var as the review policy reads it. */
interface TargetedVar {
    key?: string;
    targets?: unknown;
}

/** Checks whether a review stack touches only Vercel's preview target of its base's project. */
export const reviewPreviewOnly: ResourceValidationPolicy = {
    name: "review-preview-only",
    description:
        "Checks whether a review stack touches only the preview side of its base's Vercel project: every env var " +
        "targets only `allowedTargets` (preview; never production or development), every deployment sets " +
        "`production` to false, and the stack declares no Vercel project of its own. A pull request must never " +
        "change what players get from the production domain " +
        "(runbook: Deployments > Standard Deployment, trigger: push to main; Rollbacks > Frontend Rollback).",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            allowedTargets: {
                type: "array",
                items: { type: "string", enum: ["preview", "development", "production"] },
                minItems: 1,
                default: ["preview"],
            },
        },
    },
    validateResource: validateTypes(
        [Types.vercelProject, Types.vercelEnvVar, Types.vercelEnvVars, Types.vercelDeployment],
        (props, args, reportViolation) => {
            const { allowedTargets } = args.getConfig<Required<ReviewPreviewOnlyConfig>>();
            if (args.type === Types.vercelProject) {
                reportViolation(
                    `Review stack must not declare a Vercel project: ${args.name} found; allowed: preview env vars and ` +
                        `deployments on the base stack's project.`,
                );
                return;
            }
            if (args.type === Types.vercelDeployment) {
                // The provider's default is a preview deployment: unset is allowed.
                if (props.production !== undefined && props.production !== false) {
                    reportViolation(
                        `Vercel deployment ${args.name} of a review stack must not be a production deployment: ` +
                            `production is ${String(props.production)}; allowed: false.`,
                    );
                }
                return;
            }
            const vars: TargetedVar[] =
                args.type === Types.vercelEnvVar
                    ? [props as TargetedVar]
                    : ((props.variables as TargetedVar[] | undefined) ?? []);
            for (const v of vars) {
                const targets = Array.isArray(v.targets) ? (v.targets as unknown[]) : [];
                // Unset or empty targets are Vercel's every-target default: as bad as naming production.
                if (targets.length === 0 || targets.some((t) => typeof t !== "string" || !allowedTargets.includes(t))) {
                    reportViolation(
                        `Vercel env var ${v.key ?? "(no key)"} in ${args.name} of a review stack must target only ` +
                            `${allowedTargets.join(", ")}: it targets ${targets.length > 0 ? targets.join(", ") : "nothing (every target)"}.`,
                    );
                }
            }
        },
    ),
};

/** Checks whether no resource of a review stack is protected. */
export const reviewUnprotected: StackValidationPolicy = {
    name: "review-unprotected",
    description:
        "Checks whether no resource of a review stack sets `protect`: the workflow that closes a pull request " +
        "(and the sweep of idle review stacks) runs `pulumi destroy`, which a protected resource makes fail and " +
        "leaves the stack's machine, branch and Redis running and billed " +
        "(runbook: Maintenance > Backup Procedures; Disaster Recovery > Data Loss, what protect guards).",
    enforcementLevel: "mandatory",
    // No knobs: a single protected resource blocks the destroy.
    configSchema: { properties: {} },
    validateStack: (args, reportViolation) => {
        for (const r of args.resources) {
            if (r.opts.protect === true) {
                reportViolation(
                    `Resource ${r.name} (${r.type}) of a review stack must not set protect: true; allowed: false, so the ` +
                        `close workflow can destroy the stack.`,
                );
            }
        }
    },
};
