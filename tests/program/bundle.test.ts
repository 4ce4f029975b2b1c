/**
 * lib/bundle.js, which starts every resource plugin (the Fly provider and the local cloud's
 * stand-ins) from one cached bundle: the plugin runs as it would unbundled, and a changed input,
 * of the project or in node_modules, is never served from an old bundle.
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const REPO_ROOT = path.resolve(__dirname, "..", "..");
const LAUNCHER = path.join(REPO_ROOT, "lib", "bundle.js");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { CACHE_DIR } = require(LAUNCHER) as { CACHE_DIR: string };

let dir: string;
beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "bundle-test-"));
});
afterEach(() => {
    // The bundles of this test's entries go with them.
    for (const f of fs.existsSync(CACHE_DIR) ? fs.readdirSync(CACHE_DIR) : []) {
        if (!f.endsWith(".json")) continue;
        const m = JSON.parse(fs.readFileSync(path.join(CACHE_DIR, f), "utf8")) as { entry: string };
        if (!m.entry.startsWith(dir + path.sep)) continue;
        const stem = f.slice(0, -".json".length);
        for (const ext of [".json", ".js", ".js.map"]) fs.rmSync(path.join(CACHE_DIR, stem + ext), { force: true });
    }
    fs.rmSync(dir, { recursive: true, force: true });
});

function run(file: string, ...args: string[]): string {
    return execFileSync(process.execPath, [LAUNCHER, file, ...args], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
    });
}

/** The bundles in the cache and their modification times. */
function bundles(): Map<string, number> {
    if (!fs.existsSync(CACHE_DIR)) return new Map();
    return new Map(
        fs
            .readdirSync(CACHE_DIR)
            .filter((f) => f.endsWith(".js"))
            .map((f) => [f, fs.statSync(path.join(CACHE_DIR, f)).mtimeMs]),
    );
}

/** The bundles written or rewritten since `before`. */
function written(before: Map<string, number>): string[] {
    return [...bundles()].filter(([f, t]) => before.get(f) !== t).map(([f]) => f);
}

test("runs a TypeScript entry as it would run unbundled: its arguments, imports, each module's own __dirname, require.main", () => {
    fs.mkdirSync(path.join(dir, "sub"));
    fs.writeFileSync(
        path.join(dir, "sub", "where.ts"),
        'import * as path from "path";\nexport const where: string = path.basename(__dirname) + " " + path.basename(__filename);\n' +
            "export const subIsMain = require.main === module;\n",
    );
    fs.writeFileSync(
        path.join(dir, "main.ts"),
        '"use strict";\nimport { where, subIsMain } from "./sub/where";\n' +
            "if (require.main === module) {\n" +
            "    console.log([where, subIsMain, require('path').basename(process.argv[1]), ...process.argv.slice(2)].join(' '));\n" +
            "}\n",
    );
    const before = bundles();
    expect(run(path.join(dir, "main.ts"), "a", "b c").trim()).toBe("sub where.ts false main.ts a b c");
    expect(written(before)).toHaveLength(1);

    // The second start runs the cached bundle: nothing is written.
    const cached = bundles();
    expect(run(path.join(dir, "main.ts"), "again").trim()).toBe("sub where.ts false main.ts again");
    expect(written(cached)).toEqual([]);
});

test("a changed source of the project, same size, runs its new content: the bundle is built again", () => {
    const lib = path.join(dir, "lib.ts");
    fs.writeFileSync(lib, 'export const v: string = "first";\n');
    fs.writeFileSync(path.join(dir, "main.ts"), 'import { v } from "./lib";\nconsole.log(v);\n');
    expect(run(path.join(dir, "main.ts")).trim()).toBe("first");
    const mtime = fs.statSync(lib).mtime;
    fs.writeFileSync(lib, 'export const v: string = "other";\n');
    // Same size and the old modification time: only the content tells them apart.
    fs.utimesSync(lib, mtime, mtime);
    expect(run(path.join(dir, "main.ts")).trim()).toBe("other");
});

test("a changed module in node_modules (what npm ci rewrites) builds the bundle again", () => {
    const pkg = path.join(dir, "node_modules", "fake-sdk");
    fs.mkdirSync(pkg, { recursive: true });
    fs.writeFileSync(path.join(pkg, "package.json"), '{"name":"fake-sdk","version":"1.0.0","main":"index.js"}');
    fs.writeFileSync(path.join(pkg, "index.js"), '"use strict";\nexports.version = "1.0.0";\n');
    fs.writeFileSync(path.join(dir, "main.ts"), 'import { version } from "fake-sdk";\nconsole.log(version);\n');
    expect(run(path.join(dir, "main.ts")).trim()).toBe("1.0.0");
    fs.writeFileSync(path.join(pkg, "index.js"), '"use strict";\nexports.version = "2.0.0";\n');
    const later = new Date(Date.now() + 5000);
    fs.utimesSync(path.join(pkg, "index.js"), later, later);
    expect(run(path.join(dir, "main.ts")).trim()).toBe("2.0.0");
});

test("an entry esbuild cannot bundle says why, naming the entry, and is run through lib/register.js", () => {
    const entry = path.join(dir, "main.ts");
    fs.writeFileSync(entry, 'import { x } from "no-such-package-here";\nconsole.log(x);\n');
    const r = spawnSync(process.execPath, [LAUNCHER, entry], { encoding: "utf8" });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`lib/bundle.js: cannot bundle ${entry}`);
    expect(r.stderr).toContain("no-such-package-here");
    expect(r.stderr).toContain("running it through lib/register.js");
    // What the unbundled run said: Node's own error for the missing module.
    expect(r.stderr).toMatch(/Cannot find module 'no-such-package-here'/);
});

test("no entry: the usage line and exit code 2", () => {
    const r = spawnSync(process.execPath, [LAUNCHER], { encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe("usage: node lib/bundle.js <entry>.ts [arguments...]\n");
});
