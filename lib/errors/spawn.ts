/**
 * The errors of a spawn that failed, built the way `Deno.Command` reports
 * them: a command that is not found is `instanceof Deno.errors.NotFound`, one
 * that may not be executed `instanceof Deno.errors.PermissionDenied`, and so
 * on, each also carrying its `code`, `errno`, `step` and `hint`. Messages
 * read like Deno's (`Failed to spawn 'foo': ...`), in the project's style:
 * one line, lower case, the errno named, then what to do.
 *
 * @module
 */
import { errnoName } from "./errno.ts";
import {
  HelperError,
  SpawnError,
  UsernsError,
  type UsernsErrorFields,
} from "./errors.ts";
import {
  UsernsBrokenPipe,
  UsernsFilesystemLoop,
  UsernsNotADirectory,
  UsernsNotFound,
  UsernsPermissionDenied,
} from "./builtin.ts";

/** strerror(3), in lower case, for the errnos an exec or chdir gives. */
const REASONS: Record<string, string> = {
  ENOENT: "no such file or directory",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ENOTDIR: "not a directory",
  ELOOP: "too many levels of symbolic links",
  ENAMETOOLONG: "file name too long",
  E2BIG: "argument list too long",
  ETXTBSY: "text file busy",
  ENOEXEC: "exec format error",
  ENOMEM: "out of memory",
  EISDIR: "is a directory",
  EINVAL: "invalid argument",
  EIO: "input/output error",
  EMFILE: "too many open files",
};

/** A control character, which would break the one-line message. */
// deno-lint-ignore no-control-regex -- matching them is the point
const CONTROL = /[\u0000-\u001f\u007f]/g;

function escapeControl(c: string): string {
  return JSON.stringify(c).slice(1, -1);
}

/** `'path'` as Deno quotes it, with control characters escaped. */
function quote(s: string): string {
  return `'${s.replace(CONTROL, escapeControl)}'`;
}

/** `no such file or directory (ENOENT)`, or just the name. */
function reason(errno: string): string {
  const text = REASONS[errno];
  return text ? `${text} (${errno})` : errno;
}

function name(errno: string | number): string {
  return typeof errno === "number" ? errnoName(errno) : errno;
}

/**
 * The error for a command that does not exist (ENOENT): `instanceof
 * Deno.errors.NotFound`, code `EXEC_NOT_FOUND`, as `Deno.Command` throws.
 *
 * @example Usage
 * ```ts
 * import { notFoundError } from "./spawn.ts";
 * const e = notFoundError("foo");
 * console.assert(e instanceof Deno.errors.NotFound && e.code === "EXEC_NOT_FOUND");
 * console.assert(e.message === "failed to spawn 'foo': not found on PATH (ENOENT); check the program name or PATH");
 * ```
 *
 * @param file the command as given (a bare name was searched on PATH)
 * @param errno the errno, as a name or a number @default {"ENOENT"}
 * @param hint what to do, instead of the default
 * @returns the error, to throw
 */
export function notFoundError(
  file: string,
  errno: string | number = "ENOENT",
  hint?: string,
): UsernsNotFound {
  const e = name(errno);
  const onPath = !file.includes("/");
  return new UsernsNotFound(
    "EXEC_NOT_FOUND",
    `failed to spawn ${quote(file)}: ${
      onPath ? `not found on PATH (${e})` : reason(e)
    }`,
    {
      errno: e,
      step: "exec",
      hint: hint ??
        (file === ""
          ? "give a program name or path"
          : onPath
          ? "check the program name or PATH"
          : "check the path"),
    },
  );
}

/**
 * The error for a command that exists but may not be executed (EACCES,
 * EPERM): `instanceof Deno.errors.PermissionDenied`, code `EXEC_DENIED`, as
 * `Deno.Command` throws.
 *
 * @param file the command, resolved if it was found on PATH
 * @param errno the errno, as a name or a number @default {"EACCES"}
 * @param hint what to do, instead of the default
 * @returns the error, to throw
 */
export function deniedError(
  file: string,
  errno: string | number = "EACCES",
  hint?: string,
): UsernsPermissionDenied {
  const e = name(errno);
  return new UsernsPermissionDenied(
    "EXEC_DENIED",
    `failed to spawn ${quote(file)}: ${reason(e)}`,
    {
      errno: e,
      step: "exec",
      hint: hint ??
        (e === "EPERM"
          ? "check the mount's noexec flag and the security policy"
          : "check that it is a file with execute permission"),
    },
  );
}

/**
 * The error for a failed execve(2) (or PATH search), of the class
 * `Deno.Command` throws for that errno: ENOENT `NotFound`, ENOTDIR
 * `NotADirectory` (both code `EXEC_NOT_FOUND`, exit 127), EACCES/EPERM
 * `PermissionDenied`, ELOOP `FilesystemLoop`, anything else a
 * {@link SpawnError} (code `EXEC_DENIED`, exit 126).
 *
 * @param file the command
 * @param errno the errno, as a name or a number
 * @param hint what to do, instead of the default
 * @returns the error, to throw
 */
export function execError(
  file: string,
  errno: string | number,
  hint?: string,
): Error & UsernsErrorFields {
  const e = name(errno);
  switch (e) {
    case "ENOENT":
      return notFoundError(file, e, hint);
    case "EACCES":
    case "EPERM":
      return deniedError(file, e, hint);
  }
  const what = `failed to spawn ${quote(file)}: ${reason(e)}`;
  const details = { errno: e, step: "exec" };
  if (e === "ENOTDIR") {
    return new UsernsNotADirectory("EXEC_NOT_FOUND", what, {
      ...details,
      hint: hint ?? "check the path",
    });
  }
  if (e === "ELOOP") {
    return new UsernsFilesystemLoop("EXEC_DENIED", what, {
      ...details,
      hint: hint ?? "check the symbolic links on the path",
    });
  }
  return new SpawnError("EXEC_DENIED", what, {
    ...details,
    hint: hint ?? "check its permissions and format",
  });
}

/**
 * The error for a working directory the command cannot start in, as
 * `Deno.Command().spawn()` reports it: ENOENT and ENOTDIR `NotFound` (code
 * `CWD_NOT_FOUND`, `no such cwd '...'` / `cwd is not a directory '...'`),
 * EACCES/EPERM `PermissionDenied` (code `CWD_DENIED`), anything else a
 * {@link SpawnError} with code `SETUP`. The step is `chdir`.
 *
 * @param file the command
 * @param cwd the directory
 * @param errno the errno of chdir(2), as a name or a number
 * @param hint what to do, instead of the default
 * @returns the error, to throw
 */
export function cwdError(
  file: string,
  cwd: string,
  errno: string | number,
  hint?: string,
): Error & UsernsErrorFields {
  const e = name(errno);
  const head = `failed to spawn ${quote(file)}`;
  const details = { errno: e, step: "chdir" };
  switch (e) {
    case "ENOENT":
    case "ENOTDIR":
      return new UsernsNotFound(
        "CWD_NOT_FOUND",
        e === "ENOENT"
          ? `${head}: no such cwd ${quote(cwd)}`
          : `${head}: cwd is not a directory ${quote(cwd)}`,
        { ...details, hint: hint ?? "check that the directory exists" },
      );
    case "EACCES":
    case "EPERM":
      return new UsernsPermissionDenied(
        "CWD_DENIED",
        `${head}: cwd ${quote(cwd)}: ${reason(e)}`,
        { ...details, hint: hint ?? "check the directory's permissions" },
      );
  }
  return new SpawnError("SETUP", `${head}: cwd ${quote(cwd)}: ${reason(e)}`, {
    ...details,
    hint: hint ?? "check the directory",
  });
}

/**
 * The error for a write to the stdin of a command that has exited or closed
 * its stdin (EPIPE): `instanceof Deno.errors.BrokenPipe`, as
 * `Deno.ChildProcess.stdin` rejects the write, code `BROKEN_PIPE`.
 *
 * @param cause the write's own error, if any
 * @returns the error, to reject the write with
 */
export function brokenPipeError(cause?: unknown): UsernsBrokenPipe {
  return new UsernsBrokenPipe(
    "BROKEN_PIPE",
    "cannot write to the command's stdin: broken pipe (EPIPE)",
    {
      errno: "EPIPE",
      cause,
      hint: "the command has exited or closed its stdin",
    },
  );
}

/**
 * The error for a newuidmap/newgidmap that did not finish in time (it was
 * killed), code `HELPER_TIMEOUT`.
 *
 * @param helper `newuidmap` or `newgidmap`
 * @param pid the child whose map it was writing
 * @param ms the `helperTimeout` that ran out
 * @returns the error, to throw
 */
export function helperTimeoutError(
  helper: string,
  pid: number,
  ms: number,
): HelperError {
  return new HelperError(
    "HELPER_TIMEOUT",
    `${helper} for pid ${pid} did not finish within ${ms} ms`,
    { hint: "raise helperTimeout, or run userns doctor" },
  );
}

/**
 * The error for a spawn stopped by its AbortSignal (or `kill()`) before the
 * command ran, code `ABORTED`.
 *
 * @param reason the signal's reason, kept as the cause
 * @returns the error, to throw
 */
export function abortedError(reason: unknown): UsernsError {
  return new UsernsError("ABORTED", "aborted before the command started", {
    cause: reason,
  });
}
