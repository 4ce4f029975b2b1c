/**
 * Go durations, as Fly's Machines API takes and returns them (check `interval`, `timeout`,
 * `grace_period`, `stop_config.timeout`): one parser and one formatter, faithful to Go's
 * `time.ParseDuration` and `time.Duration.String()`. Fly sends durations back in Go's canonical
 * form, so 1.5 s is `1.5s` (not `1500ms`, which Go also parses).
 *
 * The stack config, the Fly provider and the stand-ins import these. The Fly emulator keeps its
 * own copy on purpose; `localcloud/tests/fly-emulator-facts.test.ts` holds it equal to this one.
 */

/** Nanoseconds per unit, with both spellings of micro that Go accepts (U+00B5 and U+03BC). */
const UNIT_NS: Readonly<Record<string, number>> = {
    ns: 1,
    us: 1e3,
    "\u00b5s": 1e3,
    "\u03bcs": 1e3,
    ms: 1e6,
    s: 1e9,
    m: 60e9,
    h: 3600e9,
};

const TERM = /(\d+(?:\.\d*)?|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)/y;

/**
 * Parses a Go duration (`"15s"`, `"1m30s"`, `"1.5s"`, `"500ms"`, `"-2h"`) into nanoseconds, as
 * Go's `time.ParseDuration` does: an optional sign, then one or more decimal numbers each with a
 * unit; `"0"` alone needs no unit. Fly's API (fly-go `Duration`) also accepts a whole number of
 * nanoseconds, which is returned as it is. Returns `undefined` for anything else.
 */
export function parseGoDuration(value: unknown): number | undefined {
    if (typeof value === "number") {
        return Number.isSafeInteger(value) ? value : undefined;
    }
    if (typeof value !== "string") {
        return undefined;
    }
    let text = value;
    let sign = 1;
    if (text.startsWith("-") || text.startsWith("+")) {
        sign = text.startsWith("-") ? -1 : 1;
        text = text.slice(1);
    }
    if (text === "0") {
        return 0;
    }
    let total = 0;
    let pos = 0;
    TERM.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = TERM.exec(text)) !== null) {
        total += parseFloat(m[1]) * UNIT_NS[m[2]];
        pos = TERM.lastIndex;
    }
    if (pos === 0 || pos !== text.length) {
        return undefined;
    }
    // Go truncates to whole nanoseconds; rounding hides float noise such as 0.3 * 1e9.
    return sign * Math.round(total);
}

/** A number with at most 9 decimals and no trailing zeros, as Go prints fractions. */
function fraction(n: number): string {
    return Number(n.toFixed(9)).toString();
}

/**
 * Formats nanoseconds as Go's `time.Duration.String()` does: `0s`, `500ms`, `1.5s`, `1m30s`,
 * `1h0m0s`, `250µs`, `-2s`.
 */
export function formatGoDuration(ns: number): string {
    if (ns === 0) {
        return "0s";
    }
    const sign = ns < 0 ? "-" : "";
    const abs = Math.abs(ns);
    if (abs < 1e3) {
        return `${sign}${abs}ns`;
    }
    if (abs < 1e6) {
        return `${sign}${fraction(abs / 1e3)}\u00b5s`;
    }
    if (abs < 1e9) {
        return `${sign}${fraction(abs / 1e6)}ms`;
    }
    const hours = Math.floor(abs / 3600e9);
    const minutes = Math.floor((abs % 3600e9) / 60e9);
    const seconds = (abs % 60e9) / 1e9;
    return `${sign}${hours > 0 ? `${hours}h` : ""}${hours > 0 || minutes > 0 ? `${minutes}m` : ""}${fraction(seconds)}s`;
}
