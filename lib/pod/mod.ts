/**
 * Pods: named, long-lived namespaces held by a small `userns-pause`
 * process, into which commands are spawned without a map helper.
 *
 * - `pod.ts`: {@link UsernsPod}: start, open, list, command, stop.
 * - `state.ts`: where pods are recorded, and which are alive.
 *
 * @module
 */
export {
  type PodCommandOptions,
  type PodInfo,
  type PodOptions,
  type PodStopped,
  UsernsPod,
} from "./pod.ts";
export { checkName, type PodRecord } from "./state.ts";
