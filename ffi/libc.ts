/**
 * The few libc calls the library cache makes on file descriptors, so that a
 * path is looked up once and everything after works on what was found.
 * Opened on first use only: each symbol costs about 0.36 ms at start-up, and
 * a checkout that loads `build/libuserns.so` never needs them.
 *
 * Every wrapper returns what the call returns, or `-errno` on failure, as the
 * native library's own functions do.
 *
 * @module
 */

const aarch64 = Deno.build.arch === "aarch64";

/** `open(2)` flags (asm-generic values; arm64 has its own `O_DIRECTORY`
 * and `O_NOFOLLOW`). */
export const O = {
  RDONLY: 0,
  WRONLY: 1,
  CREAT: 0o100,
  EXCL: 0o200,
  NONBLOCK: 0o4000,
  DIRECTORY: aarch64 ? 0o40000 : 0o200000,
  NOFOLLOW: aarch64 ? 0o100000 : 0o400000,
  CLOEXEC: 0o2000000,
  PATH: 0o10000000,
} as const;

/** `AT_*` arguments of the `*at(2)` calls. */
export const AT = {
  FDCWD: -100,
  SYMLINK_NOFOLLOW: 0x100,
  REMOVEDIR: 0x200,
  EMPTY_PATH: 0x1000,
} as const;

/** File type bits of `st_mode`. */
export const S = {
  IFMT: 0o170000,
  IFIFO: 0o010000,
  IFCHR: 0o020000,
  IFDIR: 0o040000,
  IFBLK: 0o060000,
  IFREG: 0o100000,
  IFLNK: 0o120000,
  IFSOCK: 0o140000,
} as const;

const symbols = {
  /** int openat(int dirfd, const char *path, int flags, ...mode): the
   * variadic mode is passed as a fourth int, which is how x86_64 and
   * aarch64 Linux pass it too. */
  openat: { parameters: ["i32", "buffer", "i32", "u32"], result: "i32" },
  /** int statx(int dirfd, const char *path, int flags, unsigned mask,
   * struct statx *buf) */
  statx: {
    parameters: ["i32", "buffer", "i32", "u32", "buffer"],
    result: "i32",
  },
  /** ssize_t pread(int fd, void *buf, size_t count, off_t offset) */
  pread: { parameters: ["i32", "buffer", "usize", "i64"], result: "isize" },
  /** ssize_t write(int fd, const void *buf, size_t count) */
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  /** ssize_t readlinkat(int dirfd, const char *path, char *buf, size_t len) */
  readlinkat: {
    parameters: ["i32", "buffer", "buffer", "usize"],
    result: "isize",
  },
  /** int mkdirat(int dirfd, const char *path, mode_t mode) */
  mkdirat: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  /** int renameat2(int olddirfd, const char *old, int newdirfd, const char *new, unsigned int flags) */
  renameat2: {
    parameters: ["i32", "buffer", "i32", "buffer", "u32"],
    result: "i32",
  },
  /** int unlinkat(int dirfd, const char *path, int flags) */
  unlinkat: { parameters: ["i32", "buffer", "i32"], result: "i32" },
  /** int fchmod(int fd, mode_t mode) */
  fchmod: { parameters: ["i32", "u32"], result: "i32" },
  /** int close(int fd) */
  close: { parameters: ["i32"], result: "i32" },
  /** uid_t getuid(void) */
  getuid: { parameters: [], result: "u32" },
  /** int *__errno_location(void): read at once after a failed call, on the
   * same thread, before anything else can run */
  __errno_location: { parameters: [], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

type Libc = Deno.DynamicLibrary<typeof symbols>["symbols"];
let libc: Libc | undefined;

function lib(): Libc {
  libc ??= Deno.dlopen("libc.so.6", symbols).symbols;
  return libc;
}

const encoder = new TextEncoder();

/** A NUL-terminated copy of a path for C. */
function cstr(s: string): Uint8Array {
  return encoder.encode(`${s}\0`);
}

/** `rc` when it is not negative, else `-errno`. */
function check<T extends number | bigint>(rc: T): number {
  if (rc >= 0) return Number(rc);
  const at = lib().__errno_location();
  return at ? -new Deno.UnsafePointerView(at).getInt32() : -1;
}

/** What the callers need to know of a file, from `statx(2)`. */
export interface FileStat {
  /** Owner. */
  uid: number;
  /** Type and permission bits. */
  mode: number;
  /** Its device (major in the high 32 bits, minor in the low ones). */
  dev: bigint;
  /** Its inode number: with `dev`, which file it is. */
  ino: bigint;
}

/**
 * Opens `name` relative to the directory `dir` (or `AT.FDCWD`).
 *
 * @param dir a directory fd
 * @param name a name in it, or a path
 * @param flags `O.*` flags
 * @param mode the mode of a file that `O.CREAT` creates
 * @returns the fd, or `-errno`
 */
export function openAt(
  dir: number,
  name: string,
  flags: number,
  mode = 0,
): number {
  return check(lib().openat(dir, cstr(name), flags, mode));
}

/**
 * Describes the file an fd refers to (`O_PATH` fds included).
 *
 * @param fd an open fd
 * @returns its owner, mode and identity, or `-errno`
 */
export function fstat(fd: number): FileStat | number {
  return statAt(fd, "");
}

/**
 * Describes `name` in the directory `dir` without following it: a link is
 * described, not what it points at. With `name` "", the file `dir` itself.
 *
 * @param dir a directory fd, or `AT.FDCWD` (any fd, with `name` "")
 * @param name a name in it, or a path
 * @returns its owner, mode and identity, or `-errno`
 */
export function statAt(dir: number, name: string): FileStat | number {
  const buf = new Uint8Array(256);
  const rc = check(
    lib().statx(
      dir,
      cstr(name),
      (name === "" ? AT.EMPTY_PATH : 0) | AT.SYMLINK_NOFOLLOW,
      0x7ff, // STATX_BASIC_STATS
      buf,
    ),
  );
  if (rc < 0) return rc;
  const v = new DataView(buf.buffer); // struct statx, the same everywhere
  return {
    uid: v.getUint32(20, true),
    mode: v.getUint16(28, true),
    ino: v.getBigUint64(32, true),
    dev: (BigInt(v.getUint32(136, true)) << 32n) |
      BigInt(v.getUint32(140, true)),
  };
}

/**
 * Reads from `fd` at `offset`, leaving the file position alone.
 *
 * @param fd an fd open for reading
 * @param buf where to read to
 * @param offset where in the file
 * @returns the bytes read (0 at the end), or `-errno`
 */
export function pread(fd: number, buf: Uint8Array, offset: number): number {
  return check(lib().pread(fd, buf, BigInt(buf.length), BigInt(offset)));
}

/**
 * Reads a whole file through its fd.
 *
 * @param fd an fd open for reading
 * @returns the bytes, or undefined when a read fails
 */
export function readFd(fd: number): Uint8Array | undefined {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const chunk = new Uint8Array(1 << 16);
    const n = pread(fd, chunk, size);
    if (n < 0) return undefined;
    if (n === 0) break;
    chunks.push(chunk.subarray(0, n));
    size += n;
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  return all;
}

/**
 * Writes all of `data` to `fd`.
 *
 * @param fd an fd open for writing
 * @param data the bytes
 * @returns 0, or `-errno`
 */
export function writeAll(fd: number, data: Uint8Array): number {
  for (let done = 0; done < data.length;) {
    const rest = data.subarray(done);
    const n = check(lib().write(fd, rest, BigInt(rest.length)));
    if (n < 0) return n;
    done += n;
  }
  return 0;
}

/**
 * The target of the symbolic link that `fd` (opened `O_PATH|O_NOFOLLOW`)
 * refers to.
 *
 * @param fd the link's fd
 * @returns the target, or `-errno`
 */
export function readLink(fd: number): string | number {
  const buf = new Uint8Array(4096);
  const n = check(lib().readlinkat(fd, cstr(""), buf, BigInt(buf.length)));
  return n < 0 ? n : new TextDecoder().decode(buf.subarray(0, n));
}

/**
 * Creates the directory `name` in `dir`.
 *
 * @param dir a directory fd
 * @param name the new directory's name
 * @param mode its permission bits (less the umask)
 * @returns 0, or `-errno`
 */
export function mkdirAt(dir: number, name: string, mode: number): number {
  return check(lib().mkdirat(dir, cstr(name), mode));
}

/** renameat2() flag: fail with EEXIST rather than replace the target. */
const RENAME_NOREPLACE = 1;

/**
 * Renames `from` to `to`, both in the directory `dir`.
 *
 * @param dir a directory fd
 * @param from the old name
 * @param to the new name
 * @param replace replace an existing `to`; else fail with EEXIST @default {true}
 * @returns 0, or `-errno`
 */
export function renameAt(
  dir: number,
  from: string,
  to: string,
  replace = true,
): number {
  const flags = replace ? 0 : RENAME_NOREPLACE;
  return check(lib().renameat2(dir, cstr(from), dir, cstr(to), flags));
}

/**
 * Removes `name` from `dir`: a file, or with `AT.REMOVEDIR` an empty
 * directory.
 *
 * @param dir a directory fd
 * @param name the entry
 * @param flags 0 or `AT.REMOVEDIR`
 * @returns 0, or `-errno`
 */
export function unlinkAt(dir: number, name: string, flags = 0): number {
  return check(lib().unlinkat(dir, cstr(name), flags));
}

/**
 * Sets the permission bits of the file `fd` refers to, whatever the umask.
 *
 * @param fd an open fd (not `O_PATH`)
 * @param mode the permission bits
 * @returns 0, or `-errno`
 */
export function fchmod(fd: number, mode: number): number {
  return check(lib().fchmod(fd, mode));
}

/**
 * Closes an fd this module opened.
 *
 * @param fd the fd; a negative value (a failed open) is ignored
 */
export function closeFd(fd: number): void {
  if (fd >= 0) lib().close(fd);
}

/**
 * The real uid of this process.
 *
 * @returns the uid
 */
export function getuid(): number {
  return lib().getuid();
}
