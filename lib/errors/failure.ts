/**
 * What the caller sees when the child's set-up or execve() failed: its
 * failure record (step, errno, operation) turned into one typed error.
 *
 * @module
 */
import { errnoName } from "./errno.ts";
import { SpawnError } from "./errors.ts";
import { cwdError, execError } from "./spawn.ts";

/** What a child that failed reports on its error pipe. */
export interface ChildFailure {
  /** The set-up step, e.g. `exec` or `chdir`. */
  step: string;
  /** errno number. */
  errno: number;
  /** The mount operation or limit that failed, or -1. */
  index: number;
}

/** What {@link failureError} names of the request that failed. */
export interface FailedRequest {
  /** The command. */
  file: string;
  /** Its working directory. */
  cwd?: string;
  /** Its new root. */
  root?: string;
  /** Its mount operations: what each does, its source or type, its target. */
  mounts?: readonly { label?: string; a: string; target: string }[];
  /** Its resource limits, by name. */
  rlimits?: readonly { name?: string }[];
}

const STEP_HINTS: Record<string, string> = {
  chdir: "check that the directory exists inside",
  hostname: "the uts namespace is needed (--uts)",
  "oom-score-adj": "lowering it needs CAP_SYS_RESOURCE outside",
  ctty: "stdin must be a terminal that is no other session's",
  setuid: "the user must be mapped",
  setgid: "the group must be mapped",
  setgroups: "setgroups is denied in this namespace",
  setns: "check that the process still runs and is yours (userns ps)",
  "no-new-privs": "the kernel refused no_new_privs",
  lock:
    "the mounts could not be locked in a nested user namespace (user.max_user_namespaces, or /proc is not mounted)",
  launch:
    "the library's sealed copy could not be executed (a noexec memfd policy: vm.memfd_noexec); nothing runs in your memory instead",
};

/** The error of a failed mount operation, naming it. */
function mountError(f: ChildFailure, request: FailedRequest): SpawnError {
  const errno = errnoName(f.errno);
  const op = request.mounts?.[f.index];
  const label = op?.label ?? `run mount operation ${f.index}`;
  const root = request.root;
  if (f.step === "mount-source") {
    return new SpawnError("SETUP", `cannot ${label}: the source: ${errno}`, {
      errno,
      step: f.step,
      hint: errno === "ENOENT"
        ? `${op?.a} does not exist`
        : errno === "ENOSYS"
        ? "bind mounts need Linux 5.12 or later (open_tree, mount_setattr)"
        : "check the source and its permissions",
    });
  }
  const where = root ? ` in ${root}` : "";
  const hints: Record<string, string> = {
    ENOENT: `the mount point ${op?.target} is missing${where}`,
    // RESOLVE_NO_MAGICLINKS: a /proc/self/fd/N or /proc/PID/root link.
    ELOOP: `a link on the way to ${op?.target}${where} leads through /proc ` +
      "(a magic link) or loops; refused: it could lead out of the root",
    EXDEV:
      `a link on the way to ${op?.target}${where} leads out of it; refused`,
    ENOSYS:
      "mount destinations are resolved with openat2(): Linux 5.6 or later",
  };
  return new SpawnError("SETUP", `cannot ${label}: ${errno}`, {
    errno,
    step: f.step,
    hint: hints[errno] ??
      "check the target and that the namespace allows this mount",
  });
}

/**
 * Turns the child's failure record into the error the caller sees.
 *
 * @param f the record
 * @param request the spawn's request, to name the operation that failed
 * @returns the error
 */
export function failureError(f: ChildFailure, request: FailedRequest): Error {
  const errno = errnoName(f.errno);
  const file = request.file;
  if (f.step === "exec") return execError(file, errno);
  if (f.step === "chdir") {
    return cwdError(file, request.cwd ?? "", errno, STEP_HINTS.chdir);
  }
  if (f.step === "mount" || f.step === "mount-source") {
    return mountError(f, request);
  }
  if (f.step === "root") {
    return new SpawnError(
      "SETUP",
      `cannot make ${request.root} the root: ${errno}`,
      {
        errno,
        step: f.step,
        hint: errno === "ENOENT"
          ? "it does not exist"
          : errno === "ENOTDIR"
          ? "it is not a directory"
          : "check that it is a directory you may mount",
      },
    );
  }
  if (f.step === "rlimit") {
    const l = request.rlimits?.[f.index];
    return new SpawnError(
      "SETUP",
      `cannot set the ${l?.name} limit: ${errno}`,
      {
        errno,
        step: f.step,
        hint: "raising a hard limit needs privilege outside the namespace",
      },
    );
  }
  const hint = f.step === "time" ? timeHint(errno) : STEP_HINTS[f.step];
  return new SpawnError(
    "SETUP",
    `cannot set up the namespace: ${f.step} failed: ${errno}`,
    { errno, step: f.step, hint: hint ?? "run userns doctor" },
  );
}

/**
 * Why a time namespace could not be made or given its offsets: ERANGE is an
 * offset that would put the clock inside below 0 or past KTIME_SEC_MAX/2
 * (time_namespaces(7)); EINVAL from unshare() is a kernel without time
 * namespaces.
 */
function timeHint(errno: string): string | undefined {
  if (errno === "ERANGE") {
    return "a clock offset (--monotonic, --boottime; timeOffsets) would put the clock inside below 0 or past 4611686018 s: a negative offset may be at most the time since boot";
  }
  if (errno === "EINVAL") return "time namespaces need Linux 5.6 or later";
  return undefined;
}
