/**
 * A spawn request, and how it is packed for the native side: strings
 * NUL-terminated into one byte buffer, everything else into int32 slots
 * (`enum uns_opt` in `c/userns.h`). The buffers are reused from one spawn to
 * the next (`uns_spawn()` copies them before it returns); one that a huge
 * request grew past 1 MiB is let go after it.
 *
 * @module
 */
import {
  MAX_FILTERS,
  MAX_INSNS,
  MAX_MOUNTS,
  MOUNT_SLOTS,
  MountKind,
  MountSlot,
  Opt,
  RLIMIT_SLOTS,
  Stdio,
} from "./abi.ts";

/** How one of the command's fds 0-2 is set up. */
export type StdioMode = keyof typeof Stdio;

/** One mount operation, in the order given (see `c/mounts.c`). */
export interface MountOp {
  /** bind: `source` onto `target`; fs: mount `fstype`; symlink: `link` text. */
  kind: keyof typeof MountKind;
  /** bind source (caller's view), fs type, or the link's text. */
  a: string;
  /** The target, inside the new root. */
  target: string;
  /** fs: mount data. */
  data?: string;
  /** fs: MOUNT_ATTR_* flags of the new mount. */
  ms?: number;
  /** UNS_MNT_* flags: read-only, create the target. */
  flags?: number;
}

/** One resource limit: RLIMIT_* number, soft and hard (`Infinity`: none). */
export interface Limit {
  /** Its name, for messages. */
  name?: string;
  /** RLIMIT_* number. */
  resource: number;
  /** Soft limit. */
  soft: number;
  /** Hard limit. */
  hard: number;
}

/** Everything the cloned child needs, already validated. */
export interface SpawnRequest {
  /** Command name or path. */
  file: string;
  /** argv, including argv[0]. */
  argv: string[];
  /** The environment: each variable's value by its name. */
  env: Readonly<Record<string, string>>;
  /** PATH to search when `file` has no slash. */
  path?: string;
  /** CLONE_NEW* flags: for clone(), or to unshare after joining. */
  cloneFlags: number;
  /** A running process whose namespaces to join (through a pidfd opened
   * natively and checked against its start time). */
  join?: JoinTarget;
  /** Inside uid/gid to switch to; -1 keeps. */
  uid: number;
  /** Inside gid to switch to; -1 keeps. */
  gid: number;
  /** Drop supplementary groups before switching. */
  clearGroups: boolean;
  /** Modes of fds 0, 1, 2. */
  stdio: [StdioMode, StdioMode, StdioMode];
  /** New session. */
  setsid: boolean;
  /** Take stdin's terminal as the controlling one. */
  ctty: boolean;
  /** Fork the command and stay as its userns-init. */
  init: boolean;
  /** oom_score_adj to set, if any. */
  oomScoreAdj?: number;
  /** MS_SLAVE or MS_PRIVATE for "/", recursively; 0 leaves it. */
  propagation?: number;
  /** Set no_new_privs before execve. */
  noNewPrivs?: boolean;
  /** A new time namespace, with these offsets in seconds. */
  time?: { monotonic: number; boottime: number };
  /** Bring the loopback interface up. */
  loopback?: boolean;
  /** Nothing is attached to the new network namespace (no pasta): where
   * the mounts are locked, it is made anew in the nested user namespace,
   * so that the command's network capabilities hold in it. */
  ownNetwork?: boolean;
  /** Execute this library itself as `argv[0]` (userns-pause). */
  execSelf?: boolean;
  /** Fail before cloning, as `Deno.Command` fails in `spawn()`, when
   * `file` certainly cannot be executed: NotFound when it does not exist
   * here, PermissionDenied when it is a directory or has no execute bit. */
  precheck?: boolean;
  /** Working directory. */
  cwd?: string;
  /** New root directory. */
  root?: string;
  /** The new root is read-only, recursively. */
  rootReadonly?: boolean;
  /** A pseudo-terminal's slave to make fds 0-2 (see `openPty()` in pty.ts). */
  ttyFd?: number;
  /** Lock the mounts in a nested user namespace whose maps are these
   * (identity lines, in the kernel's format). */
  lock?: { uid: string; gid: string };
  /** Hostname to set. */
  hostname?: string;
  /** Mount operations, in order. */
  mounts?: MountOp[];
  /** Resource limits. */
  rlimits?: Limit[];
  /** Keep exactly these capabilities (bit N: capability N) in the five
   * sets; undefined leaves them all. */
  caps?: bigint;
  /** Seccomp programs to install last, back to back: the bytes of their
   * `struct sock_filter`s and each one's count of instructions. */
  filter?: { bytes: Uint8Array; lengths: Uint32Array };
  /**
   * The inside uid and gid map to this process's own, so that switching to
   * them changes no id: the child may then share this process's memory
   * until it executes (no copy; see c/child.c and c/region.c). @default {false}
   */
  sharedVm?: boolean;
}

/** A process whose namespaces a child joins. */
export interface JoinTarget {
  /** Its host pid. */
  pid: number;
  /** Its start time (`processId()` in process.ts): a pid reused since is refused. */
  start: number;
  /** CLONE_NEW* flags of the namespaces to join. */
  flags: number;
  /** The error for a target that has ended (or whose pid is another's):
   * a pod says it is not running. */
  gone?: () => Error;
}

/** Packed buffers, ready for the native side. */
export interface Packed {
  /** The int32 slots. */
  slots: Int32Array;
  /** The strings, NUL-terminated. */
  strings: Uint8Array;
  /** Slots used (for a request) or bytes used (for strings alone). */
  count: number;
}

const encoder = new TextEncoder();
let strings = new Uint8Array(4096);
let slots = new Int32Array(256);
/** Packing buffers larger than this are let go after the call that grew
 * them: one huge request must not keep its size for good (the regions of
 * c/region.c are unmapped likewise). */
const KEEP_BYTES = 1 << 20;

/** Lets go of packing buffers that a huge request grew: call it once the
 * native side has copied what it was given. */
export function releaseBuffers(): void {
  if (strings.byteLength > KEEP_BYTES) strings = new Uint8Array(4096);
  if (slots.byteLength > KEEP_BYTES) slots = new Int32Array(256);
}

/** Makes room in `strings` for `units` UTF-16 units from `at` (3 bytes
 * each at most) and a NUL. */
function reserve(at: number, units: number): void {
  const need = at + units * 3 + 1;
  if (strings.length >= need) return;
  const grown = new Uint8Array(Math.max(strings.length * 2, need));
  grown.set(strings.subarray(0, at));
  strings = grown;
}

function nulError(s: string): TypeError {
  return new TypeError(`string contains a NUL byte: ${JSON.stringify(s)}`);
}

/**
 * Writes `s` as UTF-8 at `at`, room reserved; returns the new end. ASCII is
 * copied unit by unit: `encodeInto()` needs a view that starts at `at`, a
 * new object for every string.
 */
function put(s: string, at: number): number {
  const buf = strings;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0) throw nulError(s);
    if (c >= 0x80) {
      if (s.includes("\0", i)) throw nulError(s);
      return at + encoder.encodeInto(s.slice(i), buf.subarray(at)).written!;
    }
    buf[at++] = c;
  }
  return at;
}

/** Packs `s` NUL-terminated at `at`, its offset to `slots[slot]` (-1 for
 * undefined); returns the new end. */
function packOne(s: string | undefined, at: number, slot: number): number {
  if (s === undefined) {
    slots[slot] = -1;
    return at;
  }
  reserve(at, s.length);
  slots[slot] = at;
  at = put(s, at);
  strings[at++] = 0;
  return at;
}

/** Packs strings NUL-terminated into `strings` from `at`; each offset goes
 * to `slots[slot + i]` (-1 for undefined). Returns the new end. */
function packInto(
  list: readonly (string | undefined)[],
  at: number,
  slot: number,
): number {
  for (let i = 0; i < list.length; i++) at = packOne(list[i], at, slot + i);
  return at;
}

/** The number of variables of an environment. */
function envCount(env: Readonly<Record<string, string>>): number {
  let n = 0;
  for (const _ in env) n++;
  return n;
}

/** Packs each variable as `NAME=VALUE`: all of them encoded at once, which
 * a fresh process (the CLI) does much faster than unit by unit, and a warm
 * one no slower. */
function packEnv(
  env: Readonly<Record<string, string>>,
  at: number,
  slot: number,
): number {
  let all = "";
  for (const name in env) {
    const value = env[name]!;
    if (name.includes("\0")) throw nulError(name);
    if (value.includes("\0")) throw nulError(value);
    all += `${name}=${value}\0`;
  }
  reserve(at, all.length);
  const end = at + encoder.encodeInto(all, strings.subarray(at)).written!;
  while (at < end) {
    slots[slot++] = at;
    at = strings.indexOf(0, at) + 1;
  }
  return at;
}

/**
 * Packs a request into the option slots and the string buffer that
 * `uns_spawn()` reads (enum uns_opt in `c/userns.h`). The buffers are
 * reused by the next packing: pass them to the native side at once, then
 * call {@link releaseBuffers}.
 *
 * @param req the request
 * @param selfFd the library's sealed copy, for a child that executes it
 * (userns-init, -pause, -join), or -1
 * @returns the buffers and the number of slots used
 * @throws {RangeError} for more mount operations than the native side takes
 * @throws {TypeError} for a string with a NUL byte
 */
export function packRequest(req: SpawnRequest, selfFd: number): Packed {
  const mounts = req.mounts ?? [];
  const limits = req.rlimits ?? [];
  if (mounts.length > MAX_MOUNTS) {
    throw new RangeError(`at most ${MAX_MOUNTS} mount operations`);
  }
  const envc = envCount(req.env);
  const argvAt = Opt.COUNT, envAt = argvAt + req.argv.length;
  const mountAt = envAt + envc;
  const limitAt = mountAt + mounts.length * MOUNT_SLOTS;
  const filterAt = limitAt + limits.length * RLIMIT_SLOTS;
  const filter = req.filter;
  const ninsn = filter ? filter.bytes.length / 8 : 0;
  if (filter && (filter.lengths.length > MAX_FILTERS || ninsn > MAX_INSNS)) {
    throw new RangeError(
      `at most ${MAX_FILTERS} seccomp programs of ${MAX_INSNS} instructions in all`,
    );
  }
  const n = filterAt + (filter ? filter.lengths.length + ninsn * 2 : 0);
  if (slots.length < n) slots = new Int32Array(n * 2);
  // Room for argv and envp at once: a huge request is one allocation, not
  // a series of doublings left behind in the heap.
  let bytes = 4096;
  for (const s of req.argv) bytes += s.length * 3 + 1;
  for (const name in req.env) {
    bytes += (name.length + 1 + req.env[name]!.length) * 3 + 1;
  }
  if (strings.length < bytes) strings = new Uint8Array(bytes);
  slots.fill(0, 0, Opt.COUNT);
  let at = packOne(req.file, 0, Opt.FILE);
  at = packOne(req.path, at, Opt.PATH);
  at = packOne(req.cwd, at, Opt.CWD);
  at = packOne(req.root, at, Opt.ROOT);
  at = packOne(req.hostname, at, Opt.HOSTNAME);
  at = packOne(req.lock?.uid, at, Opt.LOCK_UID_MAP);
  at = packOne(req.lock?.gid, at, Opt.LOCK_GID_MAP);
  at = packInto(req.argv, at, argvAt);
  at = packEnv(req.env, at, envAt);
  for (let i = 0; i < mounts.length; i++) {
    const m = mounts[i]!, base = mountAt + i * MOUNT_SLOTS;
    slots[base + MountSlot.KIND] = MountKind[m.kind];
    at = packInto([m.a, m.target, m.data], at, base + MountSlot.A);
    slots[base + MountSlot.MS] = m.ms ?? 0;
    slots[base + MountSlot.FLAGS] = m.flags ?? 0;
  }
  for (let i = 0; i < limits.length; i++) {
    const l = limits[i]!, base = limitAt + i * RLIMIT_SLOTS;
    slots[base] = l.resource;
    split(l.soft, base + 1);
    split(l.hard, base + 3);
  }
  if (filter) {
    slots.set(filter.lengths, filterAt);
    const insns = filterAt + filter.lengths.length;
    new Uint8Array(slots.buffer, slots.byteOffset + insns * 4, ninsn * 8)
      .set(filter.bytes);
  }
  const s = slots;
  s[Opt.CLONE_FLAGS] = req.cloneFlags;
  s[Opt.JOIN_PID] = req.join?.pid ?? 0;
  split(req.join?.start ?? 0, Opt.JOIN_START_LO);
  s[Opt.JOIN_FLAGS] = req.join?.flags ?? 0;
  s[Opt.UID] = req.uid;
  s[Opt.GID] = req.gid;
  s[Opt.CLEAR_GROUPS] = req.clearGroups ? 1 : 0;
  s[Opt.STDIN] = Stdio[req.stdio[0]];
  s[Opt.STDOUT] = Stdio[req.stdio[1]];
  s[Opt.STDERR] = Stdio[req.stdio[2]];
  s[Opt.SETSID] = req.setsid ? 1 : 0;
  s[Opt.CTTY] = req.ctty ? 1 : 0;
  s[Opt.INIT] = req.init ? 1 : 0;
  s[Opt.OOM_SET] = req.oomScoreAdj === undefined ? 0 : 1;
  s[Opt.OOM] = req.oomScoreAdj ?? 0;
  s[Opt.SHARED_VM] = req.sharedVm ? 1 : 0;
  s[Opt.PROPAGATION] = req.propagation ?? 0;
  s[Opt.NO_NEW_PRIVS] = req.noNewPrivs ? 1 : 0;
  s[Opt.TIME] = req.time ? 1 : 0;
  split(req.time?.monotonic ?? 0, Opt.MONOTONIC);
  split(req.time?.boottime ?? 0, Opt.BOOTTIME);
  s[Opt.LOOPBACK] = req.loopback ? (req.ownNetwork ? 2 : 1) : 0;
  s[Opt.SELF_FD] = selfFd;
  s[Opt.EXEC_SELF] = req.execSelf ? 1 : 0;
  s[Opt.PRECHECK] = req.precheck ? 1 : 0;
  s[Opt.ROOT_RDONLY] = req.rootReadonly ? 1 : 0;
  s[Opt.TTY_FD] = req.ttyFd ?? -1;
  s[Opt.CAPS] = req.caps === undefined ? 0 : 1;
  s[Opt.CAPS_LO] = Number(BigInt.asIntN(32, req.caps ?? 0n));
  s[Opt.CAPS_HI] = Number(BigInt.asIntN(32, (req.caps ?? 0n) >> 32n));
  s[Opt.STR_LEN] = at;
  s[Opt.ARGC] = req.argv.length;
  s[Opt.ENVC] = envc;
  s[Opt.NMOUNT] = mounts.length;
  s[Opt.NRLIMIT] = limits.length;
  s[Opt.NFILTER] = filter ? filter.lengths.length : 0;
  s[Opt.NINSN] = ninsn;
  return { slots, strings, count: n };
}

/** Writes a safe integer as two 32-bit halves, low first, in two's
 * complement (a negative time offset); Infinity is all ones. */
function split(v: number, slot: number): void {
  if (v === Infinity) {
    slots[slot] = slots[slot + 1] = -1;
  } else {
    const big = BigInt.asUintN(64, BigInt(v));
    slots[slot] = Number(big & 0xffffffffn);
    slots[slot + 1] = Number(big >> 32n);
  }
}

/**
 * Packs a list of strings (a helper's argv): each NUL-terminated in the
 * string buffer, its offset in the slot of its index. As
 * {@link packRequest}, the buffers are reused: call {@link releaseBuffers}
 * once the native side has them.
 *
 * @param list the strings
 * @returns the buffers and the bytes used
 */
export function packStrings(list: readonly string[]): Packed {
  if (slots.length < list.length) slots = new Int32Array(list.length * 2);
  const end = packInto(list, 0, 0);
  return { slots, strings, count: end };
}
