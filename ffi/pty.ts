/**
 * Pseudo-terminals for `--tty`: a new pair, and a window size passed on.
 *
 * @module
 */
import { errnoName } from "../lib/errors/errno.ts";
import { SpawnError } from "../lib/errors/errors.ts";
import { raw } from "./raw.ts";
import { getReactor } from "./reactor.ts";

/** A pseudo-terminal: its master (non-blocking, this isolate's) and slave. */
export interface Pty {
  /** The side userns reads and writes. */
  master: number;
  /** The side the command gets as fds 0-2; close it once spawned. */
  slave: number;
}

/**
 * Opens a new pseudo-terminal (the slave through the master, never by a
 * path).
 *
 * @returns its two fds
 * @throws {SpawnError} SETUP when there is none to be had
 */
export function openPty(): Pty {
  const out = new Int32Array(2);
  const rc = raw.openpty(getReactor().ctx, out);
  if (rc < 0) {
    const errno = errnoName(-rc);
    throw new SpawnError("SETUP", `cannot open a pseudo-terminal: ${errno}`, {
      errno,
      hint: "check that /dev/ptmx and /dev/pts are there",
    });
  }
  return { master: out[0]!, slave: out[1]! };
}

/**
 * Gives a terminal the window size of another.
 *
 * @param from the terminal whose size it is (the caller's)
 * @param to the terminal to resize (a pty's master)
 * @returns 0, or the errno (ENOTTY: `from` is no terminal)
 */
export function copyTtySize(from: number, to: number): number {
  const rc = raw.ttySize(from, to);
  return rc < 0 ? -rc : 0;
}
