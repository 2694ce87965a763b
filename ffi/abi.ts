/**
 * The numbers shared with `c/userns.h`: option, out and event slots, stdio
 * modes, mount operations and set-up steps. A change here is a change of
 * {@link ABI_VERSION}.
 *
 * @module
 */

/** The ABI version the native library must report. */
export const ABI_VERSION = 6;

/** Namespace slots joined by `enter` and pods. */
export const MAX_JOIN = 8;

/** Mount operations one spawn takes at most. */
export const MAX_MOUNTS = 256;

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
  INIT: 17,
  OOM_SET: 18,
  OOM: 19,
  SHARED_VM: 20,
  PROPAGATION: 21,
  NO_NEW_PRIVS: 22,
  TIME: 23,
  MONOTONIC: 24,
  BOOTTIME: 25,
  LOOPBACK: 26,
  SELF_FD: 27,
  EXEC_SELF: 28,
  PRECHECK: 29,
  STR_LEN: 30,
  FILE: 31,
  PATH: 32,
  CWD: 33,
  ROOT: 34,
  HOSTNAME: 35,
  ARGC: 36,
  ENVC: 37,
  NMOUNT: 38,
  NRLIMIT: 39,
  COUNT: 40,
} as const;

/** Slots of one mount operation (enum uns_mount_slot). */
export const MountSlot = {
  KIND: 0,
  A: 1,
  B: 2,
  C: 3,
  MS: 4,
  FLAGS: 5,
} as const;

/** Int32 slots per mount operation. */
export const MOUNT_SLOTS = 6;

/** Int32 slots per resource limit: resource, soft lo/hi, hard lo/hi. */
export const RLIMIT_SLOTS = 5;

/** Mount operation kinds (enum uns_mount). */
export const MountKind = { bind: 1, fs: 2, symlink: 3 } as const;

/** Mount operation flags (UNS_MNT_*). */
export const MountFlag = { RDONLY: 1, MKDIR: 2, MKFILE: 4 } as const;

/** mount(2) flags used by the operations. */
export const MS = {
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  PRIVATE: 0x40000,
  SLAVE: 0x80000,
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
  PRECHECK: 8,
  COUNT: 9,
} as const;

/** Slots of uns_start_helper()'s out array (enum uns_helper_out). */
export const HelperOut = {
  PID: 0,
  PIDFD: 1,
  ERR_FD: 2,
  EXEC_FD: 3,
  COUNT: 4,
} as const;

/** Slots of one event from uns_ctx_take() (enum uns_event_slot). */
export const EventSlot = { FD: 0, KIND: 1, A: 2, B: 3 } as const;

/** Int32 slots per event. */
export const EV_SLOTS = 4;

/** Event kinds (enum uns_event). */
export const Event = { EXIT: 1, READ: 2, WRITE: 3 } as const;

/** How each of fds 0-2 is set up (enum uns_stdio). */
export const Stdio = { inherit: 0, null: 1, piped: 2 } as const;

/** The child's set-up steps (enum uns_step), by number. */
export const STEPS: readonly string[] = [
  "",
  "setns",
  "oom-score-adj",
  "hostname",
  "propagation",
  "mount",
  "root",
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
  "unshare",
  "time",
  "loopback",
  "rlimit",
  "no-new-privs",
  "mount-source",
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

/** Operations of uns_call() (enum uns_call). */
export const Call = {
  CTX_OPEN: 1,
  CTX_WAIT: 2,
  CTX_TAKE: 3,
  CTX_KICK: 4,
  WATCH: 5,
  SPAWN: 6,
  RELEASE: 7,
  ABORT: 8,
  READ: 9,
  READ_TIMED: 10,
  WRITE: 11,
  CLOSE: 12,
  KILL: 13,
  WRITE_FILE: 14,
  START_HELPER: 15,
  OPEN_SELF: 16,
  PIDFD_OPEN: 17,
  PROC_ID: 18,
  WHICH: 19,
  TIMER: 20,
} as const;

/** errno numbers the TypeScript side tests for. */
export const Errno = {
  ENOENT: 2,
  EAGAIN: 11,
  EPIPE: 32,
  EBUSY: 16,
} as const;
