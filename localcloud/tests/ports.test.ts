/** Per-clone ports: explicit variable first, then the remembered port, else a new free one (remembered). */
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import {
    choosePort,
    pickFreePort,
    PORT_RANGE,
    portFile,
    portFree,
    rememberedPort,
    servicePort,
} from "../services/ports";

let dir: string;
let env: NodeJS.ProcessEnv;
const servers: net.Server[] = [];

beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "localcloud-ports-"));
    env = { LOCALCLOUD_DIR: dir };
});
afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
    fs.rmSync(dir, { recursive: true, force: true });
});

/** Holds a loopback port the way another clone's server would. */
async function occupy(port = 0): Promise<number> {
    const srv = net.createServer();
    servers.push(srv);
    await new Promise<void>((resolve) => srv.listen(port, "127.0.0.1", resolve));
    return (srv.address() as net.AddressInfo).port;
}

/** A random source that returns the given ports' draws in turn. */
function draws(...ports: number[]): () => number {
    const span = PORT_RANGE.max - PORT_RANGE.min + 1;
    let i = 0;
    return () => (ports[i++ % ports.length] - PORT_RANGE.min + 0.5) / span;
}

test("the first start picks a free port in the range and remembers it; the next start and clients reuse it", async () => {
    const first = await choosePort("postgres", { env, whenTaken: "error" });
    expect(first.source).toBe("new");
    expect(first.port).toBeGreaterThanOrEqual(PORT_RANGE.min);
    expect(first.port).toBeLessThanOrEqual(PORT_RANGE.max);
    expect(fs.readFileSync(path.join(dir, "postgres", "port"), "utf8")).toBe(`${first.port}\n`);
    expect(await choosePort("postgres", { env, whenTaken: "error" })).toEqual({
        port: first.port,
        source: "remembered",
    });
    expect(servicePort("postgres", env)).toBe(first.port);
});

test("each service has its own file, and a second clone never gets a port the first one holds", async () => {
    const other = fs.mkdtempSync(path.join(os.tmpdir(), "localcloud-ports-"));
    try {
        const a = await choosePort("fly", { env, whenTaken: "move" });
        await occupy(a.port); // the first clone's emulator runs
        // The second clone's first draw is that very port: it is skipped.
        const b = await choosePort("fly", {
            env: { LOCALCLOUD_DIR: other },
            whenTaken: "move",
            random: draws(a.port, a.port + 1),
        });
        expect(b).toEqual({ port: a.port === PORT_RANGE.max ? a.port - 1 : a.port + 1, source: "new" });
        expect(portFile("fly", env)).toBe(path.join(dir, "fly", "port"));
        expect(portFile("redis", env)).toBe(path.join(dir, "redis", "port"));
        expect(portFile("postgres", env)).toBe(path.join(dir, "postgres", "port"));
    } finally {
        fs.rmSync(other, { recursive: true, force: true });
    }
});

test("the explicit variable wins over the remembered port and is validated", async () => {
    await choosePort("redis", { env, whenTaken: "move" });
    expect(await choosePort("redis", { env: { ...env, LOCALCLOUD_REDIS_PORT: "23456" }, whenTaken: "move" })).toEqual({
        port: 23456,
        source: "explicit",
    });
    expect(servicePort("redis", { ...env, LOCALCLOUD_REDIS_PORT: "23456" })).toBe(23456);
    await expect(
        choosePort("postgres", { env: { ...env, LOCALCLOUD_PG_PORT: "5432x" }, whenTaken: "error" }),
    ).rejects.toThrow('LOCALCLOUD_PG_PORT is "5432x": expected a TCP port, a whole number 1–65535');
    expect(() => servicePort("fly", { ...env, FLY_EMULATOR_PORT: "70000" })).toThrow(
        'FLY_EMULATOR_PORT is "70000": expected a TCP port, a whole number 1–65535',
    );
});

test("a remembered port that another process holds is an error for PostgreSQL, never shared", async () => {
    const taken = await occupy();
    fs.mkdirSync(path.join(dir, "postgres"));
    fs.writeFileSync(path.join(dir, "postgres", "port"), `${taken}\n`);
    await expect(choosePort("postgres", { env, whenTaken: "error" })).rejects.toThrow(
        `127.0.0.1:${taken}, the postgres port remembered in ${path.join(dir, "postgres", "port")}, is in use by another process. ` +
            "Stop that process, or set LOCALCLOUD_PG_PORT to a free port (it is then remembered; " +
            "stacks deployed on the old port must be refreshed or redeployed)",
    );
    expect(rememberedPort("postgres", env)).toBe(taken);
});

test("a remembered port that another process holds is replaced for the Fly emulator, and the new one remembered", async () => {
    const taken = await occupy();
    fs.mkdirSync(path.join(dir, "fly"));
    fs.writeFileSync(path.join(dir, "fly", "port"), `${taken}\n`);
    const choice = await choosePort("fly", { env, whenTaken: "move" });
    expect(choice.source).toBe("new");
    expect(choice.replaced).toBe(taken);
    expect(choice.port).not.toBe(taken);
    expect(rememberedPort("fly", env)).toBe(choice.port);
});

test("the picker skips ports in use and ports to avoid", async () => {
    const busy = await occupy(PORT_RANGE.min + 7);
    const avoided = PORT_RANGE.min + 8;
    const free = PORT_RANGE.min + 9;
    expect(await portFree(busy)).toBe(false);
    expect(await pickFreePort(new Set([avoided]), draws(busy, avoided, free))).toBe(free);
});

test("a clone whose services never started has no port yet, and says how to get one", () => {
    expect(() => servicePort("postgres", env)).toThrow(
        `no postgres port yet: ${path.join(dir, "postgres", "port")} does not exist and LOCALCLOUD_PG_PORT is unset; ` +
            "start the local cloud first (npm run localcloud -- start)",
    );
});
