/**
 * The few libc calls the library cache makes on file descriptors, so that a
 * path is looked up once and everything after works on what was found.
 * Made as raw system calls through libc's `syscall`, opened on first use
 * only: each symbol bound costs about 0.36 ms at start-up, and a checkout
 * that loads `build/libuserns.so` never needs them.
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

/** System call numbers: aarch64 has the generic table, x86_64 its own. */
const NR = aarch64
  ? {
    openat: 56,
    statx: 291,
    pread64: 67,
    write: 64,
    readlinkat: 78,
    mkdirat: 34,
    renameat2: 276,
    unlinkat: 35,
    fchmod: 52,
    close: 57,
    getuid: 174,
  }
  : {
    openat: 257,
    statx: 332,
    pread64: 17,
    write: 1,
    readlinkat: 267,
    mkdirat: 258,
    renameat2: 316,
    unlinkat: 263,
    fchmod: 91,
    close: 3,
    getuid: 102,
  };

/** Two symbols, as each costs start-up time: `syscall(2)` with the widest
 * call (the number and six arguments; glibc's `syscall` reads them as
 * registers and the stack, as for any other function), and errno. */
const symbols = {
  /** long syscall(long number, ...) */
  syscall: {
    parameters: ["i64", "i64", "i64", "i64", "i64", "i64", "i64"],
    result: "i64",
  },
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

type Arg = number | bigint | Uint8Array;

/** The buffers of the call under way: held here, so that no collection can
 * free one while the kernel reads or writes it. */
const held: Arg[][] = [];

/**
 * Makes a system call: each buffer passed as its address.
 *
 * @returns its result when it is not negative, else `-errno`
 */
function sys(nr: number, ...args: Arg[]): number {
  held.push(args);
  const a = [0, 1, 2, 3, 4, 5].map((i) => {
    const x = args[i] ?? 0;
    return x instanceof Uint8Array
      ? BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(x)))
      : BigInt(x);
  });
  const rc = Number(
    lib().syscall(BigInt(nr), a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!),
  );
  const at = rc < 0 ? lib().__errno_location() : null;
  held.pop();
  if (rc >= 0) return rc;
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
  return sys(NR.openat, dir, cstr(name), flags, mode);
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
  const rc = sys(
    NR.statx,
    dir,
    cstr(name),
    (name === "" ? AT.EMPTY_PATH : 0) | AT.SYMLINK_NOFOLLOW,
    0x7ff, // STATX_BASIC_STATS
    buf,
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
  return sys(NR.pread64, fd, buf, buf.length, offset);
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
    const n = sys(NR.write, fd, rest, rest.length);
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
  const n = sys(NR.readlinkat, fd, cstr(""), buf, buf.length);
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
  return sys(NR.mkdirat, dir, cstr(name), mode);
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
  return sys(NR.renameat2, dir, cstr(from), dir, cstr(to), flags);
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
  return sys(NR.unlinkat, dir, cstr(name), flags);
}

/**
 * Sets the permission bits of the file `fd` refers to, whatever the umask.
 *
 * @param fd an open fd (not `O_PATH`)
 * @param mode the permission bits
 * @returns 0, or `-errno`
 */
export function fchmod(fd: number, mode: number): number {
  return sys(NR.fchmod, fd, mode);
}

/**
 * Closes an fd this module opened.
 *
 * @param fd the fd; a negative value (a failed open) is ignored
 */
export function closeFd(fd: number): void {
  if (fd >= 0) sys(NR.close, fd);
}

/**
 * The real uid of this process.
 *
 * @returns the uid
 */
export function getuid(): number {
  return sys(NR.getuid);
}
