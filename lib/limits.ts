/**
 * Resource limits for the command (`rlimits`, `--rlimit NAME=SOFT[:HARD]`),
 * named as `prlimit(1)` names them.
 *
 * @module
 */
import type { Limit } from "../ffi/request.ts";

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

/** The names, for messages and checks. */
export const RLIMIT_NAMES: readonly RlimitName[] = Object.keys(
  RLIMIT,
) as RlimitName[];

function value(v: number | "unlimited", name: string): number {
  if (v === "unlimited") return Infinity;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
    throw new RangeError(
      `rlimits.${name} must be a whole number of 0 or more, or "unlimited", got ${v}`,
    );
  }
  return v;
}

/**
 * The limits to set, checked: a single value is both soft and hard, as
 * `prlimit(1)` sets it; soft may not exceed hard.
 *
 * @param rlimits limits by name
 * @returns the native requests
 * @throws {TypeError} for an unknown name
 * @throws {RangeError} for a value that is no limit, or soft above hard
 */
export function limits(
  rlimits: Partial<Record<RlimitName, RlimitValue>>,
): Limit[] {
  const out: Limit[] = [];
  for (const [name, v] of Object.entries(rlimits)) {
    if (v === undefined) continue;
    const resource = RLIMIT[name as RlimitName];
    if (resource === undefined) {
      throw new TypeError(
        `unknown rlimit "${name}": use one of ${RLIMIT_NAMES.join(", ")}`,
      );
    }
    const [s, h] = Array.isArray(v) ? v : [v, v];
    const soft = value(s, name), hard = value(h, name);
    if (soft > hard) {
      throw new RangeError(`rlimits.${name}: soft ${s} is above hard ${h}`);
    }
    out.push({ name, resource, soft, hard });
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
  if (!m || name === undefined || !(name in RLIMIT)) {
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
