/**
 * Two projects: `unit` (Pulumi mocks, the Fly provider against its emulator, the offline wing's
 * own tests; no engine, no servers) and `e2e` (the real Pulumi CLI against the local cloud).
 * Tests live by what they test: tests/{program,components,fly-provider,policies,ops,ci,e2e}, and the
 * offline wing's under localcloud/tests.
 * The tests' TypeScript runs through tests/transform.js (lib/transform.js, the product's own
 * esbuild transform): types removed only; `npm run typecheck` is the type check.
 */
const os = require("os");

const transform = { "^.+\\.ts$": "<rootDir>/tests/transform.js" };
// The two modules lib/register.js loads on first use in every process of the product, likewise
// in the tests (tests/lazy/): jest evaluates @pulumi/pulumi again for every test file, and both
// are required at its top for a closure serializer no test calls. Loading
// @pulumi/pulumi/automation in a test: 0.88 CPU s with them, 0.37 without.
const moduleNameMapper = { "^(typescript|@npmcli/arborist)$": "<rootDir>/tests/lazy/$1.js" };
module.exports = {
    reporters: ["default", "<rootDir>/tests/summaryReporter.js"],
    // Test files run side by side (jest's default is one worker per core but one, i.e. a single
    // worker on a 2-core machine). The e2e files can: each has a stack, app, database and Redis
    // of its own in the one local cloud, and touches only its own app's faults. One file more
    // than there are cores, at most four: an e2e file spends about a third of its time waiting
    // on the emulated cloud (machines passing their checks), which a third file fills. Measured
    // for `npm test` on two cores, 2026-12-03: 2 workers 865 s (one commit before the backends
    // lock test's shorter hold), 3 workers 757 and 788 s, 4 workers 774 s (each file slower than
    // the overlap gains); a fresh-clone CI run with 3, 695 s. Again on 2026-12-04, with cheaper
    // processes (jest alone, warm caches): 3 workers 562 s and 968 CPU s, 4 workers 588 s and 1059
    // CPU s. `--maxWorkers` overrides.
    maxWorkers: Math.min(os.availableParallelism() + 1, 4),
    // Worktrees of older commits that a rollback checks out (ops/rollback.ts) are not this tree.
    modulePathIgnorePatterns: ["<rootDir>/.rollback/"],
    projects: [
        {
            displayName: "unit",
            testEnvironment: "node",
            transform,
            moduleNameMapper,
            testMatch: [
                "<rootDir>/tests/{program,components,fly-provider,policies,ops,ci}/**/*.test.ts",
                "<rootDir>/localcloud/tests/**/*.test.ts",
            ],
        },
        {
            displayName: "e2e",
            testEnvironment: "node",
            transform,
            moduleNameMapper,
            testMatch: ["<rootDir>/tests/e2e/**/*.test.ts"],
            // Starts the local cloud (and builds the toolchain the first time).
            globalSetup: "<rootDir>/tests/e2e/globalSetup.ts",
            setupFilesAfterEnv: ["<rootDir>/tests/e2e/matchers.ts"],
        },
    ],
};
