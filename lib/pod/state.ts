/**
 * Where pods are recorded: one JSON file per pod in a private directory,
 * `$XDG_RUNTIME_DIR/userns/` (else `/tmp/userns-UID/`), mode 700, the
 * caller's own (refused otherwise). A pod is alive while its holder runs:
 * the same pid and start time as recorded; a record whose holder is gone
 * (reboot, SIGKILL, a reused pid) is removed by the next pod command. A
 * start claims its name by creating the file exclusively, so of two starts
 * of one name exactly one wins. Files are written as new temporaries
 * renamed into place and read without following links or waiting
 * (`system/safe_write.ts`, `system/safe_read.ts`): a link, FIFO or device
 * at a record's name is refused, never followed or waited on. Records are
 * written and removed through the native library (`--allow-ffi`), so pods
 * need no `--allow-write`. The
 * directory itself, and its checks: `state_dir.ts`.
 *
 * @module
 */
import { UsernsError } from "../errors/errors.ts";
import { stateDir, stateError } from "./state_dir.ts";
import type { IdMapping } from "../idmap/rules.ts";
import { startTime } from "../../ffi/process.ts";
import { AT, unlinkAt } from "../../ffi/libc.ts";
import { dropPodNetwork, type PodNetwork } from "../net/pod.ts";
import { NotRegularError, readRegularFile } from "../system/safe_read.ts";
import { writeNewFile } from "../system/safe_write.ts";

/** What is recorded of a pod. */
export interface PodRecord {
  /** Its name. */
  name: string;
  /** The holder's (userns-pause's) host pid. */
  pid: number;
  /** The holder's start time, in clock ticks after boot. */
  start: number;
  /**
   * The inode of the pod's user namespace, as it was started: its
   * processes are counted by it. Not the holder's identity: the holder may
   * be moved into a nested namespace by a process of the pod.
   */
  userns: number;
  /** The namespaces it holds: user, mount, and those it was started with. */
  namespaces: string[];
  /** Its uid map. */
  uid: IdMapping[];
  /** Its gid map. */
  gid: IdMapping[];
  /** Its setgroups policy. */
  setgroups: "allow" | "deny";
  /** When it was started (ISO 8601). */
  created: string;
  /** Its user-mode network's helper, if it has one. */
  net?: PodNetwork;
  /** Started with `sandbox`: its commands drop every capability, run
   * under the default seccomp filter, with no_new_privs, unless they say
   * otherwise. */
  sandbox?: boolean;
  /** Started with a root of its own (`root`, or `sandbox`): its commands
   * run in a new session, so that none gets the caller's terminal. */
  isolated?: boolean;
}

/** A claim on a name while its pod starts: the starter. */
interface Claim {
  starting: number;
  start: number;
}

const NAME = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}$/;

/**
 * Checks a pod name: 1-64 of `[A-Za-z0-9_.-]`, not starting with `.`.
 *
 * @param name the name
 * @throws {UsernsError} INVALID_ARGUMENT
 */
export function checkName(name: string): void {
  if (typeof name !== "string" || !NAME.test(name)) {
    throw new UsernsError(
      "INVALID_ARGUMENT",
      `invalid pod name ${JSON.stringify(name)}`,
      { hint: "use 1-64 of A-Z a-z 0-9 _ . -, not starting with ." },
    );
  }
}

/** Whether a parsed file is a record or a claim, not something else. */
function wellFormed(v: unknown): v is PodRecord | Claim {
  const r = v as Record<string, unknown> | null;
  const int = (x: unknown) => Number.isSafeInteger(x) && (x as number) > 0;
  if (typeof r !== "object" || r === null) return false;
  if ("starting" in r) return int(r.starting) && int(r.start);
  return typeof r.name === "string" && int(r.pid) && int(r.start) &&
    int(r.userns) && Array.isArray(r.namespaces) && Array.isArray(r.uid) &&
    Array.isArray(r.gid);
}

/**
 * The record or claim of `name`: undefined when there is none, or when
 * what is there does not parse as one (stale: removed by the next sweep).
 * Opened without following a link and without blocking.
 *
 * @throws {UsernsError} POD_STATE when its file is not a regular file (a
 * link, FIFO, device or directory) or cannot be read
 */
function read(dir: string, name: string): PodRecord | Claim | undefined {
  const path = `${dir}/${name}.json`;
  let text: string | undefined;
  try {
    text = readRegularFile(path);
  } catch (e) {
    if (e instanceof NotRegularError) {
      throw new UsernsError(
        "POD_STATE",
        `cannot read pod "${name}": ${e.message}`,
        { hint: `remove it (rm ${JSON.stringify(path)})`, cause: e },
      );
    }
    throw stateError(`cannot read pod "${name}"`, e, "check its permissions");
  }
  if (text === undefined) return undefined;
  try {
    const v = JSON.parse(text);
    return wellFormed(v) ? v : undefined;
  } catch {
    return undefined; // not a record: stale
  }
}

/**
 * Whether a recorded holder still runs: the same pid and start time. Its
 * user namespace is not asked: a process of the pod (its root) may trace
 * the holder and move it into a nested namespace, and the pod must not be
 * forgotten, nor left unstoppable, for that.
 *
 * @param rec the record
 * @returns true while the pod is alive
 */
export function isAlive(rec: PodRecord): boolean {
  return startTime(rec.pid) === rec.start;
}

function claimAlive(c: Claim): boolean {
  return startTime(c.starting) === c.start;
}

/** A record or claim whose process still runs: not to be removed. */
function current(rec: PodRecord | Claim | undefined): boolean {
  return !!rec && ("starting" in rec ? claimAlive(rec) : isAlive(rec));
}

/**
 * Runs fn holding the state directory's lock (flock on the directory
 * itself, which needs no file and works read-only too), so that claiming a
 * name and removing a record are never interleaved: a file is removed only
 * after it is read again under the lock.
 */
function locked<T>(dir: string, fn: () => T): T {
  let f: Deno.FsFile;
  try {
    f = Deno.openSync(dir, { read: true });
  } catch (e) {
    throw stateError(`cannot lock ${dir}`, e, "check its permissions");
  }
  try {
    f.lockSync(true);
    return fn();
  } finally {
    f.close(); // and with it the lock
  }
}

/** Removes the file of `name` if `stale` still says so under the lock. */
function removeIf(
  dir: string,
  name: string,
  stale: (rec: PodRecord | Claim | undefined) => boolean,
): void {
  locked(dir, () => {
    if (!stale(read(dir, name))) return;
    // Removed meanwhile, or a read-only directory: left for later.
    unlinkAt(AT.FDCWD, `${dir}/${name}.json`);
  });
}

/**
 * The live pods, after removing the records of dead ones (and claims whose
 * starter is gone).
 *
 * @param dir the state directory
 * @returns the live records, by name
 */
export function sweep(dir: string): PodRecord[] {
  const live: PodRecord[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    if (!entry.isFile || !entry.name.endsWith(".json")) continue;
    const name = entry.name.slice(0, -5);
    const rec = read(dir, name);
    if (rec && !("starting" in rec) && isAlive(rec)) live.push(rec);
    else if (!current(rec)) {
      // A dead pod's helper goes with it (pasta watches its link).
      dropPodNetwork(rec && !("starting" in rec) ? rec.net : undefined, {
        dir,
        name,
      });
      removeIf(dir, name, (r) => !current(r));
    }
  }
  return live.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The error for a pod whose holder has ended, or whose pid is another
 * process's now.
 *
 * @param rec its record
 * @returns POD_NOT_FOUND saying so
 */
export function notRunning(rec: PodRecord): UsernsError {
  const why = startTime(rec.pid) !== undefined
    ? `pid ${rec.pid} is another process now`
    : `its holder, pid ${rec.pid}, is gone`;
  return new UsernsError(
    "POD_NOT_FOUND",
    `pod "${rec.name}" is not running (${why})`,
    { hint: `start it again with userns start ${rec.name}` },
  );
}

/**
 * The record of a live pod.
 *
 * @param name the pod
 * @returns its record
 * @throws {UsernsError} POD_NOT_FOUND when there is none alive (a record
 * whose holder has ended is removed on the way)
 */
export function findPod(name: string): PodRecord {
  checkName(name);
  const dir = stateDir(false);
  const rec = dir ? read(dir, name) : undefined;
  // Any pod command forgets the dead pods (a reboot, SIGKILL of a holder).
  const live = dir ? sweep(dir) : [];
  const found = live.find((r) => r.name === name);
  if (found) return found;
  if (rec && !("starting" in rec) && rec.name === name) throw notRunning(rec);
  const starting = rec && "starting" in rec && claimAlive(rec);
  throw new UsernsError(
    "POD_NOT_FOUND",
    starting ? `pod "${name}" is still starting` : `no pod named "${name}"`,
    {
      hint: starting
        ? "try again in a moment"
        : "see userns ls, or start it with userns start",
    },
  );
}

/**
 * Claims a name for a pod about to start: its file, created under the
 * directory's lock once any stale one is gone.
 *
 * @param dir the state directory
 * @param name the pod
 * @throws {UsernsError} POD_EXISTS when a live pod (or a live start) has it;
 * POD_STATE when the directory cannot be written
 */
export function claimName(dir: string, name: string): void {
  const claim: Claim = { starting: Deno.pid, start: startTime(Deno.pid) ?? 0 };
  const path = `${dir}/${name}.json`;
  locked(dir, () => {
    const rec = read(dir, name);
    if (rec && "starting" in rec && claimAlive(rec)) {
      throw new UsernsError(
        "POD_EXISTS",
        `pod "${name}" is being started by pid ${rec.starting}`,
        { hint: "wait for it, or pick another name" },
      );
    }
    if (rec && !("starting" in rec) && isAlive(rec)) {
      throw new UsernsError(
        "POD_EXISTS",
        `pod "${name}" exists (holder pid ${rec.pid})`,
        {
          hint:
            `use it with userns run --in ${name}, or stop it with userns stop ${name}`,
        },
      );
    }
    // A stale one, removed under the lock; if there was none, or it
    // cannot be removed, writing says why.
    unlinkAt(AT.FDCWD, path);
    try {
      writeNewFile(path, JSON.stringify(claim), 0o600, false);
    } catch (e) {
      throw stateError(
        `cannot record pod "${name}" in ${dir}`,
        e,
        "check that the directory is writable and the disk not full",
      );
    }
  });
}

/**
 * Records a started pod in place of its claim: written to a new file, then
 * renamed, so that no reader sees half a record.
 *
 * @param dir the state directory
 * @param rec the record
 * @throws {UsernsError} POD_STATE when it cannot be written (the claim is
 * removed then)
 */
export function commitRecord(dir: string, rec: PodRecord): void {
  try {
    // Under the lock: a start of the same name that has read the claim
    // then asks whether its starter still runs, and must not find it gone
    // (committed and exited) and take the name of a live pod.
    locked(dir, () => {
      writeNewFile(`${dir}/${rec.name}.json`, JSON.stringify(rec), 0o600, true);
    });
  } catch (e) {
    forgetPod(rec.name);
    throw stateError(
      `cannot record pod "${rec.name}" in ${dir}`,
      e,
      "check that the directory is writable and the disk not full",
    );
  }
}

/**
 * Forgets a pod: removes its record, or the claim of this process, unless
 * the name has been taken by another pod or start meanwhile.
 *
 * @param rec the pod's record, or its name while this process starts it
 */
export function forgetPod(rec: PodRecord | string): void {
  const dir = stateDir(false);
  if (!dir) return;
  const name = typeof rec === "string" ? rec : rec.name;
  removeIf(
    dir,
    name,
    (r) =>
      r !== undefined &&
      ("starting" in r
        ? typeof rec === "string" && r.starting === Deno.pid
        : typeof rec !== "string" && r.pid === rec.pid &&
          r.start === rec.start),
  );
}
