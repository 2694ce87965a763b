/**
 * The errors of `userns`: the bottom floor, which every other part of the
 * library and its FFI layer (`ffi/`) may import, and which imports nothing
 * of theirs.
 *
 * - `errors.ts`: {@link UsernsError} and its subclasses, the machine-readable
 *   {@link UsernsErrorCode}, {@link isUsernsError}, Deno's permission
 *   refusals as typed errors.
 * - `builtin.ts`: the classes that extend a built-in one (`TypeError`,
 *   `Deno.errors.NotFound`, ...) where `Deno.Command` throws that class.
 * - `errno.ts`: errno numbers and names.
 * - `spawn.ts`: the errors of a spawn, as `Deno.Command` reports them.
 * - `failure.ts`: the child's failure record turned into one of those.
 *
 * @module
 */
export {
  type Cause,
  HelperError,
  IdMapError,
  isUsernsError,
  NativeError,
  permissionError,
  SpawnError,
  SubIdError,
  UsernsError,
  type UsernsErrorCode,
  type UsernsErrorDetails,
  type UsernsErrorFields,
} from "./errors.ts";
export {
  UsernsBrokenPipe,
  type UsernsErrorClass,
  UsernsFilesystemLoop,
  UsernsNotADirectory,
  UsernsNotFound,
  UsernsPermissionDenied,
  UsernsRangeError,
  UsernsTypeError,
  UsernsURIError,
} from "./builtin.ts";
export { Errno, errnoName } from "./errno.ts";
export {
  abortedError,
  brokenPipeError,
  cwdError,
  deniedError,
  execError,
  helperTimeoutError,
  notFoundError,
} from "./spawn.ts";
export {
  type ChildFailure,
  type FailedRequest,
  failureError,
} from "./failure.ts";
