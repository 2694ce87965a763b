/**
 * The sandbox's parts that are decided in the parent: the capabilities the
 * command keeps (`--cap-drop`, `--cap-add`) and its seccomp filter
 * (`--seccomp default|none|FILE`), compiled to classic BPF with libseccomp.
 * The child applies both last before `execve` (`c/filter.c`,
 * `apply_caps_and_filter()`).
 *
 * @example Usage
 * ```ts ignore
 * import { keptCaps, seccompFilter } from "./mod.ts";
 * const keep = keptCaps({ capDrop: ["ALL"], capAdd: ["NET_BIND_SERVICE"] });
 * const filter = seccompFilter("default", keep); // undefined for "none"
 * // the request carries: keep (64 bits), filter.bytes, filter.lengths
 * ```
 *
 * @module
 */
export {
  allCaps,
  applyCapSteps,
  CAP_NAMES,
  capLastCap,
  capNames,
  capNumber,
  type CapOptions,
  capsGiven,
  type CapStep,
  keptCaps,
} from "./caps.ts";
export {
  clearSeccompCache,
  type CompileOptions,
  compileSeccompProfile,
  DENYLIST_SOURCE,
  libseccompVersion,
  parseSeccompProfile,
  type SeccompArg,
  type SeccompChoice,
  type SeccompCondition,
  type SeccompFilter,
  seccompFilter,
  type SeccompProfile,
  type SeccompSyscall,
  SYSTEM_PROFILES,
  systemProfilePath,
} from "./seccomp.ts";
export { DENYLIST } from "./_denylist.ts";
