/**
 * Other processes, read and signalled natively: what tells a process from a
 * later one with the same pid (its start time), its namespaces, tracer and
 * owner, and a signal that never reaches a reused pid.
 *
 * @module
 */
import { Proc } from "./abi.ts";
import { raw } from "./raw.ts";

/** The namespaces `/proc/PID/ns/` names, in the order uns_proc_id()
 * reports their inodes. */
export const NS_NAMES = [
  "user",
  "mnt",
  "pid",
  "net",
  "ipc",
  "uts",
  "cgroup",
  "time",
] as const;

/** What tells a process from a later one with the same pid, and what
 * `enter` checks before it joins it. */
export interface ProcessId {
  /** Its start time, in clock ticks after boot. */
  start: number;
  /** The inode of its user namespace. */
  userns: number;
  /** The inode of each of its namespaces (0: the kernel has none). */
  ns: Record<typeof NS_NAMES[number], number>;
  /** The pid of a process tracing it, or 0. */
  tracer: number;
  /** Its effective uid. */
  euid: number;
  /** The owner of `/proc/PID`: its uid, or root's while it is not
   * dumpable. */
  owner: number;
}

const procOut = new BigInt64Array(Proc.SLOTS);

/**
 * The start time, namespaces, tracer and owner of a process, read by the
 * native side (no Deno permission short of -A covers another process's
 * /proc).
 *
 * @param pid the process
 * @returns its identity, or undefined when there is no such process, it
 * has ended (a zombie not yet reaped), or it cannot be seen
 */
export function processId(pid: number): ProcessId | undefined {
  if (raw.procId(pid, 2, procOut) < 0) return undefined;
  const ns = {} as ProcessId["ns"];
  NS_NAMES.forEach((n, i) => ns[n] = Number(procOut[Proc.USERNS + i]));
  return {
    start: Number(procOut[Proc.START]),
    userns: ns.user,
    ns,
    tracer: Number(procOut[Proc.TRACER]),
    euid: Number(procOut[Proc.EUID]),
    owner: Number(procOut[Proc.OWNER]),
  };
}

/**
 * The start time of a process: what tells it from a later one with the
 * same pid, at the cost of one read.
 *
 * @param pid the process
 * @returns its start time in clock ticks after boot, or undefined as
 * {@link processId}
 */
export function startTime(pid: number): number | undefined {
  if (raw.procId(pid, 0, procOut) < 0) return undefined;
  return Number(procOut[Proc.START]);
}

/**
 * The inode of a process's user namespace: what `ps`, `ls` and `stop`
 * count processes by, at the cost of two reads.
 *
 * @param pid the process
 * @returns the inode, or undefined as {@link processId}
 */
export function usernsOf(pid: number): number | undefined {
  if (raw.procId(pid, 1, procOut) < 0) return undefined;
  return Number(procOut[Proc.USERNS]);
}

/**
 * Sends a signal to a process that is not a child of this isolate, race-free:
 * a pidfd is opened first, then `check()` confirms it is the same process,
 * then the signal goes through the pidfd.
 *
 * @param pid the process
 * @param signal the signal number
 * @param check confirms, after the pidfd is open, that pid is still the
 * process meant
 * @returns 0, or the errno (ESRCH: gone or not the one meant)
 */
export function signalProcess(
  pid: number,
  signal: number,
  check: () => boolean,
): number {
  const fd = raw.pidfdOpen(pid);
  if (fd < 0) return -fd;
  try {
    if (!check()) return 3; // ESRCH
    const rc = raw.kill(fd, signal);
    return rc < 0 ? -rc : 0;
  } finally {
    raw.close(fd);
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const cString = (s: string) => encoder.encode(s + "\0");

/**
 * Reads a file under /proc through the native library: Deno grants /proc
 * only to `--allow-all`, FFI covers it.
 *
 * @param path the file
 * @param max how many bytes at most
 * @returns its text, or the errno (ENOENT: no such file or process)
 */
export function readProcFile(path: string, max = 65536): string | number {
  const buf = new Uint8Array(max);
  const n = raw.readPath(cString(path), buf, max);
  return n < 0 ? -n : decoder.decode(buf.subarray(0, n));
}

/**
 * The names in a directory under /proc, as {@link readProcFile}.
 *
 * @param path the directory
 * @returns its names, or undefined when it cannot be read
 */
export function listProcDir(path: string): string[] | undefined {
  for (let size = 65536; size <= 1 << 24; size *= 4) {
    const buf = new Uint8Array(size);
    const n = raw.listDir(cString(path), buf, size);
    if (n === -28) continue; // ENOSPC: a bigger buffer
    if (n < 0) return undefined;
    return n === 0 ? [] : decoder.decode(buf.subarray(0, n - 1)).split("\0");
  }
  return undefined;
}

/**
 * The text of a link under /proc (`/proc/PID/ns/user`), as
 * {@link readProcFile}.
 *
 * @param path the link
 * @returns its text, or the errno
 */
export function readProcLink(path: string): string | number {
  const buf = new Uint8Array(4096);
  const n = raw.readLink(cString(path), buf, buf.length);
  return n < 0 ? -n : decoder.decode(buf.subarray(0, n));
}
