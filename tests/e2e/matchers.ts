/**
 * `expect(result).toExitZero()`: a command that should succeed, and when it did not, the failure
 * says why (its exit code and the end of what it printed). `expect(r.code).toBe(0)` said only
 * "Expected: 0, Received: 1", which in a CI log leaves nothing to go on.
 */
/** Lines of stderr a failure shows: the error and what led to it, not a whole `up`. */
const STDERR_TAIL_LINES = 40;

declare global {
    // eslint-disable-next-line @typescript-eslint/no-namespace
    namespace jest {
        interface Matchers<R> {
            /** The command exited 0; otherwise the message shows its code and the tail of its stderr. */
            toExitZero(): R;
        }
    }
}

export function tail(text: string, lines: number): string {
    const all = text.trimEnd().split("\n");
    return all.length <= lines
        ? all.join("\n")
        : [`[… ${all.length - lines} line(s) before]`, ...all.slice(-lines)].join("\n");
}

expect.extend({
    /** A command's result: `stderr` (runCommand, the stack's own ops) or `out` (a shell line's stdout and stderr). */
    toExitZero(received: { code: number | null; stderr?: string; out?: string }) {
        const pass = received.code === 0;
        const printed = received.stderr ?? received.out ?? "";
        return {
            pass,
            message: () =>
                pass
                    ? "expected the command to fail, but it exited 0"
                    : `expected the command to exit 0, but it exited ${received.code}; what it printed:\n${tail(printed, STDERR_TAIL_LINES)}`,
        };
    },
});
