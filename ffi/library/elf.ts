/**
 * A small ELF64 reader that checks a built library before it is used. The
 * child of `uns_spawn` runs on a raw clone of the calling thread: code that
 * reads thread-local storage there (a stack protector's canary at
 * `%fs:0x28`, `__stack_chk_fail` through the PLT, `__tls_get_addr`, TLS
 * relocations) reads the parent thread's and can crash the child. A
 * compiler's defaults can bring that back at any time (Ubuntu's gcc enables
 * `-fstack-protector-strong`), so the built file itself is checked.
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

/** Imports that mean the stack protector or dynamic TLS, with the fix. */
const IMPORTS: Record<string, string> = {
  __stack_chk_fail: STACK_PROTECTOR,
  __stack_chk_guard: STACK_PROTECTOR,
  __tls_get_addr: TLS,
};

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
 * must be an ELF64 little-endian shared object for `arch`, import neither
 * `__stack_chk_fail`, `__stack_chk_guard` nor `__tls_get_addr`, and carry no
 * TLS relocation.
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
  for (const s of all.filter((s) => s.type === SHT_DYNSYM)) {
    const strtab = all[s.link];
    if (!strtab) throw new RangeError("no string table");
    for (const at of entries(s, 24)) {
      if (v.getUint16(at + 6, true) !== 0) continue; // defined here
      const name = cString(v, strtab.offset + v.getUint32(at, true));
      const why = IMPORTS[name];
      if (why) return `imports ${name} ${why}`;
    }
  }
  return undefined;
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
