/**
 * Seccomp filters for `--seccomp default|none|FILE` (library: `seccomp:
 * "default" | "none" | profile`), compiled in the parent and installed by
 * the child right before `execve` (`c/filter.c`).
 *
 * A profile is in the JSON format podman and Docker read (`defaultAction`,
 * `defaultErrnoRet`, `architectures` or `archMap`, `syscalls[{names,
 * action, errnoRet, args, includes, excludes}]`) and is applied as podman
 * applies it: `includes`/`excludes` are decided against the capabilities the
 * command will have, system call names libseccomp does not know are
 * skipped, and libseccomp (loaded on first use through FFI) resolves the
 * names for every architecture and compiles the BPF.
 *
 * `default` is podman's profile where it is installed
 * (`/etc/containers/seccomp.json`, else `/usr/share/containers/seccomp.json`,
 * as podman looks them up), with userns's denylist (see `_denylist.ts`:
 * keyrings, bpf, perf_event_open, userfaultfd, io_uring, kexec, modules,
 * TIOCSTI/TIOCLINUX, ...) stacked on top as a second filter; elsewhere the
 * denylist alone.
 *
 * Compiled filters are cached by the profile's content and the capability
 * set, in memory and on disk (`_disk_cache.ts`, in the library's checked
 * cache directory): a second spawn with the same choice pays no
 * compilation, nor does the next CLI run.
 *
 * @example Usage
 * ```ts ignore
 * import { seccompFilter } from "./seccomp.ts";
 * import { keptCaps } from "./caps.ts";
 * const caps = keptCaps({ capDrop: ["ALL"] });
 * const filter = seccompFilter("default", caps)!;
 * filter.lengths.length; // 2 where podman is installed: its profile, the denylist
 * ```
 *
 * @module
 */
import { UsernsError } from "../errors/errors.ts";
import { allCaps } from "./caps.ts";
import { DENYLIST } from "./_denylist.ts";
import { compilePlan, libseccompVersion } from "./_libseccomp.ts";
import { diskKey, readCachedFilter, writeCachedFilter } from "./_disk_cache.ts";
import { planProfile, profileError } from "./_profile.ts";
import type { Host, SeccompProfile } from "./_types.ts";

export type {
  SeccompArg,
  SeccompCondition,
  SeccompProfile,
  SeccompSyscall,
} from "./_types.ts";
export { libseccompVersion } from "./_libseccomp.ts";
import { readProcFile } from "../../ffi/process.ts";

/** What `--seccomp` and the `seccomp` option name: a file is `{ path }`. */
export type SeccompChoice =
  | "default"
  | "none"
  | SeccompProfile
  | { path: string };

/** One or more BPF programs for the child, to be installed in order. */
export interface SeccompFilter {
  /** Every program's `struct sock_filter[]`, back to back (8 bytes each). */
  bytes: Uint8Array;
  /** How many instructions each program has, in order. */
  lengths: Uint32Array;
  /** What each program was compiled from: a path, or `userns denylist`. */
  sources: string[];
}

/** Where podman looks for its profile, in order (containers/common). */
export const SYSTEM_PROFILES: readonly string[] = [
  "/etc/containers/seccomp.json",
  "/usr/share/containers/seccomp.json",
];

/** How the denylist is named in {@link SeccompFilter.sources}. */
export const DENYLIST_SOURCE = "userns denylist";

/** How filters are compiled. */
export interface CompileOptions {
  /** Keep compiled filters on disk too (in the library's cache directory),
   * for the next process. @default {true} */
  disk?: boolean;
}

const CACHE_MAX = 16;
const cache = new Map<string, Uint8Array>();

function host(): Host {
  const arch = Deno.build.arch;
  return {
    goArch: ({ x86_64: "amd64", aarch64: "arm64" } as Record<string, string>)[
      arch
    ] ?? arch,
    scmpArch: `SCMP_ARCH_${arch.toUpperCase()}`,
    kernel: () => {
      const read = readProcFile("/proc/sys/kernel/osrelease");
      const release = typeof read === "string" ? read : Deno.osRelease();
      const m = /^(\d+)\.(\d+)/.exec(release) ?? [];
      return [Number(m[1] ?? 0), Number(m[2] ?? 0)];
    },
  };
}

/**
 * The system profile `default` starts from: the first of
 * {@link SYSTEM_PROFILES} that exists.
 *
 * @returns its path, or undefined where podman's profile is not installed
 */
export function systemProfilePath(): string | undefined {
  return SYSTEM_PROFILES.find((p) => {
    try {
      return Deno.statSync(p).isFile;
    } catch {
      return false;
    }
  });
}

/**
 * Parses a profile's JSON text; integers past 2^53 stay exact (as bigints).
 *
 * @param text the file's text
 * @param source how errors name it
 * @returns the parsed value (checked when compiled)
 * @throws {UsernsError} `INVALID_ARGUMENT` when it is not JSON
 */
export function parseSeccompProfile(text: string, source: string): unknown {
  try {
    return JSON.parse(text, (_k, v, context?: { source?: string }) => {
      if (typeof v !== "number" || Number.isSafeInteger(v)) return v;
      const raw = context?.source ?? "";
      return /^-?[0-9]+$/.test(raw) ? BigInt(raw) : v;
    });
  } catch (e) {
    profileError(source, "", `not JSON: ${(e as Error).message}`);
  }
}

/** `JSON.rawJSON` (ES2025), which TypeScript's lib does not declare yet. */
const rawJSON = (JSON as unknown as { rawJSON(text: string): unknown })
  .rawJSON;

/** A profile object as the JSON text a file with it would hold. */
function textOf(profile: SeccompProfile): string {
  return JSON.stringify(
    profile,
    (_k, v) => typeof v === "bigint" ? rawJSON(String(v)) : v,
  );
}

/**
 * Compiles one profile into one BPF program, or takes it from the cache.
 *
 * @param profile a profile object, or its JSON text
 * @param caps the capabilities the command will have (`includes.caps`,
 *   `excludes.caps` are decided against them)
 * @param source how errors name the profile, e.g. its path
 * @param options whether to keep it on disk too
 * @returns the bytes of a `struct sock_filter[]`; do not modify them
 * @throws {UsernsError} `INVALID_ARGUMENT` naming the entry that cannot be
 *   compiled (`syscalls[3].action: unknown action "SCMP_ACT_FOO"`);
 *   `NATIVE_LOAD` when libseccomp is missing
 */
export function compileSeccompProfile(
  profile: SeccompProfile | string,
  caps: bigint = allCaps(),
  source = "(given)",
  options: CompileOptions = {},
): Uint8Array {
  const text = typeof profile === "string" ? profile : textOf(profile);
  const key = `${caps}\n${text}`;
  const hit = cache.get(key);
  if (hit) {
    cache.delete(key); // most recently used last
    cache.set(key, hit);
    return hit;
  }
  const h = host();
  const disk = options.disk ?? true
    ? diskKey({
      libseccomp: libseccompVersion(),
      arch: Deno.build.arch,
      kernel: h.kernel().join("."),
      caps,
    }, text)
    : undefined;
  let bpf = disk === undefined ? undefined : readCachedFilter(disk);
  if (!bpf) {
    const parsed = typeof profile === "string"
      ? parseSeccompProfile(text, source)
      : profile;
    bpf = compilePlan(planProfile(parsed, caps, h, source), source);
    if (disk !== undefined) writeCachedFilter(disk, bpf);
  }
  cache.set(key, bpf);
  if (cache.size > CACHE_MAX) cache.delete(cache.keys().next().value!);
  return bpf;
}

/** Forgets every compiled filter (for measurements and tests). */
export function clearSeccompCache(): void {
  cache.clear();
}

function readProfile(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (e) {
    throw new UsernsError(
      "FILE_READ",
      `seccomp profile "${path}": cannot read it: ${(e as Error).name}`,
      { hint: "give a readable JSON profile, default or none", cause: e },
    );
  }
}

/**
 * The filter for a `--seccomp` choice and the capabilities the command
 * will have.
 *
 * @param choice `"default"`, `"none"`, a profile object, or `{ path }`
 * @param caps the kept capabilities as a mask (see `keptCaps`)
 * @param options whether to keep compiled filters on disk too
 * @returns the programs to install in order, or undefined for `"none"`
 * @throws {UsernsError} as {@link compileSeccompProfile}, or `FILE_READ`
 *   when the file cannot be read
 */
export function seccompFilter(
  choice: SeccompChoice,
  caps: bigint = allCaps(),
  options: CompileOptions = {},
): SeccompFilter | undefined {
  if (choice === "none") return undefined;
  const parts: [Uint8Array, string][] = [];
  if (choice === "default") {
    const path = systemProfilePath();
    if (path) {
      parts.push([
        compileSeccompProfile(readProfile(path), caps, `"${path}"`, options),
        path,
      ]);
    }
    parts.push([
      compileSeccompProfile(DENYLIST, caps, DENYLIST_SOURCE, options),
      DENYLIST_SOURCE,
    ]);
  } else if ("path" in choice && typeof choice.path === "string") {
    parts.push([
      compileSeccompProfile(
        readProfile(choice.path),
        caps,
        `"${choice.path}"`,
        options,
      ),
      choice.path,
    ]);
  } else {
    const profile = choice as SeccompProfile;
    parts.push([
      compileSeccompProfile(profile, caps, "(given)", options),
      "(given)",
    ]);
  }
  const bytes = new Uint8Array(parts.reduce((n, [b]) => n + b.length, 0));
  let at = 0;
  for (const [b] of parts) {
    bytes.set(b, at);
    at += b.length;
  }
  return {
    bytes,
    lengths: Uint32Array.from(parts, ([b]) => b.length / 8),
    sources: parts.map(([, s]) => s),
  };
}
