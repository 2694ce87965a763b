/**
 * Checks of `mounts` (and of `mountProc` with it): their shape, as
 * `UsernsCommand`'s constructor checks it, and their count, which the native
 * side bounds ({@link MAX_MOUNTS}).
 *
 * @module
 */
import {
  isPlainObject,
  nulError,
  oneOf,
  rangeError,
  typeError,
  unknownKey,
  unknownKeyError,
} from "../check/values.ts";
import { pathFromUrl } from "../check/file_url.ts";
import { UsernsRangeError } from "../errors/builtin.ts";
import { mountOps } from "./ops.ts";
import { MAX_MOUNTS } from "../../ffi/abi.ts";

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

/** The operations of one dev mount, counted once (see ops.ts). */
let devOperations: number | undefined;

/**
 * How many mount operations the native side is given for `mounts` and
 * `mountProc`: one for each bind, tmpfs and proc mount, those ops.ts
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
