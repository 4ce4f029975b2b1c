/**
 * The one Go-duration implementation (`lib/facts/durations.ts`), against what Go's
 * `time.ParseDuration` and `time.Duration.String()` do: Fly parses durations with the former
 * and sends them back in the form of the latter.
 */
import { formatGoDuration, parseGoDuration } from "../../lib/facts/durations";

describe("parseGoDuration", () => {
    test.each([
        ["15s", 15e9],
        ["1m30s", 90e9],
        ["500ms", 5e8],
        ["1.5s", 1.5e9],
        ["1500ms", 1.5e9],
        [".5s", 5e8],
        ["1h0m0s", 3600e9],
        ["2h45m", 9900e9],
        ["250us", 250e3],
        ["250\u00b5s", 250e3],
        ["250\u03bcs", 250e3],
        ["42ns", 42],
        ["0", 0],
        ["-2s", -2e9],
        ["+3m", 180e9],
    ])("reads %s as %d ns", (text, ns) => {
        expect(parseGoDuration(text)).toBe(ns);
    });

    test.each(["", "15", "15 s", "s", "1.5", "15sec", "1d", "-", "1m 30s", "abc"])("refuses %j", (text) => {
        expect(parseGoDuration(text)).toBeUndefined();
    });

    test("takes a whole number of nanoseconds as Fly's API does, and nothing else that is not a string", () => {
        expect(parseGoDuration(15e9)).toBe(15e9);
        expect(parseGoDuration(1.5)).toBeUndefined();
        expect(parseGoDuration(null)).toBeUndefined();
    });
});

describe("formatGoDuration", () => {
    test.each([
        [0, "0s"],
        [42, "42ns"],
        [250e3, "250\u00b5s"],
        [1.5e6, "1.5ms"],
        [5e8, "500ms"],
        [1.5e9, "1.5s"],
        [2e9, "2s"],
        [90e9, "1m30s"],
        [3600e9, "1h0m0s"],
        [3661.5e9, "1h1m1.5s"],
        [-2e9, "-2s"],
    ])("writes %d ns as %s, as Go does", (ns, text) => {
        expect(formatGoDuration(ns)).toBe(text);
    });

    test("round-trips what it writes", () => {
        for (const ns of [1, 999, 1e3, 1.5e6, 5e8, 1.5e9, 61e9, 3600e9, 3661.5e9]) {
            expect(parseGoDuration(formatGoDuration(ns))).toBe(ns);
        }
    });
});
