/**
 * The directory where pods are recorded: `$XDG_RUNTIME_DIR/userns/` (an
 * absolute `XDG_RUNTIME_DIR` only), else `/tmp/userns-UID/`; made mode 700
 * and used only while it is a directory of the caller's, mode 700, not a
 * link. Another user's `/tmp/userns-UID` is named as theirs, with the way
 * out.
 *
 * @module
 */
import { UsernsError } from "../errors/errors.ts";
import { Errno } from "../errors/errno.ts";
import { findPasswdEntry, readPasswd } from "../system/identity.ts";
import { FileCallError } from "../system/safe_write.ts";
import { AT, closeFd, mkdirAt } from "../../ffi/libc.ts";
import { openTrustedDir } from "../../ffi/library/trusted_dir.ts";

/**
 * The error for a state file or directory that cannot be used.
 *
 * @param what what could not be done, naming the path
 * @param e the error that said why
 * @param hint what to do
 * @returns the error, to throw
 */
export function stateError(
  what: string,
  e: unknown,
  hint: string,
): UsernsError {
  const why = (e as Error)?.message?.split("\n")[0] ?? String(e);
  return new UsernsError("POD_STATE", `${what}: ${why}`, { hint, cause: e });
}

/** The directory's path, by the XDG rules: a relative `XDG_RUNTIME_DIR`
 * is ignored, and so is one that is not the caller's own all the way down
 * (say, root's `su` kept a user's): another user who could rename what is
 * in it could make every later step act on a directory of their choice. */
function statePath(): string {
  let runtime = "";
  try {
    runtime = Deno.env.get("XDG_RUNTIME_DIR") ?? "";
  } catch {
    // not permitted: as unset
  }
  return runtime.startsWith("/") && trusted(runtime)
    ? `${runtime}/userns`
    : `/tmp/userns-${Deno.uid()}`;
}

/** Whether every directory from / to `dir` is the caller's or root's, and
 * writable by no one else (a sticky one of root's excepted). */
function trusted(dir: string): boolean {
  try {
    const fd = openTrustedDir(dir, false);
    if (fd === undefined) return false;
    closeFd(fd);
    return true;
  } catch {
    return false;
  }
}

/**
 * The state directory, created (mode 700) when `create` and missing, and
 * checked: a directory, not a link, the caller's, mode 700.
 *
 * @param create create it if missing
 * @returns its path, or undefined when it does not exist and `create` is false
 * @throws {UsernsError} POD_STATE when it is not private or cannot be made
 */
export function stateDir(create: boolean): string | undefined {
  const dir = statePath();
  let st: Deno.FileInfo;
  try {
    st = Deno.lstatSync(dir);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) {
      throw stateError(`cannot use ${dir}`, e, "check its permissions");
    }
    if (!create) return undefined;
    try {
      // Through the native library, as the records are: no --allow-write.
      const rc = mkdirAt(AT.FDCWD, dir, 0o700);
      // Made meanwhile (another start): checked below like any other.
      if (rc < 0 && rc !== -Errno.EEXIST) throw new FileCallError(rc);
      st = Deno.lstatSync(dir);
    } catch (e) {
      throw stateError(
        `cannot create ${dir}`,
        e,
        "check that its parent is writable",
      );
    }
  }
  const mode = (st.mode ?? 0) & 0o777;
  const me = Deno.uid();
  if (st.uid !== me) throw takenError(dir, st.uid ?? -1, me ?? -1);
  if (!st.isDirectory || mode !== 0o700) {
    throw new UsernsError(
      "POD_STATE",
      `${dir} is not a private directory of yours (owner ${st.uid}, mode ${
        mode.toString(8)
      }${st.isSymlink ? ", a symbolic link" : ""})`,
      {
        hint: st.isDirectory
          ? `make it private (chmod 700 ${dir})`
          : `remove it (rm ${dir})`,
      },
    );
  }
  return dir;
}

/**
 * The error for a state directory of another user's: the caller cannot
 * remove it (it is theirs, in a sticky /tmp or their XDG_RUNTIME_DIR), so
 * the way out is a state directory elsewhere.
 */
function takenError(dir: string, owner: number, me: number): UsernsError {
  let name: string | undefined;
  try {
    name = findPasswdEntry(readPasswd(), owner)?.name;
  } catch {
    // unreadable: the uid alone
  }
  const who = `uid ${owner}${name ? ` (${name})` : ""}`;
  return new UsernsError(
    "POD_STATE",
    `${dir} is taken by another user: it belongs to ${who}, and only they or root can remove it`,
    {
      hint:
        `set XDG_RUNTIME_DIR to a private directory of yours (such as /run/user/${me}) to keep your pods there, or ask root to remove ${dir}`,
    },
  );
}
