/**
 * The mark that {@link isUsernsError} looks for, and the set-up shared by
 * every error class of `userns`. Private: not exported from `mod.ts`.
 *
 * @module
 */
import type {
  UsernsErrorCode,
  UsernsErrorDetails,
  UsernsErrorFields,
} from "./errors.ts";

/**
 * The mark on every error class of `userns`. A registered symbol, so that
 * two copies of the library (two versions imported by one program)
 * recognise each other's errors.
 */
export const BRAND: unique symbol = Symbol.for("userns.error") as never;

/**
 * Marks the instances of an error class as errors of `userns`.
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
export function init(
  e: { -readonly [K in keyof UsernsErrorFields]: UsernsErrorFields[K] },
  code: UsernsErrorCode,
  details: UsernsErrorDetails,
): void {
  e.code = code;
  e.hint = details.hint;
  e.errno = details.errno;
  e.step = details.step;
}
