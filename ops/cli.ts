/**
 * The project's commands, the same for real and local stacks:
 *
 *   npm start                                   local cloud + preview + up of the `local` stack + summary
 *   npm run preview -- --stack staging          preview with the policy pack
 *   npm run up -- --stack prod                  update with the policy pack
 *   npm run history -- --stack prod             the stack's update history
 *   npm run localcloud -- start|stop|status     the offline local cloud alone
 *
 * Only stacks marked `fpsgame-infra:localCloud: true` get the offline environment; the real
 * ones use the user's own Pulumi login and credentials.
 */
import { Command } from "commander";
import { isLocalStack, localCloud } from "./env";
import { describeChanges, ensurePolicyPack, ensureStack, history, policyArgs, pulumi } from "./pulumi";

const log = (line: string): void => {
    process.stderr.write(`${line}\n`);
};

interface StackOpts {
    stack: string;
    policy: boolean;
}

const prepared = new Map<string, Promise<string[]>>();

/** Local cloud, stack and policy pack ready for `o.stack`; done once per command. */
function prepare(o: StackOpts): Promise<string[]> {
    const key = `${o.stack}:${o.policy}`;
    if (!prepared.has(key)) prepared.set(key, prepareOnce(o));
    return prepared.get(key)!;
}

async function prepareOnce(o: StackOpts): Promise<string[]> {
    if (isLocalStack(o.stack)) {
        await localCloud().ensureLocalCloud(log);
        if (await ensureStack(o.stack)) log(`created stack ${o.stack} in the local file backend`);
    }
    if (!o.policy) {
        log("policy pack: skipped (--no-policy)");
        return [];
    }
    ensurePolicyPack(log);
    return policyArgs(o.stack);
}

async function preview(o: StackOpts, extra: string[] = []): Promise<number> {
    const policy = await prepare(o);
    log(`\n== pulumi preview --stack ${o.stack}${o.policy ? " (with the policy pack)" : ""}`);
    return (await pulumi(o.stack, ["preview", "--diff", ...policy, ...extra])).code;
}

/**
 * `pulumi up`. Its own preview runs first unless `previewed` (the caller just ran one), so
 * stack-wide policies refuse a change before any step executes.
 */
async function up(o: StackOpts, extra: string[] = [], previewed = false): Promise<number> {
    const policy = await prepare(o);
    log(`\n== pulumi up --stack ${o.stack}${o.policy ? " (with the policy pack)" : ""}`);
    const r = await pulumi(o.stack, ["up", "--yes", ...(previewed ? ["--skip-preview"] : []), ...policy, ...extra]);
    const [latest] = await history(o.stack).catch(() => []);
    if (r.code !== 0) {
        log(
            `\nup failed (exit ${r.code}). Nothing after the failing step was changed; fix the cause above and run it again.`,
        );
        return r.code;
    }
    const changes = latest?.resourceChanges ?? {};
    const changed = Object.entries(changes).some(([k, n]) => k !== "same" && n > 0);
    log(`\n${changed ? `Changed: ${describeChanges(changes)}.` : "No changes: the stack already matched its config."}`);
    log(`History: npm run history -- --stack ${o.stack}`);
    return 0;
}

async function main(argv: string[]): Promise<void> {
    const program = new Command("ops").description("Preview, update and inspect the fpsgame stacks.");
    const withStack = (c: Command, required: boolean) =>
        (required
            ? c.requiredOption("-s, --stack <name>", "stack: prod, staging or local")
            : c.option("-s, --stack <name>", "stack", "local")
        )
            .option("--no-policy", "skip the policy pack (a deliberate, reviewed exception)")
            .allowUnknownOption(true)
            .allowExcessArguments(true);

    withStack(
        program
            .command("start")
            .description("the main job: local cloud, preview and up of the local stack, then a summary"),
        false,
    ).action(async (o: StackOpts) => {
        if (!isLocalStack(o.stack)) {
            throw new Error(
                `start runs only local-cloud stacks; "${o.stack}" is not one. Use npm run preview / npm run up -- --stack ${o.stack}`,
            );
        }
        const code = (await preview(o)) || (await up(o, [], true));
        if (code !== 0) process.exit(code);
        await localCloud().printLocalSummary(o.stack, log);
        log(
            `\nNext: change a value in Pulumi.${o.stack}.yaml (e.g. api.regions.sjc) and run npm start again; npm test runs the tests.`,
        );
    });
    withStack(program.command("preview").description("pulumi preview with the policy pack"), true).action(
        async (o: StackOpts, cmd: Command) => process.exit(await preview(o, cmd.args)),
    );
    withStack(program.command("up").description("pulumi up with the policy pack"), true).action(
        async (o: StackOpts, cmd: Command) => process.exit(await up(o, cmd.args)),
    );
    withStack(program.command("history").description("the stack's update history"), true).action(
        async (o: StackOpts) => {
            if (isLocalStack(o.stack)) await ensureStack(o.stack);
            process.exit((await pulumi(o.stack, ["stack", "history"])).code);
        },
    );
    program
        .command("deps")
        .description("install the policy pack's own dependencies if they are missing")
        .action(() => ensurePolicyPack(log));
    const lc = program.command("localcloud").description("the offline local cloud");
    lc.command("start").action(() => localCloud().ensureLocalCloud(log));
    lc.command("stop").action(() => localCloud().stopLocalCloud(log));
    lc.command("status").action(() => process.exit(localCloud().localCloudStatus(log)));
    await program.parseAsync(argv);
}

main(process.argv).catch((err: Error) => {
    log(`error: ${err.message}`);
    process.exit(1);
});
