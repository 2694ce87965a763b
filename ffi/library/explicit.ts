/**
 * `USERNS_LIBRARY`, checked as the cache is: the file must be owned by the
 * caller or root and writable by no one else, and every directory on its
 * path likewise (a root-owned sticky directory such as /tmp is allowed: no
 * one can replace what another user made in it). The file is opened once,
 * without following a link at its name, checked through that fd and loaded
 * through it (`/proc/self/fd/N`), so what was checked is what runs. A link
 * is followed only when the directory holding it passed.
 *
 * @module
 */
import { Errno, errnoName } from "../../lib/errors/errno.ts";
import { NativeError } from "../../lib/errors/errors.ts";
import { closeFd, fstat, getuid, O, openAt, readLink } from "../libc.ts";
import { explicitFileProblem } from "./trust.ts";
import { type DirUse, openTrustedDir } from "./trusted_dir.ts";

/** As the kernel's limit on links followed in one lookup. */
const MAX_LINKS = 40;

/** How to refuse `USERNS_LIBRARY=path`. */
function useOf(path: string): DirUse {
  return {
    what: `USERNS_LIBRARY ${path}`,
    mine: false,
    fix:
      "have its owner make it writable by no one else (chmod go-w), or set USERNS_LIBRARY to a copy in a directory that only you and root can write",
    elsewhere:
      "set USERNS_LIBRARY to a built libuserns.so in a directory of yours, or unset it",
  };
}

function refusal(path: string, why: string, hint: string): NativeError {
  return new NativeError(
    "NATIVE_LOAD",
    `cannot use USERNS_LIBRARY ${path}: ${why}`,
    { hint },
  );
}

/**
 * Opens the library `USERNS_LIBRARY` names, if it can be trusted.
 *
 * @param path the variable's value
 * @returns an `O_RDONLY` fd of the checked file: load `/proc/self/fd/<fd>`
 * @throws {NativeError} NATIVE_LOAD naming the file or directory that
 * cannot be trusted, why, and what to do
 */
export function openExplicitLibrary(path: string): number {
  if (!path.startsWith("/")) {
    throw refusal(
      path,
      "not an absolute path (a relative one would depend on the working directory)",
      "set it to the absolute path of a built libuserns.so",
    );
  }
  const use = useOf(path);
  let file = path;
  for (let links = 0;; links++) {
    const cut = file.lastIndexOf("/");
    const dirPath = file.slice(0, cut) || "/";
    const name = file.slice(cut + 1);
    const dir = openTrustedDir(dirPath, false, use);
    if (dir === undefined || name === "") {
      if (dir !== undefined) closeFd(dir);
      throw refusal(
        path,
        `${subject(path, file)} does not exist`,
        use.elsewhere,
      );
    }
    try {
      const fd = openAt(
        dir,
        name,
        O.RDONLY | O.NOFOLLOW | O.NONBLOCK | O.CLOEXEC,
      );
      if (fd >= 0) return checked(fd, path, file);
      // A link, in a directory that passed: where it leads is checked next.
      const target = fd === -Errno.ELOOP ? linkTarget(dir, name) : undefined;
      if (target === undefined || links >= MAX_LINKS) {
        const why = fd === -Errno.ENOENT
          ? "does not exist"
          : `cannot be opened (${
            fd === -Errno.ELOOP ? "a link loop" : errnoName(-fd)
          })`;
        throw refusal(path, `${subject(path, file)} ${why}`, use.elsewhere);
      }
      file = target.startsWith("/") ? target : `${dirPath}/${target}`;
    } finally {
      closeFd(dir);
    }
  }
}

/** `it` for the file named, else the file a link led to. */
function subject(path: string, file: string): string {
  return file === path ? "it" : file;
}

/** The target of the link `name` in `dir`, or undefined. */
function linkTarget(dir: number, name: string): string | undefined {
  const fd = openAt(dir, name, O.PATH | O.NOFOLLOW | O.CLOEXEC);
  if (fd < 0) return undefined;
  const target = readLink(fd);
  closeFd(fd);
  return typeof target === "number" ? undefined : target;
}

/** The fd of `file` once it passes {@link explicitFileProblem}. */
function checked(fd: number, path: string, file: string): number {
  const st = fstat(fd);
  const problem = typeof st === "number"
    ? "cannot be examined"
    : explicitFileProblem(st, getuid());
  if (problem === undefined) return fd;
  closeFd(fd);
  throw refusal(
    path,
    `${subject(path, file)} ${problem}`,
    "use a copy of your own that no one else can write (cp it, chmod go-w the copy, and set USERNS_LIBRARY to it)",
  );
}
