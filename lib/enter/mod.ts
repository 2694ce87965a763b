/**
 * Commands in the namespaces of a process that runs:
 *
 * - `enter.ts`: {@link EnterCommand}, `userns enter`'s.
 * - `target.ts`: the process to join, checked, and which of its
 *   namespaces differ from the caller's.
 * - `join.ts`: the native request of a command that joins them and makes
 *   new ones on top, for `enter` and pods.
 *
 * @module
 */
export { EnterCommand, type EnterOptions } from "./enter.ts";
export { joinFlags, joinTarget, ORDER } from "./target.ts";
export { joinRequest, type JoinSetup } from "./join.ts";
