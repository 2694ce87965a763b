/**
 * The namespaces a command gets besides its user namespace: their names
 * (the one list), the check of `namespaces`, and their clone(2) flags.
 * Those the other options imply are `prepare.ts`'s (`namespaceSet()`).
 *
 * @module
 */
import { oneOf, typeError } from "../check/values.ts";
import { CloneFlag } from "../../ffi/linux.ts";

/** The namespaces besides the user namespace, as `namespaces` names them. */
export const NAMESPACES = [
  "mount",
  "pid",
  "uts",
  "ipc",
  "net",
  "cgroup",
  "time",
] as const;

/** A namespace `userns` can unshare besides the user namespace: mount,
 * pid, uts, ipc, net, cgroup or time. */
export type Namespace = typeof NAMESPACES[number];

/**
 * Checks `namespaces`: an array of namespace names.
 *
 * @param value the option's value
 * @param name `namespaces`
 * @throws {UsernsTypeError} for anything else
 */
export function checkNamespaces(value: unknown, name: string): void {
  if (!Array.isArray(value)) {
    throw typeError(name, `an array of ${oneOf(NAMESPACES)}`, value);
  }
  for (let i = 0; i < value.length; i++) {
    const ns: unknown = value[i];
    if (
      typeof ns !== "string" || !(NAMESPACES as readonly string[]).includes(ns)
    ) {
      throw typeError(`${name}[${i}]`, oneOf(NAMESPACES), ns);
    }
  }
}

/**
 * The clone(2) flags of a namespace set (time is unshared apart).
 *
 * @param set the namespaces
 * @param user with a new user namespace
 * @returns the flags
 */
export function cloneFlags(set: Set<Namespace>, user: boolean): number {
  let flags = user ? CloneFlag.user : 0;
  for (const ns of set) if (ns !== "time") flags |= CloneFlag[ns];
  return flags;
}
