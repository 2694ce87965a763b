/**
 * Compiles the native library from its C sources with the system C
 * compiler, and checks the file it built: what a module imported by URL or
 * path does on first use (into the user's cache), and what `deno task
 * build` does next to the module (`tools/build.ts`).
 *
 * @module
 */
import { NativeError } from "../../lib/errors/errors.ts";
import { libraryProblem } from "./elf.ts";

/**
 * Compiler flags: warnings are errors, only `uns_*` is exported, and
 * nothing that the raw-cloned child cannot run: no stack protector (it
 * reads the cloning thread's TLS and calls `__stack_chk_fail` through the
 * PLT), no loops turned into `memset`/`strlen` calls through the PLT, no
 * `_FORTIFY_SOURCE` (`__*_chk` calls), no link-time optimization (it
 * inlines across files and dissolves the child's entry points, which the
 * checks look for). They come after `CC`'s own, so that they win over a
 * distribution's defaults. The library stays mapped once loaded
 * (`-z nodelete`): a Worker's teardown must never unmap it while calls run.
 */
export const CFLAGS: readonly string[] = [
  "-std=c11",
  "-D_GNU_SOURCE",
  "-U_FORTIFY_SOURCE",
  "-O2",
  "-Wall",
  "-Wextra",
  "-Werror",
  "-fvisibility=hidden",
  "-fPIC",
  "-fno-stack-protector",
  "-fno-tree-loop-distribute-patterns",
  "-fno-lto",
  "-pthread",
  "-shared",
  "-Wl,-z,nodelete",
  "-Wl,-e,uns_entry",
];

/** The name the compiler writes the library to in its {@link BuildDir}. */
export const BUILT = "libuserns.so";

/** A private directory to build in. */
export interface BuildDir {
  /** Its path, for the compiler: its working directory and `TMPDIR`. */
  path: string;
  /** Writes a new file into it. */
  write(name: string, data: string): void;
  /** Reads a file back. */
  read(name: string): Uint8Array;
}

/**
 * Compiles C sources given as text in `dir` and checks the built file
 * itself (see {@link libraryProblem}). The compiler is `$CC`, else `cc`;
 * like make, `CC` may carry arguments (`CC="ccache gcc"`), which go before
 * {@link CFLAGS}.
 *
 * @param sources file name to text; every `.c` is compiled
 * @param dir where to build; the library is left there as {@link BUILT}
 * @returns the library's bytes
 * @throws {NativeError} NATIVE_BUILD when there is no compiler, it fails,
 * or the library it built cannot be used
 */
export function compileSources(
  sources: Readonly<Record<string, string>>,
  dir: BuildDir,
): Uint8Array {
  const [cc = "cc", ...ccArgs] = envOr("CC", "").split(/\s+/).filter((w) => w);
  for (const [name, text] of Object.entries(sources)) dir.write(name, text);
  const units = Object.keys(sources).filter((n) => n.endsWith(".c"));
  const result = runCompiler(cc, dir.path, [
    ...ccArgs,
    ...CFLAGS,
    "-o",
    BUILT,
    ...units,
  ]);
  if (!result.success) {
    const why = new TextDecoder().decode(result.stderr).trim().split("\n")[0];
    throw new NativeError(
      "NATIVE_BUILD",
      `cannot build the native library: ${cc} exited ${result.code}: ${why}`,
      {
        hint:
          "check the compiler, or set USERNS_LIBRARY to a built libuserns.so",
      },
    );
  }
  const bytes = dir.read(BUILT);
  const problem = libraryProblem(bytes);
  if (problem) {
    throw new NativeError(
      "NATIVE_BUILD",
      `cannot build the native library: the file ${cc} built ${problem}`,
    );
  }
  return bytes;
}

function runCompiler(
  cc: string,
  cwd: string,
  args: string[],
): Deno.CommandOutput {
  try {
    return new Deno.Command(cc, {
      args,
      cwd,
      env: { TMPDIR: cwd }, // its temporary files too, where no one else writes
      stdin: "null",
      stdout: "null",
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
