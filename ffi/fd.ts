/**
 * The fds the native side hands out (a child's pipes, a terminal): read,
 * written, reopened and closed without blocking, and a file written in one
 * `write()` (`/proc/PID/uid_map`).
 *
 * @module
 */
import { raw } from "./raw.ts";
import { getReactor } from "./reactor.ts";

const encoder = new TextEncoder();

/**
 * Closes an fd the native side returned.
 *
 * @param fd the fd; negative ones are ignored
 */
export function closeFd(fd: number): void {
  if (fd >= 0) raw.close(fd);
}

/**
 * Reads what a non-blocking fd has now.
 *
 * @param fd the fd
 * @param buf where the bytes go
 * @returns bytes read, 0 at EOF, or -errno (-EAGAIN: nothing yet)
 */
export function readNow(fd: number, buf: Uint8Array): number {
  return raw.read(fd, buf, buf.length);
}

/**
 * Writes what a non-blocking fd takes now.
 *
 * @param fd the fd
 * @param buf the bytes
 * @returns bytes written, or -errno (-EAGAIN: full; -EPIPE: no reader)
 */
export function writeNow(fd: number, buf: Uint8Array): number {
  return raw.write(fd, buf, buf.length);
}

/**
 * Writes a file in one write(), as `/proc/PID/uid_map` requires.
 *
 * @param path the file
 * @param text its new content
 * @returns 0, or the errno
 */
export function writeFileOnce(path: string, text: string): number {
  const p = encoder.encode(path + "\0");
  const data = encoder.encode(text);
  const rc = raw.writeFile(p, data, data.length);
  return rc < 0 ? -rc : 0;
}

/**
 * A new, non-blocking open file description of what `fd` is (a terminal or
 * a pipe), this isolate's: read or written through the reactor without
 * making the caller's own description non-blocking.
 *
 * @param fd the fd (0 or 1)
 * @param write open it for writing, else for reading
 * @returns the new fd, or -errno
 */
export function reopen(fd: number, write: boolean): number {
  return raw.reopen(getReactor().ctx, fd, write ? 1 : 0);
}
