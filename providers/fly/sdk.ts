/**
 * Program-side classes for the Fly resources implemented by the provider plugin in
 * `providers/fly/provider`. Each is a thin `CustomResource` whose type token matches the
 * provider's; the plugin is declared under `plugins.providers` in `Pulumi.yaml`.
 *
 * Output fields are `declare`d: with ES2022 class fields, a plain `name!: …` declaration
 * would be re-initialised to undefined after `super()` has set it.
 */
import * as pulumi from "@pulumi/pulumi";
import {
    AppInputs,
    AppSecretsInputs,
    CertificateInputs,
    FLY_PROVIDER_VERSION,
    FlyTypes,
    Guest,
    IpAddressInputs,
    MachineInputs,
    Metrics,
    Service,
} from "./types";

/** Maps a plain inputs interface to Pulumi inputs, field by field. */
export type Inputs<T> = { readonly [K in keyof T]: pulumi.Input<T[K]> };

function withVersion<T extends pulumi.CustomResourceOptions>(opts: T | undefined): T {
    return { version: FLY_PROVIDER_VERSION, ...(opts ?? {}) } as T;
}

/** A Fly app. */
export class App extends pulumi.CustomResource {
    public static readonly __pulumiType = FlyTypes.App;
    declare public readonly name: pulumi.Output<string>;
    declare public readonly org: pulumi.Output<string>;
    declare public readonly appId: pulumi.Output<string>;
    declare public readonly status: pulumi.Output<string>;

    constructor(name: string, args: Inputs<AppInputs>, opts?: pulumi.CustomResourceOptions) {
        super(FlyTypes.App, name, { ...args, appId: undefined, status: undefined }, withVersion(opts));
    }
}

/** The app's secrets, stored by Fly and injected into machines at create and update. */
export class AppSecrets extends pulumi.CustomResource {
    public static readonly __pulumiType = FlyTypes.AppSecrets;
    declare public readonly app: pulumi.Output<string>;
    declare public readonly values: pulumi.Output<Record<string, string>>;
    declare public readonly version: pulumi.Output<number>;
    declare public readonly names: pulumi.Output<string[]>;

    constructor(name: string, args: Inputs<AppSecretsInputs>, opts?: pulumi.CustomResourceOptions) {
        super(
            FlyTypes.AppSecrets,
            name,
            // Wrapped again here so a caller that forgot `pulumi.secret` still cannot leak a value.
            { app: args.app, values: pulumi.secret(args.values), version: undefined, names: undefined },
            { ...withVersion(opts), additionalSecretOutputs: ["values"] },
        );
    }
}

/** One Fly Machine. */
export class Machine extends pulumi.CustomResource {
    public static readonly __pulumiType = FlyTypes.Machine;
    declare public readonly app: pulumi.Output<string>;
    declare public readonly region: pulumi.Output<string>;
    declare public readonly name: pulumi.Output<string>;
    declare public readonly image: pulumi.Output<string>;
    declare public readonly guest: pulumi.Output<Guest>;
    declare public readonly env: pulumi.Output<Record<string, string>>;
    declare public readonly services: pulumi.Output<Service[]>;
    declare public readonly metrics: pulumi.Output<Metrics | undefined>;
    declare public readonly minSecretsVersion: pulumi.Output<number | undefined>;
    declare public readonly machineId: pulumi.Output<string>;
    declare public readonly instanceId: pulumi.Output<string>;
    declare public readonly state: pulumi.Output<string>;
    declare public readonly privateIp: pulumi.Output<string>;

    constructor(name: string, args: Inputs<MachineInputs>, opts?: pulumi.CustomResourceOptions) {
        super(
            FlyTypes.Machine,
            name,
            { ...args, machineId: undefined, instanceId: undefined, state: undefined, privateIp: undefined },
            withVersion(opts),
        );
    }
}

/** A public IP address allocated to the app. */
export class IpAddress extends pulumi.CustomResource {
    public static readonly __pulumiType = FlyTypes.IpAddress;
    declare public readonly app: pulumi.Output<string>;
    declare public readonly type: pulumi.Output<string>;
    declare public readonly address: pulumi.Output<string>;

    constructor(name: string, args: Inputs<IpAddressInputs>, opts?: pulumi.CustomResourceOptions) {
        super(FlyTypes.IpAddress, name, { ...args, address: undefined }, withVersion(opts));
    }
}

/** A TLS certificate for a custom domain. */
export class Certificate extends pulumi.CustomResource {
    public static readonly __pulumiType = FlyTypes.Certificate;
    declare public readonly app: pulumi.Output<string>;
    declare public readonly hostname: pulumi.Output<string>;
    declare public readonly status: pulumi.Output<string>;
    declare public readonly configured: pulumi.Output<boolean>;
    declare public readonly cnameTarget: pulumi.Output<string>;
    /** The DNS records to create while the certificate is pending (`CNAME <host> -> <app>.fly.dev`, ...). */
    declare public readonly dnsRecords: pulumi.Output<string[]>;

    constructor(name: string, args: Inputs<CertificateInputs>, opts?: pulumi.CustomResourceOptions) {
        super(
            FlyTypes.Certificate,
            name,
            { ...args, status: undefined, configured: undefined, cnameTarget: undefined, dnsRecords: undefined },
            withVersion(opts),
        );
    }
}
