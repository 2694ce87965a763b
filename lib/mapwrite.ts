/**
 * Writes a planned ID map for a paused child: through `newuidmap`/`newgidmap`
 * when unprivileged, straight to `/proc/PID/*_map` otherwise. The helpers'
 * ends come as events of this isolate's reactor.
 *
 * @module
 */
import {
  abortedError,
  type Cause,
  errnoName,
  HelperError,
  helperTimeoutError,
  IdMapError,
  UsernsError,
} from "./errors/mod.ts";
import { whyNotOnPath } from "./pathsearch.ts";
import { formatIdMap, type IdMapping, type IdMapPlan } from "./idmap.ts";
import { writeFileOnce } from "../ffi/fd.ts";
import {
  type HelperChild,
  helperOutcome,
  startHelper as start,
} from "../ffi/helper.ts";
import { killChild } from "../ffi/spawn.ts";
import { which } from "../ffi/which.ts";
import { getReactor } from "../ffi/reactor.ts";

/** Absolute paths of the helpers found on PATH. */
export interface HelperPaths {
  /** newuidmap, if found. */
  newuidmap?: string;
  /** newgidmap, if found. */
  newgidmap?: string;
  /** For each helper not found: why, and what to do. */
  missing?: { newuidmap?: Cause; newgidmap?: Cause };
}

/** What to do when a helper is not installed. */
export const INSTALL_HELPERS =
  "install the uidmap package (apt-get install uidmap)";

let lastPath: string | undefined;
let lastHelpers: HelperPaths = {};

/**
 * Finds `newuidmap` and `newgidmap` on PATH, and says why one is not there.
 * The answer for the last PATH is kept while both paths still hold an
 * executable file: a spawn then costs two stat() calls, not a search that
 * throws for every missing entry.
 *
 * @param path a PATH value
 * @returns the paths found, and the cause for each helper not found
 */
export function findHelpers(path: string): HelperPaths {
  const h = lastHelpers;
  if (
    path === lastPath && h.newuidmap && h.newgidmap &&
    [h.newuidmap, h.newgidmap].every(isExecutable)
  ) {
    return h;
  }
  const found: HelperPaths = {};
  for (const name of ["newuidmap", "newgidmap"] as const) {
    const file = which(path, name);
    if (file) found[name] = file;
    else {
      found.missing = {
        ...found.missing,
        [name]: whyNotOnPath(name, path, INSTALL_HELPERS),
      };
    }
  }
  lastPath = path;
  lastHelpers = found;
  return found;
}

function isExecutable(path: string): boolean {
  try {
    const st = Deno.statSync(path);
    return st.isFile && ((st.mode ?? 0) & 0o111) !== 0;
  } catch {
    return false;
  }
}

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
      const r: Running = { side, child: startHelper(helper, pid, map) };
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

/** A write's deadline, and what to do once it has passed. */
interface Deadline {
  /** When, in ms since the epoch. */
  at: number;
  /** Kills its helpers: it has passed, or it cannot be watched (`error`). */
  expire: (error?: unknown) => void;
}

/**
 * The deadlines of the writes waiting for their helpers, watched by one
 * native timer for all (the runtime's own first timer would cost a CLI's
 * start some 5 ms). The timer does not keep the event loop alive:
 * writeIdMaps() refs the reactor, whose events are the helpers' exits,
 * while they run.
 */
const deadlines = new Set<Deadline>();
let cancelTimer: (() => void) | undefined;
let timerAt = Infinity;

function watchDeadline(d: Deadline): void {
  deadlines.add(d);
  if (d.at >= timerAt) return;
  try {
    armTimer(d.at);
  } catch (e) {
    // The timer armed before, if any, still watches the others.
    deadlines.delete(d);
    d.expire(e);
  }
}

/** Forgets `d`; the timer goes with the last one (it holds an fd). */
function forgetDeadline(d: Deadline): void {
  deadlines.delete(d);
  if (deadlines.size === 0) {
    cancelTimer?.();
    cancelTimer = undefined;
    timerAt = Infinity;
  }
}

/**
 * Arms the timer for `at`, in place of the one before only once the new
 * one exists.
 *
 * @throws {SpawnError} SETUP when no timer can be made
 */
function armTimer(at: number): void {
  const cancel = getReactor().timer(at - Date.now(), expireDeadlines);
  cancelTimer?.();
  cancelTimer = cancel;
  timerAt = at;
}

function expireDeadlines(): void {
  cancelTimer = undefined;
  timerAt = Infinity;
  const now = Date.now();
  let next = Infinity;
  for (const d of deadlines) {
    if (d.at > now) next = Math.min(next, d.at);
    else deadlines.delete(d), d.expire();
  }
  if (next === Infinity) return;
  try {
    armTimer(next);
  } catch (e) {
    // No timer is left to watch them: those writes end with the error.
    for (const d of deadlines) deadlines.delete(d), d.expire(e);
  }
}

const allowed = new Map<string, boolean>();

/** Starts a helper, if `--allow-run` covers it: FFI could, but should not. */
function startHelper(
  helper: string,
  pid: number,
  map: IdMapping[],
): HelperChild {
  if (!mayRun(helper)) {
    throw new UsernsError("PERMISSION", `cannot run ${helper}: not permitted`, {
      hint: "run deno with --allow-run=newuidmap,newgidmap",
    });
  }
  let lines = helperLines.get(map);
  if (!lines) {
    lines = map.flatMap((m) => [m.inner, m.outer, m.count].map(String));
    // A frozen map is one of a plan prepare() keeps and hands to every
    // spawn; a caller's own array may change between spawns.
    if (Object.isFrozen(map)) helperLines.set(map, lines);
  }
  return start([helper, String(pid), ...lines]);
}

/** The helpers' arguments for the maps of kept plans, while they live. */
const helperLines = new WeakMap<readonly IdMapping[], string[]>();

function mayRun(helper: string): boolean {
  let ok = allowed.get(helper);
  if (ok === undefined) {
    ok = Deno.permissions.querySync({ name: "run", command: helper }).state ===
      "granted";
    allowed.set(helper, ok);
  }
  return ok;
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
  try {
    return /^NoNewPrivs:\s*1$/m.test(
      Deno.readTextFileSync("/proc/self/status"),
    );
  } catch {
    return false;
  }
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
