/**
 * `newuidmap` and `newgidmap`, started from the native side without
 * waiting ({@link startHelper}), and how each ended ({@link helperOutcome}).
 *
 * @module
 */
import { errnoName } from "../lib/errors/errno.ts";
import { HelperError, SpawnError } from "../lib/errors/errors.ts";
import { HelperOut } from "./abi.ts";
import { closeFd } from "./fd.ts";
import { raw } from "./raw.ts";
import { getReactor } from "./reactor.ts";
import { packStrings, releaseBuffers } from "./request.ts";
import { RESOURCE_HINTS } from "./spawn.ts";

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
    const p = packStrings(argv); // each string's offset in slots[i]
    rc = raw.startHelper(
      getReactor().ctx,
      p.strings,
      p.count,
      p.slots,
      argv.length,
      hout,
    );
  } finally {
    releaseBuffers();
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
  const n = raw.read(h.execFd, execErrno, 4);
  const kept = raw.read(h.errFd, helperStderr, HELPER_STDERR);
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
