/**
 * Finds and opens the native library, once. The order is SPEC's:
 * `USERNS_LIBRARY`, then a prebuilt `build/libuserns.so` next to the module,
 * then one built from the module's own `c/` sources into the user's cache,
 * keyed by the sources' hash.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { NativeError } from "../lib/errors.ts";
import { ABI_VERSION } from "./abi.ts";
import { CFLAGS, compileNative, envOr, SOURCES } from "./build.ts";
import { type NativeSymbols, symbols } from "./symbols.ts";

let loaded: NativeSymbols | undefined;

/**
 * Opens the native library on first use and returns its functions.
 *
 * @returns the typed symbols
 * @throws {NativeError} NATIVE_LOAD, NATIVE_BUILD or NATIVE_ABI, with the
 * places tried and what to do
 */
export function loadNative(): NativeSymbols {
  if (loaded) return loaded;
  const explicit = envOr("USERNS_LIBRARY", "");
  const path = explicit || prebuilt() || cached();
  loaded = open(path, explicit ? "USERNS_LIBRARY" : path);
  return loaded;
}

function open(path: string, origin: string): NativeSymbols {
  let lib: Deno.DynamicLibrary<typeof symbols>;
  try {
    lib = Deno.dlopen(path, symbols);
  } catch (e) {
    if (e instanceof Deno.errors.NotCapable) {
      throw new NativeError(
        "PERMISSION",
        "cannot load the native library: FFI is not permitted",
        { hint: "run deno with --allow-ffi", cause: e },
      );
    }
    throw new NativeError(
      "NATIVE_LOAD",
      `cannot load the native library ${path} (from ${origin}): ${
        (e as Error).message.split("\n")[0]
      }`,
      {
        hint: "rebuild it with deno task build, or unset USERNS_LIBRARY",
        cause: e,
      },
    );
  }
  const version = lib.symbols.uns_abi_version();
  if (version !== ABI_VERSION) {
    lib.close();
    throw new NativeError(
      "NATIVE_ABI",
      `native library ${path} has ABI ${version}, this module needs ${ABI_VERSION}`,
      { hint: "rebuild it with deno task build" },
    );
  }
  return lib.symbols;
}

function moduleDir(sub: string): string | undefined {
  const url = new URL(`../${sub}`, import.meta.url);
  return url.protocol === "file:" ? url.pathname : undefined;
}

function prebuilt(): string | undefined {
  const path = moduleDir("build/libuserns.so");
  return path && isFile(path) ? path : undefined;
}

/** The library built from our own sources into the user's cache. */
function cached(): string {
  const cDir = moduleDir("c");
  if (!cDir) {
    throw new NativeError(
      "NATIVE_LOAD",
      `cannot find the native library: ${import.meta.url} is not a local module`,
      { hint: "set USERNS_LIBRARY to a built libuserns.so" },
    );
  }
  const hash = createHash("sha256").update(CFLAGS.join(" "));
  for (const name of SOURCES) hash.update(Deno.readFileSync(`${cDir}/${name}`));
  const dir = cacheDir();
  const path = `${dir}/libuserns-${hash.digest("hex").slice(0, 16)}.so`;
  if (!isFile(path)) compileNative(cDir, path);
  return path;
}

/** A private cache directory: ours, and writable by nobody else. */
function cacheDir(): string {
  const base = envOr("XDG_CACHE_HOME", "") || `${envOr("HOME", "")}/.cache`;
  const dir = `${base}/userns`;
  Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = Deno.statSync(dir);
  if (st.uid !== Deno.uid() || ((st.mode ?? 0) & 0o022) !== 0) {
    throw new NativeError(
      "NATIVE_LOAD",
      `cache directory ${dir} is not private (owner ${st.uid}, mode ${
        ((st.mode ?? 0) & 0o777).toString(8)
      })`,
      {
        hint: `remove it or make it yours with mode 700, or set XDG_CACHE_HOME`,
      },
    );
  }
  return dir;
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}
