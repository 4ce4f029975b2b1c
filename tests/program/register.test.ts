/**
 * lib/register.js, which every process of the project is started with (the program, the policy
 * pack, the Fly provider, the stand-ins): TypeScript runs from cached JavaScript, and a changed
 * source is never served from an old cache entry.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const REPO_ROOT = path.resolve(__dirname, "..", "..");
const REGISTER = path.join(REPO_ROOT, "lib", "register.js");
const CACHE_DIR = path.join(REPO_ROOT, "node_modules", ".cache", "fpsgame-infra", "js");

let dir: string;
beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "register-test-"));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function runTs(file: string): string {
    return execFileSync(process.execPath, ["--require", REGISTER, file], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
    });
}

function cacheEntries(): Set<string> {
    if (!fs.existsSync(CACHE_DIR)) return new Set();
    return new Set(fs.readdirSync(CACHE_DIR).flatMap((d) => fs.readdirSync(path.join(CACHE_DIR, d))));
}

test("runs TypeScript with imports, types and __dirname as written, and caches the JavaScript", () => {
    fs.writeFileSync(
        path.join(dir, "lib.ts"),
        "export interface Shape { sides: number }\nexport const square: Shape = { sides: 4 };\n",
    );
    fs.writeFileSync(
        path.join(dir, "main.ts"),
        'import { square, type Shape } from "./lib";\nconst s: Shape = square;\n' +
            "console.log(`${s.sides} ${require('path').basename(__dirname)}`);\n",
    );
    const before = cacheEntries();
    expect(runTs(path.join(dir, "main.ts")).trim()).toBe(`4 ${path.basename(dir)}`);
    const added = [...cacheEntries()].filter((f) => !before.has(f));
    expect(added).toHaveLength(2); // main.ts and lib.ts
    // The second start is served from the cache: nothing new is written.
    expect(runTs(path.join(dir, "main.ts")).trim()).toBe(`4 ${path.basename(dir)}`);
    expect(cacheEntries().size).toBe(before.size + 2);
});

test("a changed source runs its new content at once: an old cache entry is never used", () => {
    const file = path.join(dir, "main.ts");
    fs.writeFileSync(file, 'const v: string = "first";\nconsole.log(v);\n');
    expect(runTs(file).trim()).toBe("first");
    fs.writeFileSync(file, 'const v: string = "second";\nconsole.log(v);\n');
    expect(runTs(file).trim()).toBe("second");
    fs.writeFileSync(file, 'const v: string = "first";\nconsole.log(v);\n');
    expect(runTs(file).trim()).toBe("first");
});

test("stack traces point at the TypeScript lines", () => {
    const file = path.join(dir, "main.ts");
    fs.writeFileSync(
        file,
        "type T = { a: number };\n\n\nconst t: T = { a: 1 };\nconsole.log(new Error(String(t.a)).stack);\n",
    );
    expect(runTs(file)).toContain(`${file}:5:`);
});

test("a later ts-node registration (as @pulumi/pulumi's policy-pack runner does) does not replace it", () => {
    // ts-node would type-check this file and fail on the implicit any; the loader only strips types.
    const hook = path.join(dir, "late-ts-node.js");
    fs.writeFileSync(
        hook,
        `require(${JSON.stringify(require.resolve("ts-node", { paths: [REPO_ROOT] }))}).register({ typeCheck: true, compilerOptions: { strict: true } });\n`,
    );
    const file = path.join(dir, "main.ts");
    fs.writeFileSync(file, "function twice(x) { return x * 2; }\nconsole.log(twice(21));\n");
    const args = ["--require", REGISTER, "--require", hook, file];
    expect(execFileSync(process.execPath, args, { encoding: "utf8" }).trim()).toBe("42");
});

test("@pulumi/pulumi loads without @npmcli/arborist, and its closure serializer still gets the real one on first use", () => {
    const sdk = path.join(REPO_ROOT, "node_modules", "@pulumi", "pulumi");
    fs.writeFileSync(path.join(dir, "package.json"), '{"name":"probe","version":"1.0.0","dependencies":{}}\n');
    fs.writeFileSync(
        path.join(dir, "probe.js"),
        `const loaded = () => Object.keys(require.cache).some((k) => k.includes("@npmcli/arborist"));
require(${JSON.stringify(sdk)});
const atStart = loaded();
require(${JSON.stringify(path.join(sdk, "runtime", "closure", "codePaths.js"))})
    .computeCodePaths({})
    .then((paths) => console.log(JSON.stringify({ atStart, afterUse: loaded(), paths: paths.size })));
`,
    );
    const out = execFileSync(process.execPath, ["--require", REGISTER, "probe.js"], { cwd: dir, encoding: "utf8" });
    expect(JSON.parse(out)).toEqual({ atStart: false, afterUse: true, paths: 0 });
});
