// @ts-check
/**
 * Jest's transform for the tests' TypeScript: lib/transform.js, the transform lib/register.js
 * runs the product with, so a test runs the same JavaScript as the commands, the program and the
 * plugins do (and loads no TypeScript compiler per worker, as ts-jest did).
 */
"use strict";

const crypto = require("node:crypto");
const { SALT, transform } = require("../lib/transform.js");

module.exports = {
    /**
     * @param {string} source
     * @param {string} filename
     */
    process(source, filename) {
        return { code: transform(source, filename) };
    },
    /**
     * @param {string} source
     * @param {string} filename
     */
    getCacheKey(source, filename) {
        return crypto
            .createHash("sha256")
            .update(SALT)
            .update("\0")
            .update(filename)
            .update("\0")
            .update(source)
            .digest("hex");
    },
};
