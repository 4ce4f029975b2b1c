/**
 * The review-stack policies on a review-shaped stack (lib/review.ts's REVIEW_SIZE: one machine of
 * the smallest guest in one region that stops when idle, a Neon branch of staging's project, its
 * own Redis, Vercel preview env vars and a preview deployment), then one change per violation.
 */
import {
    referencedStack,
    reviewAutostop,
    reviewBaseStack,
    reviewPreviewOnly,
    reviewSingleMachine,
    reviewSingleRegion,
    reviewUnprotected,
    Types,
} from "../../policies/src";
import { UNKNOWN } from "../../lib/facts/sentinels";
import { envVar, machine, neonProject, redis, secretWire, service, vercelProject } from "./fixtures";
import { TestResource, UnknownValueError, validate } from "./harness";

const STAGING_REF = "acme/fpsgame-infra/staging";

/** The review machine: `shared-1x-256` in the base's primary region, stopped when idle. */
function reviewMachine(region = "sjc", index = 1, serviceChange: (s: Record<string, unknown>) => void = () => {}) {
    const s = { ...service(), autostop: "stop", autostart: true, minMachinesRunning: 0 };
    serviceChange(s);
    return machine(region, index, {
        app: "fpsgame-api-pr-12",
        guest: { cpuKind: "shared", cpus: 1, memoryMb: 256 },
        services: [s],
    });
}

/** `new pulumi.StackReference("<org>/<project>/<stack>")`'s state: its name and the base's outputs. */
function stackReference(fullName = STAGING_REF, outputs: Record<string, unknown> = {}): TestResource {
    return {
        type: Types.stackReference,
        name: fullName,
        props: {
            name: fullName,
            outputs: { databaseProjectId: "proj-staging", databaseBranchId: "br-staging-main", ...outputs },
            secretOutputNames: [],
        },
    };
}

function branch(overrides: Record<string, unknown> = {}): TestResource {
    return {
        type: Types.neonBranch,
        name: "database-branch",
        props: { projectId: "proj-staging", parentId: "br-staging-main", name: "pr-12", ...overrides },
    };
}

const endpoint: TestResource = {
    type: Types.neonEndpoint,
    name: "database-endpoint",
    props: {
        projectId: "proj-staging",
        branchId: "br-pr-12",
        autoscalingLimitMinCu: 0.25,
        autoscalingLimitMaxCu: 0.25,
    },
};

function previewVar(overrides: Record<string, unknown> = {}): TestResource {
    return envVar("VITE_API_URL", "https://fpsgame-api-pr-12.fly.dev", {
        targets: ["preview"],
        gitBranch: "feature-x",
        ...overrides,
    });
}

function deployment(overrides: Record<string, unknown> = {}): TestResource {
    return {
        type: Types.vercelDeployment,
        name: "web-deployment",
        props: { projectId: "prj_123", ref: "feature-x", production: false, deleteOnDestroy: true, ...overrides },
    };
}

/** Everything a review stack declares, as the stack policies see it. */
function reviewStack(): TestResource[] {
    return [
        stackReference(),
        reviewMachine(),
        branch(),
        endpoint,
        redis({ databaseName: "fpsgame-pr-12", budget: 5, readRegions: [] }),
        previewVar(),
        deployment(),
    ];
}

describe("review-single-region", () => {
    it("passes one machine in one region", async () => {
        expect(await validate(reviewSingleRegion, reviewStack())).toEqual([]);
    });

    it("reports machines in two regions, naming each region's machines", async () => {
        expect(await validate(reviewSingleRegion, [...reviewStack(), reviewMachine("iad")])).toEqual([
            "A review stack must run its Fly machines in one region; it runs them in 2 regions: iad (api-iad-1), sjc (api-sjc-1).",
        ]);
    });

    it("passes a stack without machines", async () => {
        expect(await validate(reviewSingleRegion, [branch()])).toEqual([]);
    });
});

describe("review-single-machine", () => {
    it("passes one machine", async () => {
        expect(await validate(reviewSingleMachine, reviewStack())).toEqual([]);
    });

    it("reports a second machine, in the same region too", async () => {
        expect(await validate(reviewSingleMachine, [...reviewStack(), reviewMachine("sjc", 2)])).toEqual([
            "A review stack may run at most 1 Fly machine; it declares 2 (api-sjc-1, api-sjc-2).",
        ]);
    });

    it("takes maxMachines from config", async () => {
        expect(
            await validate(reviewSingleMachine, [reviewMachine("sjc", 1), reviewMachine("sjc", 2)], { maxMachines: 2 }),
        ).toEqual([]);
    });
});

describe("review-autostop", () => {
    it("passes autostop stop, autostart true, minMachinesRunning 0", async () => {
        expect(await validate(reviewAutostop, reviewMachine())).toEqual([]);
    });

    it("passes autostop suspend", async () => {
        expect(
            await validate(
                reviewAutostop,
                reviewMachine("sjc", 1, (s) => (s.autostop = "suspend")),
            ),
        ).toEqual([]);
    });

    it("reports autostop off", async () => {
        expect(
            await validate(
                reviewAutostop,
                reviewMachine("sjc", 1, (s) => (s.autostop = "off")),
            ),
        ).toEqual([
            "The service on internal port 8080 of machine api-sjc-1 must stop when idle: autostop is off; allowed: stop, suspend.",
        ]);
    });

    it("reports autostop false and an unset autostop", async () => {
        expect(
            await validate(
                reviewAutostop,
                reviewMachine("sjc", 1, (s) => (s.autostop = false)),
            ),
        ).toEqual([
            "The service on internal port 8080 of machine api-sjc-1 must stop when idle: autostop is false; allowed: stop, suspend.",
        ]);
        expect(
            await validate(
                reviewAutostop,
                reviewMachine("sjc", 1, (s) => delete s.autostop),
            ),
        ).toEqual([
            "The service on internal port 8080 of machine api-sjc-1 must stop when idle: autostop is not set; allowed: stop, suspend.",
        ]);
    });

    it("reports autostart false", async () => {
        expect(
            await validate(
                reviewAutostop,
                reviewMachine("sjc", 1, (s) => (s.autostart = false)),
            ),
        ).toEqual([
            "The service on internal port 8080 of machine api-sjc-1 must start on the next request: autostart is false; allowed: true.",
        ]);
    });

    it("reports minMachinesRunning 1, the full stacks' value", async () => {
        expect(
            await validate(
                reviewAutostop,
                reviewMachine("sjc", 1, (s) => (s.minMachinesRunning = 1)),
            ),
        ).toEqual([
            "The service on internal port 8080 of machine api-sjc-1 must let every machine stop: minMachinesRunning is 1; allowed: at most 0.",
        ]);
    });

    it("reports a machine without services: nothing would stop it", async () => {
        expect(await validate(reviewAutostop, machine("sjc", 1, { services: [] }))).toEqual([
            "Machine api-sjc-1 of a review stack must have a service with autostop (stop or suspend); it has no services.",
        ]);
    });

    it("does not apply to other types", async () => {
        expect(await validate(reviewAutostop, branch())).toBe("n/a");
    });
});

describe("review-base-stack", () => {
    // The engine hands the pack the stack's config in PULUMI_CONFIG, as it does the program.
    const withConfig = async (review: unknown, run: () => Promise<void>) => {
        const before = process.env.PULUMI_CONFIG;
        process.env.PULUMI_CONFIG = JSON.stringify({ "fpsgame-infra:review": JSON.stringify(review) });
        try {
            await run();
        } finally {
            if (before === undefined) delete process.env.PULUMI_CONFIG;
            else process.env.PULUMI_CONFIG = before;
        }
    };

    it("passes a stack whose file names staging as its base", () =>
        withConfig({ pullRequest: 12, baseStack: "staging", gitBranch: "feat" }, async () => {
            expect(await validate(reviewBaseStack, reviewStack().slice(1))).toEqual([]);
        }));

    it("reports a stack file that names prod, or another stack, as the base, without a StackReference to see", () =>
        withConfig({ pullRequest: 12, baseStack: "prod", gitBranch: "feat" }, async () => {
            expect(await validate(reviewBaseStack, reviewStack().slice(1))).toEqual([
                "Review stack must never be based on prod: fpsgame-infra:review.baseStack is prod (forbidden: prod); allowed: staging.",
            ]);
            process.env.PULUMI_CONFIG = JSON.stringify({
                "fpsgame-infra:review": JSON.stringify({ pullRequest: 12, baseStack: "dev", gitBranch: "feat" }),
            });
            expect(await validate(reviewBaseStack, reviewStack().slice(1))).toEqual([
                'Review stack must be based on staging: fpsgame-infra:review.baseStack is "dev"; allowed: staging.',
            ]);
        }));

    it("passes a branch of staging's project through a reference to staging", async () => {
        expect(await validate(reviewBaseStack, reviewStack())).toEqual([]);
    });

    it("passes without a StackReference: the engine gives stack policies registered resources, not reads", async () => {
        expect(await validate(reviewBaseStack, reviewStack().slice(1))).toEqual([]);
    });

    it("reports a StackReference to prod", async () => {
        const stack = [stackReference("acme/fpsgame-infra/prod"), ...reviewStack().slice(1)];
        expect(await validate(reviewBaseStack, stack)).toEqual([
            "Review stack must never reference prod: StackReference acme/fpsgame-infra/prod is to a forbidden stack (forbidden: prod); allowed: staging.",
        ]);
    });

    it("reports a StackReference to another stack than the base", async () => {
        const stack = [stackReference("acme/fpsgame-infra/pr-7"), ...reviewStack().slice(1)];
        expect(await validate(reviewBaseStack, stack)).toEqual([
            "Review stack must reference its base stack staging: StackReference acme/fpsgame-infra/pr-7 is to pr-7.",
        ]);
    });

    it("reports a second StackReference, and the forbidden one", async () => {
        const stack = [...reviewStack(), stackReference("acme/fpsgame-infra/prod")];
        expect(await validate(reviewBaseStack, stack)).toEqual([
            "Review stack must reference one stack, its base staging; it references 2: acme/fpsgame-infra/staging, acme/fpsgame-infra/prod.",
            "Review stack must never reference prod: StackReference acme/fpsgame-infra/prod is to a forbidden stack (forbidden: prod); allowed: staging.",
        ]);
    });

    it("reports a Neon project of its own", async () => {
        expect(await validate(reviewBaseStack, [...reviewStack(), neonProject({}, false)])).toEqual([
            "Review stack must not declare a Neon project: database-project (neon:index/project:Project) found; allowed: a neon:index/branch:Branch of staging's project.",
        ]);
    });

    it("reports a Neon project even without a StackReference", async () => {
        expect(await validate(reviewBaseStack, [reviewMachine(), neonProject({}, false)])).toEqual([
            "Review stack must not declare a Neon project: database-project (neon:index/project:Project) found; allowed: a neon:index/branch:Branch of staging's project.",
        ]);
    });

    it("reports a branch whose parentId is not the base's databaseBranchId", async () => {
        const stack = [stackReference(), branch({ parentId: "br-other" }), reviewMachine()];
        expect(await validate(reviewBaseStack, stack)).toEqual([
            "Neon branch database-branch must branch staging's database: parentId is br-other; allowed: br-staging-main (staging's databaseBranchId).",
        ]);
    });

    it("reports a branch of another project", async () => {
        const stack = [stackReference(), branch({ projectId: "proj-prod" })];
        expect(await validate(reviewBaseStack, stack)).toEqual([
            "Neon branch database-branch must branch staging's database: projectId is proj-prod; allowed: proj-staging (staging's databaseProjectId).",
        ]);
    });

    it("reads the reference's outputs and the ids through secrets", async () => {
        const ref = stackReference(STAGING_REF, { databaseBranchId: secretWire("br-staging-main") });
        ref.props.outputs = secretWire(ref.props.outputs);
        expect(await validate(reviewBaseStack, [ref, branch({ projectId: secretWire("proj-staging") })])).toEqual([]);
    });

    it("skips an output the base does not export", async () => {
        const stack = [stackReference(STAGING_REF, { databaseBranchId: undefined }), branch({ parentId: "br-other" })];
        expect(await validate(reviewBaseStack, stack)).toEqual([]);
    });

    it("takes baseStack from config, as ops/pulumi.ts does for a local-cloud base", async () => {
        const stack = [stackReference("organization/fpsgame-infra/e2e-review"), branch()];
        expect(await validate(reviewBaseStack, stack, { baseStack: "e2e-review" })).toEqual([]);
        expect(await validate(reviewBaseStack, stack)).toEqual([
            "Review stack must reference its base stack staging: StackReference organization/fpsgame-infra/e2e-review is to e2e-review.",
        ]);
    });

    it("lets a preview-time unknown branch id through to the SDK (advisory), after the checks that need none", async () => {
        // The SDK keeps what was reported before the throw; here nothing was.
        await expect(
            validate(reviewBaseStack, [stackReference(), branch({ parentId: UNKNOWN })]),
        ).rejects.toBeInstanceOf(UnknownValueError);
    });

    it("referencedStack: the last segment of org/project/stack", () => {
        expect(referencedStack("acme/fpsgame-infra/staging")).toBe("staging");
        expect(referencedStack("staging")).toBe("staging");
    });
});

describe("review-preview-only", () => {
    it("passes a preview env var and a preview deployment", async () => {
        expect(await validate(reviewPreviewOnly, previewVar())).toEqual([]);
        expect(await validate(reviewPreviewOnly, deployment())).toEqual([]);
        expect(await validate(reviewPreviewOnly, deployment({ production: undefined }))).toEqual([]);
    });

    it("reports an env var that targets production", async () => {
        expect(await validate(reviewPreviewOnly, previewVar({ targets: ["production", "preview"] }))).toEqual([
            "Vercel env var VITE_API_URL in web-env-vite_api_url of a review stack must target only preview: it targets production, preview.",
        ]);
    });

    it("reports an env var that targets development, and one without targets", async () => {
        expect(await validate(reviewPreviewOnly, previewVar({ targets: ["development"] }))).toEqual([
            "Vercel env var VITE_API_URL in web-env-vite_api_url of a review stack must target only preview: it targets development.",
        ]);
        expect(await validate(reviewPreviewOnly, previewVar({ targets: [] }))).toEqual([
            "Vercel env var VITE_API_URL in web-env-vite_api_url of a review stack must target only preview: it targets nothing (every target).",
        ]);
    });

    it("reads ProjectEnvironmentVariables' variables", async () => {
        const bulk: TestResource = {
            type: Types.vercelEnvVars,
            name: "web-env",
            props: { projectId: "prj_123", variables: [{ key: "VITE_WS_URL", targets: ["production"] }] },
        };
        expect(await validate(reviewPreviewOnly, bulk)).toEqual([
            "Vercel env var VITE_WS_URL in web-env of a review stack must target only preview: it targets production.",
        ]);
    });

    it("reports a production deployment", async () => {
        expect(await validate(reviewPreviewOnly, deployment({ production: true }))).toEqual([
            "Vercel deployment web-deployment of a review stack must not be a production deployment: production is true; allowed: false.",
        ]);
    });

    it("reports a Vercel project of its own", async () => {
        expect(await validate(reviewPreviewOnly, vercelProject())).toEqual([
            "Review stack must not declare a Vercel project: web-project found; allowed: preview env vars and deployments on the base stack's project.",
        ]);
    });

    it("does not apply to other types", async () => {
        expect(await validate(reviewPreviewOnly, reviewMachine())).toBe("n/a");
    });
});

describe("review-unprotected", () => {
    it("passes a stack with nothing protected", async () => {
        expect(await validate(reviewUnprotected, reviewStack())).toEqual([]);
    });

    it("reports a protected resource", async () => {
        expect(await validate(reviewUnprotected, [...reviewStack(), { ...branch(), protect: true }])).toEqual([
            "Resource database-branch (neon:index/branch:Branch) of a review stack must not set protect: true; allowed: false, so the close workflow can destroy the stack.",
        ]);
    });
});
