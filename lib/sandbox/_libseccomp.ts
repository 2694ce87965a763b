/**
 * libseccomp through `Deno.dlopen`: its syscall tables (every architecture,
 * the socketcall/ipc multiplexers) and its BPF compiler turn a
 * {@link SeccompPlan} into the bytes of a `struct sock_filter[]`. Opened on
 * first use only: a spawn without a filter never loads it.
 *
 * @module
 */
import { errnoName } from "../errors/errno.ts";
import { permissionError, UsernsError } from "../errors/errors.ts";
import { profileError } from "./_profile.ts";
import type { PlanRule, SeccompPlan } from "./_types.ts";

const symbols = {
  /** scmp_filter_ctx seccomp_init(uint32_t def_action) */
  seccomp_init: { parameters: ["u32"], result: "pointer" },
  /** void seccomp_release(scmp_filter_ctx ctx) */
  seccomp_release: { parameters: ["pointer"], result: "void" },
  /** uint32_t seccomp_arch_resolve_name(const char *arch_name) */
  seccomp_arch_resolve_name: { parameters: ["buffer"], result: "u32" },
  /** int seccomp_arch_add(scmp_filter_ctx ctx, uint32_t arch_token) */
  seccomp_arch_add: { parameters: ["pointer", "u32"], result: "i32" },
  /** int seccomp_syscall_resolve_name(const char *name) */
  seccomp_syscall_resolve_name: { parameters: ["buffer"], result: "i32" },
  /** int seccomp_rule_add_array(scmp_filter_ctx ctx, uint32_t action,
   * int syscall, unsigned int arg_cnt,
   * const struct scmp_arg_cmp *arg_array) */
  seccomp_rule_add_array: {
    parameters: ["pointer", "u32", "i32", "u32", "buffer"],
    result: "i32",
  },
  /** int seccomp_attr_set(scmp_filter_ctx ctx,
   * enum scmp_filter_attr attr, uint32_t value) */
  seccomp_attr_set: { parameters: ["pointer", "i32", "u32"], result: "i32" },
  /** int seccomp_export_bpf(const scmp_filter_ctx ctx, int fd) */
  seccomp_export_bpf: { parameters: ["pointer", "i32"], result: "i32" },
  /** const struct scmp_version *seccomp_version(void) */
  seccomp_version: { parameters: [], result: "pointer" },
  // libc's, through the same handle: dlsym() on a handle searches the
  // library's dependencies too (dlsym(3)), whatever the libc is called.
  /** int memfd_create(const char *name, unsigned int flags) */
  memfd_create: { parameters: ["buffer", "u32"], result: "i32" },
  /** ssize_t pread(int fd, void *buf, size_t count, off_t offset) */
  pread: { parameters: ["i32", "buffer", "usize", "i64"], result: "isize" },
  /** int close(int fd) */
  close: { parameters: ["i32"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

type Lib = Deno.DynamicLibrary<typeof symbols>["symbols"];

/** The library's name for dlopen (the runtime package, not -dev). */
export const LIBSECCOMP = "libseccomp.so.2";
/** The kernel's limit on one filter (`BPF_MAXINSNS`). */
export const MAX_INSNS = 4096;
const SCMP_FLTATR_CTL_OPTIMIZE = 8;
const MFD_CLOEXEC = 1;
const EEXIST = 17;

let lib: Lib | undefined;

/**
 * libseccomp's functions, opened once.
 *
 * @returns the symbols
 * @throws {UsernsError} `NATIVE_LOAD` saying what to install, or
 *   `PERMISSION` without `--allow-ffi`
 */
export function libseccomp(): Lib {
  if (lib) return lib;
  try {
    return lib = Deno.dlopen(LIBSECCOMP, symbols).symbols;
  } catch (e) {
    const p = permissionError(e);
    if (p !== e) throw p;
    throw new UsernsError(
      "NATIVE_LOAD",
      `cannot load ${LIBSECCOMP} to compile the seccomp profile: ${
        (e as Error).message.split("\n")[0]
      }`,
      {
        hint: "install libseccomp2 (apt-get install libseccomp2; " +
          "dnf install libseccomp; apk add libseccomp), or use --seccomp none",
        cause: e,
      },
    );
  }
}

let version: string | undefined;

/**
 * The version of libseccomp, without loading all of it when it is not
 * loaded yet (a filter cached on disk needs only this).
 *
 * @returns `"2.5.4"`
 * @throws {UsernsError} as {@link libseccomp}
 */
export function libseccompVersion(): string {
  if (version) return version;
  const own = lib ? undefined : (() => {
    try {
      return Deno.dlopen(LIBSECCOMP, {
        seccomp_version: symbols.seccomp_version,
      });
    } catch {
      return undefined; // libseccomp() says why
    }
  })();
  try {
    const p = (own?.symbols ?? libseccomp()).seccomp_version();
    if (!p) return version = "unknown";
    const v = new Deno.UnsafePointerView(p); // static data of the library
    return version = `${v.getUint32(0)}.${v.getUint32(4)}.${v.getUint32(8)}`;
  } finally {
    own?.close(); // only once it is read
  }
}

const cstr = (s: string): Uint8Array<ArrayBuffer> =>
  new TextEncoder().encode(`${s}\0`);

/** The conditions as `struct scmp_arg_cmp[]`: u32 arg, u32 op, u64 a, b. */
function argArray(conds: PlanRule["conds"]): Uint8Array<ArrayBuffer> {
  const buf = new Uint8Array(Math.max(conds.length, 1) * 24);
  const v = new DataView(buf.buffer);
  conds.forEach((c, i) => {
    v.setUint32(i * 24, c.arg, true);
    v.setUint32(i * 24 + 4, c.op, true);
    v.setBigUint64(i * 24 + 8, c.a, true);
    v.setBigUint64(i * 24 + 16, c.b, true);
  });
  return buf;
}

function addRule(
  l: Lib,
  ctx: Deno.PointerObject,
  r: PlanRule,
  nr: number,
  src: string,
): void {
  const sets = r.split ? r.conds.map((c) => [c]) : [r.conds];
  for (const conds of sets) {
    const rc = l.seccomp_rule_add_array(
      ctx,
      r.action,
      nr,
      conds.length,
      argArray(conds),
    );
    if (rc < 0) {
      profileError(
        src,
        r.path,
        `libseccomp ${libseccompVersion()} refused the rule for "${r.name}": ${
          errnoName(-rc)
        }`,
      );
    }
  }
}

/** Writes the filter to a memfd and reads it back. */
function exportBpf(l: Lib, ctx: Deno.PointerObject, src: string): Uint8Array {
  const fd = l.memfd_create(cstr("userns-seccomp"), MFD_CLOEXEC);
  if (fd < 0) throw new UsernsError("SETUP", "memfd_create failed");
  try {
    const rc = l.seccomp_export_bpf(ctx, fd);
    if (rc < 0) {
      throw new UsernsError(
        "SETUP",
        `seccomp_export_bpf failed: ${errnoName(-rc)}`,
      );
    }
    const buf = new Uint8Array((MAX_INSNS + 1) * 8);
    const n = Number(l.pread(fd, buf, BigInt(buf.length), 0n));
    if (n < 0) throw new UsernsError("SETUP", "reading the filter failed");
    if (n > MAX_INSNS * 8) {
      profileError(
        src,
        "",
        `the filter is longer than the kernel takes (${MAX_INSNS} instructions)`,
        "make the profile shorter",
      );
    }
    return buf.slice(0, n);
  } finally {
    l.close(fd);
  }
}

/**
 * Compiles a plan with libseccomp into one classic BPF program.
 *
 * @param plan what {@link planProfile} made
 * @param src how errors name the profile
 * @returns the bytes of a `struct sock_filter[]` (8 bytes each)
 * @throws {UsernsError} `INVALID_ARGUMENT` naming an architecture libseccomp
 *   does not know or a rule it refuses; `NATIVE_LOAD` without libseccomp
 */
export function compilePlan(plan: SeccompPlan, src: string): Uint8Array {
  const l = libseccomp();
  const ctx = l.seccomp_init(plan.defaultAction);
  if (!ctx) profileError(src, "defaultAction", "libseccomp refused it");
  try {
    // A binary tree over the system call numbers (libseccomp >= 2.5; older
    // ones refuse the attribute and keep the linear list). The child pays
    // for the filter's length when it installs it (the kernel translates
    // it and runs it for every system call number to build its cache):
    // podman's profile takes 0.25 ms to install so, 0.72 ms as a list.
    l.seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
    for (const a of plan.arches) {
      const token = l.seccomp_arch_resolve_name(cstr(a.name));
      if (token === 0) {
        profileError(
          src,
          a.path,
          `unknown architecture "${a.written}" (libseccomp ${libseccompVersion()})`,
        );
      }
      const rc = l.seccomp_arch_add(ctx, token);
      if (rc < 0 && rc !== -EEXIST) {
        profileError(
          src,
          a.path,
          `cannot add "${a.written}": ${errnoName(-rc)}`,
        );
      }
    }
    for (const r of plan.rules) {
      // Unknown to libseccomp: skipped, as podman and runc skip it.
      const nr = l.seccomp_syscall_resolve_name(cstr(r.name));
      if (nr !== -1) addRule(l, ctx, r, nr, src);
    }
    return exportBpf(l, ctx, src);
  } finally {
    l.seccomp_release(ctx);
  }
}
