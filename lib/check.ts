/**
 * The checks `UsernsCommand` makes of what it is given, as `Deno.Command`
 * makes them, and with the same error classes:
 *
 * - {@link checkCommandOptions}, from the constructor: the namespace
 *   options, which `Deno.Command` does not have. A wrong type or an unknown
 *   value is a `TypeError`, a number or length out of range a `RangeError`;
 *   nothing is silently defaulted.
 * - `checkSpawnOptions()` (`check_spawn.ts`), from `spawn()`, `output()` and
 *   `outputSync()`: the command and `Deno.Command`'s own options. It runs
 *   there, not in the constructor, because that is where `Deno.Command`
 *   checks them: its constructor only stores its arguments.
 *
 * Keys that neither knows are ignored, as `Deno.Command` ignores them. Both
 * checks are table-driven and allocate nothing unless they throw.
 *
 * @module
 */
import {
  checkBoolean,
  checkFunction,
  checkInteger,
  checkOneOf,
  describe,
  isObject,
  nulError,
  rangeError,
  typeError,
} from "./_check_values.ts";
import {
  checkIdMap,
  checkMountCount,
  checkMounts,
  checkNamespaces,
  checkRlimits,
  checkTimeOffsets,
} from "./_check_nested.ts";
import { pathFromUrl } from "./file_url.ts";
import { UsernsTypeError } from "./errors/mod.ts";

export { mountOperations, NAMESPACES, RLIMIT_NAMES } from "./_check_nested.ts";

/** How `map` maps IDs. */
export const MAP_MODES = ["auto", "root", "current", "subids"] as const;
/** The setgroups policies. */
export const SETGROUPS = ["allow", "deny"] as const;
/** The mount propagations of a new mount namespace. */
export const PROPAGATIONS = ["slave", "private", "unchanged"] as const;

/** The largest inside uid or gid to run as: 2^32-2 (2^32-1 is "no id"). */
const MAX_USER = 4294967294;
/** The longest hostname, in bytes (HOST_NAME_MAX). */
const MAX_HOSTNAME = 64;
/** The longest timeout setTimeout() keeps (2^31-1 ms); longer fire at once. */
const MAX_TIMEOUT = 2147483647;

/** Checks one option's value; `name` is the option, for messages. */
type Check = (value: unknown, name: string) => void;

/** Every option of ours, in the order they are checked. */
const RULES: readonly (readonly [string, Check])[] = [
  ["map", checkMap],
  ["uidMap", checkIdMap],
  ["gidMap", checkIdMap],
  ["user", checkId],
  ["group", checkId],
  ["setgroups", checkSetgroups],
  ["namespaces", checkNamespaces],
  ["mountNamespace", checkBoolean],
  ["propagation", checkPropagation],
  ["mountProc", checkBoolean],
  ["init", checkBoolean],
  ["hostname", checkHostname],
  ["root", checkRoot],
  ["mounts", checkMounts],
  ["rlimits", checkRlimits],
  ["noNewPrivs", checkBoolean],
  ["timeOffsets", checkTimeOffsets],
  ["setsid", checkBoolean],
  ["ctty", checkBoolean],
  ["tty", checkBoolean],
  ["oomScoreAdj", checkOomScoreAdj],
  ["strict", checkBoolean],
  ["helperTimeout", checkHelperTimeout],
  ["beforeExec", checkFunction],
  ["onWarning", checkFunction],
];

/**
 * Checks the options of `UsernsCommand` that `Deno.Command` does not have;
 * call it from the constructor. An option set to `undefined` counts as not
 * given. The command and `Deno.Command`'s own options (`args`, `cwd`, `env`,
 * `stdout`, ...) are left to `checkSpawnOptions()`, and an `options` that
 * is not an object too: `Deno.Command` refuses neither in its constructor.
 *
 * @example Usage
 * ```ts
 * import { checkCommandOptions } from "./check.ts";
 * checkCommandOptions({ map: "root", namespaces: ["pid"] }); // fine
 * try {
 *   checkCommandOptions({ map: "bogus" });
 * } catch (e) {
 *   console.assert(e instanceof TypeError);
 *   console.assert((e as Error).message ===
 *     'map must be one of "auto", "root", "current", "subids", got "bogus"');
 * }
 * ```
 *
 * @param options the constructor's second argument
 * @throws {UsernsTypeError} for a value of the wrong type, an unknown
 * enumerated value or key, a malformed path, a NUL byte, or a control
 * character in the hostname
 * @throws {UsernsRangeError} for a number or a length out of range, or
 * mounts that come to more operations than the native side takes
 * @throws {UsernsURIError} for a `file:` URL that does not decode
 */
export function checkCommandOptions(options: unknown): void {
  if (!isObject(options)) return;
  for (let i = 0; i < RULES.length; i++) {
    const rule = RULES[i]!;
    const value = options[rule[0]];
    if (value !== undefined) rule[1](value, rule[0]);
  }
  checkMountCount(options);
}

function checkMap(value: unknown, name: string): void {
  checkOneOf(value, name, MAP_MODES);
}

function checkSetgroups(value: unknown, name: string): void {
  checkOneOf(value, name, SETGROUPS);
}

function checkPropagation(value: unknown, name: string): void {
  checkOneOf(value, name, PROPAGATIONS);
}

function checkId(value: unknown, name: string): void {
  checkInteger(value, name, 0, MAX_USER);
}

function checkOomScoreAdj(value: unknown, name: string): void {
  checkInteger(value, name, -1000, 1000);
}

function checkHelperTimeout(value: unknown, name: string): void {
  const expected = `a number of milliseconds above 0, at most ${MAX_TIMEOUT}`;
  if (typeof value !== "number") throw typeError(name, expected, value);
  if (!(value > 0 && value <= MAX_TIMEOUT)) {
    throw rangeError(name, expected, value);
  }
}

/** Whether `s` has a control character (C0, DEL, C1): a hostname shown
 * in a prompt or a log must not start a new line or move the cursor. */
function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return true;
  }
  return false;
}

function checkHostname(value: unknown, name: string): void {
  if (typeof value !== "string") throw typeError(name, "a string", value);
  if (value.includes("\0")) throw nulError(name);
  if (hasControl(value)) {
    throw new UsernsTypeError(
      "INVALID_ARGUMENT",
      `${name} must not contain a newline or other control character, got ${
        describe(value)
      }`,
    );
  }
  const bytes = utf8Length(value);
  if (bytes < 1 || bytes > MAX_HOSTNAME) {
    throw rangeError(name, `1 to ${MAX_HOSTNAME} bytes long`, value);
  }
}

function checkRoot(value: unknown, name: string): void {
  const path = pathFromUrl(value as string | URL, name);
  if (path.includes("\0")) throw nulError(name);
  if (path === "") throw rangeError(name, "a non-empty path", path);
}

/**
 * The length of `s` in UTF-8 as TextEncoder writes it (a lone surrogate
 * becomes U+FFFD), without encoding it.
 */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (!isPair(s, i)) n += 3;
    else {
      n += 4;
      i++;
    }
  }
  return n;
}

/** Whether a surrogate pair starts at `i`. */
function isPair(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  const d = s.charCodeAt(i + 1);
  return c >= 0xd800 && c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff;
}
