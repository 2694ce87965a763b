/**
 * Finds and opens the native library, once, in this order:
 * `USERNS_LIBRARY`; a prebuilt `build/libuserns.so` next to the module; the
 * one embedded in a compiled binary (the same file, inside the binary, which
 * dlopen cannot open: it is extracted to the cache); else one built from the
 * module's own sources into the user's cache, keyed by their hash. The
 * prebuilt file is a trusted location, loaded by path; `USERNS_LIBRARY` is
 * checked as the cache is (library/explicit.ts), and it and a cached
 * library are verified through an open fd and loaded through that fd,
 * which stays open.
 *
 * @module
 */
import { NativeError } from "../lib/errors/errors.ts";
import { ABI_VERSION } from "./abi.ts";
import { envOr } from "./library/compiler.ts";
import {
  buildInCache,
  type CachedLibrary,
  cachePath,
  extractLibrary,
} from "./library/cache.ts";
import { openExplicitLibrary } from "./library/explicit.ts";
import { closeFd } from "./libc.ts";
import { SOURCES } from "./library/source.ts";
import { type NativeSymbols, symbols } from "./symbols.ts";

let loaded: NativeSymbols | undefined;
let loadedFd: number | undefined;

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

/** The library to open, as {@link locateLibrary} found it. */
export interface LocatedLibrary {
  /** What to dlopen: a trusted path, or `/proc/self/fd/<fd>`. */
  path: string;
  /** Where it came from, for messages: the file and how it got there. */
  origin: string;
  /** For a cached library or `USERNS_LIBRARY`, the open fd that was
   * verified. */
  fd?: number;
}

/**
 * This process's search: its environment, whether it is compiled, and the
 * module's own location.
 *
 * @returns the search
 */
export function currentSearch(): LibrarySearch {
  // Relative to this module, which sits one level down as the CLI's bundle
  // (build/cli.js) does: the same path holds for the sources and the bundle.
  const url = new URL("../build/libuserns.so", import.meta.url);
  return {
    explicit: envOr("USERNS_LIBRARY", ""),
    standalone: Deno.build.standalone,
    prebuilt: url.protocol === "file:" ? url.pathname : undefined,
    cache: () => cachePath(),
  };
}

/**
 * Decides which file to dlopen, extracting or building it when needed. A
 * cached library comes with its verified fd, which the caller closes when
 * it does not keep the library.
 *
 * @param s where to look
 * @returns what to open and where it came from
 * @throws {NativeError} NATIVE_BUILD, NATIVE_LOAD for an unsafe cache, or
 * PERMISSION when the cache must be written without --allow-write
 */
export function locateLibrary(s: LibrarySearch): LocatedLibrary {
  if (s.explicit) {
    const fd = openExplicitLibrary(s.explicit);
    return {
      path: `/proc/self/fd/${fd}`,
      origin: `${s.explicit} (USERNS_LIBRARY)`,
      fd,
    };
  }
  if (s.prebuilt && isFile(s.prebuilt)) {
    return s.standalone
      ? cached(
        extractLibrary(Deno.readFileSync(s.prebuilt), s.cache()),
        "embedded",
      )
      : { path: s.prebuilt, origin: `${s.prebuilt} (prebuilt)` };
  }
  return cached(buildInCache(SOURCES, s.cache()), "built from source");
}

function cached(lib: CachedLibrary, how: string): LocatedLibrary {
  return {
    path: `/proc/self/fd/${lib.fd}`,
    origin: `${lib.file} (${how})`,
    fd: lib.fd,
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
  const lib = locateLibrary(currentSearch());
  try {
    loaded = open(lib);
  } catch (e) {
    closeFd(lib.fd ?? -1);
    throw e;
  }
  loadedFd = lib.fd;
  return loaded;
}

/**
 * The open, verified file of the library {@link loadNative} loaded from the
 * cache or `USERNS_LIBRARY`, for running that file itself (`execveat`). It
 * stays open for the life of the process and is close-on-exec.
 *
 * @returns the fd, or undefined before loading and for a library loaded by
 * path (prebuilt)
 */
export function verifiedLibraryFd(): number | undefined {
  return loadedFd;
}

function open({ path, origin }: LocatedLibrary): NativeSymbols {
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
      `cannot load the native library ${origin}: ${
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
      `native library ${origin} has ABI ${version}, this module needs ${ABI_VERSION}`,
      { hint: "rebuild it with deno task build" },
    );
  }
  return lib.symbols;
}

/** Whether PATH is a file; a refused read permission is said, not taken
 * for "no file". */
function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch (e) {
    if (e instanceof Deno.errors.NotCapable) throw e;
    return false;
  }
}
