/**
 * Compiles the native library from `c/` with the system C compiler. Run as a
 * script (`deno task build`) it writes `build/libuserns.so`.
 *
 * @module
 */
import { NativeError } from "../lib/errors.ts";

/** Compiler flags: warnings are errors, only `uns_*` is exported. */
export const CFLAGS: readonly string[] = [
  "-std=c11",
  "-D_GNU_SOURCE",
  "-O2",
  "-Wall",
  "-Wextra",
  "-Werror",
  "-fvisibility=hidden",
  "-fPIC",
  "-shared",
];

/** The C sources, relative to `c/`; all of them key the build cache. */
export const SOURCES: readonly string[] = ["userns.h", "userns.c"];

/**
 * Compiles `c/userns.c` into `out`, atomically: a concurrent build of the
 * same sources either wins the rename or is overwritten by identical bytes.
 *
 * @param cDir the `c/` directory holding {@link SOURCES}
 * @param out path of the shared library to write
 * @throws {NativeError} NATIVE_BUILD when there is no compiler or it fails
 */
export function compileNative(cDir: string, out: string): void {
  const cc = envOr("CC", "cc");
  const tmp = `${out}.${Deno.pid}.${crypto.randomUUID()}.tmp`;
  let result: Deno.CommandOutput;
  try {
    result = new Deno.Command(cc, {
      args: [...CFLAGS, "-o", tmp, `${cDir}/userns.c`],
      stdin: "null",
    }).outputSync();
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    throw new NativeError(
      "NATIVE_BUILD",
      `cannot build the native library: no C compiler ("${cc}") on PATH`,
      {
        hint:
          "install one (apt-get install gcc) or set USERNS_LIBRARY to a built libuserns.so",
        cause: e,
      },
    );
  }
  if (!result.success) {
    const why = new TextDecoder().decode(result.stderr).trim().split("\n")[0];
    removeQuietly(tmp);
    throw new NativeError(
      "NATIVE_BUILD",
      `cannot build the native library: ${cc} exited ${result.code}: ${why}`,
      { hint: "check the compiler, or set USERNS_LIBRARY" },
    );
  }
  Deno.renameSync(tmp, out);
}

/**
 * Reads an environment variable, treating a denied permission as unset.
 *
 * @param name the variable
 * @param fallback what to return when it is unset or unreadable
 * @returns its value or `fallback`
 */
export function envOr(name: string, fallback: string): string {
  try {
    return Deno.env.get(name) ?? fallback;
  } catch {
    return fallback;
  }
}

function removeQuietly(path: string): void {
  try {
    Deno.removeSync(path);
  } catch {
    // nothing was written
  }
}

if (import.meta.main) {
  const root = new URL("..", import.meta.url).pathname;
  Deno.mkdirSync(`${root}build`, { recursive: true });
  compileNative(`${root}c`, `${root}build/libuserns.so`);
}
