/**
 * userns: run programs in a new Linux user namespace with the caller's whole
 * subordinate UID/GID range mapped, as an ordinary user, from Deno.
 *
 * ```ts ignore
 * import { UsernsCommand } from "./mod.ts";
 *
 * const { code, stdout } = await new UsernsCommand("id", {
 *   args: ["-u"],
 *   stdout: "piped",
 * }).output(); // stdout holds "0\n": inside root
 *
 * const child = new UsernsCommand("sleep", {
 *   args: ["10"],
 *   namespaces: ["pid", "mount"],
 * }).spawn();
 * child.kill("SIGTERM");
 * const status = await child.status; // { success: false, code: 143, signal: "SIGTERM" }
 * ```
 *
 * Besides {@link UsernsCommand}, the module exports the pieces it is built
 * from: the sub-ID file reader, the ID map planner and validator, the kernel
 * map format, the free-range finder behind `userns subids --suggest`, and
 * typed errors with a machine-readable `code`.
 *
 * Every error the library throws on purpose carries a `code`, and
 * {@link isUsernsError} tells them apart. Where `Deno.Command` throws a
 * built-in class, so does `UsernsCommand`, with an error that extends it: a
 * bad option is a `TypeError` (a {@link UsernsTypeError}), a command that
 * is not found is `instanceof Deno.errors.NotFound` with code
 * `EXEC_NOT_FOUND` (a {@link UsernsNotFound}), and so on.
 *
 * @module
 */
export { UsernsChild, UsernsCommand } from "./command.ts";
export { EnterCommand, type EnterOptions } from "./enter.ts";
export {
  type PodCommandOptions,
  type PodInfo,
  type PodOptions,
  type PodStopped,
  UsernsPod,
} from "./pod.ts";
export type { Mount } from "./mounts.ts";
export type { RlimitName, RlimitValue } from "./limits.ts";
export type { UsernsOutput, UsernsStatus } from "./command.ts";
export type { Namespace, UsernsCommandOptions } from "./options.ts";
export {
  type Cause,
  HelperError,
  IdMapError,
  isUsernsError,
  NativeError,
  SpawnError,
  SubIdError,
  UsernsBrokenPipe,
  UsernsError,
  type UsernsErrorClass,
  type UsernsErrorCode,
  type UsernsErrorDetails,
  type UsernsErrorFields,
  UsernsFilesystemLoop,
  UsernsNotADirectory,
  UsernsNotFound,
  UsernsPermissionDenied,
  UsernsRangeError,
  UsernsTypeError,
  UsernsURIError,
} from "./errors/mod.ts";
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
  type IdMapPlan,
  type IdSide,
  type MapMode,
  parseIdMap,
  planIdMaps,
  type PlanInput,
  validateIdMap,
} from "./idmap.ts";
export {
  delegateCommand,
  type IdSpan,
  lowestFree,
  suggestRange,
  type SuggestSources,
} from "./suggest.ts";
export {
  delegateHint,
  readSuggestSources,
  suggestFreeRange,
  type SuggestPaths,
} from "./suggest_read.ts";
export { currentIdentity, type Identity } from "./identity.ts";
export { type ProcessMaps, readProcessMaps } from "./procmaps.ts";
export { findHelpers, type HelperPaths } from "./mapwrite.ts";
export {
  type DoctorCheck,
  type DoctorEnv,
  type DoctorStatus,
  runDoctor,
} from "./doctor.ts";
export {
  listUserNamespaces,
  type NamespaceInfo,
  type NamespaceScan,
  overlapWarnings,
  scanUserNamespaces,
} from "./nsps.ts";
