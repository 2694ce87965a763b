/**
 * The numbers shared with `c/userns.h`: option and out slots, stdio modes and
 * set-up steps. A change here is a change of {@link ABI_VERSION}.
 *
 * @module
 */

/** The ABI version the native library must report. */
export const ABI_VERSION = 1;

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
  STR_LEN: 20,
  FILE: 21,
  PATH: 22,
  CWD: 23,
  ROOT: 24,
  HOSTNAME: 25,
  PROC: 26,
  ARGC: 27,
  ENVC: 28,
  COUNT: 29,
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
  COUNT: 7,
} as const;

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
