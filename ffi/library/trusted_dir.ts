/**
 * Opens the cache directory so that what is checked is what is used: its
 * path is walked from `/` one component at a time, each directory opened
 * relative to the one before with `O_PATH|O_NOFOLLOW` and checked through
 * its own fd. No later lookup of the path can be raced, because nothing
 * later looks the path up.
 *
 * @module
 */
import { Errno, errnoName } from "../../lib/errors/errno.ts";
import { NativeError } from "../../lib/errors/errors.ts";
import {
  AT,
  closeFd,
  type FileStat,
  fstat,
  getuid,
  mkdirAt,
  O,
  openAt,
  readLink,
  S,
} from "../libc.ts";
import { dirProblem } from "./trust.ts";

/** As the kernel's limit on links followed in one lookup. */
const MAX_LINKS = 40;

interface Dir {
  fd: number;
  path: string;
  st: FileStat;
}

/**
 * What a trusted directory is for: the words of its refusals, and whether
 * the last directory must be the caller's own.
 */
export interface DirUse {
  /** What cannot be used, for messages: `the library cache`. */
  what: string;
  /** The last directory must be the caller's (else the caller's or root's). */
  mine: boolean;
  /** The fix for a directory others may write. */
  fix: string;
  /** The way out when a directory cannot be used at all. */
  elsewhere: string;
}

/** The library cache: its directory must be the caller's. */
export const CACHE_DIR: DirUse = {
  what: "the library cache",
  mine: true,
  fix:
    "have its owner make it writable by no one else (chmod go-w), or set XDG_CACHE_HOME to a directory that only you and root can write",
  elsewhere:
    "set XDG_CACHE_HOME to a directory of yours, or USERNS_LIBRARY to a built libuserns.so",
};

/**
 * Opens the directory `path`, checking every directory on the way with
 * {@link dirProblem}. A symbolic link is followed only after the directory
 * holding it passed, so that no one but its owner or root can have put it
 * there; the path named in an error is the one really walked.
 *
 * @param path an absolute path
 * @param create make missing directories (mode 700) instead of stopping
 * @param use what the directory is for @default {CACHE_DIR}
 * @returns an `O_PATH` fd of the directory (the caller closes it), or
 * undefined when a component is missing and `create` is false
 * @throws {NativeError} NATIVE_LOAD naming the directory that fails and why
 */
export function openTrustedDir(
  path: string,
  create: boolean,
  use: DirUse = CACHE_DIR,
): number | undefined {
  const me = getuid();
  const todo = parts(path);
  const dirs: Dir[] = [];
  try {
    dirs.push(describe(openAt(AT.FDCWD, "/", O.PATH | O.CLOEXEC), "/", use));
    for (let links = 0; todo.length > 0;) {
      const name = todo.shift()!;
      if (name === "..") {
        if (dirs.length > 1) closeFd(dirs.pop()!.fd);
        continue;
      }
      const at = dirs.at(-1)!;
      check(at, me, false, use); // before anything in it is used
      const where = `${at.path === "/" ? "" : at.path}/${name}`;
      const next = openChild(at.fd, name, where, create, use);
      if (!next) return undefined;
      if ((next.st.mode & S.IFMT) !== S.IFLNK) {
        dirs.push(next);
        continue;
      }
      const target = readLink(next.fd);
      closeFd(next.fd);
      if (typeof target === "number" || ++links > MAX_LINKS) {
        throw refusal(
          use,
          where,
          "is a symbolic link that cannot be followed (unreadable, or a loop)",
          use.elsewhere,
        );
      }
      if (target.startsWith("/")) {
        while (dirs.length > 1) closeFd(dirs.pop()!.fd);
      }
      todo.unshift(...parts(target));
    }
    check(dirs.at(-1)!, me, use.mine, use);
    return dirs.pop()!.fd;
  } finally {
    for (const d of dirs) closeFd(d.fd);
  }
}

function parts(path: string): string[] {
  return path.split("/").filter((p) => p !== "" && p !== ".");
}

/** Opens `name` in `dir` without following it, creating it if asked. */
function openChild(
  dir: number,
  name: string,
  where: string,
  create: boolean,
  use: DirUse,
): Dir | undefined {
  const flags = O.PATH | O.NOFOLLOW | O.CLOEXEC;
  let fd = openAt(dir, name, flags);
  if (fd === -Errno.ENOENT && create) {
    const rc = mkdirAt(dir, name, 0o700);
    if (rc < 0 && rc !== -Errno.EEXIST) {
      throw refusal(
        use,
        where,
        `cannot be created (${errnoName(-rc)})`,
        use.elsewhere,
      );
    }
    fd = openAt(dir, name, flags); // ours, or a concurrent run's: checked next
  }
  return fd === -Errno.ENOENT ? undefined : describe(fd, where, use);
}

/** The fd `fd` (or `-errno`) of the directory entry `where`, with its stat. */
function describe(fd: number, where: string, use: DirUse): Dir {
  if (fd < 0) {
    throw refusal(
      use,
      where,
      `cannot be opened (${errnoName(-fd)})`,
      use.elsewhere,
    );
  }
  const st = fstat(fd);
  if (typeof st === "number") {
    closeFd(fd);
    throw refusal(
      use,
      where,
      `cannot be examined (${errnoName(-st)})`,
      use.elsewhere,
    );
  }
  return { fd, path: where, st };
}

function check(d: Dir, me: number, leaf: boolean, use: DirUse): void {
  if ((d.st.mode & S.IFMT) !== S.IFDIR) {
    throw refusal(use, d.path, "is not a directory", use.elsewhere);
  }
  const problem = dirProblem(d.st, me, leaf);
  if (problem) throw refusal(use, d.path, problem, use.fix);
}

function refusal(
  use: DirUse,
  where: string,
  why: string,
  hint: string,
): NativeError {
  return new NativeError(
    "NATIVE_LOAD",
    `cannot use ${use.what}: ${where} ${why}`,
    { hint },
  );
}
