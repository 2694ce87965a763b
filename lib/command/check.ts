/**
 * The check of the options that `UsernsCommand` has and `Deno.Command` has
 * not ({@link checkCommandOptions}), made by its constructor with the error
 * classes `Deno.Command` uses: a wrong type or an unknown value is a
 * `TypeError`, a number or length out of range a `RangeError`; nothing is
 * silently defaulted. One table names each option's check; the checks of
 * ID maps, namespaces, mounts and limits live with their subject
 * (`idmap/check.ts`, `namespaces.ts`, `mounts/check.ts`, `rlimits.ts`), the
 * small ones here. The options `Deno.Command` has too (the command, `args`,
 * `env`, `stdout`, ...) are `check_deno.ts`'s.
 *
 * Keys that neither knows are ignored, as `Deno.Command` ignores them. The
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
  isPlainObject,
  nulError,
  rangeError,
  typeError,
  unknownKey,
  unknownKeyError,
} from "../check/values.ts";
import { pathFromUrl } from "../check/file_url.ts";
import { UsernsTypeError } from "../errors/builtin.ts";
import { checkIdMap } from "../idmap/check.ts";
import { MAP_MODES } from "../idmap/plan.ts";
import { MAX_ID } from "../idmap/id_space.ts";
import { checkMountCount, checkMounts } from "../mounts/check.ts";
import { checkNamespaces } from "./namespaces.ts";
import { checkRlimits } from "./rlimits.ts";
import { checkCaps, checkHide, checkSeccomp } from "../sandbox/check.ts";
import { checkNetworkOptions, type NetworkOptions } from "../net/options.ts";

/** The setgroups policies. */
export const SETGROUPS = ["allow", "deny"] as const;
/** The mount propagations of a new mount namespace. */
export const PROPAGATIONS = ["slave", "private", "unchanged"] as const;

/** The largest inside uid or gid to run as: 2^32-2 (2^32-1 is "no id"). */
const MAX_USER = MAX_ID - 1;
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
  ["sandbox", checkBoolean],
  ["capDrop", checkCaps],
  ["capAdd", checkCaps],
  ["seccomp", checkSeccomp],
  ["hide", checkHide],
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
 * `stdout`, ...) are left to `checkSpawnOptions()` (check_deno.ts), and an `options` that
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
  checkNetworkOptions({
    network: options.network as NetworkOptions["network"],
    publish: options.publish as NetworkOptions["publish"],
    allowHostLoopback: options.allowHostLoopback as boolean | undefined,
  });
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

/** The clocks of a time namespace that take an offset. */
const CLOCKS = ["monotonic", "boottime"] as const;
/**
 * The largest clock offset the kernel can take: the clock inside, which is
 * the clock outside plus the offset, must stay within 0 and KTIME_SEC_MAX/2
 * seconds (time_namespaces(7): ERANGE otherwise), so no offset beyond this,
 * either way, is ever taken. Within it, a negative offset larger than the
 * time since boot is the kernel's to refuse, with ERANGE.
 */
const MAX_OFFSET = 4611686018;
const OFFSET_EXPECTED =
  `an integer of seconds from ${-MAX_OFFSET} to ${MAX_OFFSET}`;

/**
 * Checks `timeOffsets`: `{ monotonic?, boottime? }` in whole seconds.
 *
 * @param value the option's value
 * @param name `timeOffsets`
 * @throws {UsernsTypeError} for a wrong type or an unknown clock
 * @throws {UsernsRangeError} for an offset that is not a whole number of
 * seconds the kernel accepts
 */
export function checkTimeOffsets(value: unknown, name: string): void {
  if (!isPlainObject(value)) {
    throw typeError(name, "an object such as { monotonic: 3600 }", value);
  }
  const key = unknownKey(value, CLOCKS);
  if (key !== undefined) throw unknownKeyError(name, key, CLOCKS);
  for (let c = 0; c < CLOCKS.length; c++) {
    const v = value[CLOCKS[c]!];
    if (v === undefined) continue;
    if (typeof v !== "number") {
      throw typeError(`${name}.${CLOCKS[c]}`, OFFSET_EXPECTED, v);
    }
    if (!Number.isInteger(v) || Math.abs(v) > MAX_OFFSET) {
      throw rangeError(`${name}.${CLOCKS[c]}`, OFFSET_EXPECTED, v);
    }
  }
}
