/**
 * Two projects: `unit` (Pulumi mocks, the Fly provider against its emulator; no engine, no
 * servers) and `e2e` (the real Pulumi CLI against the local cloud; needs `npm start`'s set-up).
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
            testMatch: ["<rootDir>/tests/unit/**/*.test.ts"],
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
