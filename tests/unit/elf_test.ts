import assert from "node:assert/strict";
import { libraryProblem } from "../../ffi/library/elf.ts";

const X86_64 = 62, AARCH64 = 183;

/** A minimal ELF64 file: header, .dynstr, .dynsym, .rela.dyn, sections. */
function elf(o: {
  machine?: number;
  type?: number;
  imports?: string[];
  defines?: string[];
  relocs?: number[];
}): Uint8Array {
  const names = [...(o.imports ?? []), ...(o.defines ?? [])];
  const strtab = new TextEncoder().encode(`\0${names.join("\0")}\0`);
  const syms = new DataView(new ArrayBuffer(24 * (names.length + 1)));
  let name = 1;
  names.forEach((n, i) => {
    syms.setUint32(24 * (i + 1), name, true);
    syms.setUint16(
      24 * (i + 1) + 6,
      i < (o.imports ?? []).length ? 0 : 12,
      true,
    );
    name += n.length + 1;
  });
  const rela = new DataView(new ArrayBuffer(24 * (o.relocs ?? []).length));
  (o.relocs ?? []).forEach((t, i) => rela.setUint32(24 * i + 8, t, true));
  const parts = [
    strtab,
    new Uint8Array(syms.buffer),
    new Uint8Array(rela.buffer),
  ];
  const offsets: number[] = [];
  let at = 64;
  for (const p of parts) {
    offsets.push(at);
    at += p.length;
  }
  const out = new Uint8Array(at + 64 * 4);
  const v = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  v.setUint16(16, o.type ?? 3, true);
  v.setUint16(18, o.machine ?? X86_64, true);
  v.setBigUint64(0x28, BigInt(at), true);
  v.setUint16(0x3a, 64, true);
  v.setUint16(0x3c, 4, true);
  parts.forEach((p, i) => out.set(p, offsets[i]!));
  const section = (i: number, type: number, link: number, entsize: number) => {
    const h = at + 64 * i;
    v.setUint32(h + 4, type, true);
    v.setBigUint64(h + 24, BigInt(offsets[i - 1]!), true);
    v.setBigUint64(h + 32, BigInt(parts[i - 1]!.length), true);
    v.setUint32(h + 40, link, true);
    v.setBigUint64(h + 56, BigInt(entsize), true);
  };
  section(1, 3, 0, 0); // .dynstr
  section(2, 11, 1, 24); // .dynsym
  section(3, 4, 2, 24); // .rela.dyn
  return out;
}

const STACK =
  "(the stack protector); build with -fno-stack-protector after any -fstack-protector flag";
const TLS =
  "(thread-local storage); use no __thread or _Thread_local variable in c/";

Deno.test("libraryProblem() accepts a clean library", () => {
  const clean = elf({
    imports: ["memcpy", "clone", "__cxa_finalize", "_ITM_registerTMCloneTable"],
    defines: ["uns_spawn"],
    relocs: [6, 7, 8],
  });
  assert.equal(libraryProblem(clean, "x86_64"), undefined);
  assert.equal(
    libraryProblem(elf({ machine: AARCH64, relocs: [1025, 1026] }), "aarch64"),
    undefined,
  );
});

Deno.test("libraryProblem() names what a raw-cloned child cannot run, and refuses any import not in the allow-list", async (t) => {
  const cases: [string, Uint8Array, string, string][] = [
    [
      "__stack_chk_fail",
      elf({ imports: ["__stack_chk_fail"] }),
      "x86_64",
      `imports __stack_chk_fail ${STACK}`,
    ],
    [
      "__stack_chk_guard",
      elf({ machine: AARCH64, imports: ["__stack_chk_guard"] }),
      "aarch64",
      `imports __stack_chk_guard ${STACK}`,
    ],
    [
      "__tls_get_addr",
      elf({ imports: ["__tls_get_addr"] }),
      "x86_64",
      `imports __tls_get_addr ${TLS}`,
    ],
    [
      "R_X86_64_TPOFF64",
      elf({ relocs: [7, 18] }),
      "x86_64",
      `has the relocation R_X86_64_TPOFF64 ${TLS}`,
    ],
    [
      "R_X86_64_DTPMOD64",
      elf({ relocs: [16] }),
      "x86_64",
      `has the relocation R_X86_64_DTPMOD64 ${TLS}`,
    ],
    [
      "R_X86_64_DTPOFF64",
      elf({ relocs: [17] }),
      "x86_64",
      `has the relocation R_X86_64_DTPOFF64 ${TLS}`,
    ],
    [
      "R_X86_64_TLSDESC",
      elf({ relocs: [36] }),
      "x86_64",
      `has the relocation R_X86_64_TLSDESC ${TLS}`,
    ],
    [
      "R_AARCH64_TLS_TPREL",
      elf({ machine: AARCH64, relocs: [1030] }),
      "aarch64",
      `has the relocation R_AARCH64_TLS_TPREL ${TLS}`,
    ],
    [
      "R_AARCH64_TLSDESC",
      elf({ machine: AARCH64, relocs: [1031] }),
      "aarch64",
      `has the relocation R_AARCH64_TLSDESC ${TLS}`,
    ],
  ];
  for (const [name, file, arch, want] of cases) {
    await t.step(name, () => assert.equal(libraryProblem(file, arch), want));
  }
  const refused: [string, string][] = [
    ["mcount", "(profiling); build without -pg and -finstrument-functions"],
    ["_mcount", "(profiling); build without -pg and -finstrument-functions"],
    ["__fentry__", "(profiling); build without -pg and -finstrument-functions"],
    [
      "__cyg_profile_func_enter",
      "(profiling); build without -pg and -finstrument-functions",
    ],
    [
      "__snprintf_chk",
      "(_FORTIFY_SOURCE); build with -U_FORTIFY_SOURCE after any -D_FORTIFY_SOURCE flag",
    ],
    [
      "__memcpy_chk",
      "(_FORTIFY_SOURCE); build with -U_FORTIFY_SOURCE after any -D_FORTIFY_SOURCE flag",
    ],
    ["__asan_init", "(a sanitizer); build without -fsanitize"],
    ["__ubsan_handle_add_overflow", "(a sanitizer); build without -fsanitize"],
    [
      "getenv",
      ", which c/ does not call (ffi/library/elf.ts ALLOWED_IMPORTS); build without the flag that brings it in, or add a new libc call of the parent's side there",
    ],
  ];
  for (const [name, why] of refused) {
    await t.step(`${name}: not in the allow-list`, () =>
      assert.equal(
        libraryProblem(elf({ imports: ["memcpy", name, "clone"] }), "x86_64"),
        `imports ${name}${why.startsWith(",") ? "" : " "}${why}`,
      ));
  }
  await t.step("the most telling import is named first", () => {
    assert.equal(
      libraryProblem(
        elf({ imports: ["getenv", "__read_chk", "__stack_chk_fail"] }),
        "x86_64",
      ),
      `imports __stack_chk_fail ${STACK}`,
    );
  });
  await t.step("a symbol defined in the library is not an import", () => {
    assert.equal(
      libraryProblem(elf({ defines: ["__stack_chk_fail"] }), "x86_64"),
      undefined,
    );
  });
});

Deno.test("libraryProblem() refuses a file that is not a library for this machine", async (t) => {
  const cases: [string, Uint8Array, string][] = [
    [
      "not ELF",
      new TextEncoder().encode("#!/bin/sh\n".padEnd(64)),
      "is not an ELF file; check the compiler (CC)",
    ],
    ["empty", new Uint8Array(), "is not an ELF file; check the compiler (CC)"],
    [
      "32-bit",
      (() => {
        const f = elf({});
        f[4] = 1;
        return f;
      })(),
      "is not a 64-bit little-endian ELF file; check the compiler (CC)",
    ],
    [
      "big-endian",
      (() => {
        const f = elf({});
        f[5] = 2;
        return f;
      })(),
      "is not a 64-bit little-endian ELF file; check the compiler (CC)",
    ],
    [
      "another machine",
      elf({ machine: AARCH64 }),
      "is built for aarch64, not x86_64; use a compiler for x86_64",
    ],
    [
      "an unknown machine",
      elf({ machine: 999 }),
      "is built for machine 999, not x86_64; use a compiler for x86_64",
    ],
    [
      "an executable",
      elf({ type: 2 }),
      "is not a shared library (ET_DYN); build it with -shared",
    ],
    [
      "truncated",
      elf({ imports: ["memcpy"] }).subarray(0, 100),
      "is a truncated or malformed ELF file; build it again",
    ],
  ];
  for (const [name, file, want] of cases) {
    await t.step(
      name,
      () => assert.equal(libraryProblem(file, "x86_64"), want),
    );
  }
});
