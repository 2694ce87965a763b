/**
 * Who the caller is: uid, gid, and the passwd entry `newuidmap` will look up.
 *
 * @module
 */
import { cached } from "./filecache.ts";

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
 * Reads /etc/passwd, or returns "" when it cannot be read.
 *
 * @param path the file to read
 * @returns its text
 */
export function readPasswd(path = "/etc/passwd"): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return "";
  }
}

/**
 * The caller's identity.
 *
 * @returns uid, gid and, where /etc/passwd has it, name and primary group
 */
export function currentIdentity(): Identity {
  const uid = Deno.uid() ?? 0;
  const gid = Deno.gid() ?? 0;
  const entry = findPasswdEntry(passwdText(), uid);
  return { uid, gid, name: entry?.name, passwdGid: entry?.gid };
}

/** /etc/passwd, cached while unchanged. A failed read (a passing EMFILE,
 * say) is not cached, or the caller would stay nameless, and without the
 * ranges listed under its name, for the life of the process. */
function passwdText(): string {
  try {
    return cached("/etc/passwd", (path) => Deno.readTextFileSync(path));
  } catch {
    return "";
  }
}
