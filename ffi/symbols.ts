/**
 * The one symbol table of the native library: three symbols, each parameter
 * naming its C type and name from `c/userns.h`. Every operation but the
 * wait goes through `uns_call` (see `ffi/raw.ts`): the runtime binds each
 * symbol when it loads the library, at a cost the CLI's start pays in full.
 * Only `uns_ctx_wait_async` is nonblocking: it is the one call an isolate
 * leaves pending, and it writes nothing into the isolate's memory (see
 * `c/waiter.c`).
 *
 * @module
 */

/** Symbols of libuserns, for `Deno.dlopen`. */
export const symbols = {
  /** int32_t uns_abi_version(void) */
  uns_abi_version: { parameters: [], result: "i32" },
  /** int32_t uns_call(op, a, b, c, p, q, r) */
  uns_call: {
    parameters: [
      "i32", // int32_t op: enum uns_call
      "i32", // int32_t a
      "i32", // int32_t b
      "i32", // int32_t c
      "buffer", // void *p
      "buffer", // void *q
      "buffer", // void *r
    ],
    result: "i32",
  },
  /** int32_t uns_ctx_wait(int32_t ctx, int32_t timeout_ms), off the event loop */
  uns_ctx_wait_async: {
    name: "uns_ctx_wait",
    parameters: ["i32", "i32"],
    result: "i32",
    nonblocking: true,
  },
} as const satisfies Deno.ForeignLibraryInterface;

/** The loaded library's functions. */
export type NativeSymbols = Deno.DynamicLibrary<typeof symbols>["symbols"];
