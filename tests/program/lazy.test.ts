/**
 * lib/lazy.js, the module loaded on first use that lib/register.js gives the SDK's closure
 * serializer in every process, and jest's module map in the tests (tests/lazy/).
 */
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { lazyModule } = require("../../lib/lazy.js") as {
    lazyModule: (load: () => Record<string | symbol, unknown>) => Record<string | symbol, unknown>;
};

test("loads the real module once, on the first read of an export; __esModule answers without loading", () => {
    let loads = 0;
    const real = { answer: 42, other: "x" };
    const m = lazyModule(() => {
        loads += 1;
        return real;
    });
    expect(m.__esModule).toBe(true);
    expect(loads).toBe(0);
    expect(m.answer).toBe(42);
    expect(m.other).toBe("x");
    expect(Object.keys(m)).toEqual(["answer", "other"]);
    expect("answer" in m).toBe(true);
    expect(loads).toBe(1);
    // TypeScript's __importDefault of a CommonJS module: the module itself.
    expect(lazyModule(() => real).default).toBe(real);
});

test("in the tests, typescript and arborist are the stand-ins of tests/lazy/ (jest's moduleNameMapper)", () => {
    const lazy = path.join(__dirname, "..", "lazy");
    expect(require.resolve("typescript")).toBe(path.join(lazy, "typescript.js"));
    expect(require.resolve("@npmcli/arborist")).toBe(path.join(lazy, "@npmcli", "arborist.js"));
});

test("in the tests, the SDK's closure serializer still gets the real TypeScript compiler and arborist", async () => {
    const s = await pulumi.runtime.serializeFunction(() => 6 * 7);
    expect(s.text).toContain("6 * 7");
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ts = require("typescript") as { createSourceFile: unknown; version: string };
    expect(typeof ts.createSourceFile).toBe("function");
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const arborist = require("@npmcli/arborist") as { Arborist: unknown };
    expect(typeof arborist.Arborist).toBe("function");
});
