/**
 * Reading a process's user namespace maps from `/proc/PID/uid_map`,
 * `gid_map` and `setgroups`.
 *
 * @module
 */
import { readProcFile } from "../../ffi/process.ts";
import { errnoName } from "../errors/errno.ts";
import { UsernsError } from "../errors/errors.ts";
import { type IdMapping, parseIdMap } from "../idmap/rules.ts";

/** The maps of one process's user namespace, as the kernel shows them. */
export interface ProcessMaps {
  /** The process read. */
  pid: number;
  /** `/proc/PID/uid_map` (empty while the map is not written yet). */
  uid: IdMapping[];
  /** `/proc/PID/gid_map` (empty while the map is not written yet). */
  gid: IdMapping[];
  /** `/proc/PID/setgroups`. */
  setgroups: "allow" | "deny";
}

/** The error for a failed read of `path`, a file of process `pid`. */
function readError(pid: number, path: string, errno: number): UsernsError {
  const name = errnoName(errno);
  if (name === "ENOENT" || name === "ESRCH") {
    return new UsernsError(
      "PROC_READ",
      `no process ${pid}: ${path} does not exist`,
      { hint: "check the pid (ps)" },
    );
  }
  return new UsernsError("PROC_READ", `cannot read ${path}: ${name}`, {
    hint: "run as the process's owner or as root",
    errno: name,
  });
}

/**
 * Reads the uid map, gid map and setgroups policy of a process.
 *
 * @example Usage
 * ```ts ignore
 * import { readProcessMaps } from "./maps.ts";
 * const own = readProcessMaps(); // this process
 * console.log(own.uid); // [{ inner: 0, outer: 0, count: 4294967295 }] outside any namespace
 * ```
 *
 * @param pid the process; default: the current one (`Deno.pid`)
 * @returns the maps as the kernel shows them to this process
 * @throws {UsernsError} `INVALID_ARGUMENT` when pid is not a positive
 *   integer; `PROC_READ` when the process does not exist (`no process PID`)
 *   or its files cannot be read (with the errno name, or a hint to run with
 *   `-A` when Deno's permissions refused)
 * @throws {IdMapError} `MAP_SYNTAX` when a map file is not the kernel's format
 */
export function readProcessMaps(pid: number = Deno.pid): ProcessMaps {
  if (!Number.isSafeInteger(pid) || pid < 1) {
    throw new UsernsError("INVALID_ARGUMENT", `invalid pid ${pid}`, {
      hint: "give a positive integer",
    });
  }
  // Through the native library: Deno grants /proc only to --allow-all.
  const read = (name: string): string => {
    const path = `/proc/${pid}/${name}`;
    const text = readProcFile(path);
    if (typeof text === "number") throw readError(pid, path, text);
    return text;
  };
  const uid = parseIdMap(read("uid_map"));
  const gid = parseIdMap(read("gid_map"));
  const setgroups = read("setgroups").trim() === "deny" ? "deny" : "allow";
  return { pid, uid, gid, setgroups };
}
