/**
 * The one symbol table of the native library; each parameter names its C
 * type and name from `c/userns.h`. Only `uns_ctx_wait_async` is
 * nonblocking: it is the one call an isolate leaves pending, and it writes
 * nothing into the isolate's memory (see `c/waiter.c`).
 *
 * @module
 */

/** Symbols of libuserns, for `Deno.dlopen`. */
export const symbols = {
  /** int32_t uns_abi_version(void) */
  uns_abi_version: { parameters: [], result: "i32" },
  /** int32_t uns_ctx_open(int32_t *out) */
  uns_ctx_open: { parameters: ["buffer"], result: "i32" },
  /** int32_t uns_ctx_wait(int32_t ctx, int32_t timeout_ms), off the event loop */
  uns_ctx_wait_async: {
    name: "uns_ctx_wait",
    parameters: ["i32", "i32"],
    result: "i32",
    nonblocking: true,
  },
  /** int32_t uns_ctx_wait(int32_t ctx, int32_t timeout_ms), on this thread */
  uns_ctx_wait: { parameters: ["i32", "i32"], result: "i32" },
  /** int32_t uns_ctx_take(int32_t ctx, int32_t *buf, uint32_t cap) */
  uns_ctx_take: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  /** int32_t uns_ctx_kick(int32_t ctx) */
  uns_ctx_kick: { parameters: ["i32"], result: "i32" },
  /** int32_t uns_watch(int32_t fd, int32_t kind) */
  uns_watch: { parameters: ["i32", "i32"], result: "i32" },
  /** int32_t uns_spawn(ctx, opt, nopt, str, out) */
  uns_spawn: {
    parameters: [
      "i32", // int32_t ctx
      "buffer", // const int32_t *opt
      "u32", // uint32_t nopt
      "buffer", // const char *str
      "buffer", // int32_t *out
    ],
    result: "i32",
  },
  /** int32_t uns_release(int32_t sync_fd) */
  uns_release: { parameters: ["i32"], result: "i32" },
  /** int32_t uns_abort(int32_t sync_fd) */
  uns_abort: { parameters: ["i32"], result: "i32" },
  /** int32_t uns_read(int32_t fd, void *buf, uint32_t len) */
  uns_read: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  /** int32_t uns_read_timed(fd, buf, len, timeout_ms) */
  uns_read_timed: {
    parameters: [
      "i32", // int32_t fd
      "buffer", // void *buf
      "u32", // uint32_t len
      "i32", // int32_t timeout_ms
    ],
    result: "i32",
  },
  /** int32_t uns_write(int32_t fd, const void *buf, uint32_t len) */
  uns_write: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  /** int32_t uns_close(int32_t fd) */
  uns_close: { parameters: ["i32"], result: "i32" },
  /** int32_t uns_kill(int32_t pidfd, int32_t sig) */
  uns_kill: { parameters: ["i32", "i32"], result: "i32" },
  /** int32_t uns_write_file(const char *path, const void *buf, uint32_t len) */
  uns_write_file: { parameters: ["buffer", "buffer", "u32"], result: "i32" },
  /** int32_t uns_start_helper(ctx, str, len, off, argc, out) */
  uns_start_helper: {
    parameters: [
      "i32", // int32_t ctx
      "buffer", // const char *str
      "u32", // uint32_t len
      "buffer", // const int32_t *off
      "u32", // uint32_t argc
      "buffer", // int32_t *out
    ],
    result: "i32",
  },
  /** int32_t uns_open_self(void) */
  uns_open_self: { parameters: [], result: "i32" },
  /** int32_t uns_pidfd_open(int32_t pid) */
  uns_pidfd_open: { parameters: ["i32"], result: "i32" },
  /** int32_t uns_proc_id(int32_t pid, int64_t *out) */
  uns_proc_id: { parameters: ["i32", "buffer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The loaded library's functions. */
export type NativeSymbols = Deno.DynamicLibrary<typeof symbols>["symbols"];
