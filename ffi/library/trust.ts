/**
 * The rules the library cache applies, as pure functions: where the cache
 * is, and which directories and files on the way to it can be trusted (the
 * rules of ssh's StrictModes).
 *
 * @module
 */
import { NativeError } from "../../lib/errors/errors.ts";
import { S } from "../libc.ts";

/** Owner and mode of a file, as `statx(2)` gives them. */
export interface Owned {
  /** Owner uid. */
  uid: number;
  /** Type and permission bits. */
  mode: number;
}

/**
 * Why a directory on the path to the cache cannot be trusted, or undefined
 * when it can: it must be owned by the caller or root and writable by
 * nobody else; a root-owned sticky directory (`/tmp`) is allowed, since no
 * one can rename or remove what another user made in it. The cache
 * directory itself (`leaf`) must be the caller's.
 *
 * @param st the directory's owner and mode
 * @param me the caller's uid
 * @param leaf true for the cache directory itself
 * @returns a reason such as `is writable by others (mode 777)`, or undefined
 */
export function dirProblem(
  st: Owned,
  me: number,
  leaf = false,
): string | undefined {
  const perm = st.mode & 0o7777;
  if (leaf && st.uid !== me) {
    return `is owned by uid ${st.uid}, not by you (uid ${me})`;
  }
  if (st.uid !== me && st.uid !== 0) {
    return `is owned by uid ${st.uid}, neither by you (uid ${me}) nor by root`;
  }
  if ((perm & 0o022) === 0) return undefined;
  if (!leaf && st.uid === 0 && (perm & 0o1000) !== 0) return undefined;
  return writable(perm);
}

function writable(perm: number): string {
  const who = perm & 0o002 ? "others" : "group";
  return `is writable by ${who} (mode ${perm.toString(8)})`;
}

/**
 * Why a file in the cache cannot be used, or undefined when it can: a
 * regular file of the caller's that no one else can write, and for a
 * library one the caller can execute (the library runs its own file as a
 * small init process).
 *
 * @param st the file's type, owner and mode
 * @param me the caller's uid
 * @param executable true for a library
 * @returns the reason, or undefined
 */
export function fileProblem(
  st: Owned,
  me: number,
  executable: boolean,
): string | undefined {
  const perm = st.mode & 0o7777;
  if ((st.mode & S.IFMT) !== S.IFREG) return "is not a regular file";
  if (st.uid !== me) return `is owned by uid ${st.uid}, not by you (uid ${me})`;
  if ((perm & 0o022) !== 0) return writable(perm);
  if (executable && (perm & 0o100) === 0) {
    return `is not executable (mode ${perm.toString(8)})`;
  }
  return undefined;
}

/**
 * Why the file `USERNS_LIBRARY` names cannot be used, or undefined when it
 * can: a regular file of the caller's or root's that no one else can
 * write. (Unlike a cached file, it may be root's: a system-wide install.)
 *
 * @param st the file's type, owner and mode
 * @param me the caller's uid
 * @returns the reason, or undefined
 */
export function explicitFileProblem(
  st: Owned,
  me: number,
): string | undefined {
  const perm = st.mode & 0o7777;
  if ((st.mode & S.IFMT) !== S.IFREG) return "is not a regular file";
  if (st.uid !== me && st.uid !== 0) {
    return `is owned by uid ${st.uid}, neither by you (uid ${me}) nor by root`;
  }
  if ((perm & 0o022) !== 0) return writable(perm);
  return undefined;
}

/**
 * The cache directory by the XDG Base Directory rules:
 * `$XDG_CACHE_HOME/userns` when that is an absolute path (a relative one is
 * ignored), else `$HOME/.cache/userns`.
 *
 * @param env the two variables; unset or unreadable ones are absent
 * @returns the cache directory's path
 * @throws {NativeError} NATIVE_LOAD when neither gives an absolute path
 */
export function cachePathFor(
  env: { XDG_CACHE_HOME?: string; HOME?: string },
): string {
  const xdg = env.XDG_CACHE_HOME ?? "";
  if (xdg.startsWith("/")) return `${xdg}/userns`;
  const home = env.HOME ?? "";
  if (home.startsWith("/")) return `${home}/.cache/userns`;
  throw new NativeError(
    "NATIVE_LOAD",
    `cannot find the library cache: HOME is ${
      home ? `not an absolute path ("${home}")` : "not set"
    } and XDG_CACHE_HOME is ${xdg ? `relative ("${xdg}")` : "not set"}`,
    {
      hint:
        "set HOME or XDG_CACHE_HOME to an absolute directory (and allow deno to read them with --allow-env), or USERNS_LIBRARY to a built libuserns.so",
    },
  );
}
