/**
 * ID maps, from the sub-ID files to the kernel: what the caller may map,
 * what it asked for, and how the maps are written.
 *
 * - `subid.ts`: `/etc/subuid` and `/etc/subgid` read as shadow reads them.
 * - `id_space.ts`: the ID space the kernel maps.
 * - `rules.ts`: map lines, their text forms, and the kernel's and
 *   `newuidmap`'s rules ({@link validateIdMap}).
 * - `plan.ts`: a `map` mode, explicit lines and the delegated ranges turned
 *   into the maps to write ({@link planIdMaps}).
 * - `check.ts`: the check of the `uidMap` and `gidMap` options.
 * - `helpers.ts`: `newuidmap` and `newgidmap`, found and started.
 * - `write.ts`: the maps of a paused child written, through the helpers or
 *   straight to `/proc` (`_deadline.ts`: their `helperTimeout`).
 * - `suggest.ts`, `suggest_read.ts`: a free range to delegate.
 *
 * @module
 */
export {
  checkSubIdFile,
  parseSubIdFile,
  rangesFor,
  readSubIdFile,
  readSubIdFileSync,
  type SubIdFile,
  type SubIdProblem,
  type SubIdRange,
  type SubIdUser,
} from "./subid.ts";
export {
  formatIdMap,
  type IdMapping,
  type IdSide,
  parseIdMap,
  parseIdMapSpec,
  validateIdMap,
} from "./rules.ts";
export { MAX_ID } from "./id_space.ts";
export {
  type IdMapPlan,
  MAP_MODES,
  type MapMode,
  planIdMaps,
  type PlanInput,
} from "./plan.ts";
export { checkIdMap } from "./check.ts";
export { findHelpers, type HelperPaths, INSTALL_HELPERS } from "./helpers.ts";
export { type AbortSource, writeIdMaps } from "./write.ts";
export {
  delegateCommand,
  type IdSpan,
  lowestFree,
  SUB_ID_COUNT,
  SUB_ID_MIN,
  suggestRange,
  type SuggestSources,
} from "./suggest.ts";
export {
  delegateHint,
  readSuggestSources,
  suggestFreeRange,
  type SuggestPaths,
} from "./suggest_read.ts";
