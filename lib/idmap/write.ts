/**
 * Writes a planned ID map for a paused child: through `newuidmap`/`newgidmap`
 * when unprivileged, straight to `/proc/PID/*_map` otherwise. The helpers'
 * ends come as events of this isolate's reactor.
 *
 * @module
 */
import { readProcFile } from "../../ffi/process.ts";
import { errnoName } from "../errors/errno.ts";
import { HelperError, IdMapError } from "../errors/errors.ts";
import { abortedError, helperTimeoutError } from "../errors/spawn.ts";
import { type Deadline, forgetDeadline, watchDeadline } from "./_deadline.ts";
import { type HelperPaths, startMapHelper } from "./helpers.ts";
import type { IdMapPlan } from "./plan.ts";
import { formatIdMap, type IdMapping } from "./rules.ts";
import { writeFileOnce } from "../../ffi/fd.ts";
import { type HelperChild, helperOutcome } from "../../ffi/helper.ts";
import { killChild } from "../../ffi/spawn.ts";
import { getReactor } from "../../ffi/reactor.ts";

/** One side of the maps: kind, lines, and the helper that writes them. */
type Side = ["uid" | "gid", IdMapping[], string | undefined];

/** A helper started for one side, and how it ended. */
interface Running {
  side: Side;
  child: HelperChild;
  /** Set by its exit event: exit code (128+N for signal N). */
  code?: number;
}

/** The map writes of one paused child: helpers running, or done. */
export interface MapWrite {
  /** The helpers started; none when both maps went to /proc. */
  readonly running: readonly Running[];
  /** All helpers have ended. */
  done(): boolean;
  /** Called once {@link done} turns true. */
  onDone?: () => void;
  /**
   * Kills the helpers still running (timeout, abort).
   *
   * @returns the names of those it killed, as `newuidmap`
   */
  stop(): string[];
}

/**
 * Starts writing both maps of a paused child: the setgroups policy first
 * (the kernel requires `deny` before an unprivileged gid map, and it cannot
 * be changed once a gid map exists), direct writes at once, the helpers
 * started from the native side, both sides at the same time. Always pass
 * the result to {@link finishIdMaps} once {@link MapWrite.done}.
 *
 * @param pid the child's host pid
 * @param plan the validated plan
 * @param helpers where the helpers are
 * @returns the write in progress
 * @throws {IdMapError} MAP_WRITE when the kernel refuses a direct write (no
 * helper is left running then)
 * @throws {UsernsError} PERMISSION when `--allow-run` does not cover a helper
 */
export function startIdMaps(
  pid: number,
  plan: IdMapPlan,
  helpers: HelperPaths,
): MapWrite {
  const running: Running[] = [];
  const write: MapWrite = {
    running,
    done: () => running.every((r) => r.code !== undefined),
    stop: () =>
      running.flatMap((r) => {
        if (r.code !== undefined) return [];
        killChild(r.child.pidfd, 9);
        return [r.child.path.slice(r.child.path.lastIndexOf("/") + 1)];
      }),
  };
  try {
    if (plan.setgroups === "deny") writeProc(pid, "setgroups", "deny\n");
    const sides: Side[] = [
      ["uid", plan.uid, plan.uidVia === "proc" ? undefined : helpers.newuidmap],
      ["gid", plan.gid, plan.gidVia === "proc" ? undefined : helpers.newgidmap],
    ];
    for (const side of sides) {
      const [kind, map, helper] = side;
      if (helper === undefined) {
        writeProc(pid, `${kind}_map`, formatIdMap(map));
        continue;
      }
      const r: Running = { side, child: startMapHelper(helper, pid, map) };
      running.push(r);
      getReactor().on(r.child.pidfd, (code) => {
        r.code = code;
        if (write.done()) write.onDone?.();
      });
    }
  } catch (e) {
    write.stop();
    throw Object.assign(e as Error, { [RUNNING]: write });
  }
  return write;
}

/** Where a start failure carries the helpers it left running. */
export const RUNNING: unique symbol = Symbol("userns.running");

/**
 * Checks how the helpers of a finished write ended; closes their fds.
 *
 * @param write a write whose helpers have all ended
 * @throws {HelperError} HELPER_MISSING when a helper could not be executed,
 * HELPER_FAILED when one refused the map
 */
export function finishIdMaps(write: MapWrite): void {
  let first: unknown;
  for (const r of write.running) {
    try {
      const stderr = helperOutcome(r.child);
      checkHelper(r.side, r.code!, stderr);
    } catch (e) {
      first ??= e;
    }
  }
  if (first) throw first;
}

/**
 * What can stop a map write: an `AbortSignal`, or anything with the same
 * four members (`UsernsChild` passes its own one-listener kind, cheaper to
 * make for every spawn than an `AbortController`).
 */
export interface AbortSource {
  /** Whether it has been aborted. */
  readonly aborted: boolean;
  /** Why, once aborted. */
  readonly reason: unknown;
  /** Calls `listener` once it is aborted. */
  addEventListener(type: "abort", listener: () => void): void;
  /** Forgets `listener`. */
  removeEventListener(type: "abort", listener: () => void): void;
}

/**
 * Writes both maps of a paused child and waits for the helpers, off the
 * event loop. A helper that has not ended within `timeoutMs`, or an abort
 * of `signal`, kills every helper; both are always reaped before this
 * returns or throws.
 *
 * @param pid the child's host pid
 * @param plan the validated plan
 * @param helpers where the helpers are
 * @param timeoutMs how long the helpers may take
 * @param signal aborts the write
 * @throws {HelperError} HELPER_MISSING, HELPER_FAILED, HELPER_TIMEOUT
 * @throws {IdMapError} MAP_WRITE when the kernel refuses a direct write
 * @throws {UsernsError} PERMISSION, or ABORTED with the signal's reason
 * @throws {SpawnError} SETUP when the deadline cannot be watched (no fds)
 */
export async function writeIdMaps(
  pid: number,
  plan: IdMapPlan,
  helpers: HelperPaths,
  timeoutMs: number,
  signal?: AbortSource,
): Promise<void> {
  let write: MapWrite;
  try {
    write = startIdMaps(pid, plan, helpers);
  } catch (e) {
    const left = (e as { [RUNNING]?: MapWrite })[RUNNING];
    if (left && !left.done()) {
      await new Promise<void>((resolve) => left.onDone = resolve);
      try {
        finishIdMaps(left);
      } catch {
        // the first failure is what went wrong
      }
    }
    throw e;
  }
  if (write.done()) return finishIdMaps(write);
  let why: "timeout" | "abort" | { error: unknown } | undefined;
  const late: string[] = [];
  const stop = (reason: NonNullable<typeof why>) => {
    // The helpers' exits and the deadline can come in one batch of events:
    // a write whose helpers have all ended is done, whatever came after.
    if (write.done()) return;
    why ??= reason;
    late.push(...write.stop());
  };
  const deadline: Deadline = {
    at: Date.now() + timeoutMs,
    expire: (error) => stop(error === undefined ? "timeout" : { error }),
  };
  const onAbort = () => stop("abort");
  // The helpers' exits keep the event loop alive while they run, whether
  // the child they map is ref'd or not (a pod's holder is nobody's child).
  const reactor = getReactor();
  reactor.ref();
  watchDeadline(deadline);
  signal?.addEventListener("abort", onAbort);
  if (signal?.aborted) stop("abort");
  try {
    await new Promise<void>((resolve) => write.onDone = resolve);
  } finally {
    reactor.unref();
    forgetDeadline(deadline);
    signal?.removeEventListener("abort", onAbort);
  }
  if (why) {
    try {
      finishIdMaps(write); // closes their fds
    } catch {
      // killed: their status says nothing more
    }
    if (typeof why === "object") throw why.error;
    throw why === "abort"
      ? abortedError(signal?.reason)
      : helperTimeoutError(late.join(" and "), pid, timeoutMs);
  }
  finishIdMaps(write);
}

function checkHelper(
  [kind, , helper]: Side,
  code: number,
  stderr: Uint8Array,
): void {
  if (code === 0) return;
  const name = helper!.slice(helper!.lastIndexOf("/") + 1);
  const why = new TextDecoder().decode(stderr).trim().split("\n")[0] ?? "";
  throw new HelperError("HELPER_FAILED", `${name} exited ${code}: "${why}"`, {
    hint: noNewPrivs()
      ? "no_new_privs is set (NoNewPrivs: 1), under which setuid helpers gain no privilege; run userns outside it (e.g. not under systemd's NoNewPrivileges=)"
      : `check that /etc/sub${kind} grants the ranges (userns subids)`,
  });
}

/** Whether this process runs under no_new_privs, where setuid does nothing. */
function noNewPrivs(): boolean {
  const status = readProcFile("/proc/self/status");
  return typeof status === "string" && /^NoNewPrivs:\s*1$/m.test(status);
}

function writeProc(pid: number, file: string, text: string): void {
  const errno = writeFileOnce(`/proc/${pid}/${file}`, text);
  if (errno !== 0) {
    throw new IdMapError(
      "MAP_WRITE",
      `cannot write /proc/${pid}/${file}: ${errnoName(errno)}`,
      {
        errno: errnoName(errno),
        hint: file === "setgroups"
          ? "the kernel refused the setgroups policy"
          : "the kernel refused the map; check it with userns maps",
      },
    );
  }
}
