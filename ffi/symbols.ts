/**
 * The one symbol table of the native library; each parameter names its C
 * type and name from `c/userns.h`.
 *
 * @module
 */

/** Symbols of libuserns, for `Deno.dlopen`. */
export const symbols = {
  /** int32_t uns_abi_version(void) */
  uns_abi_version: { parameters: [], result: "i32" },
  /** int32_t uns_spawn(opt, nopt, str, out) */
  uns_spawn: {
    parameters: [
      "buffer", // const int32_t *opt
      "u32", // uint32_t nopt
      "buffer", // const char *str
      "buffer", // int32_t *out
    ],
    result: "i32",
  },
  /** int32_t uns_release(int32_t sync_fd) */
  uns_release: { parameters: ["i32"], result: "i32" },
  /** int32_t uns_read(int32_t fd, void *buf, uint32_t len) */
  uns_read: {
    parameters: ["i32", "buffer", "u32"],
    result: "i32",
    nonblocking: true,
  },
  /** int32_t uns_read_timed(fd, buf, len, timeout_ms): on this thread */
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
  uns_write: {
    parameters: ["i32", "buffer", "u32"],
    result: "i32",
    nonblocking: true,
  },
  /** int32_t uns_close(int32_t fd) */
  uns_close: { parameters: ["i32"], result: "i32" },
  /** int32_t uns_wait(int32_t pidfd, int32_t *out) */
  uns_wait: { parameters: ["i32", "buffer"], result: "i32", nonblocking: true },
  /** int32_t uns_kill(int32_t pidfd, int32_t sig) */
  uns_kill: { parameters: ["i32", "i32"], result: "i32" },
  /** int32_t uns_write_file(const char *path, const void *buf, uint32_t len) */
  uns_write_file: { parameters: ["buffer", "buffer", "u32"], result: "i32" },
  /** int32_t uns_start_helper(str, len, off, argc, out) */
  uns_start_helper: {
    parameters: [
      "buffer", // const char *str
      "u32", // uint32_t len
      "buffer", // const int32_t *off
      "u32", // uint32_t argc
      "buffer", // int32_t *out
    ],
    result: "i32",
  },
  /** int32_t uns_finish_helpers(fds, n, buf, buflen, out) */
  uns_finish_helpers: {
    parameters: [
      "buffer", // const int32_t *fds
      "u32", // uint32_t n
      "buffer", // char *buf
      "u32", // uint32_t buflen
      "buffer", // int32_t *out
    ],
    result: "i32",
    nonblocking: true,
  },
} as const satisfies Deno.ForeignLibraryInterface;

/** The loaded library's functions. */
export type NativeSymbols = Deno.DynamicLibrary<typeof symbols>["symbols"];
