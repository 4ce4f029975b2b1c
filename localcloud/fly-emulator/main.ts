/**
 * Command-line entry of the Fly Machines API emulator.
 *
 *   node --require ./lib/register.js localcloud/fly-emulator/main.ts --port 4280 --state-dir .local/fly --token <t>
 *
 * Options fall back to FLY_EMULATOR_PORT, FLY_EMULATOR_STATE_DIR, FLY_EMULATOR_TOKEN (and
 * FLY_EMULATOR_HOST, FLY_EMULATOR_VERBOSE=1). Prints one line once listening and stops cleanly
 * on SIGTERM/SIGINT.
 */
import { Command, InvalidArgumentError } from "commander";
import * as path from "node:path";
import { startFlyEmulator } from "./server";

function parsePort(value: string): number {
    const port = Number(value);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
        throw new InvalidArgumentError(`${JSON.stringify(value)} is not a port number (0-65535).`);
    return port;
}

function parseDelay(value: string): number {
    const ms = Number(value);
    if (!Number.isFinite(ms) || ms < 0)
        throw new InvalidArgumentError(`${JSON.stringify(value)} is not a number of milliseconds.`);
    return ms;
}

function parseFactor(value: string): number {
    const factor = Number(value);
    if (!Number.isFinite(factor) || factor <= 0 || factor > 1000)
        throw new InvalidArgumentError(`${JSON.stringify(value)} is not a factor above 0 and at most 1000.`);
    return factor;
}

async function main(argv: string[]): Promise<void> {
    const env = process.env;
    const program = new Command()
        .name("fly-emulator")
        .description("Local Fly Machines REST API emulator (loopback only), for the provider and end-to-end tests.")
        .option(
            "--port <port>",
            "TCP port (0 picks a free one) [env FLY_EMULATOR_PORT]",
            parsePort,
            env.FLY_EMULATOR_PORT ? parsePort(env.FLY_EMULATOR_PORT) : 4280,
        )
        .option(
            "--host <host>",
            "loopback address to bind [env FLY_EMULATOR_HOST]",
            env.FLY_EMULATOR_HOST ?? "127.0.0.1",
        )
        .option(
            "--state-dir <dir>",
            "directory of the state file [env FLY_EMULATOR_STATE_DIR]",
            env.FLY_EMULATOR_STATE_DIR,
        )
        .option("--token <token>", "API token clients must present [env FLY_EMULATOR_TOKEN]", env.FLY_EMULATOR_TOKEN)
        .option("--transition-delay-ms <ms>", "how long transient machine states last", parseDelay, 100)
        .option(
            "--time-factor <factor>",
            "multiplies health checks' grace periods and intervals (1 = Fly's timing) [env FLY_EMULATOR_TIME_FACTOR]",
            parseFactor,
            env.FLY_EMULATOR_TIME_FACTOR ? parseFactor(env.FLY_EMULATOR_TIME_FACTOR) : 1,
        )
        .option(
            "--rate-limits",
            "apply Fly's documented rate limits (429 when exceeded) [env FLY_EMULATOR_RATE_LIMITS=1]",
            env.FLY_EMULATOR_RATE_LIMITS === "1",
        )
        .option("--no-retry-after", "with --rate-limits: answer a 429 without Retry-After, as Fly documents none")
        .option(
            "--verbose",
            "log every request (method, path, status; never bodies) to stderr",
            env.FLY_EMULATOR_VERBOSE === "1",
        )
        .showHelpAfterError();
    program.parse(argv);
    const opts = program.opts<{
        port: number;
        host: string;
        stateDir?: string;
        token?: string;
        transitionDelayMs: number;
        timeFactor: number;
        rateLimits: boolean;
        retryAfter: boolean;
        verbose: boolean;
    }>();
    const { stateDir: stateDirOption, token } = opts;
    if (!stateDirOption) return program.error("error: --state-dir (or FLY_EMULATOR_STATE_DIR) is required");
    if (!token) return program.error("error: --token (or FLY_EMULATOR_TOKEN) is required");
    const stateDir = path.resolve(stateDirOption);

    const emulator = await startFlyEmulator({
        port: opts.port,
        host: opts.host,
        stateDir,
        token,
        transitionDelayMs: opts.transitionDelayMs,
        timeFactor: opts.timeFactor,
        rateLimits: opts.rateLimits ? { retryAfter: opts.retryAfter } : undefined,
        log: opts.verbose ? (line) => process.stderr.write(`fly-emulator: ${line}\n`) : undefined,
    });
    process.stdout.write(`fly emulator listening on ${emulator.url} (state: ${stateDir})\n`);

    let stopping = false;
    const shutdown = (signal: NodeJS.Signals): void => {
        if (stopping) return;
        stopping = true;
        emulator.stop().then(
            () => {
                process.stderr.write(`fly emulator stopped (${signal})\n`);
                process.exit(0);
            },
            (e: unknown) => {
                process.stderr.write(`fly emulator: error while stopping: ${String(e)}\n`);
                process.exit(1);
            },
        );
    };
    process.on("SIGTERM", shutdown);
    process.on("SIGINT", shutdown);
}

main(process.argv).catch((e: unknown) => {
    process.stderr.write(`fly emulator: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
});
