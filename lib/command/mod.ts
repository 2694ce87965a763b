/**
 * {@link UsernsCommand}: `Deno.Command`, with the command in a new user
 * namespace and the caller's subordinate ranges mapped.
 *
 * - `options.ts`: the options, each with its default.
 * - `check.ts`: the check of the options `Deno.Command` has not;
 *   `check_deno.ts`: of those it has, as it checks them;
 *   `namespaces.ts`, `rlimits.ts`: the namespaces and limits, each subject
 *   with its names, check and request.
 * - `prepare.ts`: options to a validated plan and native request.
 * - `command.ts`: `UsernsCommand`; `child.ts`: `UsernsChild`, a command
 *   running; `status.ts`: how it ended; `output_sync.ts`: `outputSync()`.
 * - `stream.ts`: its pipes as streams; `signals.ts`: signal names;
 *   `tty.ts`: the relayed pseudo-terminal of `tty: true`.
 *
 * @module
 */
export { UsernsCommand } from "./command.ts";
export { UsernsChild } from "./child.ts";
export type { UsernsOutput, UsernsStatus } from "./status.ts";
export { HELPER_TIMEOUT_MS, type UsernsCommandOptions } from "./options.ts";
export { type Namespace, NAMESPACES } from "./namespaces.ts";
export {
  parseRlimit,
  RLIMIT_NAMES,
  type RlimitName,
  type RlimitValue,
} from "./rlimits.ts";
export { checkCommandOptions, PROPAGATIONS, SETGROUPS } from "./check.ts";
