/**
 * Small checks of option values, shared by every subject's checks, and the
 * errors they throw: a value described for a message, the `TypeError` or
 * `RangeError` of a wrong one. Not exported from the library's `mod.ts`.
 *
 * Each check allocates nothing unless it fails: names of nested values
 * (`mounts[2].target`) are built by the caller, on the error path only.
 *
 * @module
 */
import { UsernsRangeError, UsernsTypeError } from "../errors/builtin.ts";

/** The longest string quoted whole in a message. */
const MAX_SHOWN = 80;
/** Class names that take "an": "an Error", but "a Map". */
const VOWEL = /^[AEIOU]/;

/**
 * Describes a value for an error message, on one line.
 *
 * @param value any value
 * @returns `"text"` (quoted, escaped, cut at 80 characters), `12`,
 * `undefined`, `null`, `an array`, `a Map`, `an object`, `a function`, ...
 */
export function describe(value: unknown): string {
  switch (typeof value) {
    case "string":
      return value.length > MAX_SHOWN
        ? `${JSON.stringify(value.slice(0, MAX_SHOWN))}...`
        : JSON.stringify(value);
    case "function":
      return "a function";
    case "bigint":
      return `${value}n`;
    case "symbol":
      return value.toString();
    case "object":
      return describeObject(value);
    default:
      return String(value);
  }
}

function describeObject(value: object | null): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (value instanceof URL) return `the URL ${describe(value.href)}`;
  const name = Object.getPrototypeOf(value)?.constructor?.name;
  if (typeof name !== "string" || name === "" || name === "Object") {
    return "an object";
  }
  return VOWEL.test(name) ? `an ${name}` : `a ${name}`;
}

/**
 * A `TypeError` for a value of the wrong type, an unknown enumerated value
 * or a malformed one, with code `INVALID_ARGUMENT`.
 *
 * @param name the option, e.g. `stdout` or `mounts[1].target`
 * @param expected what it must be, e.g. `one of "inherit", "piped", "null"`
 * @param value what it is
 * @returns the error, to throw
 */
export function typeError(
  name: string,
  expected: string,
  value: unknown,
): UsernsTypeError {
  return new UsernsTypeError(
    "INVALID_ARGUMENT",
    `${name} must be ${expected}, got ${describe(value)}`,
  );
}

/**
 * A `RangeError` for a number or a length out of range, with code
 * `INVALID_ARGUMENT`.
 *
 * @param name the option
 * @param expected what it must be, e.g. `an integer from 0 to 10`
 * @param value what it is
 * @returns the error, to throw
 */
export function rangeError(
  name: string,
  expected: string,
  value: unknown,
): UsernsRangeError {
  return new UsernsRangeError(
    "INVALID_ARGUMENT",
    `${name} must be ${expected}, got ${describe(value)}`,
  );
}

/**
 * The `TypeError` for a string with a NUL byte, which no system call can
 * take (`Deno.Command` throws a `TypeError` too).
 *
 * @param name the option
 * @returns the error, to throw
 */
export function nulError(name: string): UsernsTypeError {
  return new UsernsTypeError(
    "INVALID_ARGUMENT",
    `${name} must not contain a NUL byte`,
  );
}

/**
 * Lists allowed values for a message.
 *
 * @param allowed the values
 * @returns `one of "a", "b", "c"`
 */
export function oneOf(allowed: readonly string[]): string {
  return `one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}`;
}

/**
 * Whether a value is a non-null object that is not an array: an options
 * object, which may inherit its properties.
 *
 * @param value any value
 * @returns true for such an object
 */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Whether a value is a plain object (`{...}` or `Object.create(null)`), not
 * a `Map`, an array or another class's instance: a dictionary such as
 * `env` or `rlimits`.
 *
 * @param value any value
 * @returns true for a plain object
 */
export function isPlainObject(
  value: unknown,
): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * The first own key of `object` that is not allowed.
 *
 * @param object a plain object
 * @param allowed the keys it may have
 * @returns the key, or undefined when every key is allowed
 */
export function unknownKey(
  object: Record<string, unknown>,
  allowed: readonly string[],
): string | undefined {
  for (const key in object) {
    if (Object.hasOwn(object, key) && !allowed.includes(key)) return key;
  }
  return undefined;
}

/**
 * The `TypeError` for an object with a key it may not have.
 *
 * @param name the object's option
 * @param key the key
 * @param allowed the keys it may have
 * @returns the error, to throw
 */
export function unknownKeyError(
  name: string,
  key: string,
  allowed: readonly string[],
): UsernsTypeError {
  return new UsernsTypeError(
    "INVALID_ARGUMENT",
    `${name} has an unknown key ${describe(key)}, expected ${oneOf(allowed)}`,
  );
}

/**
 * Checks a boolean option.
 *
 * @param value the value
 * @param name the option
 * @throws {UsernsTypeError} when it is not a boolean
 */
export function checkBoolean(value: unknown, name: string): void {
  if (typeof value !== "boolean") throw typeError(name, "a boolean", value);
}

/**
 * Checks a callback option.
 *
 * @param value the value
 * @param name the option
 * @throws {UsernsTypeError} when it is not a function
 */
export function checkFunction(value: unknown, name: string): void {
  if (typeof value !== "function") throw typeError(name, "a function", value);
}

/**
 * Checks an enumerated option.
 *
 * @param value the value
 * @param name the option
 * @param allowed its values
 * @throws {UsernsTypeError} when it is not one of them
 */
export function checkOneOf(
  value: unknown,
  name: string,
  allowed: readonly string[],
): void {
  if (typeof value !== "string" || !allowed.includes(value)) {
    throw typeError(name, oneOf(allowed), value);
  }
}

/**
 * Checks an integer option.
 *
 * @param value the value
 * @param name the option
 * @param min the least value allowed
 * @param max the greatest value allowed
 * @throws {UsernsTypeError} when it is not a number
 * @throws {UsernsRangeError} when it is not an integer from min to max
 */
export function checkInteger(
  value: unknown,
  name: string,
  min: number,
  max: number,
): void {
  if (typeof value !== "number") {
    throw typeError(name, `an integer from ${min} to ${max}`, value);
  }
  if (!Number.isInteger(value) || value < min || value > max) {
    throw rangeError(name, `an integer from ${min} to ${max}`, value);
  }
}
