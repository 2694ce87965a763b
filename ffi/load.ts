/**
 * Finds and opens the native library, once, in SPEC's order:
 * `USERNS_LIBRARY`; a prebuilt `build/libuserns.so` next to the module; the
 * one embedded in a compiled binary (the same file, inside the binary, which
 * dlopen cannot open: it is extracted to the cache); else one built from the
 * module's own sources into the user's cache, keyed by their hash.
 *
 * @module
 */
import { NativeError } from "../lib/errors.ts";
import { ABI_VERSION } from "./abi.ts";
import { envOr } from "./build.ts";
import { buildInCache, cacheDir, extractLibrary } from "./cache.ts";
import { SOURCES } from "./source.ts";
import { type NativeSymbols, symbols } from "./symbols.ts";

let loaded: NativeSymbols | undefined;

/** Where to look for the library; {@link currentSearch} describes this process. */
export interface LibrarySearch {
  /** `USERNS_LIBRARY`, or "". */
  explicit: string;
  /** Running as a `deno compile`d binary. */
  standalone: boolean;
  /** `build/libuserns.so` next to the module, if the module is local. */
  prebuilt?: string;
  /** The cache directory to extract or build into. */
  cache: () => string;
}

/**
 * This process's search: its environment, whether it is compiled, and the
 * module's own location.
 *
 * @returns the search
 */
export function currentSearch(): LibrarySearch {
  const url = new URL("../build/libuserns.so", import.meta.url);
  return {
    explicit: envOr("USERNS_LIBRARY", ""),
    standalone: Deno.build.standalone,
    prebuilt: url.protocol === "file:" ? url.pathname : undefined,
    cache: () => cacheDir(),
  };
}

/**
 * Decides which file to dlopen, extracting or building it when needed.
 *
 * @param s where to look
 * @returns the path and where it came from
 * @throws {NativeError} NATIVE_BUILD, or NATIVE_LOAD for an unsafe cache
 */
export function locateLibrary(
  s: LibrarySearch,
): { path: string; origin: string } {
  if (s.explicit) return { path: s.explicit, origin: "USERNS_LIBRARY" };
  if (s.prebuilt && isFile(s.prebuilt)) {
    return s.standalone
      ? {
        path: extractLibrary(Deno.readFileSync(s.prebuilt), s.cache()),
        origin: "embedded",
      }
      : { path: s.prebuilt, origin: "prebuilt" };
  }
  return {
    path: buildInCache(SOURCES, s.cache()),
    origin: "built from source",
  };
}

/**
 * Opens the native library on first use and returns its functions.
 *
 * @returns the typed symbols
 * @throws {NativeError} NATIVE_LOAD, NATIVE_BUILD or NATIVE_ABI, with what
 * to do
 */
export function loadNative(): NativeSymbols {
  if (loaded) return loaded;
  const { path, origin } = locateLibrary(currentSearch());
  loaded = open(path, origin);
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

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}
