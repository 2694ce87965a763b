/**
 * Compiled filters kept on disk, so that a CLI run (a fresh process each
 * time) does not pay libseccomp's compilation: about 30 ms for podman's
 * profile, 0.4x a whole `userns run -- true`. They live in the library's
 * own cache directory (`$XDG_CACHE_HOME/userns/seccomp`), checked as it is
 * (`ffi/trusted_dir.ts`: every directory on the way the caller's or root's,
 * writable by no one else; files opened without following links, the
 * caller's, not writable by others): whoever could replace a filter there
 * could replace the library itself.
 *
 * A file holds its whole key (format, libseccomp version, architecture,
 * kernel, capabilities, the profile's text), a NUL, then the BPF; it is
 * used only when the key matches exactly, so the short hash in its name
 * needs no strength. Any problem means "not cached": the filter is
 * compiled, as without a cache.
 *
 * @module
 */
import { cachePath } from "../../ffi/library/cache.ts";
import { install, openChecked } from "../../ffi/library/cache_file.ts";
import { closeFd, readFd } from "../../ffi/libc.ts";
import { openTrustedDir } from "../../ffi/library/trusted_dir.ts";

const FORMAT = "userns seccomp cache 1";
const MAX_BYTES = 4096 * 8;

/** What a compiled filter depends on besides the profile's text. */
export interface KeyParts {
  /** libseccomp's version: another may resolve names differently. */
  libseccomp: string;
  /** `Deno.build.arch`. */
  arch: string;
  /** The kernel's `MAJOR.MINOR` (`minKernel`). */
  kernel: string;
  /** The capabilities the command will have. */
  caps: bigint;
}

/**
 * The full key of a compiled filter.
 *
 * @param parts what else it depends on
 * @param text the profile's JSON text
 * @returns the key, as stored at the start of the file
 */
export function diskKey(parts: KeyParts, text: string): string {
  return `${FORMAT}\nlibseccomp ${parts.libseccomp}\narch ${parts.arch}\n` +
    `kernel ${parts.kernel}\ncaps ${parts.caps}\n${text}`;
}

/** The file name of a key: 64 bits of two FNV-1a-style hashes of its
 * length and of some 512 of its characters, spread over it. A name, not a
 * check (the whole key is compared): hashing every character of a large
 * profile would cost a fresh process more than the cache saves. */
function fileName(key: string): string {
  let a = 0x811c9dc5 ^ key.length, b = 0x01000193;
  const step = Math.max(1, Math.floor(key.length / 512));
  for (let i = 0; i < key.length; i += step) {
    const c = key.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995) ^ (b >>> 15);
  }
  const hex = (n: number) => (n >>> 0).toString(16).padStart(8, "0");
  return `${hex(a)}${hex(b)}.bpf`;
}

const dirPath = (): string => `${cachePath()}/seccomp`;

/**
 * The filter stored under `key`, if a usable file holds exactly that key.
 *
 * @param key from {@link diskKey}
 * @returns the BPF bytes, or undefined
 */
export function readCachedFilter(key: string): Uint8Array | undefined {
  let dir: number | undefined;
  try {
    dir = openTrustedDir(dirPath(), false);
    if (dir === undefined) return undefined;
    const fd = openChecked(dir, fileName(key), false);
    if (fd === undefined) return undefined;
    let bytes: Uint8Array | undefined;
    try {
      bytes = readFd(fd);
    } finally {
      closeFd(fd);
    }
    // The key holds no NUL (a profile is JSON): compared as text, natively.
    const end = bytes?.indexOf(0) ?? -1;
    if (end < 0 || new TextDecoder().decode(bytes!.subarray(0, end)) !== key) {
      return undefined;
    }
    const bpf = bytes!.slice(end + 1);
    return bpf.length % 8 === 0 && bpf.length <= MAX_BYTES ? bpf : undefined;
  } catch {
    return undefined; // an unsafe or unreadable cache is no cache
  } finally {
    if (dir !== undefined) closeFd(dir);
  }
}

/**
 * Stores a filter under `key` (a new file renamed into place), or nothing
 * when the cache cannot be used.
 *
 * @param key from {@link diskKey}
 * @param bpf the compiled filter
 */
export function writeCachedFilter(key: string, bpf: Uint8Array): void {
  let dir: number | undefined;
  try {
    const path = dirPath();
    dir = openTrustedDir(path, true)!;
    const head = new TextEncoder().encode(`${key}\0`);
    const data = new Uint8Array(head.length + bpf.length);
    data.set(head);
    data.set(bpf, head.length);
    install(dir, path, fileName(key), data, 0o600);
  } catch {
    // not cached: the next run compiles again
  } finally {
    if (dir !== undefined) closeFd(dir);
  }
}
