import { Types, vercelProductionBranch, vercelSecureUrls, vercelSensitiveSecrets } from "../../policies/src";
import { envVar, machine, secretWire, vercelProject } from "./fixtures";
import { validate } from "./harness";

describe("vercel-production-branch", () => {
    it("passes main", async () => {
        expect(await validate(vercelProductionBranch, vercelProject())).toEqual([]);
    });

    it("reports another branch", async () => {
        const p = vercelProject({
            gitRepository: { type: "github", repo: "fpsgame/web", productionBranch: "develop" },
        });
        expect(await validate(vercelProductionBranch, p)).toEqual([
            "Vercel project web-project must deploy production from branch main (gitRepository.productionBranch is develop).",
        ]);
    });

    it("reports a project without a git repository", async () => {
        expect(await validate(vercelProductionBranch, vercelProject({ gitRepository: undefined }))).toEqual([
            "Vercel project web-project must deploy production from branch main (gitRepository.productionBranch is not set).",
        ]);
    });

    it("takes productionBranch from config", async () => {
        expect(await validate(vercelProductionBranch, vercelProject(), { productionBranch: "release" })).toEqual([
            "Vercel project web-project must deploy production from branch release (gitRepository.productionBranch is main).",
        ]);
    });

    it("does not apply to env vars", async () => {
        expect(await validate(vercelProductionBranch, envVar("VITE_API_URL", "https://api.example.com"))).toEqual(
            "n/a",
        );
    });
});

describe("vercel-sensitive-secrets", () => {
    it("passes a sensitive secret and a public URL", async () => {
        expect(await validate(vercelSensitiveSecrets, envVar("SESSION_SECRET", "x", { sensitive: true }))).toEqual([]);
        expect(await validate(vercelSensitiveSecrets, envVar("VITE_API_URL", "https://api.example.com"))).toEqual([]);
    });

    it.each(["SESSION_SECRET", "VERCEL_TOKEN", "MAPS_API_KEY", "ADMIN_PASSWORD", "DATABASE_URL", "REDIS_URL"])(
        "reports %s not marked sensitive",
        async (key) => {
            expect(await validate(vercelSensitiveSecrets, envVar(key, "x"))).toEqual([
                `Vercel env var ${key} in web-env-${key.toLowerCase()} must be marked sensitive.`,
            ]);
        },
    );

    it("exempts development-only variables, which Vercel cannot mark sensitive", async () => {
        expect(
            await validate(vercelSensitiveSecrets, envVar("SESSION_SECRET", "x", { targets: ["development"] })),
        ).toEqual([]);
    });

    it("reads ProjectEnvironmentVariables and a project's inline environments", async () => {
        const bulk = {
            type: Types.vercelEnvVars,
            name: "web-env",
            props: {
                projectId: "p",
                variables: [
                    { key: "VITE_API_URL", value: "https://a", sensitive: false },
                    { key: "SESSION_SECRET", value: "x", sensitive: false },
                ],
            },
        };
        expect(await validate(vercelSensitiveSecrets, bulk)).toEqual([
            "Vercel env var SESSION_SECRET in web-env must be marked sensitive.",
        ]);
        const inline = vercelProject({
            environments: [{ key: "SESSION_SECRET", value: "x", sensitive: false, targets: ["production"] }],
        });
        expect(await validate(vercelSensitiveSecrets, inline)).toEqual([
            "Vercel env var SESSION_SECRET in web-project must be marked sensitive.",
        ]);
    });

    it("takes secretKeyPatterns from config", async () => {
        expect(
            await validate(vercelSensitiveSecrets, envVar("SENTRY_DSN", "x"), { secretKeyPatterns: ["_DSN$"] }),
        ).toEqual(["Vercel env var SENTRY_DSN in web-env-sentry_dsn must be marked sensitive."]);
    });

    it("does not apply to machines", async () => {
        expect(await validate(vercelSensitiveSecrets, machine())).toEqual("n/a");
    });
});

describe("vercel-secure-urls", () => {
    it("passes https:// and wss://, plain and secret-wrapped", async () => {
        expect(await validate(vercelSecureUrls, envVar("VITE_API_URL", "https://fpsgame-api.fly.dev"))).toEqual([]);
        expect(
            await validate(vercelSecureUrls, envVar("VITE_WS_URL", secretWire("wss://fpsgame-api.fly.dev/ws"))),
        ).toEqual([]);
    });

    it("reports http://", async () => {
        expect(await validate(vercelSecureUrls, envVar("VITE_API_URL", "http://fpsgame-api.fly.dev"))).toEqual([
            "Vercel env var VITE_API_URL in web-env-vite_api_url must use https://, not http://.",
        ]);
    });

    it("reports ws://, also when the value is secret-wrapped", async () => {
        expect(
            await validate(vercelSecureUrls, envVar("VITE_WS_URL", secretWire("ws://fpsgame-api.fly.dev/ws"))),
        ).toEqual(["Vercel env var VITE_WS_URL in web-env-vite_ws_url must use wss://, not ws://."]);
    });

    it("reports insecure URLs in bulk and inline env vars", async () => {
        const bulk = {
            type: Types.vercelEnvVars,
            name: "web-env",
            props: {
                projectId: "p",
                variables: [{ key: "VITE_WS_URL", value: "WS://x.example.com/ws", sensitive: false }],
            },
        };
        expect(await validate(vercelSecureUrls, bulk)).toEqual([
            "Vercel env var VITE_WS_URL in web-env must use wss://, not ws://.",
        ]);
    });

    it("takes allowedInsecureHosts from config", async () => {
        const local = envVar("VITE_API_URL", "http://localhost:8080");
        expect(await validate(vercelSecureUrls, local)).toEqual([
            "Vercel env var VITE_API_URL in web-env-vite_api_url must use https://, not http://.",
        ]);
        expect(await validate(vercelSecureUrls, local, { allowedInsecureHosts: ["localhost"] })).toEqual([]);
        expect(
            await validate(vercelSecureUrls, envVar("VITE_API_URL", "http://api.example.com"), {
                allowedInsecureHosts: ["localhost"],
            }),
        ).toEqual(["Vercel env var VITE_API_URL in web-env-vite_api_url must use https://, not http://."]);
    });
});
