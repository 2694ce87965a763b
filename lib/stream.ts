/**
 * Web streams over the raw pipe fds of a spawned child.
 *
 * @module
 */
import { closeFd, readFd, writeFd } from "../ffi/native.ts";

const CHUNK = 65536;

/**
 * A stream of the bytes read from `fd`; the fd is closed at EOF or cancel.
 *
 * @param fd a pipe's read end, owned by the stream from now on
 * @returns the stream
 */
export function readableFromFd(fd: number): ReadableStream<Uint8Array> {
  let open = true;
  const close = () => {
    if (open) open = false, closeFd(fd);
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const buf = new Uint8Array(CHUNK);
      try {
        const n = await readFd(fd, buf);
        if (n === 0) {
          close();
          controller.close();
        } else {
          controller.enqueue(buf.subarray(0, n));
        }
      } catch (e) {
        close();
        controller.error(e);
      }
    },
    cancel: close,
  });
}

/**
 * A stream whose chunks are written to `fd`; the fd is closed on close/abort.
 *
 * @param fd a pipe's write end, owned by the stream from now on
 * @returns the stream
 */
export function writableToFd(fd: number): WritableStream<Uint8Array> {
  let open = true;
  const close = () => {
    if (open) open = false, closeFd(fd);
  };
  return new WritableStream<Uint8Array>({
    async write(chunk) {
      for (let at = 0; at < chunk.length;) {
        at += await writeFd(fd, chunk.subarray(at));
      }
    },
    close,
    abort: close,
  });
}

/**
 * Reads a stream to its end.
 *
 * @param stream the stream
 * @returns all its bytes
 */
export async function collect(
  stream: ReadableStream<Uint8Array>,
): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const part of stream) parts.push(part), (size += part.length);
  const all = new Uint8Array(size);
  let at = 0;
  for (const part of parts) all.set(part, at), (at += part.length);
  return all;
}
