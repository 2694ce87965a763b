/**
 * The errors of `userns` that extend a built-in class instead of
 * `UsernsError`: where `Deno.Command` throws a `TypeError` or a
 * `Deno.errors.NotFound`, so does `UsernsCommand`, and code written for
 * `Deno.Command` keeps working. Each keeps the built-in `name` and carries
 * the fields of {@link UsernsErrorFields}; {@link isUsernsError} tells them
 * from the runtime's own.
 *
 * @module
 */
import { brand, init, messageOf } from "./_brand.ts";
import type {
  UsernsErrorCode,
  UsernsErrorDetails,
  UsernsErrorFields,
} from "./errors.ts";

/** The fields of {@link UsernsErrorFields} on a {@link UsernsTypeError}. */
export interface UsernsTypeError extends UsernsErrorFields {}
/**
 * An option of the wrong type or an unknown enumerated value, where
 * `Deno.Command` throws a `TypeError` (and, for `Deno.Command`'s own
 * options, at the same moment). Its `name` stays `"TypeError"`.
 */
export class UsernsTypeError extends TypeError {
  /**
   * @param code machine-readable reason, usually `INVALID_ARGUMENT`
   * @param what what is wrong, e.g. `stdout must be one of ...`
   * @param details hint, errno, step and cause
   */
  constructor(
    code: UsernsErrorCode,
    what: string,
    details: UsernsErrorDetails = {},
  ) {
    super(messageOf(what, details), { cause: details.cause });
    init(this, code, details);
  }
}

/** The fields of {@link UsernsErrorFields} on a {@link UsernsRangeError}. */
export interface UsernsRangeError extends UsernsErrorFields {}
/** A number or a length out of range. Its `name` stays `"RangeError"`. */
export class UsernsRangeError extends RangeError {
  /**
   * @param code machine-readable reason, usually `INVALID_ARGUMENT`
   * @param what what is wrong, e.g. `oomScoreAdj must be ...`
   * @param details hint, errno, step and cause
   */
  constructor(
    code: UsernsErrorCode,
    what: string,
    details: UsernsErrorDetails = {},
  ) {
    super(messageOf(what, details), { cause: details.cause });
    init(this, code, details);
  }
}

/** The fields of {@link UsernsErrorFields} on a {@link UsernsURIError}. */
export interface UsernsURIError extends UsernsErrorFields {}
/**
 * A `file:` URL whose percent-encoding is not UTF-8, where `Deno.Command`
 * throws a `URIError`. Its `name` stays `"URIError"`.
 */
export class UsernsURIError extends URIError {
  /**
   * @param code machine-readable reason, usually `INVALID_ARGUMENT`
   * @param what what is wrong
   * @param details hint, errno, step and cause
   */
  constructor(
    code: UsernsErrorCode,
    what: string,
    details: UsernsErrorDetails = {},
  ) {
    super(messageOf(what, details), { cause: details.cause });
    init(this, code, details);
  }
}

/** The fields of {@link UsernsErrorFields} on a {@link UsernsNotFound}. */
export interface UsernsNotFound extends UsernsErrorFields {}
/**
 * A command or working directory that does not exist: `instanceof
 * Deno.errors.NotFound`, as `Deno.Command` throws, with code
 * `EXEC_NOT_FOUND` or `CWD_NOT_FOUND`. Its `name` stays `"NotFound"`.
 */
export class UsernsNotFound extends Deno.errors.NotFound {
  /**
   * @param code `EXEC_NOT_FOUND` or `CWD_NOT_FOUND`
   * @param what what failed and why
   * @param details hint, errno, step and cause
   */
  constructor(
    code: UsernsErrorCode,
    what: string,
    details: UsernsErrorDetails = {},
  ) {
    super(messageOf(what, details), { cause: details.cause });
    init(this, code, details);
  }
}

/** The fields of {@link UsernsErrorFields} on a {@link UsernsPermissionDenied}. */
export interface UsernsPermissionDenied extends UsernsErrorFields {}
/**
 * A command (or working directory) that exists but may not be used:
 * `instanceof Deno.errors.PermissionDenied`, as `Deno.Command` throws for
 * EACCES, with code `EXEC_DENIED` or `CWD_DENIED`.
 */
export class UsernsPermissionDenied extends Deno.errors.PermissionDenied {
  /**
   * @param code `EXEC_DENIED` or `CWD_DENIED`
   * @param what what failed and why
   * @param details hint, errno, step and cause
   */
  constructor(
    code: UsernsErrorCode,
    what: string,
    details: UsernsErrorDetails = {},
  ) {
    super(messageOf(what, details), { cause: details.cause });
    init(this, code, details);
  }
}

/** The fields of {@link UsernsErrorFields} on a {@link UsernsNotADirectory}. */
export interface UsernsNotADirectory extends UsernsErrorFields {}
/**
 * A command path through something that is not a directory (ENOTDIR):
 * `instanceof Deno.errors.NotADirectory`, as `Deno.Command` throws.
 */
export class UsernsNotADirectory extends Deno.errors.NotADirectory {
  /**
   * @param code `EXEC_NOT_FOUND`
   * @param what what failed and why
   * @param details hint, errno, step and cause
   */
  constructor(
    code: UsernsErrorCode,
    what: string,
    details: UsernsErrorDetails = {},
  ) {
    super(messageOf(what, details), { cause: details.cause });
    init(this, code, details);
  }
}

/** The fields of {@link UsernsErrorFields} on a {@link UsernsFilesystemLoop}. */
export interface UsernsFilesystemLoop extends UsernsErrorFields {}
/**
 * A command path with a symbolic link loop (ELOOP): `instanceof
 * Deno.errors.FilesystemLoop`, as `Deno.Command` throws.
 */
export class UsernsFilesystemLoop extends Deno.errors.FilesystemLoop {
  /**
   * @param code `EXEC_DENIED`
   * @param what what failed and why
   * @param details hint, errno, step and cause
   */
  constructor(
    code: UsernsErrorCode,
    what: string,
    details: UsernsErrorDetails = {},
  ) {
    super(messageOf(what, details), { cause: details.cause });
    init(this, code, details);
  }
}

/** The fields of {@link UsernsErrorFields} on a {@link UsernsBrokenPipe}. */
export interface UsernsBrokenPipe extends UsernsErrorFields {}
/**
 * A write to the stdin of a command that has exited or closed it:
 * `instanceof Deno.errors.BrokenPipe`, as `Deno.ChildProcess.stdin` fails,
 * with code `BROKEN_PIPE`.
 */
export class UsernsBrokenPipe extends Deno.errors.BrokenPipe {
  /**
   * @param code `BROKEN_PIPE`
   * @param what what failed and why
   * @param details hint, errno, step and cause
   */
  constructor(
    code: UsernsErrorCode,
    what: string,
    details: UsernsErrorDetails = {},
  ) {
    super(messageOf(what, details), { cause: details.cause });
    init(this, code, details);
  }
}

for (
  const cls of [
    UsernsTypeError,
    UsernsRangeError,
    UsernsURIError,
    UsernsNotFound,
    UsernsPermissionDenied,
    UsernsNotADirectory,
    UsernsFilesystemLoop,
    UsernsBrokenPipe,
  ]
) brand(cls);
