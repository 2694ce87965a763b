/**
 * Reading and writing the non-blocking pipe fds of a spawned child: web
 * streams for `spawn()`, and a direct read to the end for `output()`, which
 * needs no stream at all. Each waits for readiness through this isolate's
 * reactor, never on a thread of its own.
 *
 * @module
 */
import { brokenPipeError } from "./spawn_errors.ts";
import { errnoName, SpawnError } from "./errors.ts";
import { Errno, Event } from "../ffi/abi.ts";
import { closeFd, readNow, writeNow } from "../ffi/native.ts";
import { getReactor } from "../ffi/reactor.ts";

/** One buffer for every read: each read is copied out at once. */
const scratch = new Uint8Array(65536);

function readError(n: number): SpawnError {
  return new SpawnError("SETUP", `cannot read a pipe: ${errnoName(-n)}`, {
    errno: errnoName(-n),
  });
}

/** Resolves when `fd` is readable (or at EOF), or at once when it cannot
 * be watched: the next read then says why. */
function readable(fd: number): Promise<void> {
  return new Promise((resolve) => {
    if (getReactor().arm(fd, Event.READ, () => resolve()) !== 0) resolve();
  });
}

/** {@link readable}, keeping the event loop alive meanwhile, as a pending
 * read of `Deno.Command`'s output does: a pipe can reach EOF after the child
 * has ended (a background process still holds it), when the child no longer
 * keeps the loop alive. Not for a stream, which a cancel may drop. */
async function readableRef(fd: number): Promise<void> {
  const reactor = getReactor();
  reactor.ref();
  try {
    await readable(fd);
  } finally {
    reactor.unref();
  }
}

/**
 * Reads `fd` to its end and closes it.
 *
 * @param fd a pipe's read end (non-blocking), owned by this call
 * @param wait how to wait until it is readable (the reactor's, or a
 * synchronous pump)
 * @returns all its bytes
 */
export async function readToEnd(fd: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const n = readNow(fd, scratch);
      if (n === 0) break;
      if (n === -Errno.EAGAIN) {
        await readableRef(fd);
        continue;
      }
      if (n < 0) throw readError(n);
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
 * @returns the stream
 */
export function readableFromFd(fd: number): ReadableStream<Uint8Array> {
  let open = true;
  const close = () => {
    if (open) open = false, getReactor().off(fd), closeFd(fd);
  };
  const source: UnderlyingByteSource = {
    type: "bytes",
    async pull(controller) {
      for (;;) {
        const n = readNow(fd, scratch);
        if (n === -Errno.EAGAIN) {
          await readable(fd);
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
 * @returns the stream
 */
export function writableToFd(fd: number): WritableStream<Uint8Array> {
  let open = true;
  const close = () => {
    if (open) open = false, getReactor().off(fd), closeFd(fd);
  };
  return new WritableStream<Uint8Array>({
    async write(chunk) {
      for (let at = 0; at < chunk.length;) {
        const n = writeNow(fd, chunk.subarray(at));
        if (n === -Errno.EAGAIN) {
          await new Promise<void>((resolve) =>
            getReactor().arm(fd, Event.WRITE, () => resolve())
          );
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
