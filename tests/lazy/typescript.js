// @ts-check
/**
 * `typescript` in the tests (jest's moduleNameMapper): loaded on first use, as lib/register.js
 * has it for every process of the product. The SDK's closure serializer requires the 9 MB
 * compiler at the top of @pulumi/pulumi, and jest evaluates the SDK again for every test file.
 */
"use strict";
module.exports = require("./package.js").lazyPackage("typescript");
