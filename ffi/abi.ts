/**
 * The numbers shared with `c/userns.h`: option and out slots, stdio modes and
 * set-up steps. A change here is a change of {@link ABI_VERSION}.
 *
 * @module
 */

/** The ABI version the native library must report. */
export const ABI_VERSION = 2;

/** Namespace slots joined by `enter`. */
export const MAX_JOIN = 8;

/** Slots of the option array (enum uns_opt). */
export const Opt = {
  CLONE_FLAGS: 0,
  JOIN0: 1,
  UID: 9,
  GID: 10,
  CLEAR_GROUPS: 11,
  STDIN: 12,
  STDOUT: 13,
  STDERR: 14,
  SETSID: 15,
  CTTY: 16,
  FORK: 17,
  OOM_SET: 18,
  OOM: 19,
  SHARED_VM: 20,
  STR_LEN: 21,
  FILE: 22,
  PATH: 23,
  CWD: 24,
  ROOT: 25,
  HOSTNAME: 26,
  PROC: 27,
  ARGC: 28,
  ENVC: 29,
  COUNT: 30,
} as const;

/** Slots of the out array (enum uns_out). */
export const Out = {
  PID: 0,
  PIDFD: 1,
  SYNC_FD: 2,
  ERR_FD: 3,
  STDIN: 4,
  STDOUT: 5,
  STDERR: 6,
  SHARED: 7,
  COUNT: 8,
} as const;

/** Slots of uns_start_helper()'s out array (enum uns_helper_out). */
export const HelperOut = {
  PID: 0,
  PIDFD: 1,
  ERR_FD: 2,
  EXEC_FD: 3,
  COUNT: 4,
} as const;

/** Slots of uns_finish_helpers()' out array, per helper (enum uns_finish_out). */
export const FinishOut = {
  CODE: 0,
  SIGNAL: 1,
  ERR_LEN: 2,
  EXEC_ERRNO: 3,
  RC: 4,
  COUNT: 5,
} as const;

/** Helpers one uns_finish_helpers() call waits for, at most. */
export const MAX_HELPERS = 2;

/** How each of fds 0-2 is set up (enum uns_stdio). */
export const Stdio = { inherit: 0, null: 1, piped: 2 } as const;

/** The child's set-up steps (enum uns_step), by number. */
export const STEPS: readonly string[] = [
  "",
  "setns",
  "oom-score-adj",
  "hostname",
  "mount-private",
  "mount-proc",
  "chroot",
  "setgroups",
  "setgid",
  "setuid",
  "pdeathsig",
  "fork",
  "setsid",
  "ctty",
  "chdir",
  "stdio",
  "fds",
  "exec",
  "signals",
];

/** clone(2) namespace flags. */
export const CloneFlag = {
  mount: 0x00020000,
  uts: 0x04000000,
  ipc: 0x08000000,
  user: 0x10000000,
  pid: 0x20000000,
  net: 0x40000000,
  cgroup: 0x02000000,
} as const;
