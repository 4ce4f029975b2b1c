// @ts-check
/**
 * Runs this repository's TypeScript on Node.js with nothing compiled at start-up.
 *
 * Preloaded with `node --require <repo>/lib/register.js <file>.ts` by every process the project
 * starts but the resource plugins: the program (Pulumi.yaml `nodeargs`), the policy pack
 * (PulumiPolicy.yaml `nodeargs`), the migration runner (the stack's `migrations-apply` command),
 * the local cloud's Fly emulator, and the npm scripts. The
 * plugins (the Fly provider, the stand-ins) start from a bundle instead (lib/bundle.js), and
 * come here only when esbuild cannot bundle them.
 *
 * Each `.ts` file is turned into JavaScript by esbuild (types removed, imports to `require`),
 * the first time it is loaded, and the result is cached under `node_modules/.cache/fpsgame-infra/js`
 * (git-ignored), keyed by a SHA-256 of the file's path, its exact content and the transform's
 * settings. A later start reads the cached JavaScript instead of loading a compiler; a file
 * whose content changed gets a new key and is transformed again. The check happens on every load
 * of every file, so an old build can never run: there is no build step to forget.
 *
 * It only removes types. The type check is `npm run typecheck` (in `npm test` and CI).
 */
"use strict";

const crypto = require("node:crypto");
const fs = require("node:fs");
const nodeModule = /** @type {typeof import("node:module") & { _extensions: Record<string, unknown> }} */ (
    require("node:module")
);
const path = require("node:path");

const { lazyModule } = require("./lazy.js");
const { CACHE, SALT, transform } = require("./transform.js");

const CACHE_DIR = CACHE.js;

/**
 * The JavaScript for one TypeScript file, from the cache or transformed now (and cached: written
 * to a temporary file and renamed, so processes starting together never read half a file).
 * @param {string} source
 * @param {string} filename
 * @returns {string}
 */
function javascriptFor(source, filename) {
    const key = crypto.createHash("sha256").update(SALT).update("\0").update(filename).update("\0").update(source);
    const hex = key.digest("hex");
    const cached = path.join(CACHE_DIR, hex.slice(0, 2), `${hex}.js`);
    try {
        return fs.readFileSync(cached, "utf8");
    } catch {
        /* not built yet */
    }
    const code = transform(source, filename);
    try {
        fs.mkdirSync(path.dirname(cached), { recursive: true });
        const tmp = `${cached}.${process.pid}.tmp`;
        fs.writeFileSync(tmp, code);
        fs.renameSync(tmp, cached);
    } catch {
        /* a read-only checkout still runs, it just transforms again next time */
    }
    return code;
}

// V8's compiled code for every module loaded from here on (the SDKs in node_modules too), kept
// beside the JavaScript: Node checks each entry against the module's source, so it is never stale
// either. It takes about a third off loading @pulumi/pulumi and the provider SDKs.
nodeModule.enableCompileCache?.(CACHE.v8);

// Stack traces point at the TypeScript lines (the cached files carry inline source maps). Only
// the project's own files: with node_modules included, Node reads and parses the `.map` file of
// every SDK module that names one (all of @pulumi/pulumi's do), about 0.08 CPU s per process.
nodeModule.setSourceMapsSupport(true, { nodeModules: false });

/**
 * Node's (stable, undocumented) hook for a file type: `.ts` files run the cached JavaScript.
 * @param {{ _compile(code: string, filename: string): void }} module the module being loaded
 * @param {string} filename
 */
function loadTypeScript(module, filename) {
    module._compile(javascriptFor(fs.readFileSync(filename, "utf8"), filename), filename);
}

// Kept against later registrations: a ts-node registered after this one (as @pulumi/pulumi's
// policy-pack runner would do, see `withoutTypeScript` below) would type-check every file on
// every start again. Its assignment is ignored.
Object.defineProperty(nodeModule._extensions, ".ts", {
    configurable: true,
    enumerable: true,
    get: () => loadTypeScript,
    set: () => undefined,
});

/*
 * Node's module loader, with a few of the SDK's own requires answered differently: each costs a
 * measurable part of every process's start (figures: README.md) for something this project never
 * uses. Every other require is Node's.
 */

/**
 * Modules on first use only. Three are required at the top of @pulumi/pulumi's closure serializer
 * (turning a JavaScript function into the code of a cloud function: `computeCodePaths`,
 * `serializeFunction`), which this project never calls, though every process that loads the SDK
 * (the program, the policy pack, the plugins, the commands) loads it:
 *
 * - `@npmcli/arborist`, from runtime/closure/codePaths.js: about 450 modules (pacote, sigstore,
 *   the npm registry client), half the SDK's load time;
 * - `typescript`, from typescript-shim.js (required by runtime/closure/parseFunction.js): the
 *   9 MB compiler, most of the rest;
 * - `normalize-package-data`, from codePaths.js too (with the SPDX licence parsers).
 *
 * The fourth is the SDK's Automation API, which its index requires for `pulumi.automation` (with
 * execa and the CLI's wrappers): the program and the policy pack never use it, and the commands
 * import `@pulumi/pulumi/automation` directly, which is the same module. The last is zod's
 * `locales` (63 translations of its messages, 65 modules, about a third of loading zod, which
 * lib/config.ts loads in the program and every command): its English ones are a module of their
 * own, loaded as before; the others are on first use of `z.locales`.
 *
 * Each of those requires gets a stand-in object whose first property read loads the real module
 * (lib/lazy.js), so anything that does use them still gets the real one.
 */
const LAZY = [
    { request: "@npmcli/arborist", from: path.join("runtime", "closure", "codePaths.js") },
    { request: "typescript", from: path.join("@pulumi", "pulumi", "typescript-shim.js") },
    { request: "normalize-package-data", from: path.join("runtime", "closure", "codePaths.js") },
    { request: "./automation", from: path.join("@pulumi", "pulumi", "index.js") },
    { request: "../locales/index.cjs", from: path.join("zod", "v4", "classic", "external.cjs") },
    { request: "../locales/index.cjs", from: path.join("zod", "v4", "core", "index.cjs") },
];
const loadModule = /** @type {any} */ (nodeModule)._load;
/**
 * @this {unknown}
 * @param {string} request
 * @param {{ filename?: string } | undefined} parent
 * @param {boolean} isMain
 * @returns {unknown}
 */
function load(request, parent, isMain) {
    const from = parent?.filename ?? "";
    if (LAZY.some((l) => l.request === request && from.endsWith(l.from))) return lazily(request, parent, isMain);
    const runner = from.endsWith(PROGRAM_RUNNER) || from.endsWith(POLICY_RUNNER);
    if (request === "source-map-support/register" && runner) return {};
    if (request === "./run" && from.endsWith(POLICY_RUNNER))
        return withoutTypeScript(loadModule.apply(this, arguments));
    if (request === "./tracing" && from.endsWith(PROGRAM_RUN)) return tracingOnStart(request, parent, isMain);
    if (request.endsWith("/debuggable")) return withLazyStacks(loadModule.apply(this, arguments));
    return loadModule.apply(this, arguments);
}

/**
 * The SDK's `debuggablePromise` (runtime/debuggable.js) with its stack trace written out only
 * when read. It wraps every output's promise and keeps `new Error().stack` on it for its leak
 * report (printed only if the program exits with promises unresolved): thousands per run, each
 * formatted at once by Node's source-map-aware formatter (turned on above): about 0.06 CPU s of
 * every program run (a preview of the local stack, median of 8: 1.01 s before, 0.95 after).
 * Here the frames are captured as before (by the Error made at the same point) and formatted
 * when the report reads them, source-mapped the same; the rest of the function (the leak
 * detector, its candidates) is the SDK's own, run unchanged.
 * @param {{ debuggablePromise?: unknown, promiseDebugString?: unknown }} debuggable the module's exports
 */
function withLazyStacks(debuggable) {
    const original = debuggable.debuggablePromise;
    // Only the SDK's module (another `…/debuggable` has no promiseDebugString), and only once.
    if (typeof original !== "function" || typeof debuggable.promiseDebugString !== "function") return debuggable;
    if (LAZY_STACKS.has(original)) return debuggable;
    /**
     * @param {Promise<unknown> & { _debugStackTrace?: unknown }} p
     * @param {unknown} ctx
     */
    const debuggablePromise = function (p, ctx) {
        const trace = new Error();
        const limit = Error.stackTraceLimit;
        // The SDK's own `new Error().stack` then captures no frame, so there is nothing to format.
        Error.stackTraceLimit = 0;
        let out;
        try {
            out = original(p, ctx);
        } finally {
            Error.stackTraceLimit = limit;
        }
        // Read only as `${p._debugStackTrace}` (promiseDebugString): a string when it is.
        p._debugStackTrace = { toString: () => String(trace.stack) };
        return out;
    };
    LAZY_STACKS.add(debuggablePromise);
    debuggable.debuggablePromise = debuggablePromise;
    return debuggable;
}
/** @type {WeakSet<Function>} */
const LAZY_STACKS = new WeakSet();

/**
 * A stand-in that loads the real module on its first property read (lib/lazy.js).
 * @param {string} request
 * @param {{ filename?: string } | undefined} parent
 * @param {boolean} isMain
 * @returns {unknown}
 */
function lazily(request, parent, isMain) {
    return lazyModule(() => loadModule.call(nodeModule, request, parent, isMain));
}

/**
 * The SDK's two runners, of the program and of the policy pack. Each requires
 * `source-map-support/register`, which maps every stack trace the SDK captures (it captures one
 * per output promise, for its leak report) by reading and parsing the `.map` file of every
 * frame's module: about 0.3 CPU s per program run. Node's own source maps, turned on above, map
 * the project's frames already; that require gets an empty module.
 */
const PROGRAM_RUNNER = path.join("cmd", "run", "index.js");
const POLICY_RUNNER = path.join("cmd", "run-policy-pack", "index.js");
/** The program runner's own module (its index.js above requires it), which requires the tracing. */
const PROGRAM_RUN = path.join("cmd", "run", "run.js");

/**
 * The policy-pack runner with PulumiPolicy.yaml's `typescript: false` honoured. This SDK's
 * runner ignores the option (cmd/run-policy-pack/index.js passes `typeScript:
 * !process.versions.bun`) and so loads the TypeScript compiler and ts-node on every start, about
 * 0.7 CPU s, for a registration the `.ts` hook above ignores anyway.
 * @param {{ run(opts: object): unknown }} runner
 */
function withoutTypeScript(runner) {
    return { ...runner, run: (/** @type {object} */ opts) => runner.run({ ...opts, typeScript: false }) };
}

/**
 * The program runner's tracing (cmd/run/tracing.js), loaded when tracing starts. Its top loads
 * OpenTelemetry's SDK, Zipkin exporter and gRPC instrumentation, about 150 modules and 0.1 CPU s
 * of every program run, for tracing that only `pulumi --tracing <url>` turns on (the runner then
 * calls `start`). The runner calls `newSpan` on every run: until `start`, it makes the span as
 * the real one does, through `@opentelemetry/api` (which the SDK loads anyway), so it is the API's
 * non-recording span, or a real one if a tracer provider was registered (the SDK's
 * instrumentation.js does that when the engine sets TRACEPARENT). From `start` on, every call is
 * the real module's.
 * @param {string} request
 * @param {{ filename?: string } | undefined} parent
 * @param {boolean} isMain
 */
function tracingOnStart(request, parent, isMain) {
    /** @type {{ start(url: string): void; stop(): void; newSpan(name: string): unknown } | undefined} */
    let real;
    const api = loadModule.call(nodeModule, "@opentelemetry/api", parent, false);
    return {
        __esModule: true,
        /** @param {string} url */
        start(url) {
            const loaded = (real ??= loadModule.call(nodeModule, request, parent, isMain));
            loaded.start(url);
        },
        stop: () => real?.stop(),
        /** @param {string} name */
        newSpan(name) {
            if (real) return real.newSpan(name);
            const active = api.trace.getActiveSpan();
            const ctx = active ? api.trace.setSpan(api.context.active(), active) : api.context.active();
            return api.trace.getTracer("nodejs-runtime").startSpan(name, undefined, ctx);
        },
    };
}
/** @type {any} */ (nodeModule)._load = load;

/** Where the JavaScript is cached (tests and tools read it from here). */
module.exports = { CACHE_DIR };
