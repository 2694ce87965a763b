/**
 * A child's life from the native side: cloned into its namespaces and held
 * paused ({@link spawnPaused}), released or aborted, its failure record
 * read, signalled through its pidfd. Its exit comes as an event of this
 * isolate's reactor. Each -errno of the native side becomes a result or a
 * thrown typed error.
 *
 * @module
 */
import { Errno, errnoName } from "../lib/errors/errno.ts";
import { SpawnError } from "../lib/errors/errors.ts";
import type { ChildFailure } from "../lib/errors/failure.ts";
import { execError as commandError } from "../lib/errors/spawn.ts";
import { Event, Out, STEPS } from "./abi.ts";
import { verifiedLibraryFd } from "./load.ts";
import { raw } from "./raw.ts";
import { getReactor } from "./reactor.ts";
import { packRequest, releaseBuffers, type SpawnRequest } from "./request.ts";

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

const out = new Int32Array(Out.COUNT);
let selfFd: number | undefined;

/** A sealed copy of this library (a memfd), for execveat() of
 * userns-init, userns-pause and userns-join: copied from the very fd that was
 * verified and loaded, for a library from the cache; else (a prebuilt one,
 * USERNS_LIBRARY: trusted places) from the file opened by path. */
function libraryFd(): number {
  if (selfFd === undefined || selfFd < 0) {
    selfFd = Math.max(raw.openSelf(verifiedLibraryFd() ?? -1), -1);
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
  const self = req.init || req.execSelf || req.join ? libraryFd() : -1;
  let rc: number;
  try {
    const p = packRequest(req, self);
    rc = raw.spawn(reactor.ctx, p.slots, p.count, p.strings, out);
  } finally {
    releaseBuffers(); // uns_spawn() has copied the request
  }
  if (rc < 0 && out[Out.PRECHECK]) throw commandError(req.file, -rc);
  if (rc === -Errno.ESRCH && req.join) {
    throw req.join.gone?.() ?? goneError(req.join.pid);
  }
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
  const rc = raw.release(syncFd);
  return rc < 0 ? -rc : 0;
}

/**
 * Stops a paused child before release: it exits unmapped, and its exit
 * event follows.
 *
 * @param syncFd the child's sync socket
 */
export function abort(syncFd: number): void {
  raw.abort(syncFd);
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
  const n = raw.readTimed(errFd, record, 12, EXEC_WAIT_MS);
  if (n !== -Errno.EAGAIN) return Promise.resolve(failure(n));
  return new Promise((resolve) => {
    const retry = () => {
      const n = raw.read(errFd, record, 12);
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
  do n = raw.readTimed(errFd, record, 12, -1); while (
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
  const rc = raw.kill(pidfd, signal);
  return rc < 0 ? -rc : 0;
}
