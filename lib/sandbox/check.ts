/**
 * The checks of the sandbox's options (`sandbox`, `capDrop`, `capAdd`,
 * `seccomp`, `hide`), made by `UsernsCommand`'s constructor with the error
 * classes `Deno.Command` uses: a wrong type or an unknown value is a
 * `TypeError`.
 *
 * @module
 */
import { isPlainObject, nulError, typeError } from "../check/values.ts";
import { capNumber } from "./caps.ts";

/** What `seccomp` takes, for messages. */
const SECCOMP_EXPECTED =
  '"default", "none", or a profile object ({ defaultAction, syscalls, ... })';

/**
 * Checks `capDrop` or `capAdd`: an array of capability names as capsh and
 * bwrap write them (`CAP_SYS_ADMIN`, `sys_admin`), or `ALL`.
 *
 * @param value the option's value
 * @param name the option, for the message
 * @throws {UsernsTypeError} for anything else
 */
export function checkCaps(value: unknown, name: string): void {
  if (!Array.isArray(value)) {
    throw typeError(name, "an array of capability names", value);
  }
  value.forEach((cap: unknown, i) => {
    if (
      typeof cap !== "string" ||
      (cap.toUpperCase() !== "ALL" && capNumber(cap) === undefined)
    ) {
      throw typeError(
        `${name}[${i}]`,
        "a capability name (CAP_SYS_ADMIN or sys_admin) or ALL",
        cap,
      );
    }
  });
}

/**
 * Checks `seccomp`: `"default"`, `"none"`, or a profile object in the
 * OCI/podman format (compiled, and its entries checked, when spawning).
 *
 * @param value the option's value
 * @param name the option, for the message
 * @throws {UsernsTypeError} for anything else
 */
export function checkSeccomp(value: unknown, name: string): void {
  if (value === "default" || value === "none" || isPlainObject(value)) return;
  throw typeError(name, SECCOMP_EXPECTED, value);
}

/**
 * Checks `hide`: absolute paths to make inaccessible.
 *
 * @param value the option's value
 * @param name the option, for the message
 * @throws {UsernsTypeError} for anything else
 */
export function checkHide(value: unknown, name: string): void {
  if (!Array.isArray(value)) throw typeError(name, "an array of paths", value);
  value.forEach((path: unknown, i) => {
    if (typeof path !== "string" || !path.startsWith("/")) {
      throw typeError(`${name}[${i}]`, "an absolute path", path);
    }
    if (path.includes("\0")) throw nulError(`${name}[${i}]`);
  });
}
