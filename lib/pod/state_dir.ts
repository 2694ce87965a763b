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
import { AT, mkdirAt } from "../../ffi/libc.ts";
import { envOr } from "../../ffi/library/compiler.ts";

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
 * is ignored, and so is one that is not the caller's own (say, root's `su`
 * kept a user's): another user who could rename what is in it could make
 * every later step act on a directory of their choice. */
function statePath(): string {
  const runtime = envOr("XDG_RUNTIME_DIR", "");
  return runtime.startsWith("/") && trusted(runtime)
    ? `${runtime}/userns`
    : `/tmp/userns-${Deno.uid()}`;
}

/** Whether `dir` is a directory of the caller's that no one else may
 * write, in a directory where no one else may rename it (not writable by
 * others, or sticky). Owners further up are not asked: in a user
 * namespace, root's directories show as the overflow id. */
function trusted(dir: string): boolean {
  try {
    const st = Deno.lstatSync(dir);
    if (!st.isDirectory || st.uid !== Deno.uid()) return false;
    if ((st.mode ?? 0o777) & 0o022) return false;
    const up = Deno.statSync(dir.replace(/\/+[^/]*\/*$/, "") || "/");
    const mode = up.mode ?? 0o777;
    return (mode & 0o002) === 0 || (mode & 0o1000) !== 0;
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
