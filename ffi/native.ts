/**
 * Typed wrappers over the native library. Callers never see a negative
 * return value: each becomes a result or a thrown typed error.
 *
 * The request's strings and slots are packed into buffers reused from one
 * spawn to the next: `uns_spawn()` copies them before it returns. One that a
 * huge request grew past 1 MiB is let go after it.
 *
 * @module
 */
import {
  type ChildFailure,
  Errno,
  errnoName,
  execError as commandError,
  HelperError,
  SpawnError,
} from "../lib/errors/mod.ts";
import {
  Event,
  HelperOut,
  MAX_MOUNTS,
  MOUNT_SLOTS,
  MountKind,
  MountSlot,
  Opt,
  Out,
  Proc,
  RLIMIT_SLOTS,
  Stdio,
  STEPS,
} from "./abi.ts";
import { native } from "./call.ts";
import { verifiedLibraryFd } from "./load.ts";
import { getReactor } from "./reactor.ts";

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
  /** A pseudo-terminal's slave to make fds 0-2 (see {@link openPty}). */
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
  /** Its start time ({@link processId}): a pid reused since is refused. */
  start: number;
  /** CLONE_NEW* flags of the namespaces to join. */
  flags: number;
}

/** A cloned child waiting for release, and the parent's ends of its fds. */
export interface PausedChild {
  /** Host pid. */
  pid: number;
  /** pidfd, for race-free signals; its exit event closes it. */
  pidfd: number;
  /** {@link release} lets the child go on, {@link abort} not. */
  syncFd: number;
  /** EOF once executed; a failure record otherwise. */
  errFd: number;
  /** Parent end of piped stdin (non-blocking), or -1. */
  stdin: number;
  /** Parent end of piped stdout (non-blocking), or -1. */
  stdout: number;
  /** Parent end of piped stderr (non-blocking), or -1. */
  stderr: number;
  /** The child shares this process's memory until it executes. */
  shared: boolean;
}

const encoder = new TextEncoder();
let strings = new Uint8Array(4096);
let slots = new Int32Array(256);
/** Packing buffers larger than this are let go after the call that grew
 * them: one huge request must not keep its size for good (the regions of
 * c/region.c are unmapped likewise). */
const KEEP_BYTES = 1 << 20;

function shrink(): void {
  if (strings.byteLength > KEEP_BYTES) strings = new Uint8Array(4096);
  if (slots.byteLength > KEEP_BYTES) slots = new Int32Array(256);
}
const out = new Int32Array(Out.COUNT);
let selfFd: number | undefined;

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
 * new object for every string, and a spawn packs one per variable of the
 * environment.
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

/** Packs each variable as `NAME=VALUE`, with no string made for it. */
function packEnv(
  env: Readonly<Record<string, string>>,
  at: number,
  slot: number,
): number {
  for (const name in env) {
    const value = env[name]!;
    reserve(at, name.length + 1 + value.length);
    slots[slot++] = at;
    at = put(name, at);
    strings[at++] = 61; // "="
    at = put(value, at);
    strings[at++] = 0;
  }
  return at;
}

/** A sealed copy of this library (a memfd), for execveat() of
 * userns-init, userns-pause and userns-join: copied from the very fd that was
 * verified and loaded, for a library from the cache; else (a prebuilt one,
 * USERNS_LIBRARY: trusted places) from the file opened by path. */
function libraryFd(): number {
  if (selfFd === undefined || selfFd < 0) {
    selfFd = Math.max(native.openSelf(verifiedLibraryFd() ?? -1), -1);
  }
  return selfFd;
}

/**
 * Loads the library, starts this isolate's context and opens the library's
 * own file: the state every spawn needs, made once per isolate (the
 * context's fds go with the isolate; the library's file is opened once per
 * process and kept for good, as the runtime keeps its own).
 */
export function startNative(): void {
  getReactor();
  libraryFd();
}

function fill(req: SpawnRequest): number {
  const mounts = req.mounts ?? [];
  const limits = req.rlimits ?? [];
  if (mounts.length > MAX_MOUNTS) {
    throw new RangeError(`at most ${MAX_MOUNTS} mount operations`);
  }
  const envc = envCount(req.env);
  const argvAt = Opt.COUNT, envAt = argvAt + req.argv.length;
  const mountAt = envAt + envc;
  const limitAt = mountAt + mounts.length * MOUNT_SLOTS;
  const n = limitAt + limits.length * RLIMIT_SLOTS;
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
  s[Opt.LOOPBACK] = req.loopback ? 1 : 0;
  s[Opt.SELF_FD] = req.init || req.execSelf || req.join ? libraryFd() : -1;
  s[Opt.EXEC_SELF] = req.execSelf ? 1 : 0;
  s[Opt.PRECHECK] = req.precheck ? 1 : 0;
  s[Opt.ROOT_RDONLY] = req.rootReadonly ? 1 : 0;
  s[Opt.TTY_FD] = req.ttyFd ?? -1;
  s[Opt.STR_LEN] = at;
  s[Opt.ARGC] = req.argv.length;
  s[Opt.ENVC] = envc;
  s[Opt.NMOUNT] = mounts.length;
  s[Opt.NRLIMIT] = limits.length;
  return n;
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
 * Clones the child into its namespaces; it waits for {@link release}. Its
 * exit is reported to the handler registered for its pidfd on this
 * isolate's reactor: register it before yielding to the event loop.
 *
 * @param req what the child is to do
 * @returns the paused child and the parent's fds
 * @throws {SpawnError} NAMESPACE when clone() fails, with an errno hint
 * @throws {UsernsNotFound} EXEC_NOT_FOUND (errno ENOENT) when `precheck`
 * finds no such command
 * @throws {UsernsPermissionDenied} EXEC_DENIED (errno EACCES) when
 * `precheck` finds only a directory or a file without any execute bit
 */
export function spawnPaused(req: SpawnRequest): PausedChild {
  startNative();
  const reactor = getReactor();
  let rc: number;
  try {
    const n = fill(req);
    rc = native.spawn(reactor.ctx, slots, n, strings, out);
  } finally {
    shrink(); // uns_spawn() has copied the request
  }
  if (rc < 0 && out[Out.PRECHECK]) throw commandError(req.file, -rc);
  if (rc === -Errno.ESRCH && req.join) throw goneError(req.join.pid);
  if (rc < 0) throw cloneError(-rc, req.cloneFlags);
  return {
    pid: out[Out.PID]!,
    pidfd: out[Out.PIDFD]!,
    syncFd: out[Out.SYNC_FD]!,
    errFd: out[Out.ERR_FD]!,
    stdin: out[Out.STDIN]!,
    stdout: out[Out.STDOUT]!,
    stderr: out[Out.STDERR]!,
    shared: out[Out.SHARED] === 1,
  };
}

/** What to do when a process cannot be started for want of a resource. */
export const RESOURCE_HINTS: Record<string, string> = {
  EMFILE: "too many open files; raise ulimit -n",
  ENFILE: "the system is out of file descriptors",
  EAGAIN: "the process limit is reached; check ulimit -u",
  ENOMEM: "out of memory or pid limit reached",
};

/** The process to join has ended (or its pid is another's by now). */
function goneError(pid: number): SpawnError {
  return new SpawnError("TARGET_GONE", `process ${pid} has ended`, {
    errno: "ESRCH",
    hint: "name a process that runs (userns ps)",
  });
}

function cloneError(errno: number, flags: number): SpawnError {
  const name = errnoName(errno);
  const hints: Record<string, string> = {
    EPERM:
      "unprivileged user namespaces look disabled; run userns doctor (sysctl kernel.unprivileged_userns_clone, kernel.apparmor_restrict_unprivileged_userns)",
    EACCES:
      "unprivileged user namespaces look disabled; run userns doctor (sysctl kernel.apparmor_restrict_unprivileged_userns)",
    ENOSPC:
      "the limit on user namespaces is reached or zero; check sysctl user.max_user_namespaces",
    EUSERS: "too many nested user namespaces",
    ...RESOURCE_HINTS,
  };
  const what = flags
    ? "cannot create the namespaces"
    : "cannot start the child";
  return new SpawnError("NAMESPACE", `${what}: ${name}`, {
    errno: name,
    hint: hints[name] ?? "run userns doctor",
  });
}

/**
 * Lets a paused child go on: its maps are written.
 *
 * @param syncFd the child's sync socket
 * @returns 0, or the errno (EPIPE: the child is gone)
 */
export function release(syncFd: number): number {
  const rc = native.release(syncFd);
  return rc < 0 ? -rc : 0;
}

/**
 * Stops a paused child before release: it exits unmapped, and its exit
 * event follows.
 *
 * @param syncFd the child's sync socket
 */
export function abort(syncFd: number): void {
  native.abort(syncFd);
}

/** How long {@link readFailure} blocks the event loop at most. */
const EXEC_WAIT_MS = 2;
const record = new Int32Array(3);

/**
 * Reads the child's error pipe to its end: a released child executes
 * within a fraction of a millisecond, so it waits for that on this thread
 * (as `Deno.Command`'s spawn does), but never long; then off it.
 *
 * @param errFd the error pipe's read end (non-blocking)
 * @returns null when the command was executed, else the failed step
 */
export function readFailure(errFd: number): Promise<ChildFailure | null> {
  const n = native.readTimed(errFd, record, 12, EXEC_WAIT_MS);
  if (n !== -Errno.EAGAIN) return Promise.resolve(failure(n));
  return new Promise((resolve) => {
    const retry = () => {
      const n = native.read(errFd, record, 12);
      if (n === -Errno.EAGAIN) getReactor().arm(errFd, Event.READ, retry);
      else resolve(failure(n));
    };
    getReactor().arm(errFd, Event.READ, retry);
  });
}

/**
 * {@link readFailure} on this thread: waits until the child has executed or
 * failed.
 *
 * @param errFd the error pipe's read end
 * @returns null when the command was executed, else the failed step
 */
export function readFailureSync(errFd: number): ChildFailure | null {
  let n;
  do n = native.readTimed(errFd, record, 12, -1); while (
    n === -Errno.EAGAIN
  );
  return failure(n);
}

function failure(n: number): ChildFailure | null {
  if (n !== 12) return null;
  return {
    step: STEPS[record[0]!] ?? `step ${record[0]}`,
    errno: record[1]!,
    index: record[2]!,
  };
}

/**
 * Sends a signal through the pidfd: never to a reused pid.
 *
 * @param pidfd the child's pidfd
 * @param signal the signal number
 * @returns 0, or the errno (ESRCH: it has ended)
 */
export function killChild(pidfd: number, signal: number): number {
  const rc = native.kill(pidfd, signal);
  return rc < 0 ? -rc : 0;
}

/**
 * Closes an fd the native side returned.
 *
 * @param fd the fd; negative ones are ignored
 */
export function closeFd(fd: number): void {
  if (fd >= 0) native.close(fd);
}

/**
 * Reads what a non-blocking fd has now.
 *
 * @param fd the fd
 * @param buf where the bytes go
 * @returns bytes read, 0 at EOF, or -errno (-EAGAIN: nothing yet)
 */
export function readNow(fd: number, buf: Uint8Array): number {
  return native.read(fd, buf, buf.length);
}

/**
 * Writes what a non-blocking fd takes now.
 *
 * @param fd the fd
 * @param buf the bytes
 * @returns bytes written, or -errno (-EAGAIN: full; -EPIPE: no reader)
 */
export function writeNow(fd: number, buf: Uint8Array): number {
  return native.write(fd, buf, buf.length);
}

/**
 * Writes a file in one write(), as `/proc/PID/uid_map` requires.
 *
 * @param path the file
 * @param text its new content
 * @returns 0, or the errno
 */
export function writeFileOnce(path: string, text: string): number {
  const p = encoder.encode(path + "\0");
  const data = encoder.encode(text);
  const rc = native.writeFile(p, data, data.length);
  return rc < 0 ? -rc : 0;
}

/** A map helper started by {@link startHelper}. */
export interface HelperChild {
  /** Its path, for messages. */
  path: string;
  /** Host pid. */
  pid: number;
  /** pidfd: its exit event closes it. */
  pidfd: number;
  /** Read end of its stderr (non-blocking). */
  errFd: number;
  /** EOF once executed; an errno otherwise (non-blocking). */
  execFd: number;
}

/**
 * Starts `newuidmap` or `newgidmap` from the native side without waiting:
 * a clone that shares this process's memory until it executes (no copy, no
 * thread of the runtime busy), stdin and stdout on /dev/null, stderr on a
 * pipe, an empty environment. Its exit comes as an event for its pidfd;
 * then call {@link helperOutcome}.
 *
 * @param argv the helper's absolute path, then its arguments
 * @returns the started helper
 * @throws {SpawnError} SETUP when fds or processes run out
 */
export function startHelper(argv: readonly string[]): HelperChild {
  let rc: number;
  try {
    // packInto() writes each string's offset to slots[i]: the argv offsets.
    const end = packInto(argv, 0, 0);
    rc = native.startHelper(
      getReactor().ctx,
      strings,
      end,
      slots,
      argv.length,
      hout,
    );
  } finally {
    shrink();
  }
  if (rc < 0) {
    const errno = errnoName(-rc);
    throw new SpawnError("SETUP", `cannot start ${argv[0]}: ${errno}`, {
      errno,
      hint: RESOURCE_HINTS[errno] ?? "run userns doctor",
    });
  }
  return {
    path: argv[0]!,
    pid: hout[HelperOut.PID]!,
    pidfd: hout[HelperOut.PIDFD]!,
    errFd: hout[HelperOut.ERR_FD]!,
    execFd: hout[HelperOut.EXEC_FD]!,
  };
}

/** How much of a helper's stderr is kept. */
export const HELPER_STDERR = 4096;

const hout = new Int32Array(HelperOut.COUNT);
const execErrno = new Int32Array(1);
const helperStderr = new Uint8Array(HELPER_STDERR);
const NOTHING = new Uint8Array(0);

/**
 * Once a helper has ended: whether it was executed, and the start of its
 * stderr. Closes its fds.
 *
 * @param h the helper
 * @returns the start of its stderr
 * @throws {HelperError} HELPER_MISSING when it could not be executed;
 * {@link SpawnError} SETUP for want of resources
 */
export function helperOutcome(h: HelperChild): Uint8Array {
  const n = native.read(h.execFd, execErrno, 4);
  const kept = native.read(h.errFd, helperStderr, HELPER_STDERR);
  closeFd(h.execFd);
  closeFd(h.errFd);
  if (n === 4) throw execError(h.path, execErrno[0]!);
  return kept > 0 ? helperStderr.slice(0, kept) : NOTHING;
}

/** Why a helper could not be executed: not there, or no resources. */
function execError(path: string, errno: number): Error {
  const name = errnoName(errno);
  const hint = RESOURCE_HINTS[name];
  if (hint) {
    return new SpawnError("SETUP", `cannot start ${path}: ${name}`, {
      errno: name,
      hint,
    });
  }
  return new HelperError("HELPER_MISSING", `cannot run ${path}: ${name}`, {
    errno: name,
    hint: "install the uidmap package",
  });
}

/**
 * Finds a program on PATH as execvp() would, natively: one call, where a
 * search by stat() throws for every entry that lacks it.
 *
 * @param path a PATH value
 * @param name the program
 * @returns its absolute path, or undefined
 */
export function which(path: string, name: string): string | undefined {
  const i = native.which(
    encoder.encode(path + "\0"),
    encoder.encode(name + "\0"),
  );
  return i < 0 ? undefined : `${path.split(":")[i]}/${name}`;
}

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
  if (native.procId(pid, 2, procOut) < 0) return undefined;
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
  if (native.procId(pid, 0, procOut) < 0) return undefined;
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
  if (native.procId(pid, 1, procOut) < 0) return undefined;
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
  const fd = native.pidfdOpen(pid);
  if (fd < 0) return -fd;
  try {
    if (!check()) return 3; // ESRCH
    const rc = native.kill(fd, signal);
    return rc < 0 ? -rc : 0;
  } finally {
    native.close(fd);
  }
}

/** A pseudo-terminal: its master (non-blocking, this isolate's) and slave. */
export interface Pty {
  /** The side userns reads and writes. */
  master: number;
  /** The side the command gets as fds 0-2; close it once spawned. */
  slave: number;
}

/**
 * Opens a new pseudo-terminal (the slave through the master, never by a
 * path).
 *
 * @returns its two fds
 * @throws {SpawnError} SETUP when there is none to be had
 */
export function openPty(): Pty {
  const out = new Int32Array(2);
  const rc = native.openpty(getReactor().ctx, out);
  if (rc < 0) {
    const errno = errnoName(-rc);
    throw new SpawnError("SETUP", `cannot open a pseudo-terminal: ${errno}`, {
      errno,
      hint: "check that /dev/ptmx and /dev/pts are there",
    });
  }
  return { master: out[0]!, slave: out[1]! };
}

/**
 * Gives a terminal the window size of another.
 *
 * @param from the terminal whose size it is (the caller's)
 * @param to the terminal to resize (a pty's master)
 * @returns 0, or the errno (ENOTTY: `from` is no terminal)
 */
export function copyTtySize(from: number, to: number): number {
  const rc = native.ttySize(from, to);
  return rc < 0 ? -rc : 0;
}

/**
 * A new, non-blocking open file description of what `fd` is (a terminal or
 * a pipe), this isolate's: read or written through the reactor without
 * making the caller's own description non-blocking.
 *
 * @param fd the fd (0 or 1)
 * @param write open it for writing, else for reading
 * @returns the new fd, or -errno
 */
export function reopen(fd: number, write: boolean): number {
  return native.reopen(getReactor().ctx, fd, write ? 1 : 0);
}
