/**
 * Two projects: `unit` (Pulumi mocks, the Fly provider against its emulator, the offline wing's
 * own tests; no engine, no servers) and `e2e` (the real Pulumi CLI against the local cloud).
 * Tests live by what they test: tests/{program,components,fly-provider,policies,ops,e2e}, and the
 * offline wing's under localcloud/tests.
 * ts-jest only transpiles (isolatedModules); `npm run typecheck` is the type check.
 */
const tsJest = ["ts-jest", { isolatedModules: true, diagnostics: false }];
module.exports = {
    reporters: ["default", "<rootDir>/tests/summaryReporter.js"],
    projects: [
        {
            displayName: "unit",
            testEnvironment: "node",
            transform: { "^.+\\.ts$": tsJest },
            testMatch: [
                "<rootDir>/tests/{program,components,fly-provider,policies,ops}/**/*.test.ts",
                "<rootDir>/localcloud/tests/**/*.test.ts",
            ],
        },
        {
            displayName: "e2e",
            testEnvironment: "node",
            transform: { "^.+\\.ts$": tsJest },
            testMatch: ["<rootDir>/tests/e2e/**/*.test.ts"],
            // Starts the local cloud (and builds the toolchain the first time).
            globalSetup: "<rootDir>/tests/e2e/globalSetup.ts",
        },
    ],
};
