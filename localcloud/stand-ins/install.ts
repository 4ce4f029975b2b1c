/**
 * Installs the local cloud's provider plugins into an isolated PULUMI_HOME (default
 * `$LOCALCLOUD_DIR/pulumi-home`, never ~/.pulumi):
 *
 *   resource vercel 5.4.1               stand-in (localcloud/stand-ins/vercel)
 *   resource upstash 0.5.0              stand-in (localcloud/stand-ins/upstash)
 *   resource terraform-provider 1.1.1   stand-in, parameterized as neon 0.13.0 (localcloud/stand-ins/neon)
 *   resource command 1.2.1              the real binary built by localcloud/toolchain/toolchain.sh when it exists,
 *                                       else the stand-in (localcloud/stand-ins/command)
 *
 * The toolchain root is $FPSGAME_TOOLCHAIN_DIR (default ~/.cache/fpsgame-infra/toolchain), as for
 * localcloud/toolchain/toolchain.sh; $LOCALCLOUD_PULUMI and $LOCALCLOUD_COMMAND_PLUGIN override single binaries.
 *
 * The stand-ins are installed as self-contained launcher scripts (written to
 * `$LOCALCLOUD_DIR/providers/bin` from launcher.sh.tmpl) with `pulumi plugin install resource
 * <name> <version> --file <launcher>`. Idempotent: a plugin whose installed file already matches is
 * left alone.
 *
 *   node --require ./lib/register.js localcloud/stand-ins/install.ts [--pulumi <cli>] [--pulumi-home <dir>] [--force] [--skip-command]
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Command } from "commander";
import { localcloudPaths } from "../services/env";

export interface PluginSpec {
    readonly name: string;
    readonly version: string;
    /** The stand-in's entry point, relative to localcloud/stand-ins; absent for a real binary. */
    readonly entry?: string;
}

export const STAND_INS: readonly PluginSpec[] = [
    { name: "vercel", version: "5.4.1", entry: "vercel/index.ts" },
    { name: "upstash", version: "0.5.0", entry: "upstash/index.ts" },
    { name: "terraform-provider", version: "1.1.1", entry: "neon/index.ts" },
];
export const COMMAND_PLUGIN: PluginSpec = { name: "command", version: "1.2.1" };
/** Installed instead of the real binary when localcloud/toolchain/toolchain.sh could not build it. */
export const COMMAND_STAND_IN: PluginSpec = { ...COMMAND_PLUGIN, entry: "command/index.ts" };

/** localcloud/toolchain/toolchain.sh's output root (it honours the same variable). */
const TOOLCHAIN_DIR =
    process.env.FPSGAME_TOOLCHAIN_DIR || path.join(os.homedir(), ".cache", "fpsgame-infra", "toolchain");

function shQuote(v: string): string {
    return `'${v.replace(/'/g, `'\\''`)}'`;
}

/** Renders launcher.sh.tmpl for one stand-in (pure; exported for tests). */
export function renderLauncher(
    template: string,
    v: {
        plugin: string;
        version: string;
        node: string;
        /** lib/bundle.js: runs the TypeScript entry from its cached bundle. */
        bundle: string;
        entry: string;
        localcloudDir: string;
    },
): string {
    const map: Record<string, string> = {
        "@@PLUGIN@@": v.plugin,
        "@@VERSION@@": v.version,
        "@@NODE@@": shQuote(v.node),
        "@@BUNDLE@@": shQuote(v.bundle),
        "@@ENTRY@@": shQuote(v.entry),
        "@@LOCALCLOUD_DIR@@": shQuote(v.localcloudDir),
    };
    let out = template;
    for (const [k, val] of Object.entries(map)) out = out.split(k).join(val);
    if (/@@[A-Z_]+@@/.test(out)) throw new Error("launcher template has an unknown placeholder");
    return out;
}

/** The pulumi CLI: --pulumi, $LOCALCLOUD_PULUMI, the newest toolchain build, or `searchPath` ($PATH). */
export function findPulumi(explicit?: string, searchPath = process.env.PATH): string | undefined {
    const candidates: string[] = [];
    if (explicit) candidates.push(explicit);
    if (process.env.LOCALCLOUD_PULUMI) candidates.push(process.env.LOCALCLOUD_PULUMI);
    try {
        const builds = fs
            .readdirSync(TOOLCHAIN_DIR)
            .filter((d) => /^pulumi-v\d/.test(d))
            .sort((a, b) => b.localeCompare(a, undefined, { numeric: true }));
        for (const d of builds) candidates.push(path.join(TOOLCHAIN_DIR, d, "bin", "pulumi"));
    } catch {
        /* no toolchain yet */
    }
    for (const dir of (searchPath ?? "").split(path.delimiter)) if (dir) candidates.push(path.join(dir, "pulumi"));
    return candidates.find((c) => {
        try {
            fs.accessSync(c, fs.constants.X_OK);
            return true;
        } catch {
            return false;
        }
    });
}

function sha256(file: string): string | undefined {
    try {
        return createHash("sha256").update(fs.readFileSync(file)).digest("hex");
    } catch {
        return undefined;
    }
}

export function installedPluginFile(pulumiHome: string, p: PluginSpec): string {
    return path.join(pulumiHome, "plugins", `resource-${p.name}-v${p.version}`, `pulumi-resource-${p.name}`);
}

function pluginInstall(pulumi: string, pulumiHome: string, p: PluginSpec, file: string, reinstall: boolean): void {
    const args = ["plugin", "install", "resource", p.name, p.version, "--file", file];
    if (reinstall) args.push("--reinstall");
    // Run outside any project: the CLI reads a Pulumi.yaml found upwards from its cwd.
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), "localcloud-plugin-install-"));
    const r = spawnSync(pulumi, args, {
        cwd,
        env: {
            ...process.env,
            PULUMI_HOME: pulumiHome,
            PULUMI_SKIP_UPDATE_CHECK: "true",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        },
        encoding: "utf8",
    });
    fs.rmSync(cwd, { recursive: true, force: true });
    if (r.status !== 0) {
        throw new Error(
            `pulumi ${args.join(" ")} failed (status ${r.status}):\n${(r.stderr || r.stdout || String(r.error ?? "")).trim()}`,
        );
    }
}

export interface InstallOptions {
    readonly pulumi?: string;
    readonly pulumiHome?: string;
    readonly force?: boolean;
    readonly skipCommand?: boolean;
    readonly log?: (line: string) => void;
}

export function install(opts: InstallOptions = {}): void {
    const log = opts.log ?? ((l: string) => console.log(`[localcloud providers] ${l}`));
    const paths = localcloudPaths();
    const pulumiHome = path.resolve(opts.pulumiHome ?? paths.pulumiHome);
    const pulumi = findPulumi(opts.pulumi);
    if (!pulumi) {
        throw new Error(
            `no pulumi CLI found (build it with localcloud/toolchain/toolchain.sh, or pass --pulumi / set LOCALCLOUD_PULUMI)`,
        );
    }
    log(`pulumi CLI ${pulumi}; PULUMI_HOME ${pulumiHome}`);
    fs.mkdirSync(pulumiHome, { recursive: true });

    const providersDir = __dirname;
    const template = fs.readFileSync(path.join(providersDir, "launcher.sh.tmpl"), "utf8");
    const binDir = path.join(paths.dir, "providers", "bin");
    fs.mkdirSync(binDir, { recursive: true });
    const bundle = path.join(paths.repoRoot, "lib", "bundle.js");

    for (const p of STAND_INS) {
        const launcher = path.join(binDir, `pulumi-resource-${p.name}`);
        const text = renderLauncher(template, {
            plugin: p.name,
            version: p.version,
            node: process.execPath,
            bundle,
            entry: path.join(providersDir, p.entry ?? ""),
            localcloudDir: paths.dir,
        });
        fs.writeFileSync(launcher, text, { mode: 0o755 });
        fs.chmodSync(launcher, 0o755);
        const target = installedPluginFile(pulumiHome, p);
        if (!opts.force && sha256(target) === sha256(launcher)) {
            log(`${p.name} ${p.version}: already installed (stand-in)`);
            continue;
        }
        pluginInstall(pulumi, pulumiHome, p, launcher, fs.existsSync(path.dirname(target)));
        if (sha256(target) !== sha256(launcher))
            throw new Error(`${p.name} ${p.version}: ${target} does not match ${launcher} after install`);
        log(`${p.name} ${p.version}: installed (stand-in, launcher ${launcher})`);
    }

    if (opts.skipCommand) {
        log(`command ${COMMAND_PLUGIN.version}: skipped (--skip-command)`);
        return;
    }
    // The real binary when there is one ($LOCALCLOUD_COMMAND_PLUGIN must exist when set); else the
    // stand-in, because the Go module proxy refuses github.com/pulumi/pulumi-command/provider.
    const explicitCommand = process.env.LOCALCLOUD_COMMAND_PLUGIN;
    const realCommand =
        explicitCommand ||
        path.join(TOOLCHAIN_DIR, `command-v${COMMAND_PLUGIN.version}`, "bin", "pulumi-resource-command");
    if (explicitCommand && !fs.existsSync(explicitCommand)) {
        throw new Error(`LOCALCLOUD_COMMAND_PLUGIN=${explicitCommand} does not exist`);
    }
    let useReal = false;
    try {
        fs.accessSync(realCommand, fs.constants.X_OK);
        useReal = fs.statSync(realCommand).size > 0;
    } catch {
        /* not built: the stand-in */
    }
    let source = realCommand;
    if (!useReal) {
        source = path.join(binDir, `pulumi-resource-${COMMAND_STAND_IN.name}`);
        const text = renderLauncher(template, {
            plugin: COMMAND_STAND_IN.name,
            version: COMMAND_STAND_IN.version,
            node: process.execPath,
            bundle,
            entry: path.join(providersDir, COMMAND_STAND_IN.entry ?? ""),
            localcloudDir: paths.dir,
        });
        fs.writeFileSync(source, text, { mode: 0o755 });
        fs.chmodSync(source, 0o755);
    }
    const kind = useReal ? `real plugin from ${source}` : `stand-in, launcher ${source}; no ${realCommand}`;
    const target = installedPluginFile(pulumiHome, COMMAND_PLUGIN);
    if (!opts.force && sha256(target) === sha256(source)) {
        log(`command ${COMMAND_PLUGIN.version}: already installed (${useReal ? "real plugin" : "stand-in"})`);
        return;
    }
    pluginInstall(pulumi, pulumiHome, COMMAND_PLUGIN, source, fs.existsSync(path.dirname(target)));
    if (sha256(target) !== sha256(source))
        throw new Error(`command ${COMMAND_PLUGIN.version}: ${target} does not match ${source} after install`);
    log(`command ${COMMAND_PLUGIN.version}: installed (${kind})`);
}

if (require.main === module) {
    const program = new Command()
        .name("localcloud/stand-ins/install.ts")
        .description("Install the local cloud's provider plugins into its isolated PULUMI_HOME")
        .option("--pulumi <path>", "the pulumi CLI to use")
        .option("--pulumi-home <dir>", "the PULUMI_HOME to install into (default $LOCALCLOUD_DIR/pulumi-home)")
        .option("--force", "reinstall even when the installed plugins match")
        .option("--skip-command", "do not install the command plugin (real or stand-in)")
        .parse();
    try {
        install(program.opts<InstallOptions>());
    } catch (e) {
        console.error(`[localcloud providers] error: ${(e as Error).message}`);
        process.exit(1);
    }
}
