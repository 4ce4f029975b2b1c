/**
 * Prints one closing line, "tests: N passed, N failed", which CI reads whatever the runner.
 */
class SummaryReporter {
    onRunComplete(_contexts, results) {
        const skipped = results.numPendingTests + results.numTodoTests;
        process.stdout.write(
            `\ntests: ${results.numPassedTests} passed, ${results.numFailedTests + results.numRuntimeErrorTestSuites} failed` +
                (skipped ? `, ${skipped} skipped` : "") +
                "\n",
        );
    }
}
module.exports = SummaryReporter;
