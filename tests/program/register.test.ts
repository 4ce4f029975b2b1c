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
// eslint-disable-next-line @typescript-eslint/no-require-imports
const CACHE_DIR = (require("../../lib/transform.js") as { CACHE: { js: string } }).CACHE.js;

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

test("the SDK's output promises keep their stack for the leak report, written out only when the report reads it, at the TypeScript lines", () => {
    const file = path.join(dir, "main.ts");
    fs.writeFileSync(
        file,
        `import { debuggablePromise, promiseDebugString } from "@pulumi/pulumi/runtime/debuggable";
type T = number;
let formatted = 0; // frames written out
const format = Error.prepareStackTrace;
Error.prepareStackTrace = (e, frames) => ((formatted += frames.length), format ? format(e, frames) : String(e));
const p = Promise.resolve<T>(1); // resolved, so the exit finds no leak
function registerSomething(): Promise<T> {
    return debuggablePromise(p, "a leaked promise");
}
void registerSomething();
const before = formatted;
const report = promiseDebugString(p);
console.log(JSON.stringify({ before, report, after: formatted }));
`,
    );
    fs.symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(dir, "node_modules"));
    const out = JSON.parse(runTs(file)) as { before: number; report: string; after: number };
    expect(out.before).toBe(0);
    expect(out.report).toMatch(/^CONTEXT\(0\): a leaked promise\nSTACK_TRACE:\nError\n {4}at debuggablePromise \(/);
    expect(out.report).toContain(`at registerSomething (${file}:8:`);
    expect(out.after).toBeGreaterThan(0);
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

test("@pulumi/pulumi loads without @npmcli/arborist, typescript, normalize-package-data and its automation API, and each is the real one on first use", () => {
    const sdk = path.join(REPO_ROOT, "node_modules", "@pulumi", "pulumi");
    fs.writeFileSync(path.join(dir, "package.json"), '{"name":"probe","version":"1.0.0","dependencies":{}}\n');
    fs.writeFileSync(
        path.join(dir, "probe.js"),
        `const loaded = (name) => Object.keys(require.cache).some((k) => k.includes("/node_modules/" + name + "/"));
const pulumi = require(${JSON.stringify(sdk)});
const which = () => ({
    arborist: loaded("@npmcli/arborist"),
    typescript: loaded("typescript"),
    normalize: loaded("normalize-package-data"),
    automation: Object.keys(require.cache).some((k) => k.endsWith("/@pulumi/pulumi/automation/index.js")),
});
const atStart = which();
(async () => {
    const fn = await pulumi.runtime.serializeFunction(() => 6 * 7);
    const paths = await pulumi.runtime.computeCodePaths({});
    const direct = require(${JSON.stringify(sdk + "/automation")});
    const sameAutomation = pulumi.automation.LocalWorkspace === direct.LocalWorkspace;
    console.log(JSON.stringify({ atStart, afterUse: which(), serialized: fn.text.includes("6 * 7"), paths: paths.size, sameAutomation }));
})();
`,
    );
    const out = execFileSync(process.execPath, ["--require", REGISTER, "probe.js"], { cwd: dir, encoding: "utf8" });
    expect(JSON.parse(out)).toEqual({
        atStart: { arborist: false, typescript: false, normalize: false, automation: false },
        afterUse: { arborist: true, typescript: true, normalize: true, automation: true },
        serialized: true,
        paths: 0,
        sameAutomation: true,
    });
});

test("the SDK's runners: no source-map-support, and the policy-pack runner honours typescript: false", () => {
    // Laid out as in @pulumi/pulumi: cmd/run/index.js and cmd/run-policy-pack/{index,run}.js.
    const cmd = path.join(dir, "cmd");
    fs.mkdirSync(path.join(cmd, "run"), { recursive: true });
    fs.mkdirSync(path.join(cmd, "run-policy-pack"));
    const smsProbe = `const sms = require(${JSON.stringify(require.resolve("source-map-support/register", { paths: [REPO_ROOT] }))});`;
    fs.writeFileSync(
        path.join(cmd, "run", "index.js"),
        `require("source-map-support/register");\nconsole.log(JSON.stringify({ program: Object.keys(require.cache).some((k) => k.includes("source-map-support")) }));\n`,
    );
    fs.writeFileSync(
        path.join(cmd, "run-policy-pack", "run.js"),
        "exports.run = (opts) => opts.typeScript;\nexports.other = 1;\n",
    );
    fs.writeFileSync(
        path.join(cmd, "run-policy-pack", "index.js"),
        `require("source-map-support/register");\nconst r = require("./run");\n` +
            `console.log(JSON.stringify({ pack: Object.keys(require.cache).some((k) => k.includes("source-map-support")), typeScript: r.run({ typeScript: true }), other: r.other }));\n`,
    );
    // Anywhere else, both requires are Node's.
    fs.writeFileSync(
        path.join(dir, "elsewhere.js"),
        `${smsProbe}\nconsole.log(JSON.stringify({ elsewhere: Object.keys(require.cache).some((k) => k.includes("source-map-support")) }));\n`,
    );
    const run = (file: string) =>
        JSON.parse(
            execFileSync(process.execPath, ["--require", REGISTER, file], {
                cwd: dir,
                encoding: "utf8",
                env: { ...process.env, NODE_PATH: path.join(REPO_ROOT, "node_modules") },
            }),
        );
    expect(run(path.join(cmd, "run", "index.js"))).toEqual({ program: false });
    expect(run(path.join(cmd, "run-policy-pack", "index.js"))).toEqual({ pack: false, typeScript: false, other: 1 });
    expect(run(path.join(dir, "elsewhere.js"))).toEqual({ elsewhere: true });
});

test("a module loaded with import() on first use loads the same way under jest and under lib/register.js", async () => {
    // pg, ioredis and postgrator are loaded lazily (ops/recovery.ts, localcloud/services/env.ts,
    // migrations/runner.ts). Jest without --experimental-vm-modules cannot run a real import(),
    // so the transform turns it into require(); postgrator is an ES module Node 22 requires.
    fs.writeFileSync(
        path.join(dir, "lazy.ts"),
        'export async function load(): Promise<string[]> {\n    const pg = await import("pg");\n' +
            '    const p = (await import("postgrator")) as unknown as { default: unknown };\n' +
            "    return [typeof pg.Client, typeof p.default];\n}\n",
    );
    fs.writeFileSync(
        path.join(dir, "main.ts"),
        'import { load } from "./lazy";\nload().then((r) => console.log(r.join(" ")));\n',
    );
    // Resolved from the repository, as the product's own files are.
    fs.symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(dir, "node_modules"));
    expect(runTs(path.join(dir, "main.ts")).trim()).toBe("function function");

    // In this jest worker: pg is loaded on first use, and nothing listens on port 1, so the
    // connection's refusal is the answer, not a loader error.
    const { backendLocks } = await import("../../ops/recovery");
    await expect(
        backendLocks({ PULUMI_BACKEND_URL: "postgres://u@127.0.0.1:1/state" }, "fpsgame-infra", "prod"),
    ).rejects.toThrow(/ECONNREFUSED/);
});

test("the Fly client loads axios on its first request, not at start, and its errors are still FlyApiErrors; the upstash stand-in loads ioredis on its first connection", () => {
    const client = path.join(REPO_ROOT, "providers", "fly", "provider", "client.ts");
    const instances = path.join(REPO_ROOT, "localcloud", "stand-ins", "upstash", "instances.ts");
    fs.writeFileSync(
        path.join(dir, "probe.ts"),
        `import * as http from "node:http";
const loaded = (name: string) => Object.keys(require.cache).some((k) => k.includes("/node_modules/" + name + "/"));
const { FlyClient, FlyApiError } = require(${JSON.stringify(client)});
require(${JSON.stringify(instances)});
const atStart = { axios: loaded("axios"), axiosRetry: loaded("axios-retry"), ioredis: loaded("ioredis") };
const server = http.createServer((_req, res) => {
    res.writeHead(404, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: "app not found" }));
});
server.listen(0, "127.0.0.1", async () => {
    const { port } = server.address() as { port: number };
    process.env.FLY_API_URL = "http://127.0.0.1:" + port;
    process.env.FLY_API_TOKEN = "probe-token";
    let error: unknown;
    try {
        await new FlyClient({ retries: 0 }).deleteApp("probe-app");
    } catch (e) {
        error = e;
    }
    server.close();
    console.log(JSON.stringify({
        atStart,
        afterRequest: { axios: loaded("axios"), axiosRetry: loaded("axios-retry") },
        flyApiError: error instanceof FlyApiError,
        message: String((error as Error).message),
    }));
});
`,
    );
    const out = JSON.parse(runTs(path.join(dir, "probe.ts"))) as Record<string, unknown>;
    expect(out).toEqual({
        atStart: { axios: false, axiosRetry: false, ioredis: false },
        afterRequest: { axios: true, axiosRetry: true },
        flyApiError: true,
        message: expect.stringContaining('delete app "probe-app"') as unknown,
    });
    expect(out.message).toContain("404");
});

test("the program runner's tracing module loads on start only: until then newSpan makes the API's span, from then on every call is the real module's", () => {
    // A runner and a tracing module in the SDK's layout, the tracing one recording its calls.
    const run = path.join(dir, "cmd", "run");
    fs.mkdirSync(run, { recursive: true });
    fs.symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(dir, "node_modules"));
    fs.writeFileSync(
        path.join(run, "tracing.js"),
        `global.calls = ["loaded"];
exports.start = (url) => global.calls.push("start " + url);
exports.stop = () => global.calls.push("stop");
exports.newSpan = (name) => (global.calls.push("span " + name), { real: true });
`,
    );
    fs.writeFileSync(path.join(run, "run.js"), 'module.exports = require("./tracing");\n');
    fs.writeFileSync(
        path.join(dir, "probe.js"),
        `const tracing = require("./cmd/run/run.js");
const before = tracing.newSpan("language-runtime.run");
const beforeStart = { loaded: global.calls !== undefined, recording: before.isRecording(), ended: (before.end(), true) };
tracing.stop();
tracing.start("http://127.0.0.1:9411/api/v2/spans");
const after = tracing.newSpan("language-runtime.runProgram");
tracing.stop();
console.log(JSON.stringify({ esModule: tracing.__esModule, beforeStart, after, calls: global.calls }));
`,
    );
    const out = execFileSync(process.execPath, ["--require", REGISTER, "probe.js"], { cwd: dir, encoding: "utf8" });
    expect(JSON.parse(out)).toEqual({
        esModule: true,
        beforeStart: { loaded: false, recording: false, ended: true },
        after: { real: true },
        calls: ["loaded", "start http://127.0.0.1:9411/api/v2/spans", "span language-runtime.runProgram", "stop"],
    });
});

test("the SDK's program runner uses no more of its tracing module than the stand-in answers (start, stop, newSpan)", () => {
    const run = path.join(REPO_ROOT, "node_modules", "@pulumi", "pulumi", "cmd", "run");
    const exported = [...fs.readFileSync(path.join(run, "tracing.js"), "utf8").matchAll(/^exports\.(\w+) =/gm)];
    const used = [...fs.readFileSync(path.join(run, "run.js"), "utf8").matchAll(/\btracing\.(\w+)/g)];
    expect(new Set(exported.map((m) => m[1]))).toEqual(new Set(["start", "stop", "newSpan"]));
    expect(new Set(used.map((m) => m[1]))).toEqual(new Set(["start", "stop", "newSpan"]));
});

test("zod loads without its locales, and z.locales and z.core.locales are the real ones on first use", () => {
    fs.writeFileSync(
        path.join(dir, "probe.js"),
        `const loaded = () => Object.keys(require.cache).some((k) => k.includes("/zod/v4/locales/index.cjs"));
const { z } = require(${JSON.stringify(path.join(REPO_ROOT, "node_modules", "zod"))});
const atStart = loaded();
const english = z.string().safeParse(1).error.issues[0].message;
const afterEnglish = loaded();
z.config(z.locales.de());
const german = z.string().safeParse(1).error.issues[0].message;
console.log(JSON.stringify({ atStart, english, afterEnglish, german, same: z.core.locales.de === z.locales.de, afterUse: loaded() }));
`,
    );
    const out = execFileSync(process.execPath, ["--require", REGISTER, "probe.js"], { cwd: dir, encoding: "utf8" });
    expect(JSON.parse(out)).toEqual({
        atStart: false,
        english: "Invalid input: expected string, received number",
        afterEnglish: false,
        german: "Ungültige Eingabe: erwartet string, erhalten Zahl",
        same: true,
        afterUse: true,
    });
});
