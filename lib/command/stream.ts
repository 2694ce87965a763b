/**
 * Reading and writing the non-blocking pipe fds of a spawned child: web
 * streams for `spawn()`, and a direct read to the end for `output()`, which
 * needs no stream at all. Each waits for readiness through this isolate's
 * reactor, never on a thread of its own.
 *
 * @module
 */
import { errnoName } from "../errors/errno.ts";
import { SpawnError } from "../errors/errors.ts";
import { brokenPipeError } from "../errors/spawn.ts";
import { Event } from "../../ffi/abi.ts";
import { Errno } from "../errors/mod.ts";
import { closeFd, readNow, writeNow } from "../../ffi/fd.ts";
import { getReactor } from "../../ffi/reactor.ts";

/** One buffer for every read: each read is copied out at once. */
const scratch = new Uint8Array(65536);

function readError(n: number): SpawnError {
  return new SpawnError("SETUP", `cannot read a pipe: ${errnoName(-n)}`, {
    errno: errnoName(-n),
  });
}

/**
 * What keeps the event loop alive while a read or a write waits for its
 * pipe, as `Deno.Command`'s ref'd pipes do: the child's own hold, counted
 * while the child is ref'd, after it ended too (a background process of
 * the command may hold the pipe open long after).
 */
export interface Hold {
  /** A wait began. */
  begin(): void;
  /** It ended: the pipe became ready, or the fd was closed meanwhile. */
  end(): void;
}

/**
 * Waits for the readiness of one fd, held by `hold` while it waits.
 *
 * @param fd the pipe fd
 * @param hold what keeps the event loop alive meanwhile, if anything
 * @returns `wait(kind)`, and `cancel()` for a close during a wait (whose
 * promise then never settles)
 */
function waiter(fd: number, hold?: Hold) {
  let waiting = false;
  const settle = () => {
    if (waiting) waiting = false, hold?.end();
  };
  return {
    wait(kind: typeof Event.READ | typeof Event.WRITE): Promise<void> {
      return new Promise((resolve) => {
        waiting = true;
        hold?.begin();
        const ready = () => {
          settle();
          resolve();
        };
        // An fd that cannot be watched is ready now: the next call says why.
        if (getReactor().arm(fd, kind, ready) !== 0) ready();
      });
    },
    cancel: settle,
  };
}

/**
 * Reads `fd` to its end and closes it. A read error is the result, not a
 * rejection, so that a caller may await something else first.
 *
 * @param fd a pipe's read end (non-blocking), owned by this call
 * @param hold keeps the event loop alive while it waits
 * @returns all its bytes, or the error that stopped the reading
 */
export async function readToEnd(
  fd: number,
  hold?: Hold,
): Promise<Uint8Array | SpawnError> {
  const ready = waiter(fd, hold);
  const parts: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const n = readNow(fd, scratch);
      if (n === 0) break;
      if (n === -Errno.EAGAIN) {
        await ready.wait(Event.READ);
        continue;
      }
      if (n < 0) return readError(n);
      parts.push(scratch.slice(0, n));
      size += n;
    }
  } finally {
    closeFd(fd);
  }
  return join(parts, size);
}

/** The parts as one array, copied only when there are several. */
export function join(parts: Uint8Array[], size: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const all = new Uint8Array(size);
  let at = 0;
  for (const part of parts) all.set(part, at), (at += part.length);
  return all;
}

/**
 * A stream of the bytes read from `fd`; the fd is closed at EOF or cancel.
 *
 * @param fd a pipe's read end (non-blocking), owned by the stream from now on
 * @param hold keeps the event loop alive while it waits
 * @returns the stream
 */
export function readableFromFd(
  fd: number,
  hold?: Hold,
): ReadableStream<Uint8Array> {
  const ready = waiter(fd, hold);
  let open = true;
  const close = () => {
    if (open) open = false, getReactor().off(fd), ready.cancel(), closeFd(fd);
  };
  const source: UnderlyingByteSource = {
    type: "bytes",
    async pull(controller) {
      for (;;) {
        const n = readNow(fd, scratch);
        if (n === -Errno.EAGAIN) {
          await ready.wait(Event.READ);
          if (!open) return;
          continue;
        }
        if (n < 0) {
          close();
          controller.error(readError(n));
        } else if (n === 0) {
          close();
          controller.close();
          controller.byobRequest?.respond(0);
        } else {
          controller.enqueue(scratch.slice(0, n));
        }
        return;
      }
    },
    cancel: close,
  };
  return new ReadableStream(source);
}

/**
 * A stream whose chunks are written to `fd`; the fd is closed on close or
 * abort. Writing after the child has gone fails with the
 * `Deno.errors.BrokenPipe` error of this library.
 *
 * @param fd a pipe's write end (non-blocking), owned by the stream from now on
 * @param hold keeps the event loop alive while it waits
 * @returns the stream
 */
export function writableToFd(
  fd: number,
  hold?: Hold,
): WritableStream<Uint8Array> {
  const ready = waiter(fd, hold);
  let open = true;
  const close = () => {
    if (open) open = false, getReactor().off(fd), ready.cancel(), closeFd(fd);
  };
  return new WritableStream<Uint8Array>({
    async write(chunk) {
      for (let at = 0; at < chunk.length;) {
        const n = writeNow(fd, chunk.subarray(at));
        if (n === -Errno.EAGAIN) {
          await ready.wait(Event.WRITE);
        } else if (n === -Errno.EPIPE) {
          throw brokenPipeError();
        } else if (n < 0) {
          throw new SpawnError(
            "SETUP",
            `cannot write a pipe: ${errnoName(-n)}`,
            {
              errno: errnoName(-n),
            },
          );
        } else {
          at += n;
        }
      }
    },
    close,
    abort: close,
  });
}
