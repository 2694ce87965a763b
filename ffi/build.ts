/**
 * Compiles the native library with the system C compiler. Run as a script,
 * `deno task build` writes `build/libuserns.so` from `c/`, and `deno task gen`
 * regenerates `ffi/source.ts` from `c/`.
 *
 * @module
 */
import { NativeError } from "../lib/errors.ts";
import { sources, stampOf } from "../lib/cli/bundle.ts";
import { libraryProblem } from "./elf.ts";

/**
 * Compiler flags: warnings are errors, only `uns_*` is exported, and
 * nothing that the raw-cloned child cannot run: no stack protector (it
 * reads the cloning thread's TLS and calls `__stack_chk_fail` through the
 * PLT), no loops turned into `memset`/`strlen` calls through the PLT. The
 * library stays mapped once loaded (`-z nodelete`): a Worker's teardown
 * must never unmap it while calls run.
 */
export const CFLAGS: readonly string[] = [
  "-std=c11",
  "-D_GNU_SOURCE",
  "-O2",
  "-Wall",
  "-Wextra",
  "-Werror",
  "-fvisibility=hidden",
  "-fPIC",
  "-fno-stack-protector",
  "-fno-tree-loop-distribute-patterns",
  "-pthread",
  "-shared",
  "-Wl,-z,nodelete",
  "-Wl,-e,uns_entry",
];

/** The C files, in `c/` and in `ffi/source.ts`. */
export const SOURCE_FILES: readonly string[] = [
  "userns.h",
  "internal.h",
  "child.c",
  "mounts.c",
  "lock.c",
  "join.c",
  "init.c",
  "filter.c",
  "region.c",
  "userns.c",
  "io.c",
  "helper.c",
  "waiter.c",
  "call.c",
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

/**
 * Builds the library from sources into `out`, by path, atomically: a
 * concurrent build either wins the rename or is overwritten by identical
 * bytes, and no reader ever sees a partial file. For `deno task build` and
 * `deno task compile`, which write next to the module.
 *
 * @param sources file name to text
 * @param out path of the shared library to write
 * @throws {NativeError} NATIVE_BUILD as {@link compileSources}
 */
export function buildLibrary(
  sources: Readonly<Record<string, string>>,
  out: string,
): void {
  const path = Deno.makeTempDirSync({ prefix: "userns-build-" });
  const tmp = `${out}.${Deno.pid}.${crypto.randomUUID()}.tmp`;
  try {
    const bytes = compileSources(sources, {
      path,
      write: (name, text) => Deno.writeTextFileSync(`${path}/${name}`, text),
      read: (name) => Deno.readFileSync(`${path}/${name}`),
    });
    Deno.writeFileSync(tmp, bytes, { createNew: true, mode: 0o755 });
    Deno.renameSync(tmp, out);
  } finally {
    Deno.removeSync(path, { recursive: true });
    removeQuietly(tmp);
  }
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

function removeQuietly(path: string): void {
  try {
    Deno.removeSync(path);
  } catch {
    // renamed away, or never written
  }
}

/**
 * The text of `ffi/source.ts` for the given sources.
 *
 * @param sources file name to text
 * @returns a TypeScript module exporting them as `SOURCES`
 */
export function sourceModule(sources: Record<string, string>): string {
  const entries = Object.entries(sources).map(([name, text]) =>
    `  ${JSON.stringify(name)}:\n    ${JSON.stringify(text)},\n`
  );
  return "// Generated from c/ by `deno task gen`: do not edit.\n" +
    "// tests/unit/source_test.ts fails when it differs from c/.\n\n" +
    "/** The native library's C sources, by file name, for building it from a module\n" +
    " * imported by URL or path. */\n" +
    `export const SOURCES: Readonly<Record<string, string>> = {\n${
      entries.join("")
    }};\n`;
}

/**
 * Reads the sources from a `c/` directory.
 *
 * @param cDir the directory
 * @returns file name to text
 */
export function readSources(cDir: string): Record<string, string> {
  return Object.fromEntries(
    SOURCE_FILES.map((n) => [n, Deno.readTextFileSync(`${cDir}/${n}`)]),
  );
}

/**
 * Bundles the CLI (`lib/cli/main.ts`) into `build/cli.js` with
 * `deno bundle`, stamped with its sources as they were before (see
 * `lib/cli/bundle.ts`). A failure (no esbuild offline, say) removes any old
 * bundle and says so: the CLI then runs its sources.
 *
 * @param root the checkout
 * @returns whether the bundle was made
 */
export function bundleCli(root: URL): boolean {
  const js = new URL("build/cli.js", root),
    json = new URL("build/cli.json", root);
  const stamp = stampOf(root, sources(root));
  for (const f of [json, js]) removeQuietly(f.pathname);
  const out = new Deno.Command(Deno.execPath(), {
    args: [
      "bundle",
      "--quiet",
      "--minify",
      "--output",
      js.pathname,
      new URL("lib/cli/main.ts", root).pathname,
    ],
    stdout: "null",
    stderr: "piped",
  }).outputSync();
  if (!out.success) {
    const why = new TextDecoder().decode(out.stderr).trim().split("\n")[0];
    console.error(
      `userns: warning: cannot bundle the CLI (${why}); it will run from its sources`,
    );
    removeQuietly(js.pathname);
    return false;
  }
  Deno.writeTextFileSync(json, JSON.stringify(stamp));
  return true;
}

if (import.meta.main) {
  const root = new URL("..", import.meta.url).pathname;
  const sources = readSources(`${root}c`);
  if (Deno.args[0] === "source") {
    Deno.writeTextFileSync(`${root}ffi/source.ts`, sourceModule(sources));
  } else {
    Deno.mkdirSync(`${root}build`, { recursive: true });
    buildLibrary(sources, `${root}build/libuserns.so`);
    bundleCli(new URL("..", import.meta.url));
  }
}
