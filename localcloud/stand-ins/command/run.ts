/**
 * Runs one local command the way pulumi-command 1.2.1 does (provider/pkg/provider/local/
 * commandOutputs.go, `run`): `<interpreter...> <command>` (default `/bin/sh -c`), in `dir` (else
 * the provider's working directory, which the engine sets to the project directory), with the
 * provider's environment plus `environment` plus, unless `addPreviousOutputInEnv` is false, the
 * previous run's non-empty output as PULUMI_COMMAND_STDOUT / PULUMI_COMMAND_STDERR. `stdin` is
 * fed only when non-empty. stdout and stderr are captured separately (one trailing "\n" trimmed
 * from each) and, as `logging` says, streamed line by line to a status log. A failure is
 * `<exit status N | signal: …>: running "<command>":\n<stdout and stderr as they came>`.
 *
 * Unlike the real provider, every secret value handed in is replaced by `[secret]` in what this
 * writes to the log and in error messages.
 */
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { StringDecoder } from "node:string_decoder";

export type Logging = "stdout" | "stderr" | "stdoutAndStderr" | "none";
export const LOGGING_VALUES: readonly Logging[] = ["stdout", "stderr", "stdoutAndStderr", "none"];
export const DEFAULT_INTERPRETER: readonly string[] = ["/bin/sh", "-c"];
export const PREVIOUS_STDOUT = "PULUMI_COMMAND_STDOUT";
export const PREVIOUS_STDERR = "PULUMI_COMMAND_STDERR";
export const REDACTED = "[secret]";
/** Shorter secret values are not masked in text (masking "1" everywhere would say nothing). */
export const MIN_REDACT_LENGTH = 4;
/** At most this much of the command's output goes into an error message (its end is kept). */
export const MAX_ERROR_OUTPUT = 32 * 1024;

export interface RunSpec {
    readonly command: string;
    readonly interpreter?: readonly string[];
    readonly dir?: string;
    readonly environment?: Readonly<Record<string, string>>;
    readonly stdin?: string;
    readonly logging?: Logging;
    /** Default true. */
    readonly addPreviousOutputInEnv?: boolean;
    /** The outputs of the previous create/update (update and delete only). */
    readonly previous?: { readonly stdout?: string; readonly stderr?: string };
    /** Values to mask in logs and errors. */
    readonly secrets?: readonly string[];
    /** Receives each logged output line (already masked). */
    readonly log?: (line: string) => void;
    /** The provider's environment (default process.env). */
    readonly baseEnv?: NodeJS.ProcessEnv;
    /** The provider's working directory (default process.cwd()). */
    readonly cwd?: string;
}

export interface RunResult {
    readonly stdout: string;
    readonly stderr: string;
}

const running = new Set<ChildProcess>();

/** Kills every running command (the engine's Cancel; the real provider's context cancellation kills its child). */
export function killRunning(): void {
    for (const child of running) child.kill("SIGKILL");
}

export function shouldLogStdout(l: Logging | undefined): boolean {
    return l === undefined || l === "stdout" || l === "stdoutAndStderr";
}

export function shouldLogStderr(l: Logging | undefined): boolean {
    return l === undefined || l === "stderr" || l === "stdoutAndStderr";
}

/** Go's `strings.TrimSuffix(s, "\n")`. */
export function trimOneNewline(s: string): string {
    return s.endsWith("\n") ? s.slice(0, -1) : s;
}

/** Replaces every secret value (of at least MIN_REDACT_LENGTH characters) in a text by `[secret]`. */
export function redactor(secrets: readonly string[] = []): (text: string) => string {
    const values = [...new Set(secrets.filter((s) => s.length >= MIN_REDACT_LENGTH))].sort(
        (a, b) => b.length - a.length,
    );
    if (values.length === 0) return (t) => t;
    return (text) => {
        let out = text;
        for (const v of values) out = out.split(v).join(REDACTED);
        return out;
    };
}

/** The command's environment: the provider's (minus the launcher's variables), `environment`, previous outputs. */
export function commandEnv(spec: RunSpec): Record<string, string> {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(spec.baseEnv ?? process.env)) {
        if (v !== undefined) env[k] = v;
    }
    Object.assign(env, spec.environment ?? {});
    if (spec.addPreviousOutputInEnv !== false) {
        if (spec.previous?.stdout) env[PREVIOUS_STDOUT] = spec.previous.stdout;
        if (spec.previous?.stderr) env[PREVIOUS_STDERR] = spec.previous.stderr;
    }
    return env;
}

/** Go's `syscall.Signal.String()` for the usual signals. */
const SIGNAL_TEXT: Readonly<Record<string, string>> = {
    SIGHUP: "hangup",
    SIGINT: "interrupt",
    SIGQUIT: "quit",
    SIGILL: "illegal instruction",
    SIGABRT: "aborted",
    SIGBUS: "bus error",
    SIGFPE: "floating point exception",
    SIGKILL: "killed",
    SIGSEGV: "segmentation fault",
    SIGPIPE: "broken pipe",
    SIGALRM: "alarm clock",
    SIGTERM: "terminated",
};

/** Splits a stream into lines (as Go's bufio.ScanLines: "\n" separated, a trailing "\r" dropped). */
class LineSplitter {
    private partial = "";
    private readonly decoder = new StringDecoder("utf8");
    constructor(private readonly emit: (line: string) => void) {}
    push(bytes: Buffer): void {
        const parts = (this.partial + this.decoder.write(bytes)).split("\n");
        this.partial = parts.pop() ?? "";
        for (const p of parts) this.emit(p.endsWith("\r") ? p.slice(0, -1) : p);
    }
    end(): void {
        this.partial += this.decoder.end();
        if (this.partial !== "") this.emit(this.partial.endsWith("\r") ? this.partial.slice(0, -1) : this.partial);
        this.partial = "";
    }
}

function errorOutput(combined: string, mask: (t: string) => string): string {
    const text = mask(combined);
    if (text.length <= MAX_ERROR_OUTPUT) return text;
    return `… (${text.length - MAX_ERROR_OUTPUT} earlier characters cut)\n${text.slice(-MAX_ERROR_OUTPUT)}`;
}

/** Runs the command; resolves with its trimmed outputs, rejects when it cannot start or exits non-zero. */
export function runCommand(spec: RunSpec): Promise<RunResult> {
    const mask = redactor(spec.secrets);
    const shown = mask(spec.command);
    const interpreter = spec.interpreter && spec.interpreter.length > 0 ? spec.interpreter : DEFAULT_INTERPRETER;
    const base = spec.cwd ?? process.cwd();
    const dir = spec.dir ? path.resolve(base, spec.dir) : base;
    const fail = (why: string, output = "") => new Error(`${why}: running ${JSON.stringify(shown)}:\n${output}`);

    // exec.Cmd.Start's errors, worded as Go words them.
    let st: fs.Stats | undefined;
    try {
        st = fs.statSync(dir);
    } catch {
        st = undefined;
    }
    if (!st) return Promise.reject(fail(`chdir ${spec.dir ?? dir}: no such file or directory`));
    if (!st.isDirectory()) return Promise.reject(fail(`chdir ${spec.dir ?? dir}: not a directory`));

    return new Promise<RunResult>((resolve, reject) => {
        const child = spawn(interpreter[0], [...interpreter.slice(1), spec.command], {
            cwd: dir,
            env: commandEnv(spec),
            stdio: [spec.stdin ? "pipe" : "ignore", "pipe", "pipe"],
        });
        running.add(child);
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        const both: Buffer[] = [];
        const log = spec.log;
        const outLines = log && shouldLogStdout(spec.logging) ? new LineSplitter((l) => log(mask(l))) : undefined;
        const errLines = log && shouldLogStderr(spec.logging) ? new LineSplitter((l) => log(mask(l))) : undefined;
        child.stdout?.on("data", (b: Buffer) => {
            out.push(b);
            both.push(b);
            outLines?.push(b);
        });
        child.stderr?.on("data", (b: Buffer) => {
            err.push(b);
            both.push(b);
            errLines?.push(b);
        });
        if (child.stdin) {
            // As Go, a command that exits without reading its input is not an error (EPIPE).
            child.stdin.on("error", () => undefined);
            child.stdin.end(spec.stdin);
        }
        let startError: NodeJS.ErrnoException | undefined;
        child.on("error", (e: NodeJS.ErrnoException) => {
            startError = e;
        });
        child.on("close", (code, signal) => {
            running.delete(child);
            outLines?.end();
            errLines?.end();
            const combined = Buffer.concat(both).toString("utf8");
            if (startError) {
                const prog = interpreter[0];
                let why: string;
                if (startError.code === "ENOENT" && !prog.includes("/"))
                    why = `exec: ${JSON.stringify(prog)}: executable file not found in $PATH`;
                else if (startError.code === "ENOENT") why = `fork/exec ${prog}: no such file or directory`;
                else if (startError.code === "EACCES") why = `fork/exec ${prog}: permission denied`;
                else why = `fork/exec ${prog}: ${startError.message}`;
                reject(fail(why, errorOutput(combined, mask)));
                return;
            }
            if (signal) {
                reject(fail(`signal: ${SIGNAL_TEXT[signal] ?? signal}`, errorOutput(combined, mask)));
                return;
            }
            if (code !== 0) {
                reject(fail(`exit status ${code}`, errorOutput(combined, mask)));
                return;
            }
            resolve({
                stdout: trimOneNewline(Buffer.concat(out).toString("utf8")),
                stderr: trimOneNewline(Buffer.concat(err).toString("utf8")),
            });
        });
    });
}
