/**
 * The user's private cache of native libraries: one built from source, or
 * one extracted from a compiled binary, each named by a content hash.
 *
 * @module
 */
import { NativeError } from "../lib/errors.ts";
import { CFLAGS, compileSources, envOr } from "./build.ts";

/**
 * The cache directory, created private: ours, mode 700. One that another
 * user owns, or that others may write, is refused: a library loaded from it
 * runs with our privileges.
 *
 * @param base the cache base; default `$XDG_CACHE_HOME` or `~/.cache`
 * @returns the path of `<base>/userns`
 * @throws {NativeError} NATIVE_LOAD when the directory is not private
 */
export function cacheDir(base?: string): string {
  const root = base ??
    (envOr("XDG_CACHE_HOME", "") || `${envOr("HOME", "")}/.cache`);
  const dir = `${root}/userns`;
  Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = Deno.lstatSync(dir);
  const mode = (st.mode ?? 0) & 0o777;
  if (!st.isDirectory || st.uid !== Deno.uid() || (mode & 0o022) !== 0) {
    throw new NativeError(
      "NATIVE_LOAD",
      `cache directory ${dir} is not private (owner ${st.uid}, mode ${
        mode.toString(8)
      })`,
      {
        hint: "remove it or make it yours with mode 700, or set XDG_CACHE_HOME",
      },
    );
  }
  return dir;
}

interface Hash {
  update(data: string | Uint8Array): Hash;
  digest(encoding: "hex"): string;
}

/** node:crypto, loaded on first use: importing it at start-up costs the CLI
 * about 20 ms, and a checkout with build/ never hashes anything. */
function createHash(algorithm: "sha256"): Hash {
  const { process } = globalThis as unknown as {
    process: {
      getBuiltinModule(id: "node:crypto"): { createHash(a: string): Hash };
    };
  };
  return process.getBuiltinModule("node:crypto").createHash(algorithm);
}

function sha256(...parts: (string | Uint8Array)[]): string {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest("hex");
}

/** True when `path` holds exactly the bytes hashing to `hash`. */
function holds(path: string, hash: string): boolean {
  try {
    return sha256(Deno.readFileSync(path)) === hash;
  } catch {
    return false;
  }
}

/**
 * Writes the library bytes embedded in a compiled binary to the cache,
 * once: `libuserns-<sha256>.so`, written to a new file of our own (mode 600,
 * never an existing one) and renamed into place. A file already there is
 * used only when its bytes hash right; anything else is replaced.
 *
 * @param bytes the library
 * @param dir the cache directory
 * @returns the path to dlopen
 */
export function extractLibrary(
  bytes: Uint8Array,
  dir: string = cacheDir(),
): string {
  const hash = sha256(bytes);
  const path = `${dir}/libuserns-${hash.slice(0, 32)}.so`;
  if (holds(path, hash)) return path;
  const tmp = `${path}.${Deno.pid}.${crypto.randomUUID()}.tmp`;
  const file = Deno.openSync(tmp, {
    createNew: true,
    write: true,
    mode: 0o600,
  });
  try {
    file.writeSync(bytes); // a regular file takes it in one write
  } finally {
    file.close();
  }
  Deno.renameSync(tmp, path);
  return path;
}

/**
 * Builds the library from C sources into the cache, once, keyed by the
 * hash of the sources and the compiler flags.
 *
 * @param sources file name to text
 * @param dir the cache directory
 * @returns the path to dlopen
 */
export function buildInCache(
  sources: Readonly<Record<string, string>>,
  dir: string = cacheDir(),
): string {
  const key = sha256(CFLAGS.join(" "), ...Object.entries(sources).flat());
  const path = `${dir}/libuserns-src-${key.slice(0, 32)}.so`;
  try {
    if (Deno.statSync(path).isFile) return path;
  } catch {
    // not built yet
  }
  compileSources(sources, path);
  return path;
}
