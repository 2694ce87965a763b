/**
 * `userns ps`: the user namespaces visible in `/proc`, and the outside ranges
 * that namespaces of different owners share.
 *
 * @module
 */
import { listProcDir, readProcFile, readProcLink } from "../../ffi/process.ts";
import { UsernsError } from "../errors/errors.ts";
import { type IdMapping, parseIdMap } from "../idmap/rules.ts";

/** The kernel's `PROC_USER_INIT_INO`: the inode of the initial user namespace. */
const INIT_USER_NS = 0xeffffffd;

/** One user namespace, as seen from the caller's `/proc`. */
export interface NamespaceInfo {
  /** The namespace's inode number, as in `user:[INODE]`. */
  id: number;
  /**
   * Owner uid, approximated: the effective uid (as seen outside) of the
   * lowest pid in the namespace; 0 for the initial namespace, which root
   * owns. The kernel's owner is only available through the
   * `NS_GET_OWNER_UID` ioctl; the two differ when that process changed its
   * uid inside.
   */
  owner: number;
  /** The lowest pid in the namespace. */
  pid: number;
  /** How many processes (thread group leaders) are in it. */
  processes: number;
  /** The uid map of {@link pid}, with outside ids as the caller sees them. */
  uidMap: IdMapping[];
  /** It is the initial user namespace (inode `PROC_USER_INIT_INO`). */
  initial: boolean;
}

/** Errors that only mean "this process is gone or not ours to read". */
/**
 * The user namespace inode of a process; undefined when it is gone or not
 * a user namespace link, "denied" when the caller may not read it. Read
 * through the native library, as every /proc file here: Deno grants /proc
 * only to `--allow-all`.
 */
function namespaceOf(proc: string, pid: number): number | "denied" | undefined {
  const link = readProcLink(`${proc}/${pid}/ns/user`);
  if (link === EACCES || link === EPERM) return "denied";
  if (typeof link === "number") return undefined;
  const m = /^user:\[(\d+)\]$/.exec(link);
  return m ? Number(m[1]) : undefined;
}

/** Owner and uid map from the first of `pids` (ascending) still readable. */
function describe(
  proc: string,
  id: number,
  pids: number[],
): NamespaceInfo | undefined {
  for (const pid of pids) {
    const status = readProcFile(`${proc}/${pid}/status`);
    if (typeof status === "number") continue;
    const euid = /^Uid:\s+\d+\s+(\d+)/m.exec(status)?.[1];
    if (euid === undefined) continue;
    const map = readProcFile(`${proc}/${pid}/uid_map`);
    if (typeof map === "number") continue;
    const initial = id === INIT_USER_NS;
    return {
      id,
      owner: initial ? 0 : Number(euid),
      pid,
      processes: pids.length,
      uidMap: parseIdMap(map),
      initial,
    };
  }
  return undefined;
}

const EPERM = 1;
const EACCES = 13;

/** What {@link scanUserNamespaces} found. */
export interface NamespaceScan {
  /** One entry per namespace, sorted by id. */
  namespaces: NamespaceInfo[];
  /**
   * Processes whose namespace link the caller may not read (other users'
   * processes, unless root): their namespaces may be missing from the list.
   */
  unreadable: number;
}

/**
 * Scans the user namespaces of the processes in `proc`. Processes that
 * vanish meanwhile are skipped; those the caller may not read are counted.
 *
 * @param proc the proc file system to scan
 * @returns the namespaces, and how many processes could not be read
 * @throws {UsernsError} PROC_READ when `proc` cannot be read
 */
export function scanUserNamespaces(proc = "/proc"): NamespaceScan {
  const members = new Map<number, number[]>();
  let unreadable = 0;
  const names = listProcDir(proc);
  if (!names) {
    throw new UsernsError("PROC_READ", `cannot read ${proc}`, {
      hint: "check that proc is mounted there",
    });
  }
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    const id = namespaceOf(proc, pid);
    if (id === "denied") unreadable++;
    if (typeof id !== "number") continue;
    members.set(id, [...(members.get(id) ?? []), pid]);
  }
  const list: NamespaceInfo[] = [];
  for (const [id, pids] of members) {
    const info = describe(proc, id, pids.sort((a, b) => a - b));
    if (info) list.push(info);
  }
  return { namespaces: list.sort((a, b) => a.id - b.id), unreadable };
}

/**
 * Lists the user namespaces of the processes in `proc`: those of
 * {@link scanUserNamespaces}, without the count of unreadable processes.
 *
 * @param proc the proc file system to scan
 * @returns one entry per namespace, sorted by id
 * @throws {UsernsError} PROC_READ when `proc` cannot be read
 */
export function listUserNamespaces(proc = "/proc"): NamespaceInfo[] {
  return scanUserNamespaces(proc).namespaces;
}

/**
 * Formats a map compactly, `inner:outer:count` joined by commas.
 *
 * @param map the lines
 * @returns e.g. `0:1001:1,1:200000:65536`
 */
export function formatCompactMap(map: IdMapping[]): string {
  return map.map((m) => `${m.inner}:${m.outer}:${m.count}`).join(",");
}

/** Outside `[start, end)` spans of a namespace, identity lines left out. */
function outsideSpans(ns: NamespaceInfo): Array<[number, number]> {
  return ns.uidMap.filter((m) => m.inner !== m.outer).map((
    m,
  ) => [m.outer, m.outer + m.count]);
}

/** The overlaps of two namespaces' outside spans, one line each. */
function overlaps(a: NamespaceInfo, b: NamespaceInfo): string[] {
  const found: string[] = [];
  const name = (n: NamespaceInfo) => `${n.id} (owner ${n.owner}, pid ${n.pid})`;
  for (const [a0, a1] of outsideSpans(a)) {
    for (const [b0, b1] of outsideSpans(b)) {
      const lo = Math.max(a0, b0);
      const hi = Math.min(a1, b1);
      if (lo >= hi) continue;
      found.push(
        `user namespaces ${name(a)} and ${name(b)} both map outside uids ` +
          `${lo}-${hi - 1}`,
      );
    }
  }
  return found;
}

/**
 * Finds outside uids mapped by namespaces of different owners: processes of
 * one user then act as the other's ids. The initial namespace and lines that
 * map ids onto themselves are left out.
 *
 * @param list namespaces, e.g. from {@link listUserNamespaces}
 * @returns one lower-case line per overlapping range, naming both namespaces,
 *   their owners and the range
 */
export function overlapWarnings(list: NamespaceInfo[]): string[] {
  const spaces = list.filter((n) => !n.initial);
  return spaces.flatMap((a, i) =>
    spaces.slice(i + 1).flatMap((b) =>
      a.owner === b.owner ? [] : overlaps(a, b)
    )
  );
}
