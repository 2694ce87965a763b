/**
 * Files that userns writes where someone else may have put something
 * first: the `--pid-file` (often in a shared directory such as /tmp) and
 * the pod records. Nothing here follows a link or writes into a file that
 * was already there:
 *
 * - a file is written as a new temporary with an unpredictable name in its
 *   final directory, created with `O_CREAT|O_EXCL|O_NOFOLLOW` (which fails
 *   on any existing name, a planted link included), then renamed into place:
 *   `rename(2)` replaces a link at the final name, never what it points at;
 * - it is removed later only while the name still holds that very file
 *   (device and inode), so a file someone else put there meanwhile stays.
 *
 * A file is created, renamed and removed relative to its directory's fd,
 * opened once, so the directory looked at is the one written to. (Reading
 * such files: safe_read.ts.)
 *
 * @module
 */
import { Errno, errnoName } from "../errors/errno.ts";
import {
  AT,
  closeFd,
  type FileStat,
  fstat,
  getuid,
  O,
  openAt,
  renameAt,
  statAt,
  unlinkAt,
  writeAll,
} from "../../ffi/libc.ts";

/**
 * A system call on a file failed: `code` is its errno name (`"ENOENT"`), as
 * on the runtime's own file errors; the callers wrap it in their error.
 */
export class FileCallError extends Error {
  override name = "FileCallError";
  /** The errno name. */
  readonly code: string;

  /**
   * @param rc the call's `-errno`
   */
  constructor(rc: number) {
    const code = errnoName(-rc);
    super(code);
    this.code = code;
  }
}

/**
 * `rc` when it is not negative, else a {@link FileCallError}.
 *
 * @param rc what a call of ffi/libc.ts returned
 * @returns `rc`
 * @throws {FileCallError} for a negative one
 */
export function ok(rc: number): number {
  if (rc < 0) throw new FileCallError(rc);
  return rc;
}

function same(a: FileStat, b: FileStat): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

function split(path: string): [string, string] {
  const i = path.lastIndexOf("/");
  if (i < 0) return [".", path];
  return [i === 0 ? "/" : path.slice(0, i), path.slice(i + 1)];
}

/**
 * A file being written: a new temporary beside its final name until
 * {@link StagedFile.commit} renames it into place.
 *
 * @example Usage
 * ```ts ignore
 * const f = StagedFile.create("/tmp/run.pid", 0o644);
 * f.write("1234\n");
 * f.commit();
 * // ... later
 * f.removeIfOurs();
 * ```
 */
export class StagedFile {
  readonly #dir: number;
  readonly #name: string;
  readonly #tmp: string;
  #fd: number;
  readonly #id: FileStat;
  #committed = false;

  private constructor(
    dir: number,
    name: string,
    tmp: string,
    fd: number,
    id: FileStat,
  ) {
    this.#dir = dir;
    this.#name = name;
    this.#tmp = tmp;
    this.#fd = fd;
    this.#id = id;
  }

  /**
   * Creates the temporary for `path` in its directory.
   *
   * @param path the final name
   * @param mode the new file's permission bits (less the umask)
   * @returns the staged file
   * @throws {FileCallError} when the directory cannot be opened or the
   * file cannot be created there
   */
  static create(path: string, mode: number): StagedFile {
    const [dirPath, name] = split(path);
    if (name === "" || name === "." || name === "..") {
      throw new FileCallError(-Errno.EISDIR); // names a directory, not a file
    }
    const dir = ok(
      openAt(AT.FDCWD, dirPath, O.PATH | O.DIRECTORY | O.CLOEXEC),
    );
    const tmp = `.${name}.${crypto.randomUUID()}.tmp`;
    let fd = -1;
    try {
      fd = ok(openAt(
        dir,
        tmp,
        O.WRONLY | O.CREAT | O.EXCL | O.NOFOLLOW | O.CLOEXEC,
        mode,
      ));
      const id = fstat(fd);
      if (typeof id === "number") throw new FileCallError(id);
      return new StagedFile(dir, name, tmp, fd, id);
    } catch (e) {
      if (fd >= 0) {
        closeFd(fd);
        unlinkAt(dir, tmp);
      }
      closeFd(dir);
      throw e;
    }
  }

  /**
   * Whether {@link StagedFile.commit} may replace what is at the final
   * name: not when it is another user's file in a sticky directory that is
   * not the caller's either (only its owner, the directory's or root may
   * replace it, and the rename fails with EPERM). Asked early, so that a
   * caller can fail before it relies on the commit; the rename stays the
   * check that counts.
   *
   * @returns false when the rename would fail for that reason
   */
  replaceable(): boolean {
    const me = getuid();
    if (me === 0) return true; // CAP_FOWNER
    const dir = fstat(this.#dir);
    if (typeof dir === "number" || dir.uid === me) return true;
    if ((dir.mode & 0o1000) === 0) return true;
    const st = statAt(this.#dir, this.#name);
    return typeof st === "number" || st.uid === me;
  }

  /**
   * Writes `text` to the temporary.
   *
   * @param text what to write
   * @throws {FileCallError} when it cannot be written (a full disk)
   */
  write(text: string): void {
    ok(writeAll(this.#fd, new TextEncoder().encode(text)));
  }

  /**
   * Renames the temporary to the final name, replacing whatever is there
   * (a link itself, not what it points at), or, unless `replace`, failing
   * with EEXIST when anything is.
   *
   * @param replace replace an existing final name @default {true}
   * @throws {FileCallError} when it cannot be renamed
   */
  commit(replace = true): void {
    closeFd(this.#fd);
    this.#fd = -1;
    ok(renameAt(this.#dir, this.#tmp, this.#name, replace));
    this.#committed = true;
  }

  /**
   * Removes the file where it is now (the temporary, or the final name
   * once committed) if that name still holds this very file, then closes
   * the directory. Never throws: what cannot be removed stays.
   */
  removeIfOurs(): void {
    closeFd(this.#fd);
    this.#fd = -1;
    const name = this.#committed ? this.#name : this.#tmp;
    const st = statAt(this.#dir, name);
    if (typeof st !== "number" && same(st, this.#id)) {
      unlinkAt(this.#dir, name);
    }
    this.close();
  }

  /** Closes the directory (and the temporary, if still open). */
  close(): void {
    closeFd(this.#fd);
    this.#fd = -1;
    closeFd(this.#dir);
  }
}

/**
 * Writes `text` to `path` as a new file renamed into place, so that a
 * reader sees the old content or the new, never half of it.
 *
 * @param path the final name
 * @param text the content
 * @param mode the new file's permission bits (less the umask)
 * @param replace replace an existing final name; else fail with EEXIST
 * @throws {FileCallError} when it cannot be written (nothing is left then)
 */
export function writeNewFile(
  path: string,
  text: string,
  mode: number,
  replace: boolean,
): void {
  const f = StagedFile.create(path, mode);
  try {
    f.write(text);
    f.commit(replace);
    f.close();
  } catch (e) {
    f.removeIfOurs();
    throw e;
  }
}
