/**
 * The mounts of a command's new mount namespace (`mounts`, `mountProc`;
 * the CLI's `--bind`, `--ro-bind`, `--tmpfs`, `--dev`, `--proc`):
 *
 * - `ops.ts`: each mount turned into the primitive operations `c/mounts.c`
 *   runs in order.
 * - `check.ts`: the check of the `mounts` option, and of their count.
 * - `lock.ts`: the maps of the nested user namespace that locks them.
 *
 * @module
 */
export { type LabeledOp, type Mount, mountOps } from "./ops.ts";
export { checkMountCount, checkMounts, mountOperations } from "./check.ts";
export { lockMaps } from "./lock.ts";
