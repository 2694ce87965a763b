/**
 * Checks of the option values that are arrays or objects: ID maps, mounts,
 * resource limits and clock offsets. Private to `check.ts`.
 *
 * @module
 */
import {
  describe,
  isPlainObject,
  nulError,
  oneOf,
  rangeError,
  typeError,
  unknownKey,
  unknownKeyError,
} from "./_check_values.ts";
import { pathFromUrl } from "./file_url.ts";
import { UsernsRangeError } from "./errors/mod.ts";
import { mountOps } from "./mounts.ts";
import { MAX_MOUNTS } from "../ffi/abi.ts";

/** The largest ID, count and ID-map field value the kernel takes. */
const MAX_ID = 4294967295;
const ID_FIELDS = ["inner", "outer", "count"] as const;
const ID_EXPECTED = `an integer from 0 to ${MAX_ID}`;

/** The namespaces besides the user namespace. */
export const NAMESPACES = [
  "mount",
  "pid",
  "uts",
  "ipc",
  "net",
  "cgroup",
  "time",
] as const;

/** The `type` of a mount, and the keys each type may have. */
const MOUNT_KEYS: ReadonlyMap<string, readonly string[]> = new Map([
  ["bind", ["type", "source", "target", "readonly"]],
  ["tmpfs", ["type", "target", "size"]],
  ["dev", ["type", "target"]],
  ["proc", ["type", "target"]],
]);
const MOUNT_TYPES = ["bind", "tmpfs", "dev", "proc"] as const;
const MOUNT_EXPECTED = 'an object such as { type: "tmpfs", target: "/tmp" }';
/** A tmpfs size as mount(8) takes it; nothing else may reach the options. */
const TMPFS_SIZE = /^[1-9][0-9]*[kKmMgGtTpPeE%]?$/;
const SIZE_EXPECTED =
  'a positive integer of bytes or a size such as "64m" or "50%"';

/** The resource limits, as prlimit(1) names them. */
export const RLIMIT_NAMES = [
  "as",
  "core",
  "cpu",
  "data",
  "fsize",
  "locks",
  "memlock",
  "msgqueue",
  "nice",
  "nofile",
  "nproc",
  "rss",
  "rtprio",
  "rttime",
  "sigpending",
  "stack",
] as const;
const RLIMIT_EXPECTED = 'a number, "unlimited" or [soft, hard]';
const LIMIT_EXPECTED = `an integer from 0 to ${Number.MAX_SAFE_INTEGER}`;
/** What limitOf() returns for a value of the wrong type or range. */
const WRONG_TYPE = -1;
const OUT_OF_RANGE = -2;

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
 * Checks `uidMap` or `gidMap`: an array of `{ inner, outer, count }`. Counts
 * of 0, overlaps and ranges past the ID space are the map planner's to
 * refuse, naming the line.
 *
 * @param value the option's value
 * @param name `uidMap` or `gidMap`
 * @throws {UsernsTypeError} for anything but such an array
 * @throws {UsernsRangeError} for a field that is not an ID
 */
export function checkIdMap(value: unknown, name: string): void {
  if (!Array.isArray(value)) {
    throw typeError(name, "an array of { inner, outer, count }", value);
  }
  for (let i = 0; i < value.length; i++) {
    const line: unknown = value[i];
    if (!isPlainObject(line)) {
      throw typeError(`${name}[${i}]`, "{ inner, outer, count }", line);
    }
    const key = unknownKey(line, ID_FIELDS);
    if (key !== undefined) {
      throw unknownKeyError(`${name}[${i}]`, key, ID_FIELDS);
    }
    for (let f = 0; f < ID_FIELDS.length; f++) {
      const v = line[ID_FIELDS[f]!];
      if (
        typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= MAX_ID
      ) {
        continue;
      }
      const at = `${name}[${i}].${ID_FIELDS[f]}`;
      throw typeof v === "number"
        ? rangeError(at, ID_EXPECTED, v)
        : typeError(at, ID_EXPECTED, v);
    }
  }
}

/**
 * Checks `namespaces`: an array of namespace names.
 *
 * @param value the option's value
 * @param name `namespaces`
 * @throws {UsernsTypeError} for anything else
 */
export function checkNamespaces(value: unknown, name: string): void {
  if (!Array.isArray(value)) {
    throw typeError(name, `an array of ${oneOf(NAMESPACES)}`, value);
  }
  for (let i = 0; i < value.length; i++) {
    const ns: unknown = value[i];
    if (
      typeof ns !== "string" || !(NAMESPACES as readonly string[]).includes(ns)
    ) {
      throw typeError(`${name}[${i}]`, oneOf(NAMESPACES), ns);
    }
  }
}

/**
 * Checks `mounts`: an array of bind, tmpfs, dev and proc mounts, each with
 * an absolute `target`.
 *
 * @param value the option's value
 * @param name `mounts`
 * @throws {UsernsTypeError} for a wrong type, an unknown type or key, a
 * relative target, a NUL byte or a malformed size
 * @throws {UsernsRangeError} for an empty source or a size below 1
 */
export function checkMounts(value: unknown, name: string): void {
  if (!Array.isArray(value)) {
    throw typeError(name, `an array of mounts, ${MOUNT_EXPECTED}`, value);
  }
  for (let i = 0; i < value.length; i++) checkMount(value[i], name, i);
}

/** The operations of one dev mount, counted once (see mounts.ts). */
let devOperations: number | undefined;

/**
 * How many mount operations the native side is given for `mounts` and
 * `mountProc`: one for each bind, tmpfs and proc mount, those mounts.ts
 * makes of each dev mount (its tmpfs, devices, devpts, shm and links), one
 * for `mountProc`. The native side takes {@link MAX_MOUNTS} at most.
 *
 * @param mounts checked mounts
 * @param mountProc a proc is mounted at /proc too
 * @returns the count
 */
export function mountOperations(
  mounts: readonly { type: string }[],
  mountProc: boolean,
): number {
  devOperations ??= mountOps([{ type: "dev", target: "/dev" }], false).length;
  let n = mountProc ? 1 : 0;
  for (let i = 0; i < mounts.length; i++) {
    n += mounts[i]!.type === "dev" ? devOperations : 1;
  }
  return n;
}

/**
 * Checks that `mounts` and `mountProc` (both checked alone already) come to
 * no more mount operations than the native side takes.
 *
 * @param options the options
 * @throws {UsernsRangeError} INVALID_ARGUMENT when they come to more
 */
export function checkMountCount(options: Record<string, unknown>): void {
  const mounts = options.mounts;
  if (!Array.isArray(mounts)) return;
  const n = mountOperations(mounts, options.mountProc === true);
  if (n > MAX_MOUNTS) {
    throw new UsernsRangeError(
      "INVALID_ARGUMENT",
      `mounts must come to at most ${MAX_MOUNTS} mount operations, got ${n} (a "dev" mount is ${devOperations} of them)`,
    );
  }
}

function checkMount(mount: unknown, name: string, i: number): void {
  if (!isPlainObject(mount)) {
    throw typeError(`${name}[${i}]`, MOUNT_EXPECTED, mount);
  }
  const type = mount.type;
  const keys = typeof type === "string" ? MOUNT_KEYS.get(type) : undefined;
  if (keys === undefined) {
    throw typeError(`${name}[${i}].type`, oneOf(MOUNT_TYPES), type);
  }
  const key = unknownKey(mount, keys);
  if (key !== undefined) throw unknownKeyError(`${name}[${i}]`, key, keys);
  checkMountPath(mount.target, name, i, "target");
  if (type === "bind") {
    checkMountPath(mount.source, name, i, "source");
    if (mount.readonly !== undefined && typeof mount.readonly !== "boolean") {
      throw typeError(`${name}[${i}].readonly`, "a boolean", mount.readonly);
    }
  }
  if (type === "tmpfs" && mount.size !== undefined) {
    checkSize(mount.size, name, i);
  }
}

/** A source (any path) or a target (absolute) of a mount. */
function checkMountPath(
  value: unknown,
  name: string,
  i: number,
  key: "source" | "target",
): void {
  const path = typeof value === "string"
    ? value
    : value instanceof URL
    ? pathFromUrl(value, `${name}[${i}].${key}`)
    : undefined;
  if (path === undefined) {
    throw typeError(`${name}[${i}].${key}`, "a path or a file: URL", value);
  }
  if (path.includes("\0")) throw nulError(`${name}[${i}].${key}`);
  if (key === "target" && path[0] !== "/") {
    throw typeError(`${name}[${i}].target`, "an absolute path", path);
  }
  if (path === "") {
    throw rangeError(`${name}[${i}].${key}`, "a non-empty path", path);
  }
}

function checkSize(size: unknown, name: string, i: number): void {
  if (typeof size === "number") {
    if (!Number.isSafeInteger(size) || size < 1) {
      throw rangeError(`${name}[${i}].size`, SIZE_EXPECTED, size);
    }
  } else if (typeof size !== "string" || !TMPFS_SIZE.test(size)) {
    throw typeError(`${name}[${i}].size`, SIZE_EXPECTED, size);
  }
}

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
