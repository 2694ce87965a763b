/**
 * Files in the cache directory, always through the directory's verified fd:
 * opened without following links and checked through the open file, or
 * written as a new file and renamed into place.
 *
 * @module
 */
import { Errno, errnoName } from "../../lib/errors/errno.ts";
import { NativeError } from "../../lib/errors/errors.ts";
import {
  closeFd,
  fchmod,
  fstat,
  getuid,
  O,
  openAt,
  readFd,
  renameAt,
  unlinkAt,
  writeAll,
} from "../libc.ts";
import { sha256 } from "./hash.ts";
import { fileProblem } from "./trust.ts";

/**
 * Opens `name` in `dir` for reading if it is a file the cache can use (see
 * {@link fileProblem}), checked through the fd that is returned.
 *
 * @param dir the verified directory's fd
 * @param name the file's name
 * @param executable true for a library
 * @returns an `O_RDONLY` fd, or undefined when it is missing or unusable
 */
export function openChecked(
  dir: number,
  name: string,
  executable: boolean,
): number | undefined {
  // O_NONBLOCK: a FIFO put there must not hang the open; it is refused next.
  const flags = O.RDONLY | O.NOFOLLOW | O.NONBLOCK | O.CLOEXEC;
  const fd = openAt(dir, name, flags);
  if (fd < 0) return undefined;
  const st = fstat(fd);
  if (typeof st === "number" || fileProblem(st, getuid(), executable)) {
    closeFd(fd);
    return undefined;
  }
  return fd;
}

/**
 * Opens the library `name` in `dir` if it is usable and its bytes, read
 * through the same fd, hash to `hash`.
 *
 * @param dir the verified directory's fd
 * @param name the library's name
 * @param hash the SHA-256 its bytes must have
 * @returns the verified `O_RDONLY` fd, or undefined
 */
export function openLibrary(
  dir: number,
  name: string,
  hash: string,
): number | undefined {
  const fd = openChecked(dir, name, true);
  if (fd === undefined) return undefined;
  const bytes = readFd(fd);
  if (bytes && sha256(bytes) === hash) return fd;
  closeFd(fd);
  return undefined;
}

/**
 * Puts `data` in `dir` as `name`: a new file of our own (`O_EXCL`, never an
 * existing one), given `mode` whatever the umask, and renamed to `name`
 * once complete, so that no one ever sees a partial file and a file in the
 * way (a link, someone else's) is replaced rather than written through.
 * Unless `replace`, a `name` already there stays (the first of concurrent
 * writers wins, and the fds others opened on it stay good).
 *
 * @param dir the verified directory's fd
 * @param where the directory's path, for messages
 * @param name the file's name
 * @param data its content
 * @param mode its permission bits
 * @param replace replace a `name` already there @default {true}
 * @throws {NativeError} NATIVE_LOAD when it cannot be written
 */
export function install(
  dir: number,
  where: string,
  name: string,
  data: Uint8Array | string,
  mode: number,
  replace = true,
): void {
  const bytes = typeof data === "string"
    ? new TextEncoder().encode(data)
    : data;
  const tmp = `${name}.${Deno.pid}.${crypto.randomUUID()}.tmp`;
  const flags = O.WRONLY | O.CREAT | O.EXCL | O.NOFOLLOW | O.CLOEXEC;
  const fd = openAt(dir, tmp, flags, mode);
  let rc = fd;
  if (fd >= 0) {
    rc = fchmod(fd, mode);
    if (rc === 0) rc = writeAll(fd, bytes);
    closeFd(fd); // no writer may stay open: the library is executed later
    if (rc === 0) rc = renameAt(dir, tmp, name, replace);
    if (rc < 0) unlinkAt(dir, tmp);
    if (rc === -Errno.EEXIST && !replace) rc = 0; // another writer's is there
  }
  if (rc < 0) {
    throw new NativeError(
      "NATIVE_LOAD",
      `cannot write ${name} to the library cache ${where}: ${errnoName(-rc)}`,
      { hint: "free some space or fix its permissions, or set XDG_CACHE_HOME" },
    );
  }
}
