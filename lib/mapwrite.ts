/**
 * Writes a planned ID map for a paused child: through `newuidmap`/`newgidmap`
 * when unprivileged, straight to `/proc/PID/*_map` otherwise.
 *
 * @module
 */
import { errnoName, HelperError, IdMapError, UsernsError } from "./errors.ts";
import { formatIdMap, type IdMapping, type IdMapPlan } from "./idmap.ts";
import { writeFileOnce } from "../ffi/native.ts";

/** Absolute paths of the helpers found on PATH. */
export interface HelperPaths {
  /** newuidmap, if found. */
  newuidmap?: string;
  /** newgidmap, if found. */
  newgidmap?: string;
}

/**
 * Looks a program up on PATH, as execvp would.
 *
 * @param name the program
 * @param path a PATH value
 * @returns its absolute path, or undefined
 */
export function findOnPath(name: string, path: string): string | undefined {
  for (const dir of path.split(":")) {
    if (!dir.startsWith("/")) continue;
    try {
      const st = Deno.statSync(`${dir}/${name}`);
      if (st.isFile && ((st.mode ?? 0) & 0o111) !== 0) return `${dir}/${name}`;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * Finds `newuidmap` and `newgidmap` on PATH.
 *
 * @param path a PATH value
 * @returns the paths found
 */
export function findHelpers(path: string): HelperPaths {
  return {
    newuidmap: findOnPath("newuidmap", path),
    newgidmap: findOnPath("newgidmap", path),
  };
}

/**
 * Writes both maps of a paused child, the two sides at the same time. The
 * setgroups policy goes first: the kernel requires `deny` before an
 * unprivileged gid map, and it cannot be changed once a gid map exists.
 *
 * @param pid the child's host pid
 * @param plan the validated plan
 * @param helpers where the helpers are
 * @throws {HelperError} when a helper is missing or refuses the map
 * @throws {IdMapError} MAP_WRITE when the kernel refuses a direct write
 */
export async function writeIdMaps(
  pid: number,
  plan: IdMapPlan,
  helpers: HelperPaths,
): Promise<void> {
  if (plan.setgroups === "deny") writeProc(pid, "setgroups", "deny\n");
  await Promise.all([
    writeSide(
      pid,
      "uid",
      plan.uid,
      plan.uidVia === "proc" ? undefined : helpers.newuidmap,
    ),
    writeSide(
      pid,
      "gid",
      plan.gid,
      plan.gidVia === "proc" ? undefined : helpers.newgidmap,
    ),
  ]);
}

async function writeSide(
  pid: number,
  kind: "uid" | "gid",
  map: IdMapping[],
  helper: string | undefined,
): Promise<void> {
  if (helper === undefined) {
    writeProc(pid, `${kind}_map`, formatIdMap(map));
    return;
  }
  const args = [String(pid)];
  for (const m of map) {
    args.push(String(m.inner), String(m.outer), String(m.count));
  }
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(helper, {
      args,
      stdin: "null",
      stdout: "null",
    }).output();
  } catch (e) {
    if (
      e instanceof Deno.errors.NotCapable ||
      e instanceof Deno.errors.PermissionDenied
    ) {
      throw new UsernsError(
        "PERMISSION",
        `cannot run ${helper}: not permitted`,
        {
          hint: "run deno with --allow-run=newuidmap,newgidmap",
          cause: e,
        },
      );
    }
    throw new HelperError(
      "HELPER_MISSING",
      `cannot run ${helper}: ${(e as Error).message}`,
      {
        hint: "install the uidmap package",
        cause: e,
      },
    );
  }
  if (!out.success) {
    const name = helper.slice(helper.lastIndexOf("/") + 1);
    const why = new TextDecoder().decode(out.stderr).trim().split("\n")[0] ??
      "";
    throw new HelperError(
      "HELPER_FAILED",
      `${name} exited ${out.code}: "${why}"`,
      {
        hint: `check that /etc/sub${kind} grants the ranges (userns subids)`,
      },
    );
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
