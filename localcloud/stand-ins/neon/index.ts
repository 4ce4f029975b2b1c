/**
 * Stand-in for the `terraform-provider` 1.1.1 resource plugin as @sst-provider/neon uses it:
 * parameterized into the `neon` 0.13.0 package (Terraform provider kislerdm/neon 0.13.0). Its
 * resources are real roles and databases in the local PostgreSQL. Started by the engine through
 * the launcher that `localcloud/stand-ins/install.ts` writes.
 */
import type { ParameterizeResult } from "@pulumi/pulumi/provider";
import { main } from "@pulumi/pulumi/provider";
import { makeProvider } from "../common/provider";
import { handlers, invokeFunction } from "./resources";

/** The base plugin's version (`terraform-provider`). */
export const VERSION = "1.1.1";
export const PACKAGE_NAME = "neon";
export const PACKAGE_VERSION = "0.13.0";
/** The only Terraform provider this stand-in can become. */
export const TERRAFORM_SOURCE = "kislerdm/neon";

function isNeonSource(url: string): boolean {
    return (
        url === TERRAFORM_SOURCE ||
        url === `registry.terraform.io/${TERRAFORM_SOURCE}` ||
        url === `registry.opentofu.org/${TERRAFORM_SOURCE}`
    );
}

/**
 * The engine passes the package.json parameterization: name "neon", version "0.13.0", value
 * `{"remote":{"url":"registry.terraform.io/kislerdm/neon","version":"0.13.0"}}`. The response
 * must name the package exactly as requested.
 */
export async function parameterizeValue(name: string, version: string, value: string): Promise<ParameterizeResult> {
    let parsed: { remote?: { url?: unknown; version?: unknown } };
    try {
        parsed = JSON.parse(value) as typeof parsed;
    } catch {
        throw new Error(`unsupported parameterization value ${JSON.stringify(value)}: expected JSON`);
    }
    const url = typeof parsed.remote?.url === "string" ? parsed.remote.url : "";
    if (!isNeonSource(url)) {
        throw new Error(
            `the local cloud's terraform-provider stand-in only emulates ${TERRAFORM_SOURCE}, not ${JSON.stringify(url)}`,
        );
    }
    return { name: name || PACKAGE_NAME, version: version || String(parsed.remote?.version ?? PACKAGE_VERSION) };
}

/** `pulumi package add terraform-provider kislerdm/neon [0.13.0]` style arguments. */
export async function parameterizeArgs(args: string[]): Promise<ParameterizeResult> {
    const [source, version] = args;
    if (!source || !isNeonSource(source)) {
        throw new Error(
            `the local cloud's terraform-provider stand-in only emulates ${TERRAFORM_SOURCE}, not ${JSON.stringify(source ?? "")}`,
        );
    }
    return { name: PACKAGE_NAME, version: version ?? PACKAGE_VERSION };
}

export const provider = makeProvider({
    version: VERSION,
    handlers,
    parameterizeArgs,
    parameterizeValue,
    invoke: invokeFunction,
});

if (require.main === module) {
    main(provider, process.argv.slice(2)).catch((e: unknown) => {
        console.error(e instanceof Error ? e.message : String(e));
        process.exit(1);
    });
}
