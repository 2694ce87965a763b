/**
 * A small ELF64 reader that checks a built library before it is used. The
 * child of `uns_spawn` runs on a raw clone of the calling thread: code that
 * reads thread-local storage there (a stack protector's canary at
 * `%fs:0x28`, `__stack_chk_fail` through the PLT, `__tls_get_addr`, TLS
 * relocations) reads the parent thread's and can crash the child, and the
 * library executed as a program has no dynamic linker to call anything.
 * A compiler's defaults can bring that back at any time (Ubuntu's gcc
 * enables `-fstack-protector-strong` and `_FORTIFY_SOURCE`), so the built
 * file itself is checked: it may import only what the parent's side calls
 * ({@link ALLOWED_IMPORTS}), and carry no TLS relocation.
 *
 * @module
 */

const MACHINES: Record<number, string> = {
  3: "i386",
  40: "arm",
  62: "x86_64",
  183: "aarch64",
  243: "riscv64",
};

const STACK_PROTECTOR =
  "(the stack protector); build with -fno-stack-protector after any -fstack-protector flag";
const TLS =
  "(thread-local storage); use no __thread or _Thread_local variable in c/";

/**
 * What the library may import: the libc functions its parent's side calls
 * (c/fd.c, io.c, region.c, userns.c, helper.c, waiter.c), their names in
 * older glibc, and what the toolchain's own files refer to. Anything else
 * comes from a flag that changes the code (profiling, `_FORTIFY_SOURCE`,
 * a sanitizer) and may reach the child's side, which must call nothing
 * (tests/integration/native_test.ts). A new libc call in c/ goes here.
 */
export const ALLOWED_IMPORTS: ReadonlySet<string> = new Set([
  // libc, as the parent's side calls it
  "calloc",
  "clock_gettime",
  "clone",
  "close",
  "dladdr",
  "epoll_create1",
  "epoll_ctl",
  "epoll_wait",
  "fcntl",
  "free",
  "fstatat",
  "getegid",
  "geteuid",
  "getgid",
  "getrlimit",
  "getuid",
  "ioctl",
  "memcpy",
  "memfd_create",
  "memmove",
  "memset",
  "mmap",
  "mprotect",
  "munmap",
  "open",
  "pipe2",
  "poll",
  "pread",
  "pthread_cond_broadcast",
  "pthread_cond_destroy",
  "pthread_cond_init",
  "pthread_cond_timedwait",
  "pthread_cond_wait",
  "pthread_condattr_destroy",
  "pthread_condattr_init",
  "pthread_condattr_setclock",
  "pthread_create",
  "pthread_detach",
  "pthread_mutex_lock",
  "pthread_mutex_unlock",
  "pthread_sigmask",
  "read",
  "readlink",
  "realloc",
  "recv",
  "send",
  "shutdown",
  "sigfillset",
  "snprintf",
  "socketpair",
  "stat",
  "strchr",
  "strchrnul",
  "strlen",
  "strrchr",
  "strstr",
  "strtoll",
  "syscall",
  "timerfd_create",
  "timerfd_settime",
  "waitid",
  "write",
  "__errno_location",
  // stat() and fstatat() before glibc 2.33
  "__xstat",
  "__fxstatat",
  // the toolchain's: crtbegin/crtend (weak), libgcc's aarch64 atomics
  "__cxa_finalize",
  "__gmon_start__",
  "_ITM_deregisterTMCloneTable",
  "_ITM_registerTMCloneTable",
  "__getauxval",
]);

/** Imports refused with a reason and a fix, most telling first: an import
 * that matches none and is not allowed is refused with a general one. */
const REFUSED: [RegExp, string][] = [
  [/^__stack_chk_(fail|guard)$/, STACK_PROTECTOR],
  [/^__tls_get_addr$/, TLS],
  [
    /^(_?mcount|__fentry__|__cyg_profile_func_(enter|exit))$/,
    "(profiling); build without -pg and -finstrument-functions",
  ],
  [
    /^__\w+_chk$/,
    "(_FORTIFY_SOURCE); build with -U_FORTIFY_SOURCE after any -D_FORTIFY_SOURCE flag",
  ],
  [
    /^__(a|ub|t|m|l|hwa)san_/,
    "(a sanitizer); build without -fsanitize",
  ],
  [/^__gcov_/, "(coverage); build without --coverage"],
];

/** The TLS relocations a linked library can carry, by machine. */
const TLS_RELOCS: Record<string, Record<number, string>> = {
  x86_64: {
    16: "R_X86_64_DTPMOD64",
    17: "R_X86_64_DTPOFF64",
    18: "R_X86_64_TPOFF64",
    36: "R_X86_64_TLSDESC",
  },
  aarch64: {
    1028: "R_AARCH64_TLS_DTPMOD",
    1029: "R_AARCH64_TLS_DTPREL",
    1030: "R_AARCH64_TLS_TPREL",
    1031: "R_AARCH64_TLSDESC",
  },
};

/** The name of a TLS relocation type, or undefined for any other type. */
function tlsRelocation(arch: string, type: number): string | undefined {
  const named = TLS_RELOCS[arch]?.[type];
  if (named) return named;
  const other = arch === "x86_64"
    ? (type >= 19 && type <= 23) || type === 34 || type === 35
    : arch === "aarch64" && type >= 512 && type <= 573; // TLSGD..TLSLE
  return other ? `TLS relocation type ${type}` : undefined;
}

interface Section {
  type: number;
  offset: number;
  size: number;
  link: number;
  entsize: number;
}

/**
 * Why a built library cannot be used in this process, or undefined: it
 * must be an ELF64 little-endian shared object for `arch`, import nothing
 * but {@link ALLOWED_IMPORTS} (no `__stack_chk_fail`, `__tls_get_addr`,
 * `mcount`, `__*_chk`, ...), and carry no TLS relocation.
 *
 * @param bytes the file
 * @param arch the machine it must be for, as `Deno.build.arch`
 * @returns one line: what is wrong and what to change, or undefined
 */
export function libraryProblem(
  bytes: Uint8Array,
  arch: string = Deno.build.arch,
): string | undefined {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 64 || v.getUint32(0) !== 0x7f454c46) {
    return "is not an ELF file; check the compiler (CC)";
  }
  if (bytes[4] !== 2 || bytes[5] !== 1) {
    return "is not a 64-bit little-endian ELF file; check the compiler (CC)";
  }
  const machine = v.getUint16(18, true);
  const built = MACHINES[machine] ?? `machine ${machine}`;
  if (built !== arch) {
    return `is built for ${built}, not ${arch}; use a compiler for ${arch}`;
  }
  if (v.getUint16(16, true) !== 3) {
    return "is not a shared library (ET_DYN); build it with -shared";
  }
  try {
    const all = sections(v);
    return importProblem(v, all) ?? relocProblem(v, all, arch);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    return "is a truncated or malformed ELF file; build it again";
  }
}

function sections(v: DataView): Section[] {
  const off = Number(v.getBigUint64(0x28, true));
  const size = v.getUint16(0x3a, true);
  const count = v.getUint16(0x3c, true);
  if (count === 0) throw new RangeError("no section headers");
  return Array.from({ length: count }, (_, i) => {
    const at = off + i * size;
    return {
      type: v.getUint32(at + 4, true),
      offset: Number(v.getBigUint64(at + 24, true)),
      size: Number(v.getBigUint64(at + 32, true)),
      link: v.getUint32(at + 40, true),
      entsize: Number(v.getBigUint64(at + 56, true)),
    };
  });
}

function entries(s: Section, fallback: number): number[] {
  const step = s.entsize || fallback;
  return Array.from(
    { length: Math.floor(s.size / step) },
    (_, i) => s.offset + i * step,
  );
}

function importProblem(v: DataView, all: Section[]): string | undefined {
  const SHT_DYNSYM = 11;
  const imports: string[] = [];
  for (const s of all.filter((s) => s.type === SHT_DYNSYM)) {
    const strtab = all[s.link];
    if (!strtab) throw new RangeError("no string table");
    for (const at of entries(s, 24).slice(1)) { // entry 0 is no symbol
      if (v.getUint16(at + 6, true) !== 0) continue; // defined here
      imports.push(cString(v, strtab.offset + v.getUint32(at, true)));
    }
  }
  for (const [re, why] of REFUSED) {
    const name = imports.find((n) => re.test(n));
    if (name) return `imports ${name} ${why}`;
  }
  const name = imports.find((n) => !ALLOWED_IMPORTS.has(n));
  return name === undefined
    ? undefined
    : `imports ${name}, which c/ does not call (ffi/library/elf.ts ALLOWED_IMPORTS); build without the flag that brings it in, or add a new libc call of the parent's side there`;
}

function relocProblem(
  v: DataView,
  all: Section[],
  arch: string,
): string | undefined {
  const SHT_RELA = 4, SHT_REL = 9;
  for (
    const s of all.filter((s) => s.type === SHT_RELA || s.type === SHT_REL)
  ) {
    for (const at of entries(s, s.type === SHT_RELA ? 24 : 16)) {
      const name = tlsRelocation(arch, v.getUint32(at + 8, true)); // r_info low half
      if (name) return `has the relocation ${name} ${TLS}`;
    }
  }
  return undefined;
}

function cString(v: DataView, at: number): string {
  let end = at;
  while (v.getUint8(end) !== 0) end++;
  return new TextDecoder().decode(
    new Uint8Array(v.buffer, v.byteOffset + at, end - at),
  );
}
