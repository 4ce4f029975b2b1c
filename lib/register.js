// @ts-check
/**
 * Runs this repository's TypeScript on Node.js with nothing compiled at start-up.
 *
 * Preloaded with `node --require <repo>/lib/register.js <file>.ts` by every process the project
 * starts: the program (Pulumi.yaml `nodeargs`), the policy pack (PulumiPolicy.yaml `nodeargs`),
 * the Fly provider plugin (`providers/fly/bin/pulumi-resource-fly`), the local cloud's stand-in
 * plugins and Fly emulator, and the npm scripts.
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

const ROOT = path.resolve(__dirname, "..");
const CACHE_DIR = path.join(ROOT, "node_modules", ".cache", "fpsgame-infra", "js");

/** The transform's settings: what the project's tsconfig.json means for emitted code. */
const OPTIONS = {
    loader: /** @type {const} */ ("ts"),
    format: /** @type {const} */ ("cjs"),
    target: "node22",
    platform: /** @type {const} */ ("node"),
    sourcemap: /** @type {const} */ ("inline"),
    tsconfigRaw: { compilerOptions: { target: "ES2022", useDefineForClassFields: true, esModuleInterop: true } },
};

/** Part of every key: a new esbuild or new settings transform everything again. */
const SALT = `esbuild@${esbuildVersion()} ${JSON.stringify(OPTIONS)}`;

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
            `lib/register.js: esbuild is not installed in ${ROOT}; run npm ci there, then try again.\n`,
        );
        process.exit(1);
    }
}

/** @type {typeof import("esbuild") | undefined} loaded on the first cache miss only */
let esbuild;

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
    esbuild ??= require("esbuild");
    const code = esbuild.transformSync(source, { ...OPTIONS, sourcefile: filename }).code;
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
nodeModule.enableCompileCache?.(path.join(ROOT, "node_modules", ".cache", "fpsgame-infra", "v8"));

// Stack traces point at the TypeScript lines (the cached files carry inline source maps).
process.setSourceMapsEnabled(true);

/**
 * Node's (stable, undocumented) hook for a file type: `.ts` files run the cached JavaScript.
 * @param {{ _compile(code: string, filename: string): void }} module the module being loaded
 * @param {string} filename
 */
function loadTypeScript(module, filename) {
    module._compile(javascriptFor(fs.readFileSync(filename, "utf8"), filename), filename);
}

// Kept against later registrations: @pulumi/pulumi's policy-pack runner registers ts-node with
// type checking whatever PulumiPolicy.yaml says (cmd/run-policy-pack/index.js passes
// `typeScript: !process.versions.bun`), and would type-check the pack on every start again.
// Its assignment is ignored; ts-node is loaded but never used.
Object.defineProperty(nodeModule._extensions, ".ts", {
    configurable: true,
    enumerable: true,
    get: () => loadTypeScript,
    set: () => undefined,
});

/**
 * `@npmcli/arborist` on first use only. @pulumi/pulumi's closure serializer
 * (runtime/closure/codePaths.js) requires it at the top, and it drags in about 450 modules
 * (pacote, sigstore, the npm registry client), about half the SDK's load time in every process
 * that loads @pulumi/pulumi: the program, the policy pack, the commands (figures: README.md). Only serializing a
 * function closure (`computeCodePaths`, which this project never calls) uses it. That one require
 * gets a stand-in object whose first property read loads the real module, so anything that does
 * use it still gets arborist. `__esModule` answers without loading: the file's `__importStar`
 * reads it and would otherwise copy (and so load) every export.
 */
const loadModule = /** @type {any} */ (nodeModule)._load;
/**
 * @this {unknown}
 * @param {string} request
 * @param {{ filename?: string } | undefined} parent
 * @param {boolean} isMain
 * @returns {unknown}
 */
function lazyArborist(request, parent, isMain) {
    if (
        request !== "@npmcli/arborist" ||
        !parent?.filename?.endsWith(path.join("runtime", "closure", "codePaths.js"))
    ) {
        return loadModule.apply(this, arguments);
    }
    /** @type {Record<string | symbol, unknown> | undefined} */
    let real;
    const load = () => (real ??= loadModule.call(nodeModule, request, parent, isMain));
    return new Proxy(
        {},
        {
            get: (_, key) => (key === "__esModule" ? true : load()[key]),
            has: (_, key) => key in load(),
            ownKeys: () => Reflect.ownKeys(load()),
            getOwnPropertyDescriptor: (_, key) => {
                const d = Reflect.getOwnPropertyDescriptor(load(), key);
                return d && { ...d, configurable: true };
            },
        },
    );
}
/** @type {any} */ (nodeModule)._load = lazyArborist;

/** Where the JavaScript is cached (tests and tools read it from here). */
module.exports = { CACHE_DIR };
