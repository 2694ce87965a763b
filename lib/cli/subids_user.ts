/**
 * The USER operand of `userns subids`: a login name or a numeric uid,
 * looked up in /etc/passwd; by default the caller.
 *
 * @module
 */
import { UsernsError } from "../errors/mod.ts";
import { currentIdentity, findPasswdEntry, readPasswd } from "../identity.ts";

/**
 * The user whose ranges are shown: `name` is null for a numeric uid that
 * has no passwd entry (its ranges are then matched by the uid alone).
 */
export interface Owner {
  /** The login name, or null. */
  name: string | null;
  /** The uid. */
  uid: number;
}

/**
 * Resolves the USER operand (default: the caller) through /etc/passwd.
 *
 * @param operand the USER operand, if given
 * @returns the user
 * @throws {UsernsError} INVALID_ARGUMENT for a uid past 2^53;
 *   USER_UNKNOWN for a name passwd does not have; FILE_READ when
 *   /etc/passwd cannot be read (the name, and ranges under it, unknown)
 */
export function resolveUser(operand: string | undefined): Owner {
  if (operand === undefined) {
    const me = currentIdentity();
    if (me.passwdError) {
      const { what, hint } = me.passwdError;
      throw new UsernsError("FILE_READ", what, { hint });
    }
    return { name: me.name ?? null, uid: me.uid };
  }
  if (/^[0-9]+$/.test(operand)) {
    const uid = Number(operand);
    if (!Number.isSafeInteger(uid)) {
      throw new UsernsError("INVALID_ARGUMENT", `invalid uid ${operand}`, {
        hint: "give a user name or a uid below 2^53",
      });
    }
    return { name: findPasswdEntry(readPasswd(), uid)?.name ?? null, uid };
  }
  const entry = findPasswdEntry(readPasswd(), operand);
  if (!entry) {
    throw new UsernsError(
      "USER_UNKNOWN",
      `unknown user "${operand}": no such name in /etc/passwd`,
      { hint: "give a login name or a numeric uid" },
    );
  }
  return { name: entry.name, uid: entry.uid };
}
