/**
 * Errors and paths as `Deno.Command` has them (provisional: the checks of
 * lib/check.ts replace this).
 *
 * @module
 */
import { SpawnError } from "./errors.ts";

/**
 * A path from a string or a `file:` URL, percent-decoded.
 *
 * @param p the path or URL
 * @param what the option, for the message
 * @returns the path
 * @throws {TypeError} for a URL of another scheme
 */
export function pathOf(p: string | URL, what: string): string {
  if (!(p instanceof URL)) return p;
  if (p.protocol !== "file:") {
    throw new TypeError(`${what} must be a path or a file: URL, got ${p.href}`);
  }
  return decodeURIComponent(p.pathname);
}

/** A NotFound error that is also one of this library's. */
class NotFound extends Deno.errors.NotFound {
  override name = "NotFound";
  readonly code: string;
  constructor(message: string, code: string) {
    super(message);
    this.code = code;
  }
}

/**
 * The error for a working directory that does not exist.
 *
 * @param cwd the directory
 * @returns the error
 */
export function missingCwd(cwd: string): Error {
  return new NotFound(
    `working directory "${cwd}" does not exist; check the path`,
    "CWD_NOT_FOUND",
  );
}

/**
 * The error for a command that does not exist.
 *
 * @param file the command
 * @returns the error
 */
export function notFoundError(file: string): Error {
  return new NotFound(
    `cannot execute "${file}": ENOENT; check the program name or PATH`,
    "EXEC_NOT_FOUND",
  );
}

/**
 * The error for a write to the stdin of a command that has gone.
 *
 * @returns the error
 */
export function brokenPipeError(): Error {
  return new SpawnError("SETUP", "cannot write to the command's stdin: EPIPE");
}
