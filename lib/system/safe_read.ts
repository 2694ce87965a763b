/**
 * Reading a file where someone else may have put something else first (a
 * pod record): opened `O_NOFOLLOW|O_NONBLOCK` and used only if it is a
 * regular file, so a link, FIFO, device or directory in its place is
 * refused at once, never followed or waited on. (Writing: safe_write.ts.)
 *
 * @module
 */
import { Errno } from "../errors/errno.ts";
import { FileCallError, ok } from "./safe_write.ts";
import {
  AT,
  closeFd,
  fstat,
  O,
  openAt,
  readFd,
  S,
  statAt,
} from "../../ffi/libc.ts";

/** What a file that is not a regular one is, for messages. */
const KINDS: ReadonlyMap<number, string> = new Map([
  [S.IFLNK, "a symbolic link"],
  [S.IFIFO, "a FIFO"],
  [S.IFCHR, "a character device"],
  [S.IFBLK, "a block device"],
  [S.IFDIR, "a directory"],
  [S.IFSOCK, "a socket"],
]);

/** A file that was to be read is not a regular file. */
export class NotRegularError extends Error {
  override name = "NotRegularError";

  /**
   * @param path the file
   * @param kind what it is: `a FIFO`, `a symbolic link`, ...
   */
  constructor(readonly path: string, readonly kind: string) {
    super(`${path} is ${kind}, not a regular file`);
  }
}

/** What a file of `mode` is, for messages. */
function kind(mode: number): string {
  return KINDS.get(mode & S.IFMT) ?? "something else";
}

/** What `path` is, not following it, when opening it as a file failed. */
function kindOf(path: string): string {
  const st = statAt(AT.FDCWD, path);
  return typeof st === "number" ? "something else" : kind(st.mode);
}

/**
 * Reads a regular file without following a link at its name and without
 * waiting on a FIFO or device there.
 *
 * @param path the file
 * @returns its text, or undefined when there is no such file
 * @throws {NotRegularError} when something else is there
 * @throws {FileCallError} when it cannot be opened or read
 */
export function readRegularFile(path: string): string | undefined {
  const fd = openAt(
    AT.FDCWD,
    path,
    O.RDONLY | O.NOFOLLOW | O.NONBLOCK | O.CLOEXEC,
  );
  if (fd === -Errno.ENOENT) return undefined;
  // ELOOP: a link at the name; ENXIO: a socket.
  if (fd === -Errno.ELOOP || fd === -Errno.ENXIO) {
    throw new NotRegularError(path, kindOf(path));
  }
  ok(fd);
  try {
    const st = fstat(fd);
    if (typeof st === "number") throw new FileCallError(st);
    if ((st.mode & S.IFMT) !== S.IFREG) {
      throw new NotRegularError(path, kind(st.mode));
    }
    const bytes = readFd(fd);
    if (!bytes) throw new FileCallError(-Errno.EIO);
    return new TextDecoder().decode(bytes);
  } finally {
    closeFd(fd);
  }
}
