/**
 * Reading the small system files userns consults besides the sub-ID files
 * (`/etc/passwd`, `/etc/group`, `/etc/login.defs`), with one way of saying
 * why a read failed.
 *
 * @module
 */
import { UsernsError } from "./errors.ts";

/**
 * The error for a read of `path` that threw `e`: the errno name and what to
 * do about it.
 *
 * @param path the file
 * @param e what the read threw
 * @returns a `FILE_READ` error, e.g. `cannot read /etc/passwd: EACCES`
 */
export function fileReadError(path: string, e: unknown): UsernsError {
  const code = (e as { code?: unknown }).code;
  const errno = typeof code === "string" ? code : undefined;
  const hint = e instanceof Deno.errors.NotCapable
    ? `run deno with --allow-read=${path}`
    : `make it readable by all (chmod a+r ${path}), as it is by default`;
  return new UsernsError(
    "FILE_READ",
    `cannot read ${path}: ${errno ?? (e as Error).name}`,
    { hint, cause: e, ...(errno ? { errno } : {}) },
  );
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
    throw fileReadError(path, e);
  }
}
