/**
 * What the reporting commands read of the system:
 *
 * - `doctor.ts`, `doctor_checks.ts`: `userns doctor`, each check with its
 *   verdict and fix.
 * - `ps.ts`: `userns ps`, the user namespaces visible in `/proc`.
 * - `maps.ts`: `userns maps`, a process's ID maps.
 *
 * @module
 */
export {
  type DoctorCheck,
  type DoctorEnv,
  type DoctorStatus,
  runDoctor,
} from "./doctor.ts";
export {
  formatCompactMap,
  listUserNamespaces,
  type NamespaceInfo,
  type NamespaceScan,
  overlapWarnings,
  scanUserNamespaces,
} from "./ps.ts";
export { type ProcessMaps, readProcessMaps } from "./maps.ts";
