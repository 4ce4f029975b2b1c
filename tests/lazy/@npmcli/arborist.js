// @ts-check
/**
 * `@npmcli/arborist` in the tests (jest's moduleNameMapper): loaded on first use, as
 * lib/register.js has it for every process of the product: about 450 modules the SDK's closure
 * serializer requires at the top of @pulumi/pulumi, which jest evaluates for every test file.
 */
"use strict";
module.exports = require("../package.js").lazyPackage("@npmcli/arborist");
