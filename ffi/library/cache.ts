/**
 * The user's private cache of native libraries: one extracted from a
 * compiled binary, or one built from source. Each library is a file named
 * by the SHA-256 of its bytes, found through a verified directory fd,
 * checked through its own fd (owner, mode, hash) every time, and loaded as
 * `/proc/self/fd/N`: exactly the bytes that were checked. A bad file is
 * replaced, never loaded; nothing is created when nothing needs creating.
 *
 * @module
 */
import { errnoName } from "../../lib/errors/errno.ts";
import { NativeError } from "../../lib/errors/errors.ts";
import { BUILT, CFLAGS, compileSources, envOr } from "./compiler.ts";
import { install, openChecked, openLibrary } from "./cache_file.ts";
import { sha256 } from "./hash.ts";
import { AT, closeFd, mkdirAt, O, openAt, readFd, unlinkAt } from "../libc.ts";
import { openTrustedDir } from "./trusted_dir.ts";
import { cachePathFor } from "./trust.ts";

/** A library in the cache, open and verified. */
export interface CachedLibrary {
  /** Its verified `O_RDONLY` fd: load `/proc/self/fd/<fd>`. */
  fd: number;
  /** Its path, for messages. */
  file: string;
}

/**
 * This process's cache directory, from `XDG_CACHE_HOME` or `HOME`; nothing
 * is created or checked here.
 *
 * @returns `<base>/userns`
 * @throws {NativeError} NATIVE_LOAD when neither variable is usable
 */
export function cachePath(): string {
  return cachePathFor({
    XDG_CACHE_HOME: envOr("XDG_CACHE_HOME", ""),
    HOME: envOr("HOME", ""),
  });
}

function libraryName(hash: string): string {
  return `libuserns-${hash.slice(0, 32)}.so`;
}

/**
 * The library embedded in a compiled binary, from the cache:
 * `libuserns-<sha256>.so`, written there first if no good copy is there.
 *
 * @param bytes the library
 * @param dir the cache directory
 * @returns the verified file
 * @throws {NativeError} NATIVE_LOAD for an unsafe or unwritable cache,
 * PERMISSION when it must be written and writing is not allowed
 */
export function extractLibrary(
  bytes: Uint8Array,
  dir: string = cachePath(),
): CachedLibrary {
  const hash = sha256(bytes);
  const name = libraryName(hash);
  return findOrFill(
    dir,
    (d) => found(d, dir, name, hash),
    (d, replace) => install(d, dir, name, bytes, 0o700, replace),
  );
}

/**
 * The library built from C sources, from the cache. The build is found by
 * the hash of the sources and {@link CFLAGS}: `libuserns-src-<key>.sha256`
 * holds the SHA-256 of the library built from them, which is then verified
 * as an extracted one is. A missing, truncated or replaced file is built
 * again.
 *
 * @param sources file name to text
 * @param dir the cache directory
 * @returns the verified file
 * @throws {NativeError} NATIVE_BUILD, or as {@link extractLibrary}
 */
export function buildInCache(
  sources: Readonly<Record<string, string>>,
  dir: string = cachePath(),
): CachedLibrary {
  const key = sha256(CFLAGS.join(" "), ...Object.entries(sources).flat());
  const ref = `libuserns-src-${key.slice(0, 32)}.sha256`;
  return findOrFill(
    dir,
    (d) => {
      const hash = readHash(d, ref);
      return hash ? found(d, dir, libraryName(hash), hash) : undefined;
    },
    (d, replace) => {
      const bytes = buildIn(d, dir, sources);
      const hash = sha256(bytes);
      install(d, dir, libraryName(hash), bytes, 0o700, replace);
      install(d, dir, ref, `${hash}\n`, 0o600, replace);
    },
  );
}

/** Finds a good library without creating anything, else fills the cache
 * and finds it again. A concurrent first use's file, once there, is kept
 * (so that the fds others opened on it stay good); only one that does not
 * verify (truncated, planted) is replaced. */
function findOrFill(
  dir: string,
  find: (d: number) => CachedLibrary | undefined,
  fill: (d: number, replace: boolean) => void,
): CachedLibrary {
  let d = openTrustedDir(dir, false);
  try {
    const good = d === undefined ? undefined : find(d);
    if (good) return good;
    mayWrite(dir);
    d ??= openTrustedDir(dir, true)!;
    fill(d, false);
    const kept = find(d);
    if (kept) return kept;
    fill(d, true);
    const made = find(d);
    if (made) return made;
    throw new NativeError(
      "NATIVE_LOAD",
      `cannot use the library cache ${dir}: the library just written there does not verify`,
      { hint: "check that nothing else writes there, and run again" },
    );
  } finally {
    if (d !== undefined) closeFd(d);
  }
}

/** The cache is written through libc, which Deno's permissions do not
 * see: ask for them as if it were not, so that no run without
 * `--allow-write` writes anything. */
function mayWrite(dir: string): void {
  const { state } = Deno.permissions.querySync({ name: "write", path: dir });
  if (state === "granted") return;
  throw new NativeError(
    "PERMISSION",
    `cannot fill the library cache ${dir}: writing is not permitted`,
    { hint: "run deno with --allow-write (needed once), or -A" },
  );
}

function found(
  d: number,
  dir: string,
  name: string,
  hash: string,
): CachedLibrary | undefined {
  const fd = openLibrary(d, name, hash);
  return fd === undefined ? undefined : { fd, file: `${dir}/${name}` };
}

/** The hash a `.sha256` file holds, if it is a good one. */
function readHash(d: number, name: string): string | undefined {
  const fd = openChecked(d, name, false);
  if (fd === undefined) return undefined;
  const bytes = readFd(fd);
  closeFd(fd);
  const text = bytes && new TextDecoder().decode(bytes);
  return text && /^[0-9a-f]{64}\n$/.test(text) ? text.slice(0, 64) : undefined;
}

/**
 * Compiles in a new private directory inside the verified cache directory:
 * the compiler is given it as `/proc/<pid>/fd/<fd>`, so neither the
 * sources, its temporary files nor its output are reached by a path that
 * someone else could change.
 */
function buildIn(
  d: number,
  dir: string,
  sources: Readonly<Record<string, string>>,
): Uint8Array {
  const name = `build-${Deno.pid}-${crypto.randomUUID()}`;
  const where = `${dir}/${name}`;
  const made = mkdirAt(d, name, 0o700);
  const b = made < 0 ? made : openAt(d, name, O.PATH | O.NOFOLLOW | O.CLOEXEC);
  if (b < 0) {
    throw new NativeError(
      "NATIVE_BUILD",
      `cannot build the native library: cannot make ${where}: ${errnoName(-b)}`,
      { hint: "free some space, or set XDG_CACHE_HOME" },
    );
  }
  const written = [BUILT];
  try {
    return compileSources(sources, {
      path: `/proc/${Deno.pid}/fd/${b}`,
      write: (file, text) => {
        written.push(file);
        install(b, where, file, text, 0o600);
      },
      read: (file) => {
        const fd = openChecked(b, file, false);
        const bytes = fd === undefined ? undefined : readFd(fd);
        closeFd(fd ?? -1);
        if (bytes) return bytes;
        throw new NativeError(
          "NATIVE_BUILD",
          `cannot build the native library: cannot read ${where}/${file}`,
          { hint: "check the compiler (CC)" },
        );
      },
    });
  } finally {
    for (const file of written) unlinkAt(b, file);
    closeFd(b);
    unlinkAt(d, name, AT.REMOVEDIR);
  }
}
