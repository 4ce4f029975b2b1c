/**
 * A real stack refuses to deploy with the committed bootstrap placeholder as any credential, or
 * with a weak JWT secret; the local-cloud stack is exempt. The values never appear in a message.
 */
import {
    BOOTSTRAP_PLACEHOLDER,
    credentialProblems,
    MIN_JWT_SECRET_LENGTH,
    STACK_CREDENTIAL_KEYS,
} from "../../lib/credentials";
import { runProgram } from "../helpers/mockProgram";

const strong = "k".repeat(MIN_JWT_SECRET_LENGTH);

describe("credentialProblems", () => {
    test.each(STACK_CREDENTIAL_KEYS)("%s still the placeholder is refused, naming the command that sets it", (key) => {
        expect(credentialProblems({ [key]: BOOTSTRAP_PLACEHOLDER }, "prod")).toEqual([
            `${key}: still the committed bootstrap placeholder; a real stack never deploys with it: set it from a prompt: \`pulumi config set --secret ${key} --stack prod\` (README: "The first real deploy, step by step")`,
        ]);
    });

    test("a JWT secret shorter than the minimum is refused without showing it", () => {
        const weak = "hunter2-but-longer";
        const problems = credentialProblems({ "fpsgame-infra:jwtSecret": weak }, "staging");
        expect(problems).toEqual([
            `fpsgame-infra:jwtSecret: shorter than ${MIN_JWT_SECRET_LENGTH} characters; allowed: at least ${MIN_JWT_SECRET_LENGTH} random characters (e.g. \`openssl rand -base64 48\`): set it from a prompt: \`pulumi config set --secret fpsgame-infra:jwtSecret --stack staging\``,
        ]);
        expect(problems.join("\n")).not.toContain(weak);
    });

    test("real values, and unset provider credentials, pass", () => {
        expect(credentialProblems({ "fpsgame-infra:jwtSecret": strong, "vercel:apiToken": "vc_real" }, "prod")).toEqual(
            [],
        );
        expect(credentialProblems({}, "prod")).toEqual([]);
    });

    test("every placeholder is reported at once", () => {
        const all = Object.fromEntries(STACK_CREDENTIAL_KEYS.map((k) => [k, BOOTSTRAP_PLACEHOLDER]));
        expect(credentialProblems(all, "prod")).toHaveLength(STACK_CREDENTIAL_KEYS.length);
    });
});

describe("the program", () => {
    test("prod with the placeholder as vercel:apiToken is refused before any resource", async () => {
        await expect(runProgram("prod", { "vercel:apiToken": BOOTSTRAP_PLACEHOLDER })).rejects.toThrow(
            "vercel:apiToken: still the committed bootstrap placeholder; a real stack never deploys with it: set it from a prompt: `pulumi config set --secret vercel:apiToken --stack prod`",
        );
    });

    test("staging with a short jwtSecret is refused", async () => {
        await expect(runProgram("staging", { "fpsgame-infra:jwtSecret": "short" })).rejects.toThrow(
            `fpsgame-infra:jwtSecret: shorter than ${MIN_JWT_SECRET_LENGTH} characters`,
        );
    });

    test("the local-cloud stack is exempt: its demo values are documented", async () => {
        const run = await runProgram("local", { "vercel:apiToken": BOOTSTRAP_PLACEHOLDER });
        expect(run.resources.length).toBeGreaterThan(0);
    });
});
