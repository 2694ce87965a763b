/**
 * The vocabulary of option checks, shared by every part that checks what a
 * caller passed: a value described for a message, the `TypeError` and
 * `RangeError` (with their code) that a wrong one gets, the small checks of
 * booleans, enumerations and integers, and paths from `file:` URLs decoded
 * as `Deno.Command` decodes them. Each subject checks its own options with
 * these (`idmap/check.ts`, `mounts/check.ts`, `command/check.ts`, ...).
 *
 * - `values.ts`: describing and checking values.
 * - `file_url.ts`: `file:` URLs as paths.
 *
 * @module
 */
export {
  checkBoolean,
  checkFunction,
  checkInteger,
  checkOneOf,
  describe,
  isObject,
  isPlainObject,
  nulError,
  oneOf,
  rangeError,
  typeError,
  unknownKey,
  unknownKeyError,
} from "./values.ts";
export { pathFromUrl } from "./file_url.ts";
