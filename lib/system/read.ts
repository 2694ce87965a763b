/**
 * Reading the small system files userns consults besides the sub-ID files
 * (`/etc/passwd`, `/etc/group`, `/etc/login.defs`), with one way of saying
 * why a read failed.
 *
 * @module
 */
import { type Cause, UsernsError } from "../errors/errors.ts";

const errnoOf = (e: unknown): string | undefined => {
  const code = (e as { code?: unknown }).code;
  return typeof code === "string" ? code : undefined;
};

/**
 * Why a read of `path` that threw `e` failed, and what to do about it.
 *
 * @param path the file
 * @param e what the read threw
 * @returns e.g. `cannot read /etc/passwd: EACCES`, with a hint
 */
export function readFailure(path: string, e: unknown): Cause {
  return {
    what: `cannot read ${path}: ${errnoOf(e) ?? (e as Error).name}`,
    hint: e instanceof Deno.errors.NotCapable
      ? `run deno with --allow-read=${path}`
      : `make it readable by all (chmod a+r ${path}), as it is by default`,
  };
}

/**
 * Reads a system file as text; a missing one reads as empty.
 *
 * @param path the file
 * @returns its text, or `""` when it does not exist
 * @throws {UsernsError} `FILE_READ` when it exists but cannot be read
 */
export function readSystemFile(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return "";
    const { what, hint } = readFailure(path, e);
    const errno = errnoOf(e);
    throw new UsernsError("FILE_READ", what, {
      hint,
      cause: e,
      ...(errno ? { errno } : {}),
    });
  }
}
