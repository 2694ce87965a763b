/**
 * The native library's operations, raw: all reached through its one
 * `uns_call` symbol (enum uns_call in `c/userns.h`), each returning what
 * its C function returns, a result or -errno. Only the typed wrappers beside
 * it call these; they turn -errno into a result or a thrown error.
 *
 * @module
 */
import { Call } from "./abi.ts";
import { loadNative } from "./load.ts";

type Buf = ArrayBufferView | null;

function call(
  op: number,
  a = 0,
  b = 0,
  c = 0,
  p: Buf = null,
  q: Buf = null,
  r: Buf = null,
): number {
  const B = (x: Buf) => x as BufferSource | null;
  return loadNative().uns_call(op, a, b, c, B(p), B(q), B(r));
}

/** The native operations, by name, raw: each returns what its C function
 * returns (see `c/userns.h`), a result or -errno. The typed wrappers that
 * turn -errno into errors are `spawn.ts`, `fd.ts`, `helper.ts`, `pty.ts`,
 * `process.ts` and `which.ts`. */
export const raw = {
  ctxOpen: (out: Int32Array): number => call(Call.CTX_OPEN, 0, 0, 0, out),
  ctxWait: (ctx: number, ms: number): number => call(Call.CTX_WAIT, ctx, ms),
  ctxWaitAsync: (ctx: number, ms: number): Promise<number> =>
    loadNative().uns_ctx_wait_async(ctx, ms),
  ctxTake: (ctx: number, buf: Int32Array, cap: number): number =>
    call(Call.CTX_TAKE, ctx, cap, 0, buf),
  ctxKick: (ctx: number): number => call(Call.CTX_KICK, ctx),
  watch: (fd: number, kind: number): number => call(Call.WATCH, fd, kind),
  spawn: (
    ctx: number,
    opt: Int32Array,
    n: number,
    str: Uint8Array,
    out: Int32Array,
  ): number => call(Call.SPAWN, ctx, n, 0, opt, str, out),
  release: (fd: number): number => call(Call.RELEASE, fd),
  abort: (fd: number): number => call(Call.ABORT, fd),
  read: (fd: number, buf: ArrayBufferView, len: number): number =>
    call(Call.READ, fd, len, 0, buf),
  readTimed: (
    fd: number,
    buf: ArrayBufferView,
    len: number,
    ms: number,
  ): number => call(Call.READ_TIMED, fd, len, ms, buf),
  write: (fd: number, buf: ArrayBufferView, len: number): number =>
    call(Call.WRITE, fd, len, 0, buf),
  close: (fd: number): number => call(Call.CLOSE, fd),
  kill: (pidfd: number, sig: number): number => call(Call.KILL, pidfd, sig),
  writeFile: (path: Uint8Array, buf: Uint8Array, len: number): number =>
    call(Call.WRITE_FILE, 0, len, 0, path, buf),
  startHelper: (
    ctx: number,
    str: Uint8Array,
    len: number,
    off: Int32Array,
    argc: number,
    out: Int32Array,
  ): number => call(Call.START_HELPER, ctx, len, argc, str, off, out),
  openSelf: (src: number): number => call(Call.OPEN_SELF, src),
  pidfdOpen: (pid: number): number => call(Call.PIDFD_OPEN, pid),
  which: (path: Uint8Array, name: Uint8Array): number =>
    call(Call.WHICH, 0, 0, 0, path, name),
  timer: (ctx: number, ms: number): number => call(Call.TIMER, ctx, ms),
  openpty: (ctx: number, out: Int32Array): number =>
    call(Call.OPENPTY, ctx, 0, 0, out),
  ttySize: (from: number, to: number): number => call(Call.TTY_SIZE, from, to),
  reopen: (ctx: number, fd: number, flags: number): number =>
    call(Call.REOPEN, ctx, fd, flags),
  readPath: (path: Uint8Array, buf: Uint8Array, len: number): number =>
    call(Call.READ_PATH, 0, len, 0, path, buf),
  listDir: (path: Uint8Array, buf: Uint8Array, len: number): number =>
    call(Call.LIST_DIR, 0, len, 0, path, buf),
  readLink: (path: Uint8Array, buf: Uint8Array, len: number): number =>
    call(Call.READ_LINK, 0, len, 0, path, buf),
  procId: (pid: number, full: 0 | 1 | 2, out: BigInt64Array): number =>
    call(Call.PROC_ID, pid, full, 0, out),
};
