/**
 * The lock on the mounts userns makes (`c/lock.c`): once they are made, the
 * command's process enters a nested user namespace, whose maps are these,
 * and the kernel locks every mount it inherits (mount_namespaces(7)).
 *
 * @module
 */
import type { IdMapping } from "../idmap/rules.ts";

/**
 * The maps of the nested user namespace that locks the mounts userns made
 * (`c/lock.c`): every inside id of the namespace onto itself, one line per
 * line of its map (each must lie inside one line of it).
 *
 * @param uid the namespace's uid map
 * @param gid its gid map
 * @returns both, in the kernel's format
 */
export function lockMaps(
  uid: readonly IdMapping[],
  gid: readonly IdMapping[],
): { uid: string; gid: string } {
  const identity = (map: readonly IdMapping[]) =>
    map.map((m) => `${m.inner} ${m.inner} ${m.count}\n`).join("");
  return { uid: identity(uid), gid: identity(gid) };
}
