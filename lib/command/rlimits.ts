/**
 * Resource limits for the command (`rlimits`, `--rlimit NAME=SOFT[:HARD]`),
 * named as `prlimit(1)` names them: the one table of names and numbers, the
 * check of the option, the native request, and the CLI's syntax.
 *
 * @module
 */
import {
  describe,
  isPlainObject,
  rangeError,
  typeError,
  unknownKey,
  unknownKeyError,
} from "../check/values.ts";
import { UsernsRangeError } from "../errors/builtin.ts";
import type { Limit } from "../../ffi/request.ts";

/** RLIMIT_* numbers (Linux's generic table: x86, arm, riscv). */
const RLIMIT = {
  cpu: 0,
  fsize: 1,
  data: 2,
  stack: 3,
  core: 4,
  rss: 5,
  nproc: 6,
  nofile: 7,
  memlock: 8,
  as: 9,
  locks: 10,
  sigpending: 11,
  msgqueue: 12,
  nice: 13,
  rtprio: 14,
  rttime: 15,
} as const;

/** A limit's name, as `prlimit(1)` takes it. */
export type RlimitName = keyof typeof RLIMIT;

/** One limit's value: a number or "unlimited", or `[soft, hard]`. */
export type RlimitValue =
  | number
  | "unlimited"
  | [number | "unlimited", number | "unlimited"];

/** The names, in alphabetical order, for messages and checks. */
export const RLIMIT_NAMES: readonly RlimitName[] = (Object.keys(
  RLIMIT,
) as RlimitName[]).sort();

const RLIMIT_EXPECTED = 'a number, "unlimited" or [soft, hard]';
const LIMIT_EXPECTED = `an integer from 0 to ${Number.MAX_SAFE_INTEGER}`;
/** What limitOf() returns for a value of the wrong type or range. */
const WRONG_TYPE = -1;
const OUT_OF_RANGE = -2;

/**
 * Checks `rlimits`: `{ nofile: 1024, core: [0, 0], stack: "unlimited" }`,
 * each soft limit at most its hard limit.
 *
 * @param value the option's value
 * @param name `rlimits`
 * @throws {UsernsTypeError} for a wrong type or an unknown limit
 * @throws {UsernsRangeError} for a negative or fractional limit, or a soft
 * limit above the hard one
 */
export function checkRlimits(value: unknown, name: string): void {
  if (!isPlainObject(value)) {
    throw typeError(name, "an object such as { nofile: 1024 }", value);
  }
  const key = unknownKey(value, RLIMIT_NAMES);
  if (key !== undefined) throw unknownKeyError(name, key, RLIMIT_NAMES);
  for (const limit in value) {
    if (Object.hasOwn(value, limit)) checkRlimit(value[limit], name, limit);
  }
}

function checkRlimit(value: unknown, name: string, limit: string): void {
  if (!Array.isArray(value)) {
    const l = limitOf(value);
    if (l < 0) throw limitError(l, `${name}.${limit}`, value);
    return;
  }
  if (value.length !== 2) {
    throw typeError(`${name}.${limit}`, RLIMIT_EXPECTED, value);
  }
  const soft = limitOf(value[0]);
  if (soft < 0) throw limitError(soft, `${name}.${limit}[0]`, value[0]);
  const hard = limitOf(value[1]);
  if (hard < 0) throw limitError(hard, `${name}.${limit}[1]`, value[1]);
  if (soft > hard) {
    throw new UsernsRangeError(
      "INVALID_ARGUMENT",
      `${name}.${limit}: the soft limit ${
        describe(value[0])
      } is above the hard limit ${describe(value[1])}`,
    );
  }
}

/** A limit as a number (Infinity for "unlimited"), or a negative code. */
function limitOf(value: unknown): number {
  if (value === "unlimited") return Infinity;
  if (typeof value !== "number") return WRONG_TYPE;
  return Number.isSafeInteger(value) && value >= 0 ? value : OUT_OF_RANGE;
}

function limitError(code: number, at: string, value: unknown): Error {
  return code === WRONG_TYPE
    ? typeError(at, `${LIMIT_EXPECTED} or "unlimited"`, value)
    : rangeError(at, `${LIMIT_EXPECTED} or "unlimited"`, value);
}

/**
 * The native request for checked limits (see {@link checkRlimits}): a
 * single value is both soft and hard, as `prlimit(1)` sets it.
 *
 * @param rlimits limits by name, checked
 * @returns the native requests
 */
export function limits(
  rlimits: Partial<Record<RlimitName, RlimitValue>>,
): Limit[] {
  const out: Limit[] = [];
  for (const [name, v] of Object.entries(rlimits)) {
    if (v === undefined) continue;
    const [s, h] = Array.isArray(v) ? v : [v, v];
    out.push({
      name,
      resource: RLIMIT[name as RlimitName],
      soft: s === "unlimited" ? Infinity : s,
      hard: h === "unlimited" ? Infinity : h,
    });
  }
  return out;
}

/**
 * Parses one `--rlimit` value, `NAME=SOFT[:HARD]`.
 *
 * @param spec the option value
 * @returns the name and value
 * @throws {TypeError} when it is not of that form, or names no limit
 */
export function parseRlimit(spec: string): [RlimitName, RlimitValue] {
  const m =
    /^([a-z]+)=([0-9]+|unlimited|infinity)(?::([0-9]+|unlimited|infinity))?$/
      .exec(spec);
  const name = m?.[1] as RlimitName | undefined;
  if (!m || name === undefined || !Object.hasOwn(RLIMIT, name)) {
    throw new TypeError(
      `invalid --rlimit "${spec}": use NAME=SOFT[:HARD], NAME one of ${
        RLIMIT_NAMES.join(" ")
      }, values a number or unlimited`,
    );
  }
  const num = (
    t: string,
  ) => (/^[0-9]+$/.test(t) ? Number(t) : "unlimited" as const);
  const soft = num(m[2]!);
  return [name, m[3] === undefined ? soft : [soft, num(m[3])]];
}
