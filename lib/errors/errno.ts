/**
 * Linux errno numbers and their names (the generic table: x86, arm, riscv),
 * in one place for the library and its FFI layer: the native library
 * returns `-errno`, and errors name it (`EPERM`).
 *
 * @module
 */

/** The errnos `userns` names or tests for, by name. */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  EIO: 5,
  ENXIO: 6,
  E2BIG: 7,
  ENOEXEC: 8,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  ENFILE: 23,
  EMFILE: 24,
  ENOTTY: 25,
  ETXTBSY: 26,
  ENOSPC: 28,
  EROFS: 30,
  EPIPE: 32,
  ERANGE: 34,
  ENAMETOOLONG: 36,
  ENOSYS: 38,
  ELOOP: 40,
  EUSERS: 87,
  EOPNOTSUPP: 95,
} as const;

const NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(Errno).map(([name, n]) => [n, name]),
);

/**
 * Names a Linux errno number.
 *
 * @example Usage
 * ```ts
 * import { errnoName } from "./errno.ts";
 * console.assert(errnoName(13) === "EACCES");
 * console.assert(errnoName(200) === "errno 200");
 * ```
 *
 * @param errno a positive errno value
 * @returns its symbolic name, or `errno N` for one not in the table
 */
export function errnoName(errno: number): string {
  return NAMES[errno] ?? `errno ${errno}`;
}
