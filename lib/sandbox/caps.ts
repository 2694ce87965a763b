/**
 * Capabilities of the command inside its user namespace: the names as
 * `capsh` and bwrap write them, `--cap-drop`/`--cap-add` applied in order,
 * and the set the command keeps as a 64-bit mask (bit N = capability N), the
 * form the child takes (`c/filter.c`) and the seccomp compiler decides
 * `includes.caps`/`excludes.caps` against.
 *
 * The default is every capability the kernel has (as `podman unshare`), so
 * podman and buildah keep working inside; the kept set is applied to all
 * five sets (bounding, permitted, effective, inheritable, ambient), as bwrap
 * does.
 *
 * @example Usage
 * ```ts
 * import { capNames, keptCaps } from "./caps.ts";
 * const keep = keptCaps({ capDrop: ["ALL"], capAdd: ["NET_BIND_SERVICE"] }, 40);
 * console.assert(keep === 1n << 10n);
 * console.assert(capNames(keep).join() === "CAP_NET_BIND_SERVICE");
 * ```
 *
 * @module
 */
import { readProcFile } from "../../ffi/process.ts";
import { UsernsError } from "../errors/errors.ts";

/** The capability names by number, as `<linux/capability.h>` has them. */
export const CAP_NAMES: readonly string[] = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_DAC_READ_SEARCH",
  "CAP_FOWNER",
  "CAP_FSETID",
  "CAP_KILL",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETPCAP",
  "CAP_LINUX_IMMUTABLE",
  "CAP_NET_BIND_SERVICE",
  "CAP_NET_BROADCAST",
  "CAP_NET_ADMIN",
  "CAP_NET_RAW",
  "CAP_IPC_LOCK",
  "CAP_IPC_OWNER",
  "CAP_SYS_MODULE",
  "CAP_SYS_RAWIO",
  "CAP_SYS_CHROOT",
  "CAP_SYS_PTRACE",
  "CAP_SYS_PACCT",
  "CAP_SYS_ADMIN",
  "CAP_SYS_BOOT",
  "CAP_SYS_NICE",
  "CAP_SYS_RESOURCE",
  "CAP_SYS_TIME",
  "CAP_SYS_TTY_CONFIG",
  "CAP_MKNOD",
  "CAP_LEASE",
  "CAP_AUDIT_WRITE",
  "CAP_AUDIT_CONTROL",
  "CAP_SETFCAP",
  "CAP_MAC_OVERRIDE",
  "CAP_MAC_ADMIN",
  "CAP_SYSLOG",
  "CAP_WAKE_ALARM",
  "CAP_BLOCK_SUSPEND",
  "CAP_AUDIT_READ",
  "CAP_PERFMON",
  "CAP_BPF",
  "CAP_CHECKPOINT_RESTORE",
];

/** What `--cap-drop` and `--cap-add` say, in the order given. */
export interface CapStep {
  /** The option, as the error names it: `--cap-drop` or `--cap-add`. */
  option: "--cap-drop" | "--cap-add";
  /** A capability name, or `ALL`. */
  value: string;
}

/** The library's capability options (`capDrop`, `capAdd`). */
export interface CapOptions {
  /** Capabilities to drop, or `["ALL"]`; applied before `capAdd`. */
  capDrop?: readonly string[];
  /** Capabilities to keep after the drops. */
  capAdd?: readonly string[];
}

let lastCapCache: number | undefined;

/**
 * The number of the last capability the running kernel has, from
 * `/proc/sys/kernel/cap_last_cap` (read once); the last one this module
 * names when the file cannot be read.
 *
 * @returns the last capability's number (40 on Linux 5.9 and later)
 */
export function capLastCap(): number {
  if (lastCapCache !== undefined) return lastCapCache;
  const read = readProcFile("/proc/sys/kernel/cap_last_cap");
  // No /proc: the last one named here.
  const n = typeof read === "string" ? Number(read.trim()) : NaN;
  return lastCapCache = Number.isInteger(n) && n >= 0 && n < 64
    ? n
    : CAP_NAMES.length - 1;
}

/**
 * Every capability up to `lastCap`, as a mask.
 *
 * @param lastCap the last capability's number
 * @returns bits 0 to `lastCap` set
 */
export function allCaps(lastCap: number = capLastCap()): bigint {
  return (1n << BigInt(lastCap + 1)) - 1n;
}

/**
 * Reads one capability name as `capsh` and bwrap accept it: `CAP_SYS_ADMIN`,
 * `cap_sys_admin` or `sys_admin`, in any case, or its number.
 *
 * @param name the name
 * @returns the capability's number, or undefined for a name it is not
 */
export function capNumber(name: string): number | undefined {
  if (/^[0-9]{1,2}$/.test(name)) return Number(name);
  const upper = name.toUpperCase();
  const i = CAP_NAMES.indexOf(
    upper.startsWith("CAP_") ? upper : `CAP_${upper}`,
  );
  return i < 0 ? undefined : i;
}

/**
 * The names of the capabilities in a mask, in number order; a capability
 * past those this module names is written `CAP_N`.
 *
 * @param mask a capability mask
 * @returns the names
 */
export function capNames(mask: bigint): string[] {
  const names: string[] = [];
  for (let i = 0; i < 64; i++) {
    if ((mask >> BigInt(i)) & 1n) names.push(CAP_NAMES[i] ?? `CAP_${i}`);
  }
  return names;
}

function badName(step: CapStep, lastCap: number): UsernsError {
  return new UsernsError(
    "INVALID_ARGUMENT",
    `${step.option}: unknown capability "${step.value}"`,
    {
      hint: `write a name as capsh does (CAP_SYS_ADMIN or sys_admin), ` +
        `a number up to ${lastCap}, or ALL`,
    },
  );
}

/**
 * Applies `--cap-drop`/`--cap-add` in order to the default set (every
 * capability the kernel has), as bwrap applies them.
 *
 * @param steps the options in the order given
 * @param lastCap the kernel's last capability (see {@link capLastCap})
 * @returns the capabilities the command keeps, as a mask
 * @throws {UsernsError} `INVALID_ARGUMENT` naming the option and the name
 *   when a name is unknown, or when `--cap-add` names a capability the
 *   running kernel does not have
 */
export function applyCapSteps(
  steps: readonly CapStep[],
  lastCap: number = capLastCap(),
): bigint {
  const all = allCaps(lastCap);
  let keep = all;
  for (const step of steps) {
    const add = step.option === "--cap-add";
    if (step.value.toUpperCase() === "ALL") {
      keep = add ? all : 0n;
      continue;
    }
    const n = capNumber(step.value);
    if (n === undefined || n > 63) throw badName(step, lastCap);
    if (n > lastCap) {
      if (!add) continue; // nothing to drop: the kernel has no such thing
      throw new UsernsError(
        "INVALID_ARGUMENT",
        `${step.option}: ${
          CAP_NAMES[n] ?? `capability ${n}`
        } is not known to this kernel (its last is ${
          CAP_NAMES[lastCap] ?? lastCap
        })`,
        { hint: "leave it out, or run on a newer kernel" },
      );
    }
    keep = add ? keep | 1n << BigInt(n) : keep & ~(1n << BigInt(n));
  }
  return keep;
}

/**
 * The library's `capDrop`/`capAdd`: every drop first, then every add (as
 * podman applies `--cap-drop ALL --cap-add X` whatever their order).
 *
 * @param options `capDrop` and `capAdd`
 * @param lastCap the kernel's last capability (see {@link capLastCap})
 * @returns the capabilities the command keeps, as a mask
 * @throws {UsernsError} `INVALID_ARGUMENT` as {@link applyCapSteps}
 */
export function keptCaps(
  options: CapOptions,
  lastCap: number = capLastCap(),
): bigint {
  return applyCapSteps([
    ...(options.capDrop ?? []).map((value) => ({
      option: "--cap-drop" as const,
      value,
    })),
    ...(options.capAdd ?? []).map((value) => ({
      option: "--cap-add" as const,
      value,
    })),
  ], lastCap);
}

/**
 * Whether any capability option was given: without one the child leaves
 * the capabilities as they are (all of them, as `podman unshare`).
 *
 * @param options `capDrop` and `capAdd`
 * @returns true when either holds a name
 */
export function capsGiven(options: CapOptions): boolean {
  return (options.capDrop?.length ?? 0) + (options.capAdd?.length ?? 0) > 0;
}
