/**
 * Writes a planned ID map for a paused child: through `newuidmap`/`newgidmap`
 * when unprivileged, straight to `/proc/PID/*_map` otherwise.
 *
 * @module
 */
import {
  type Cause,
  errnoName,
  HelperError,
  IdMapError,
  UsernsError,
} from "./errors.ts";
import { findOnPath, whyNotOnPath } from "./pathsearch.ts";
import { formatIdMap, type IdMapping, type IdMapPlan } from "./idmap.ts";
import {
  finishHelpers,
  type HelperChild,
  type HelperResult,
  startHelper as start,
  writeFileOnce,
} from "../ffi/native.ts";

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

/**
 * Finds `newuidmap` and `newgidmap` on PATH, and says why one is not there.
 *
 * @param path a PATH value
 * @returns the paths found, and the cause for each helper not found
 */
export function findHelpers(path: string): HelperPaths {
  const found: HelperPaths = {};
  for (const name of ["newuidmap", "newgidmap"] as const) {
    const file = findOnPath(name, path);
    if (file) found[name] = file;
    else {
      found.missing = {
        ...found.missing,
        [name]: whyNotOnPath(name, path, INSTALL_HELPERS),
      };
    }
  }
  return found;
}

/**
 * Writes both maps of a paused child, the two sides at the same time. The
 * setgroups policy goes first: the kernel requires `deny` before an
 * unprivileged gid map, and it cannot be changed once a gid map exists.
 * The helpers are started from the native side and waited for off the
 * event loop; both are always reaped before this returns or throws.
 *
 * @param pid the child's host pid
 * @param plan the validated plan
 * @param helpers where the helpers are
 * @throws {HelperError} when a helper is missing or refuses the map
 * @throws {IdMapError} MAP_WRITE when the kernel refuses a direct write
 * @throws {UsernsError} PERMISSION when `--allow-run` does not cover a helper
 */
export async function writeIdMaps(
  pid: number,
  plan: IdMapPlan,
  helpers: HelperPaths,
): Promise<void> {
  if (plan.setgroups === "deny") writeProc(pid, "setgroups", "deny\n");
  const sides: Side[] = [
    ["uid", plan.uid, plan.uidVia === "proc" ? undefined : helpers.newuidmap],
    ["gid", plan.gid, plan.gidVia === "proc" ? undefined : helpers.newgidmap],
  ];
  const started: [Side, HelperChild][] = [];
  let failure: unknown;
  try {
    for (const side of sides) {
      const [kind, map, helper] = side;
      if (helper === undefined) writeProc(pid, `${kind}_map`, formatIdMap(map));
      else started.push([side, startHelper(helper, pid, map)]);
    }
  } catch (e) {
    failure = e;
  }
  // Reap every helper that was started, whatever failed.
  const results = started.length
    ? await finishHelpers(started.map(([, h]) => h))
    : [];
  if (failure) throw failure;
  results.forEach((r, i) => {
    if (r.status === "rejected") throw r.reason;
    checkHelper(started[i]![0], r.value);
  });
}

/** One side of the maps: kind, lines, and the helper that writes them. */
type Side = ["uid" | "gid", IdMapping[], string | undefined];

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
  const argv = [helper, String(pid)];
  for (const m of map) {
    argv.push(String(m.inner), String(m.outer), String(m.count));
  }
  return start(argv);
}

function mayRun(helper: string): boolean {
  return Deno.permissions.querySync({ name: "run", command: helper })
    .state === "granted";
}

function checkHelper([kind, , helper]: Side, r: HelperResult): void {
  if (r.code === 0) return;
  const name = helper!.slice(helper!.lastIndexOf("/") + 1);
  const why = new TextDecoder().decode(r.stderr).trim().split("\n")[0] ?? "";
  throw new HelperError("HELPER_FAILED", `${name} exited ${r.code}: "${why}"`, {
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
