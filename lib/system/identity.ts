/**
 * Who the caller is: uid, gid, and the passwd entry `newuidmap` will look up.
 *
 * @module
 */
import type { Cause } from "../errors/errors.ts";
import { cached } from "./file_cache.ts";
import { readFailure, readSystemFile } from "./read.ts";

/** The caller's identity. */
export interface Identity {
  /** Real uid. */
  uid: number;
  /** Real gid. */
  gid: number;
  /** User name from /etc/passwd, when it has an entry. */
  name?: string;
  /** Primary group from /etc/passwd, when it has an entry. */
  passwdGid?: number;
  /**
   * Why /etc/passwd could not be read (not set when it is missing): the
   * name, and the ranges listed under it, are then unknown.
   */
  passwdError?: Cause;
}

/**
 * Finds a user's entry in passwd text by name or by numeric uid.
 *
 * @param text the contents of /etc/passwd
 * @param user a name, or a uid
 * @returns name, uid and primary gid, or undefined
 */
export function findPasswdEntry(
  text: string,
  user: string | number,
): { name: string; uid: number; gid: number } | undefined {
  for (const line of text.split("\n")) {
    const [name, , uid, gid] = line.split(":");
    if (name === undefined || uid === undefined || gid === undefined) continue;
    if (name === user || (typeof user === "number" && Number(uid) === user)) {
      return { name, uid: Number(uid), gid: Number(gid) };
    }
  }
  return undefined;
}

/**
 * Reads /etc/passwd; a missing one reads as empty.
 *
 * @param path the file to read
 * @returns its text
 * @throws {UsernsError} `FILE_READ` when it exists but cannot be read
 */
export function readPasswd(path = "/etc/passwd"): string {
  return readSystemFile(path);
}

/**
 * The caller's identity. /etc/passwd is cached while unchanged; a failed
 * read (a passing EMFILE, say) is not, or the caller would stay nameless,
 * and without the ranges listed under its name, for the life of the
 * process.
 *
 * @param passwd the passwd file @default "/etc/passwd"
 * @returns uid, gid and, where passwd has it, name and primary group; or
 *   why passwd could not be read
 */
export function currentIdentity(passwd = "/etc/passwd"): Identity {
  const uid = Deno.uid() ?? 0;
  const gid = Deno.gid() ?? 0;
  let text = "";
  try {
    text = cached(passwd, (path) => Deno.readTextFileSync(path));
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) {
      return { uid, gid, passwdError: readFailure(passwd, e) };
    }
  }
  // Every spawn asks: the entry found in the same text for the same uid is
  // kept (the cache hands back the same string while the file is unchanged).
  if (lastEntry?.text !== text || lastEntry.uid !== uid) {
    lastEntry = { text, uid, entry: findPasswdEntry(text, uid) };
  }
  const entry = lastEntry.entry;
  return { uid, gid, name: entry?.name, passwdGid: entry?.gid };
}

/** The last passwd entry looked up: the text, the uid, what was found. */
let lastEntry:
  | { text: string; uid: number; entry: ReturnType<typeof findPasswdEntry> }
  | undefined;
