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
 * The library is built in floors, each a folder with a `mod.ts`: `errors/`
 * at the bottom (the one part `ffi/` may import), then `check/` and
 * `system/`, then `idmap/` and `mounts/`, then `command/`, then `enter/`,
 * `pod/` and `inspect/`, and `cli/` on top. An import never points upward.
 *
 * @module
 */
export {
  type Namespace,
  type RlimitName,
  type RlimitValue,
  UsernsChild,
  UsernsCommand,
  type UsernsCommandOptions,
  type UsernsOutput,
  type UsernsStatus,
} from "./command/mod.ts";
export type { Mount } from "./mounts/mod.ts";
export { EnterCommand, type EnterOptions } from "./enter/mod.ts";
export {
  type PodCommandOptions,
  type PodInfo,
  type PodOptions,
  type PodStopped,
  UsernsPod,
} from "./pod/mod.ts";
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
  delegateCommand,
  delegateHint,
  findHelpers,
  formatIdMap,
  type HelperPaths,
  type IdMapping,
  type IdMapPlan,
  type IdSide,
  type IdSpan,
  lowestFree,
  type MapMode,
  parseIdMap,
  parseSubIdFile,
  planIdMaps,
  type PlanInput,
  rangesFor,
  readSubIdFile,
  readSubIdFileSync,
  readSuggestSources,
  type SubIdFile,
  type SubIdProblem,
  type SubIdRange,
  type SubIdUser,
  suggestFreeRange,
  type SuggestPaths,
  suggestRange,
  type SuggestSources,
  validateIdMap,
} from "./idmap/mod.ts";
export { currentIdentity, type Identity } from "./system/mod.ts";
export {
  type DoctorCheck,
  type DoctorEnv,
  type DoctorStatus,
  listUserNamespaces,
  type NamespaceInfo,
  type NamespaceScan,
  overlapWarnings,
  type ProcessMaps,
  readProcessMaps,
  runDoctor,
  scanUserNamespaces,
} from "./inspect/mod.ts";
