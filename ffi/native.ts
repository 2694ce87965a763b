/**
 * Typed wrappers over the native library. Callers never see a negative
 * return value: each becomes a result or a thrown {@link SpawnError}.
 *
 * @module
 */
import { errnoName, HelperError, SpawnError } from "../lib/errors.ts";
import {
  FinishOut,
  HelperOut,
  MAX_HELPERS,
  MAX_JOIN,
  Opt,
  Out,
  Stdio,
  STEPS,
} from "./abi.ts";
import { loadNative } from "./load.ts";

/** How one of the command's fds 0-2 is set up. */
export type StdioMode = keyof typeof Stdio;

/** Everything the cloned child needs, already validated. */
export interface SpawnRequest {
  /** Command name or path. */
  file: string;
  /** argv, including argv[0]. */
  argv: string[];
  /** The environment, as `NAME=VALUE`. */
  env: string[];
  /** PATH to search when `file` has no slash. */
  path?: string;
  /** CLONE_NEW* flags for clone(); 0 when joining. */
  cloneFlags: number;
  /** `/proc/PID/ns/*` paths to join, user first. */
  join?: string[];
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
  /** Fork once more and stay as the command's reaping parent. */
  fork: boolean;
  /** oom_score_adj to set, if any. */
  oomScoreAdj?: number;
  /** Working directory. */
  cwd?: string;
  /** chroot directory. */
  root?: string;
  /** Hostname to set. */
  hostname?: string;
  /** Where to mount a fresh proc. */
  proc?: string;
  /**
   * The inside uid and gid map to this process's own, so that switching to
   * them changes no id: the child may then share this process's memory
   * until it executes (no copy; see c/child.c and c/region.c). @default {false}
   */
  sharedVm?: boolean;
}

/** A cloned child waiting for release, and the parent's ends of its fds. */
export interface PausedChild {
  /** Host pid. */
  pid: number;
  /** pidfd, for race-free signals and waiting. */
  pidfd: number;
  /** Write {@link release}'s byte here; close it to abort. */
  syncFd: number;
  /** EOF once executed; a failure record otherwise. */
  errFd: number;
  /** Parent ends of piped stdio, or -1. */
  stdin: number;
  /** Parent end of piped stdout, or -1. */
  stdout: number;
  /** Parent end of piped stderr, or -1. */
  stderr: number;
  /** The child shares this process's memory until it executes. */
  shared: boolean;
}

/** A child-side failure reported on the error pipe. */
export interface ChildFailure {
  /** The set-up step, e.g. `exec` or `chdir`. */
  step: string;
  /** errno number. */
  errno: number;
}

const encoder = new TextEncoder();

/** Packs strings NUL-terminated into one buffer; returns their offsets. */
function pack(strings: (string | undefined)[]): [Uint8Array, number[]] {
  const parts = strings.map((s, i) => {
    if (s === undefined) return undefined;
    if (s.includes("\0")) {
      throw new TypeError(
        `argument ${i} contains a NUL byte: ${JSON.stringify(s)}`,
      );
    }
    return encoder.encode(s + "\0");
  });
  const size = parts.reduce((n, p) => n + (p?.length ?? 0), 0);
  const buf = new Uint8Array(Math.max(size, 1));
  const offsets: number[] = [];
  let at = 0;
  for (const p of parts) {
    offsets.push(p ? at : -1);
    if (p) buf.set(p, at), (at += p.length);
  }
  return [buf, offsets];
}

/**
 * Clones the child into its namespaces; it waits for {@link release}.
 *
 * @param req what the child is to do
 * @returns the paused child and the parent's fds
 * @throws {SpawnError} NAMESPACE when clone() fails, with an errno hint
 */
export function spawnPaused(req: SpawnRequest): PausedChild {
  const join = req.join ?? [];
  if (join.length > MAX_JOIN) {
    throw new RangeError("too many namespaces to join");
  }
  const fixed = [
    req.file,
    req.path,
    req.cwd,
    req.root,
    req.hostname,
    req.proc,
    ...Array.from({ length: MAX_JOIN }, (_, i) => join[i]),
  ];
  const [str, offs] = pack([...fixed, ...req.argv, ...req.env]);
  const opt = new Int32Array(Opt.COUNT + req.argv.length + req.env.length);
  opt[Opt.CLONE_FLAGS] = req.cloneFlags;
  for (let i = 0; i < MAX_JOIN; i++) opt[Opt.JOIN0 + i] = offs[6 + i]!;
  opt[Opt.UID] = req.uid;
  opt[Opt.GID] = req.gid;
  opt[Opt.CLEAR_GROUPS] = req.clearGroups ? 1 : 0;
  req.stdio.forEach((m, i) => opt[Opt.STDIN + i] = Stdio[m]);
  opt[Opt.SETSID] = req.setsid ? 1 : 0;
  opt[Opt.CTTY] = req.ctty ? 1 : 0;
  opt[Opt.FORK] = req.fork ? 1 : 0;
  opt[Opt.OOM_SET] = req.oomScoreAdj === undefined ? 0 : 1;
  opt[Opt.OOM] = req.oomScoreAdj ?? 0;
  opt[Opt.SHARED_VM] = req.sharedVm ? 1 : 0;
  opt[Opt.STR_LEN] = str.length;
  [Opt.FILE, Opt.PATH, Opt.CWD, Opt.ROOT, Opt.HOSTNAME, Opt.PROC].forEach(
    (slot, i) => opt[slot] = offs[i]!,
  );
  opt[Opt.ARGC] = req.argv.length;
  opt[Opt.ENVC] = req.env.length;
  opt.set(offs.slice(fixed.length), Opt.COUNT);
  const out = new Int32Array(Out.COUNT);
  const rc = loadNative().uns_spawn(opt, opt.length, str, out);
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
const RESOURCE_HINTS: Record<string, string> = {
  EMFILE: "too many open files; raise ulimit -n",
  ENFILE: "the system is out of file descriptors",
  EAGAIN: "the process limit is reached; check ulimit -u",
  ENOMEM: "out of memory or pid limit reached",
};

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
 * Lets a paused child go on: its maps are written.
 *
 * @param syncFd the child's sync fd
 * @returns 0, or the errno (EPIPE: the child is gone)
 */
export function release(syncFd: number): number {
  const rc = loadNative().uns_release(syncFd);
  return rc < 0 ? -rc : 0;
}

const EAGAIN = 11;
/** How long {@link readFailure} blocks the event loop at most. */
const EXEC_WAIT_MS = 2;

/**
 * Reads the child's error pipe to its end, blocking the event loop for at
 * most a couple of milliseconds.
 *
 * @param errFd the error pipe's read end
 * @returns null when the command was executed, else the failed step
 */
export async function readFailure(errFd: number): Promise<ChildFailure | null> {
  const rec = new Int32Array(2);
  const native = loadNative();
  // A released child executes within a fraction of a millisecond: wait for
  // that here (as Deno.Command's spawn does) rather than on another thread,
  // but never long.
  let n = native.uns_read_timed(errFd, rec, 8, EXEC_WAIT_MS);
  if (n === -EAGAIN) n = await native.uns_read(errFd, rec, 8);
  if (n !== 8) return null;
  return { step: STEPS[rec[0]!] ?? `step ${rec[0]}`, errno: rec[1]! };
}

/**
 * Waits for the child to end and reaps it, without blocking the event loop.
 *
 * @param pidfd the child's pidfd
 * @returns its exit code (128+N for signal N) and signal number (0: none)
 */
export async function waitChild(
  pidfd: number,
): Promise<{ code: number; signal: number }> {
  const out = new Int32Array(2);
  const rc = await loadNative().uns_wait(pidfd, out);
  if (rc < 0) {
    throw new SpawnError(
      "SETUP",
      `cannot wait for the child: ${errnoName(-rc)}`,
    );
  }
  return { code: out[0]!, signal: out[1]! };
}

/**
 * Sends a signal through the pidfd: never to a reused pid.
 *
 * @param pidfd the child's pidfd
 * @param signal the signal number
 * @returns 0, or the errno (ESRCH: it has ended)
 */
export function killChild(pidfd: number, signal: number): number {
  const rc = loadNative().uns_kill(pidfd, signal);
  return rc < 0 ? -rc : 0;
}

/**
 * Closes an fd the native side returned.
 *
 * @param fd the fd; negative ones are ignored
 */
export function closeFd(fd: number): void {
  if (fd >= 0) loadNative().uns_close(fd);
}

/**
 * Reads from a pipe without blocking the event loop.
 *
 * @param fd the pipe's read end
 * @param buf where to put the bytes
 * @returns bytes read, 0 at EOF
 * @throws {SpawnError} on a read error
 */
export async function readFd(fd: number, buf: Uint8Array): Promise<number> {
  const n = await loadNative().uns_read(fd, buf, buf.length);
  if (n < 0) {
    throw new SpawnError("SETUP", `cannot read a pipe: ${errnoName(-n)}`);
  }
  return n;
}

/**
 * Writes to a pipe without blocking the event loop.
 *
 * @param fd the pipe's write end
 * @param buf the bytes
 * @returns bytes written
 * @throws {SpawnError} on a write error (EPIPE: the reader is gone)
 */
export async function writeFd(fd: number, buf: Uint8Array): Promise<number> {
  const n = await loadNative().uns_write(fd, buf, buf.length);
  if (n < 0) {
    throw new SpawnError("SETUP", `cannot write a pipe: ${errnoName(-n)}`, {
      errno: errnoName(-n),
    });
  }
  return n;
}

/**
 * Writes a file in one write(), as `/proc/PID/uid_map` requires.
 *
 * @param path the file
 * @param text its new content
 * @returns 0, or the errno
 */
export function writeFileOnce(path: string, text: string): number {
  const [p] = pack([path]);
  const data = encoder.encode(text);
  const rc = loadNative().uns_write_file(p, data, data.length);
  return rc < 0 ? -rc : 0;
}

/** How a map helper ended. */
export interface HelperResult {
  /** Exit code, or 128+N for signal N. */
  code: number;
  /** The signal that killed it, or 0. */
  signal: number;
  /** The start of its stderr (at most {@link HELPER_STDERR} bytes). */
  stderr: Uint8Array;
}

/** How much of a helper's stderr is kept; the rest is drained. */
export const HELPER_STDERR = 4096;

/** A map helper started by {@link startHelper}. */
export interface HelperChild {
  /** Its path, for messages. */
  path: string;
  /** Host pid. */
  pid: number;
  /** pidfd, to reap it. */
  pidfd: number;
  /** Read end of its stderr. */
  errFd: number;
  /** EOF once executed; an errno otherwise. */
  execFd: number;
}

/**
 * Starts `newuidmap` or `newgidmap` from the native side without waiting:
 * a clone that shares this process's memory until it executes (no copy, no
 * thread of the runtime busy), stdin and stdout on /dev/null, stderr on a
 * pipe, an empty environment. Pass it to {@link finishHelper}, always.
 *
 * @param argv the helper's absolute path, then its arguments
 * @returns the started helper
 * @throws {SpawnError} SETUP when fds or processes run out
 */
export function startHelper(argv: string[]): HelperChild {
  const [str, offs] = pack(argv);
  const off = Int32Array.from(offs);
  const out = new Int32Array(HelperOut.COUNT);
  const native = loadNative();
  const rc = native.uns_start_helper(str, str.length, off, off.length, out);
  if (rc < 0) {
    const errno = errnoName(-rc);
    throw new SpawnError("SETUP", `cannot start ${argv[0]}: ${errno}`, {
      errno,
      hint: RESOURCE_HINTS[errno] ?? "run userns doctor",
    });
  }
  return {
    path: argv[0]!,
    pid: out[HelperOut.PID]!,
    pidfd: out[HelperOut.PIDFD]!,
    errFd: out[HelperOut.ERR_FD]!,
    execFd: out[HelperOut.EXEC_FD]!,
  };
}

/**
 * Waits for helpers to end, all on one worker thread, off the event loop;
 * reaps them and closes their fds.
 *
 * @param hs the helpers of one spawn, at most {@link MAX_HELPERS}
 * @returns for each, its status and the start of its stderr, or why it did
 * not run: HelperError HELPER_MISSING when it could not be executed,
 * SpawnError SETUP for want of resources or when it cannot be waited for
 */
export async function finishHelpers(
  hs: HelperChild[],
): Promise<PromiseSettledResult<HelperResult>[]> {
  if (hs.length > MAX_HELPERS) {
    throw new RangeError("too many helpers to wait for");
  }
  const fds = Int32Array.from(hs.flatMap((h) => [h.pidfd, h.execFd, h.errFd]));
  const buf = new Uint8Array(HELPER_STDERR * hs.length);
  const out = new Int32Array(FinishOut.COUNT * hs.length);
  let rc: number;
  try {
    rc = await loadNative().uns_finish_helpers(
      fds,
      hs.length,
      buf,
      HELPER_STDERR,
      out,
    );
  } finally {
    fds.forEach(closeFd);
  }
  if (rc < 0) throw new RangeError(`too many helpers: ${hs.length}`);
  return hs.map((h, i) => {
    const o = out.subarray(i * FinishOut.COUNT);
    const failed = o[FinishOut.RC]! < 0
      ? waitError(h.path, -o[FinishOut.RC]!)
      : o[FinishOut.EXEC_ERRNO]
      ? execError(h.path, o[FinishOut.EXEC_ERRNO]!)
      : undefined;
    if (failed) return { status: "rejected", reason: failed };
    const stderr = buf.subarray(i * HELPER_STDERR).subarray(
      0,
      o[FinishOut.ERR_LEN]!,
    );
    const code = o[FinishOut.CODE]!, signal = o[FinishOut.SIGNAL]!;
    return { status: "fulfilled", value: { code, signal, stderr } };
  });
}

function waitError(path: string, errno: number): SpawnError {
  const name = errnoName(errno);
  return new SpawnError("SETUP", `cannot wait for ${path}: ${name}`, {
    errno: name,
  });
}
