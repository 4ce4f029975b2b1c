/** The upstash stand-in's pure parts: check defaults, replace rules, region rules, instance config. */
import { provider } from "../stand-ins/upstash/index";
import { regionErrors, TOKEN } from "../stand-ins/upstash/resources";
import { instanceConfig } from "../stand-ins/upstash/instances";
import { secret } from "../stand-ins/common/values";

const URN = `urn:pulumi:dev::fpsgame::fpsgame:upstash:Redis$${TOKEN}::cache-database`;
const inputs = {
    databaseName: "fpsgame-cache",
    region: "global",
    primaryRegion: "us-west-1",
    readRegions: ["us-east-1", "eu-west-1"],
    eviction: true,
    budget: 50,
    autoScale: false,
    tls: true,
};

async function checked(news: Record<string, unknown>, olds: Record<string, unknown> = {}) {
    return provider.check!(URN, olds, news);
}

/** Outputs as the stand-in returns them (echo + computed). */
function state(extra: Record<string, unknown> = {}) {
    return {
        id: "upstash-database-x",
        databaseId: "x",
        databaseName: "fpsgame-cache",
        region: "global",
        primaryRegion: "us-west-1",
        readRegions: ["eu-west-1", "us-east-1"],
        eviction: true,
        budget: 50,
        autoScale: false,
        tls: true,
        prodPack: false,
        consistent: false,
        multizone: false,
        endpoint: "127.0.0.1",
        port: 56380,
        password: secret("p"),
        state: "active",
        ...extra,
    };
}

test("check applies the provider's defaults", async () => {
    const r = await checked({ databaseName: "d", region: "global", primaryRegion: "us-east-1" });
    expect(r.failures).toEqual([]);
    expect(r.inputs).toMatchObject({
        tls: false,
        eviction: false,
        autoScale: false,
        budget: 20,
        prodPack: false,
        consistent: false,
        multizone: false,
    });
});

test("databaseName and region are required", async () => {
    const r = await checked({});
    expect((r.failures ?? []).map((f) => f.property).sort()).toEqual(["databaseName", "region"]);
});

test("a second up with the same inputs has no changes", async () => {
    const r = await checked(inputs);
    expect(await provider.diff!("upstash-database-x", URN, state(), r.inputs)).toEqual({
        changes: false,
        replaces: [],
    });
});

test.each([
    ["databaseName", { databaseName: "other" }],
    ["region", { region: "us-east-1" }],
    ["primaryRegion", { primaryRegion: "eu-central-1" }],
])("%s forces a new database", async (prop, change) => {
    const r = await checked({ ...inputs, ...change });
    expect((await provider.diff!("x", URN, state(), r.inputs)).replaces).toEqual([prop]);
});

test("readRegions, eviction, budget, autoScale update in place", async () => {
    const r = await checked({ ...inputs, readRegions: ["us-east-1"], eviction: false, budget: 100, autoScale: true });
    expect(await provider.diff!("x", URN, state(), r.inputs)).toEqual({ changes: true, replaces: [] });
});

test("tls true → false forces a new database (CustomizeDiff), false → true does not", async () => {
    expect(
        (await provider.diff!("x", URN, state(), (await checked({ ...inputs, tls: false })).inputs)).replaces,
    ).toEqual(["tls"]);
    expect((await provider.diff!("x", URN, state({ tls: false }), (await checked(inputs)).inputs)).replaces).toEqual(
        [],
    );
});

test("region rules", () => {
    expect(regionErrors(inputs)).toEqual([]);
    expect(regionErrors({ ...inputs, primaryRegion: undefined })[0]).toMatch(/primaryRegion is required/);
    expect(regionErrors({ ...inputs, readRegions: ["us-west-1"] })).toEqual([
        "Primary region 'us-west-1' can not be in the list of read regions.",
    ]);
    expect(regionErrors({ databaseName: "d", region: "eu-west-1" })[0]).toMatch(/Regional databases are deprecated/);
});

test("the instance config is TLS-only with its own default user", () => {
    const conf = instanceConfig(
        "/x/redis/databases/id",
        "/x/redis/tls",
        { port: 56380, password: "abc123", eviction: false },
        "admin456",
    );
    expect(conf).toMatch(/^port 0$/m);
    expect(conf).toMatch(/^tls-port 56380$/m);
    expect(conf).toMatch(/^bind 127\.0\.0\.1$/m);
    expect(conf).toMatch(/^maxmemory-policy noeviction$/m);
    expect(conf).toMatch(/^user default on >abc123 ~\* &\* \+@all -@admin$/m);
    expect(conf).toMatch(/^user localcloud-admin on >admin456 ~\* &\* \+@all$/m);
    expect(() => instanceConfig("/x", "/t", { port: 1, password: "a b", eviction: false }, "x")).toThrow(
        /alphanumeric/,
    );
});
