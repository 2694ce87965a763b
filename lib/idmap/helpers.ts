/**
 * The map helpers, `newuidmap` and `newgidmap`: where they are on PATH (or
 * why they are not), and starting one for a map, if Deno's `--allow-run`
 * covers it.
 *
 * @module
 */
import { type Cause, UsernsError } from "../errors/errors.ts";
import { whyNotOnPath } from "../system/path_search.ts";
import type { IdMapping } from "./rules.ts";
import { type HelperChild, startHelper as start } from "../../ffi/helper.ts";
import { which } from "../../ffi/which.ts";

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

/**
 * Starts `newuidmap` or `newgidmap` for one map of a paused child, if
 * `--allow-run` covers it: FFI could run it regardless, but should not.
 *
 * @param helper the helper's absolute path
 * @param pid the child's host pid
 * @param map the lines to write
 * @returns the started helper; its exit comes as an event of its pidfd
 * @throws {UsernsError} PERMISSION when `--allow-run` does not cover it
 * @throws {SpawnError} SETUP when fds or processes run out
 */
export function startMapHelper(
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

/** Whether `--allow-run` covers each helper, asked once per path. */
const allowed = new Map<string, boolean>();

function mayRun(helper: string): boolean {
  let ok = allowed.get(helper);
  if (ok === undefined) {
    ok = Deno.permissions.querySync({ name: "run", command: helper }).state ===
      "granted";
    allowed.set(helper, ok);
  }
  return ok;
}
