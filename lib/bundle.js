// @ts-check
/**
 * Starts a resource plugin from one JavaScript file: the entry point and every module it loads
 * (the project's TypeScript and the SDKs in node_modules) bundled by esbuild.
 *
 *   node lib/bundle.js <entry>.ts [arguments for the entry...]
 *
 * The engine starts every plugin of a stack on every preview and every update, so a plugin's
 * start-up is paid again and again: loaded module by module through lib/register.js, the Fly
 * provider reads about 420 files and takes about 0.4 CPU s to print its port; from its bundle,
 * about 0.25 (figures: README.md, "How the TypeScript runs").
 *
 * The bundle is built on first use and cached under `node_modules/.cache/fpsgame-infra/bundles`
 * (git-ignored), beside a list of its inputs. Every start checks that list before running the
 * bundle: the project's own files by their content (a SHA-256), node_modules by size and
 * modification time (what `npm ci` changes). Anything different builds the bundle again, so an
 * old build never runs and there is no build step to forget, as with lib/register.js.
 *
 * Each module sees its own `__dirname` and `__filename`, as it would unbundled: files that read
 * them (localcloud/services/env.ts finds the repository that way) get them set to their real
 * place. Stack traces name the bundle's lines; `NODE_OPTIONS=--enable-source-maps` maps them back
 * to the sources through the bundle's `.map` file.
 *
 * If esbuild cannot bundle the entry, the plugin still starts, through lib/register.js, and says
 * why on stderr (the engine's verbose log).
 */
"use strict";

const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");

const { CACHE, OPTIONS, SALT } = require("./transform.js");

const ROOT = path.resolve(__dirname, "..");
const CACHE_DIR = CACHE.bundles;

/**
 * esbuild's settings for a plugin's bundle: the transform's (lib/transform.js) but its loader
 * (a bundle holds JavaScript too; the loader goes by each file's extension) and its inline
 * source map (a map of the whole bundle would be parsed on every start), plus bundling.
 * The two modules lib/register.js loads lazily stay out: no plugin reaches them, and if one ever
 * did, the 9 MB compiler must not be inlined into it.
 */
const { loader: _loader, sourcemap: _inline, ...TRANSFORM } = OPTIONS;
const BUILD = {
    ...TRANSFORM,
    bundle: true,
    sourcemap: /** @type {const} */ ("linked"),
    sourcesContent: false,
    external: ["typescript", "@npmcli/arborist"],
    logLevel: /** @type {const} */ ("silent"),
};

/** Changes with esbuild, the transform's settings, these settings and this file's own code. */
const BUNDLE_SALT = crypto
    .createHash("sha256")
    .update(SALT)
    .update(JSON.stringify(BUILD))
    .update(fs.readFileSync(__filename))
    .digest("hex");

/**
 * @typedef {{ file: string, sha256?: string, size?: number, mtimeMs?: number }} Input
 *   one file the bundle was built from, relative to the repository: the project's own files by
 *   content, node_modules by size and modification time
 */

/** @param {string} file @returns {string} */
const sha256Of = (file) => crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");

/** @param {string} rel @returns {boolean} */
const inNodeModules = (rel) => rel.split(/[\\/]/).includes("node_modules");

/**
 * How one input is recorded now.
 * @param {string} rel
 * @returns {Input}
 */
function describe(rel) {
    const abs = path.join(ROOT, rel);
    if (!inNodeModules(rel)) return { file: rel, sha256: sha256Of(abs) };
    const st = fs.statSync(abs);
    return { file: rel, size: st.size, mtimeMs: st.mtimeMs };
}

/**
 * Whether every recorded input is still as it was (a missing file is a change).
 * @param {Input[]} inputs
 * @returns {boolean}
 */
function unchanged(inputs) {
    try {
        return inputs.every((i) => {
            const now = describe(i.file);
            return now.sha256 === i.sha256 && now.size === i.size && now.mtimeMs === i.mtimeMs;
        });
    } catch {
        return false;
    }
}

/**
 * The cached bundle of `entry` when it is current.
 * @param {string} manifest
 * @returns {string | undefined} the bundle's path
 */
function currentBundle(manifest) {
    try {
        const m = /** @type {{ salt: string, bundle: string, inputs: Input[] }} */ (
            JSON.parse(fs.readFileSync(manifest, "utf8"))
        );
        if (m.salt !== BUNDLE_SALT || !unchanged(m.inputs)) return undefined;
        const bundle = path.join(CACHE_DIR, m.bundle);
        return fs.existsSync(bundle) ? bundle : undefined;
    } catch {
        return undefined;
    }
}

/**
 * An esbuild plugin that makes each module see what it would see unbundled:
 *
 * - its own `__dirname` and `__filename` (a bundle would give every module the cache
 *   directory's): files that name them get them declared, after a leading "use strict" so the
 *   module keeps its mode;
 * - in the entry, `require.main === module` is true, as it is for a file Node runs (the stand-ins
 *   start their server only then, and are imported by tests without starting it): in a bundle,
 *   `module` would be esbuild's wrapper object instead.
 * @param {string} entry absolute
 * @returns {import("esbuild").Plugin}
 */
function asUnbundled(entry) {
    const real = fs.realpathSync(entry);
    return {
        name: "as-unbundled",
        setup(build) {
            build.onLoad({ filter: /\.[cm]?[jt]s$/ }, async (args) => {
                let text = await fs.promises.readFile(args.path, "utf8");
                const isEntry = args.path === real;
                if (isEntry) text = text.replace(/\brequire\.main\s*===\s*module\b/g, "true");
                if (!isEntry && !/\b__(dirname|filename)\b/.test(text)) return undefined;
                const decl =
                    `var __dirname = ${JSON.stringify(path.dirname(args.path))}, ` +
                    `__filename = ${JSON.stringify(args.path)};`;
                const strict = /^(?:#![^\n]*\n)?(?:\s|\/\/[^\n]*\n|\/\*[\s\S]*?\*\/)*["']use strict["'];?/.exec(text);
                const contents = strict ? `${strict[0]}${decl}${text.slice(strict[0].length)}` : `${decl}\n${text}`;
                const ext = path.extname(args.path);
                const loader = ext === ".ts" || ext === ".mts" || ext === ".cts" ? "ts" : "js";
                return { contents, loader };
            });
        },
    };
}

/**
 * Builds the bundle of `entry` (written to temporary files and renamed, so plugins starting
 * together never read half a bundle) and returns its path.
 * @param {string} entry absolute
 * @param {string} name the cache name of this entry
 * @returns {Promise<string>}
 */
async function build(entry, name) {
    const esbuild = require("esbuild");
    fs.mkdirSync(CACHE_DIR, { recursive: true });
    const bundle = path.join(CACHE_DIR, `${name}.js`);
    const result = await esbuild.build({
        ...BUILD,
        entryPoints: [entry],
        absWorkingDir: ROOT,
        outfile: bundle,
        write: false,
        metafile: true,
        plugins: [asUnbundled(entry)],
    });
    const inputs = Object.keys(result.metafile.inputs).map(describe);
    for (const out of result.outputFiles) {
        const t = `${out.path}.${process.pid}.tmp`;
        fs.writeFileSync(t, out.contents);
        fs.renameSync(t, out.path);
    }
    const manifest = path.join(CACHE_DIR, `${name}.json`);
    const tmp = `${manifest}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify({ salt: BUNDLE_SALT, entry, bundle: path.basename(bundle), inputs }));
    fs.renameSync(tmp, manifest);
    return bundle;
}

/**
 * The bundle to run for `entry`: the cached one when current, else a new one.
 * @param {string} entry absolute path of a TypeScript or JavaScript file
 * @returns {Promise<string>}
 */
async function bundleFor(entry) {
    const name = crypto.createHash("sha256").update(path.relative(ROOT, entry)).digest("hex").slice(0, 16);
    return currentBundle(path.join(CACHE_DIR, `${name}.json`)) ?? build(entry, name);
}

/** Runs the entry named on the command line from its bundle. */
async function main() {
    const arg = process.argv[2];
    if (!arg) {
        process.stderr.write("usage: node lib/bundle.js <entry>.ts [arguments...]\n");
        process.exit(2);
    }
    const entry = path.resolve(arg);
    // The entry sees the command line it would see when run directly: node <entry> <args...>.
    process.argv.splice(1, 2, entry);
    let bundle;
    try {
        bundle = await bundleFor(entry);
    } catch (e) {
        const why = e instanceof Error ? e.message.split("\n")[0] : String(e);
        process.stderr.write(`lib/bundle.js: cannot bundle ${arg} (${why}); running it through lib/register.js\n`);
        require("./register.js");
        require(entry);
        return;
    }
    require(bundle);
}

if (require.main === module) void main();

module.exports = { CACHE_DIR, bundleFor };
