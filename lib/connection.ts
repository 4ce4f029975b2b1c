/**
 * Connection strings, as the components build them and the commands read them back from the
 * state. Kept apart from the components so a command can use them without loading the
 * providers' SDKs.
 */

/** The Neon database component's type token (the commands find its password reset in the state by it). */
export const NEON_DATABASE_TYPE = "fpsgame:neon:Database";

/** The connection string with `password` in place of the one it carried (escaped as a URL needs). */
export function withPassword(uri: string, password: string): string {
    if (password === "") throw new Error("the password rotation printed no password");
    const url = new URL(uri);
    url.password = encodeURIComponent(password);
    return url.toString();
}
