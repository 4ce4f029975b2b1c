// @ts-check
/**
 * A package of the repository's node_modules as a module loaded on first use (lib/lazy.js), for
 * jest's moduleNameMapper (see typescript.js and @npmcli/arborist.js here).
 */
"use strict";
const path = require("node:path");
const { lazyModule } = require("../../lib/lazy.js");

/**
 * The package's main file is found from its package.json: jest's resolvers (require.resolve,
 * module.createRequire) would map the name back to the stand-in. Its absolute path is then
 * required, which the name mapper leaves alone.
 * @param {string} name
 */
function lazyPackage(name) {
    const dir = path.join(__dirname, "..", "..", "node_modules", ...name.split("/"));
    const main = path.join(dir, require(path.join(dir, "package.json")).main ?? "index.js");
    return lazyModule(() => require(main));
}

module.exports = { lazyPackage };
