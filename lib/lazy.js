// @ts-check
/**
 * A module that is loaded on its first use: a stand-in object whose first property read calls
 * `load` and answers from the real module from then on. lib/register.js gives it to the SDK's
 * closure serializer for `@npmcli/arborist` and `typescript` in every process; jest's module
 * map does the same for the tests (tests/lazy/).
 *
 * Two reads answer without loading, for TypeScript's import helpers: `__esModule` (true), which
 * `__importStar` reads and would otherwise copy (and so load) every export; and `default`, which
 * then has to be the module itself, as `__importDefault` would have made it.
 */
"use strict";

/**
 * @param {() => Record<string | symbol, unknown>} load loads the real module (called once)
 * @returns {Record<string | symbol, unknown>}
 */
function lazyModule(load) {
    /** @type {Record<string | symbol, unknown> | undefined} */
    let real;
    const loadReal = () => (real ??= load());
    return new Proxy(
        {},
        {
            get: (_, key) => {
                if (key === "__esModule") return true;
                if (key === "default") return loadReal().__esModule ? loadReal().default : loadReal();
                return loadReal()[key];
            },
            has: (_, key) => key in loadReal(),
            ownKeys: () => Reflect.ownKeys(loadReal()),
            getOwnPropertyDescriptor: (_, key) => {
                const d = Reflect.getOwnPropertyDescriptor(loadReal(), key);
                return d && { ...d, configurable: true };
            },
        },
    );
}

module.exports = { lazyModule };
