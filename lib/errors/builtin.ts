/**
 * The errors of `userns` that extend a built-in class instead of
 * `UsernsError`: where `Deno.Command` throws a `TypeError` or a
 * `Deno.errors.NotFound`, so does `UsernsCommand`, and code written for
 * `Deno.Command` keeps working. Each keeps the built-in `name` and carries
 * the fields of {@link UsernsErrorFields}; {@link isUsernsError} tells them
 * from the runtime's own. All are made by one factory,
 * {@link usernsErrorClass}.
 *
 * @module
 */
import {
  brand,
  messageOf,
  setFields,
  type UsernsErrorCode,
  type UsernsErrorDetails,
  type UsernsErrorFields,
} from "./errors.ts";

/** A built-in error class: `TypeError`, `Deno.errors.NotFound`, ... */
type BuiltinClass<E extends Error> = new (
  message?: string,
  options?: ErrorOptions,
) => E;

/** The class of the errors of `userns` that extend the built-in `E`. */
export interface UsernsErrorClass<E extends Error> {
  /**
   * @param code machine-readable reason
   * @param what what failed and why, e.g. `stdout must be one of ...`
   * @param details hint, errno, step and cause
   */
  new (
    code: UsernsErrorCode,
    what: string,
    details?: UsernsErrorDetails,
  ): E & UsernsErrorFields;
  /** Its instances' prototype. */
  readonly prototype: E & UsernsErrorFields;
}

/**
 * Makes the class of errors of `userns` that extend a built-in error class:
 * its instances are `instanceof` that class, keep its `name`, carry a
 * `code` (and `hint`, `errno`, `step`), and are recognised by
 * {@link isUsernsError}.
 *
 * @param Base the built-in class
 * @param name the new class's name, as stack traces and `describe()` show it
 * @returns the class
 */
function usernsErrorClass<E extends Error>(
  Base: BuiltinClass<E>,
  name: string,
): UsernsErrorClass<E> {
  const Class = class extends (Base as BuiltinClass<Error>) {
    constructor(
      code: UsernsErrorCode,
      what: string,
      details: UsernsErrorDetails = {},
    ) {
      super(messageOf(what, details), { cause: details.cause });
      setFields(this as unknown as UsernsErrorFields, code, details);
    }
  };
  Object.defineProperty(Class, "name", { value: name });
  brand(Class);
  return Class as unknown as UsernsErrorClass<E>;
}

/**
 * An option of the wrong type or an unknown enumerated value, where
 * `Deno.Command` throws a `TypeError` (and, for `Deno.Command`'s own
 * options, at the same moment). Its `name` stays `"TypeError"`.
 */
export const UsernsTypeError: UsernsErrorClass<TypeError> = usernsErrorClass(
  TypeError,
  "UsernsTypeError",
);
/** An instance of {@link UsernsTypeError}. */
export type UsernsTypeError = TypeError & UsernsErrorFields;

/** A number or a length out of range. Its `name` stays `"RangeError"`. */
export const UsernsRangeError: UsernsErrorClass<RangeError> = usernsErrorClass(
  RangeError,
  "UsernsRangeError",
);
/** An instance of {@link UsernsRangeError}. */
export type UsernsRangeError = RangeError & UsernsErrorFields;

/**
 * A `file:` URL whose percent-encoding is not UTF-8, where `Deno.Command`
 * throws a `URIError`. Its `name` stays `"URIError"`.
 */
export const UsernsURIError: UsernsErrorClass<URIError> = usernsErrorClass(
  URIError,
  "UsernsURIError",
);
/** An instance of {@link UsernsURIError}. */
export type UsernsURIError = URIError & UsernsErrorFields;

/**
 * A command or working directory that does not exist: `instanceof
 * Deno.errors.NotFound`, as `Deno.Command` throws, with code
 * `EXEC_NOT_FOUND` or `CWD_NOT_FOUND`. Its `name` stays `"NotFound"`.
 */
export const UsernsNotFound: UsernsErrorClass<Deno.errors.NotFound> =
  usernsErrorClass(Deno.errors.NotFound, "UsernsNotFound");
/** An instance of {@link UsernsNotFound}. */
export type UsernsNotFound = Deno.errors.NotFound & UsernsErrorFields;

/**
 * A command (or working directory) that exists but may not be used:
 * `instanceof Deno.errors.PermissionDenied`, as `Deno.Command` throws for
 * EACCES, with code `EXEC_DENIED` or `CWD_DENIED`.
 */
export const UsernsPermissionDenied: UsernsErrorClass<
  Deno.errors.PermissionDenied
> = usernsErrorClass(Deno.errors.PermissionDenied, "UsernsPermissionDenied");
/** An instance of {@link UsernsPermissionDenied}. */
export type UsernsPermissionDenied =
  & Deno.errors.PermissionDenied
  & UsernsErrorFields;

/**
 * A command path through something that is not a directory (ENOTDIR):
 * `instanceof Deno.errors.NotADirectory`, as `Deno.Command` throws.
 */
export const UsernsNotADirectory: UsernsErrorClass<Deno.errors.NotADirectory> =
  usernsErrorClass(Deno.errors.NotADirectory, "UsernsNotADirectory");
/** An instance of {@link UsernsNotADirectory}. */
export type UsernsNotADirectory = Deno.errors.NotADirectory & UsernsErrorFields;

/**
 * A command path with a symbolic link loop (ELOOP): `instanceof
 * Deno.errors.FilesystemLoop`, as `Deno.Command` throws.
 */
export const UsernsFilesystemLoop: UsernsErrorClass<
  Deno.errors.FilesystemLoop
> = usernsErrorClass(Deno.errors.FilesystemLoop, "UsernsFilesystemLoop");
/** An instance of {@link UsernsFilesystemLoop}. */
export type UsernsFilesystemLoop =
  & Deno.errors.FilesystemLoop
  & UsernsErrorFields;

/**
 * A write to the stdin of a command that has exited or closed it:
 * `instanceof Deno.errors.BrokenPipe`, as `Deno.ChildProcess.stdin` fails,
 * with code `BROKEN_PIPE`.
 */
export const UsernsBrokenPipe: UsernsErrorClass<Deno.errors.BrokenPipe> =
  usernsErrorClass(Deno.errors.BrokenPipe, "UsernsBrokenPipe");
/** An instance of {@link UsernsBrokenPipe}. */
export type UsernsBrokenPipe = Deno.errors.BrokenPipe & UsernsErrorFields;
