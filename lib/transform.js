// @ts-check
/**
 * The one TypeScript-to-JavaScript transform of this repository: esbuild, types removed and
 * imports turned into `require`, nothing type-checked (`npm run typecheck` does that). Used by
 * lib/register.js, which runs the program, the plugins, the policy pack and the commands, and by
 * tests/transform.js, which runs the tests: both run the same JavaScript.
 */
"use strict";

const path = require("node:path");

/** Where what is built from the sources is cached (git-ignored; `rm -rf` of `root` empties all). */
const CACHE_ROOT = path.join(__dirname, "..", "node_modules", ".cache", "fpsgame-infra");
const CACHE = {
    root: CACHE_ROOT,
    /** lib/register.js: each file's JavaScript */
    js: path.join(CACHE_ROOT, "js"),
    /** lib/register.js: Node's compile cache (V8's compiled code) */
    v8: path.join(CACHE_ROOT, "v8"),
    /** lib/bundle.js: the plugins' bundles */
    bundles: path.join(CACHE_ROOT, "bundles"),
};

/** The transform's settings: what the project's tsconfig.json means for emitted code. */
const OPTIONS = {
    loader: /** @type {const} */ ("ts"),
    format: /** @type {const} */ ("cjs"),
    target: "node22",
    platform: /** @type {const} */ ("node"),
    sourcemap: /** @type {const} */ ("inline"),
    // import() becomes require(), as tsc's CommonJS output has it: jest's module registry
    // (no --experimental-vm-modules) serves require() only, and Node 22 requires ES modules.
    supported: { "dynamic-import": false },
    tsconfigRaw: { compilerOptions: { target: "ES2022", useDefineForClassFields: true, esModuleInterop: true } },
};

/**
 * esbuild's version; a clone whose dependencies predate the loader (a pull without `npm ci`) gets
 * the one line that fixes it instead of a module-resolution stack trace.
 * @returns {string}
 */
function esbuildVersion() {
    try {
        return require("esbuild/package.json").version;
    } catch {
        process.stderr.write(
            `lib/transform.js: esbuild is not installed in ${path.resolve(__dirname, "..")}; run npm ci there, then try again.\n`,
        );
        process.exit(1);
    }
}

/** Part of every cache key: a new esbuild or new settings transform everything again. */
const SALT = `esbuild@${esbuildVersion()} ${JSON.stringify(OPTIONS)}`;

/** @type {typeof import("esbuild") | undefined} loaded on the first transform only */
let esbuild;

/**
 * The JavaScript for one TypeScript file (with an inline source map naming `filename`).
 * @param {string} source
 * @param {string} filename
 * @returns {string}
 */
function transform(source, filename) {
    esbuild ??= require("esbuild");
    return esbuild.transformSync(source, { ...OPTIONS, sourcefile: filename }).code;
}

module.exports = { CACHE, OPTIONS, SALT, transform };
