/**
 * Typed errors. Every failure `userns` reports carries a machine-readable
 * {@link UsernsErrorCode} and a message of the form `what failed: why; what
 * to do`, so the CLI can print it on one line. Most are a
 * {@link UsernsError}; those that `Deno.Command` reports with a built-in
 * class (`TypeError`, `Deno.errors.NotFound`, ...) extend that class
 * instead, so that code written for `Deno.Command` keeps working. Tell them
 * all apart with {@link isUsernsError}.
 *
 * @module
 */

/** Machine-readable reason carried by every {@link UsernsError}. */
export type UsernsErrorCode =
  | "INVALID_ARGUMENT"
  | "PERMISSION"
  | "SUBID_READ"
  | "SUBID_NONE"
  | "NO_FREE_RANGE"
  | "FILE_READ"
  | "MAP_SYNTAX"
  | "MAP_RANGE"
  | "MAP_OVERLAP"
  | "MAP_LIMIT"
  | "MAP_NOT_DELEGATED"
  | "MAP_UNMAPPED_ID"
  | "MAP_SETGROUPS"
  | "MAP_WRITE"
  | "HELPER_MISSING"
  | "HELPER_FAILED"
  | "HELPER_TIMEOUT"
  | "NATIVE_LOAD"
  | "NATIVE_BUILD"
  | "NATIVE_ABI"
  | "NAMESPACE"
  | "SETUP"
  | "EXEC_NOT_FOUND"
  | "EXEC_DENIED"
  | "CWD_NOT_FOUND"
  | "CWD_DENIED"
  | "BROKEN_PIPE"
  | "PROC_READ"
  | "USER_UNKNOWN"
  | "ABORTED"
  | "HOOK"
  | "POD_EXISTS"
  | "POD_NOT_FOUND"
  | "POD_STATE"
  | "TARGET_GONE";

/** Details of a {@link UsernsError} beyond its code and text. */
export interface UsernsErrorDetails {
  /** What to do about it; appended to the message after `; `. */
  hint?: string;
  /** The errno name (`"EPERM"`) when a system call failed. */
  errno?: string;
  /** The set-up step that failed, for errors from the child. */
  step?: string;
  /** The underlying error. */
  cause?: unknown;
}

/** The fields every error of `userns` carries; see {@link isUsernsError}. */
export interface UsernsErrorFields {
  /** Machine-readable reason. */
  readonly code: UsernsErrorCode;
  /** What to do about it, if anything. */
  readonly hint?: string;
  /** The errno name when a system call failed. */
  readonly errno?: string;
  /** The child set-up step that failed, if any. */
  readonly step?: string;
}

/**
 * The mark on every error class of `userns`, which {@link isUsernsError}
 * looks for. A registered symbol, so that two copies of the library (two
 * versions imported by one program) recognise each other's errors.
 */
const BRAND: unique symbol = Symbol.for("userns.error") as never;

/**
 * Marks the instances of an error class as errors of `userns`. Not exported
 * from `mod.ts`: for this module's classes only.
 *
 * @param cls the class
 */
export function brand(cls: { prototype: object }): void {
  Object.defineProperty(cls.prototype, BRAND, { value: true });
}

/**
 * The message of an error: `what`, then the hint after `; `.
 *
 * @param what what failed and why
 * @param details the hint, if any
 * @returns the one-line message
 */
export function messageOf(what: string, details: UsernsErrorDetails): string {
  return details.hint ? `${what}; ${details.hint}` : what;
}

/**
 * Sets the fields of {@link UsernsErrorFields} on a new error.
 *
 * @param e the error being constructed
 * @param code machine-readable reason
 * @param details hint, errno and step
 */
export function setFields(
  e: { -readonly [K in keyof UsernsErrorFields]: UsernsErrorFields[K] },
  code: UsernsErrorCode,
  details: UsernsErrorDetails,
): void {
  e.code = code;
  e.hint = details.hint;
  e.errno = details.errno;
  e.step = details.step;
}

/**
 * A failure found and described but not (yet) thrown: a diagnosis that a
 * later message carries, e.g. why a helper was not found.
 */
export interface Cause {
  /** What failed and why, e.g. `cannot search /usr/bin: EACCES`. */
  what: string;
  /** What to do about it. */
  hint: string;
}

/**
 * Whether `e` is an error `userns` threw on purpose: a {@link UsernsError},
 * or one of the classes that extend a built-in error class for
 * `Deno.Command` parity ({@link UsernsTypeError}, {@link UsernsNotFound},
 * ...). Each carries a machine-readable `code`.
 *
 * @example Usage
 * ```ts
 * import { isUsernsError, UsernsNotFound } from "./errors.ts";
 * const e = new UsernsNotFound("EXEC_NOT_FOUND", "failed to spawn 'x': not found");
 * console.assert(isUsernsError(e) && e.code === "EXEC_NOT_FOUND");
 * console.assert(e instanceof Deno.errors.NotFound);
 * console.assert(!isUsernsError(new Deno.errors.NotFound("x")));
 * ```
 *
 * @param e any value, usually a caught one
 * @returns true for the errors of `userns`, false for anything else
 */
export function isUsernsError(e: unknown): e is Error & UsernsErrorFields {
  return typeof e === "object" && e !== null &&
    (e as { [BRAND]?: unknown })[BRAND] === true;
}

/**
 * Base class of most errors `userns` throws on purpose.
 *
 * @example Usage
 * ```ts
 * import { UsernsError } from "./errors.ts";
 * const e = new UsernsError("SUBID_NONE", 'no subordinate uids for "alice"', {
 *   hint: "ask an admin to run usermod --add-subuids",
 * });
 * console.assert(e.code === "SUBID_NONE");
 * console.assert(e.message.endsWith("; ask an admin to run usermod --add-subuids"));
 * ```
 */
export class UsernsError extends Error {
  override name = "UsernsError";
  /** Machine-readable reason. */
  readonly code: UsernsErrorCode;
  /** What to do about it, if anything. */
  readonly hint?: string;
  /** The errno name when a system call failed. */
  readonly errno?: string;
  /** The child set-up step that failed, if any. */
  readonly step?: string;

  /**
   * @param code machine-readable reason
   * @param what what failed and why, e.g. `cannot read /etc/subuid: EACCES`
   * @param details hint, errno, step and cause
   */
  constructor(
    code: UsernsErrorCode,
    what: string,
    details: UsernsErrorDetails = {},
  ) {
    super(messageOf(what, details), { cause: details.cause });
    this.code = code;
    this.hint = details.hint;
    this.errno = details.errno;
    this.step = details.step;
  }
}

/** A sub-ID file could not be read, or holds no range for the user. */
export class SubIdError extends UsernsError {
  override name = "SubIdError";
}

/** An ID map is malformed, refused by a kernel rule, or not delegated. */
export class IdMapError extends UsernsError {
  override name = "IdMapError";
}

/** `newuidmap`/`newgidmap` is missing or refused the map. */
export class HelperError extends UsernsError {
  override name = "HelperError";
}

/** The native library could not be found, built or loaded. */
export class NativeError extends UsernsError {
  override name = "NativeError";
}

/** Creating the namespace, setting up the child or executing failed. */
export class SpawnError extends UsernsError {
  override name = "SpawnError";
}

brand(UsernsError);

/** Values the README documents together: naming one names its group. */
const FLAG_GROUPS: readonly (readonly string[])[] = [
  ["uid", "gid"],
  ["newuidmap", "newgidmap"],
  ["pasta", "slirp4netns", "setpriv", "sh"],
];

/**
 * The flag a refusal asks for, with the values the README documents for
 * it (`--allow-sys=uid,gid`, not `--allow-sys`): Deno names the flag and
 * the one value it refused.
 */
function flagFor(message: string): string | undefined {
  const flag = message.match(/--allow-[a-z-]+/)?.[0];
  if (flag !== "--allow-sys" && flag !== "--allow-run") return flag;
  const value = message.match(/ access to "([^"]+)"/)?.[1]?.split("/").pop();
  if (!value) return flag;
  const group = FLAG_GROUPS.find((g) => g.includes(value)) ?? [value];
  return `${flag}=${group.join(",")}`;
}

/**
 * Turns Deno's refusal of a permission into a {@link UsernsError} with code
 * `PERMISSION` naming the flag; returns anything else unchanged.
 *
 * @param e a caught value
 * @returns the typed error, or `e`
 */
export function permissionError(e: unknown): unknown {
  if (
    isUsernsError(e) ||
    !(e instanceof Deno.errors.NotCapable ||
      e instanceof Deno.errors.PermissionDenied)
  ) {
    return e; // not Deno's refusal (this library's EXEC_DENIED is not one)
  }
  const message = e.message.split("\n")[0]!;
  const flag = flagFor(message);
  const what = message.replace(/, run again with .*$/, "").replace(
    /^Requires/,
    "requires",
  );
  return new UsernsError("PERMISSION", `not permitted: ${what}`, {
    hint: `run deno with ${
      flag ?? "the flag it names"
    } (the README lists every flag userns needs), or -A`,
    cause: e,
  });
}
