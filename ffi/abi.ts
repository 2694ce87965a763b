/**
 * The numbers shared with `c/userns.h`: option, out and event slots, stdio
 * modes, mount operations and set-up steps. A change here is a change of
 * {@link ABI_VERSION}.
 *
 * @module
 */

/** The ABI version the native library must report. */
export const ABI_VERSION = 7;

/** Mount operations one spawn takes at most. */
export const MAX_MOUNTS = 256;

/** Slots of the option array (enum uns_opt). */
export const Opt = {
  CLONE_FLAGS: 0,
  JOIN_PID: 1,
  JOIN_START_LO: 2,
  JOIN_START_HI: 3,
  JOIN_FLAGS: 4,
  UID: 5,
  GID: 6,
  CLEAR_GROUPS: 7,
  STDIN: 8,
  STDOUT: 9,
  STDERR: 10,
  SETSID: 11,
  CTTY: 12,
  INIT: 13,
  OOM_SET: 14,
  OOM: 15,
  SHARED_VM: 16,
  PROPAGATION: 17,
  NO_NEW_PRIVS: 18,
  TIME: 19,
  MONOTONIC: 20,
  MONOTONIC_HI: 21,
  BOOTTIME: 22,
  BOOTTIME_HI: 23,
  LOOPBACK: 24,
  SELF_FD: 25,
  EXEC_SELF: 26,
  PRECHECK: 27,
  ROOT_RDONLY: 28,
  TTY_FD: 29,
  STR_LEN: 30,
  FILE: 31,
  PATH: 32,
  CWD: 33,
  ROOT: 34,
  HOSTNAME: 35,
  LOCK_UID_MAP: 36,
  LOCK_GID_MAP: 37,
  ARGC: 38,
  ENVC: 39,
  NMOUNT: 40,
  NRLIMIT: 41,
  COUNT: 42,
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

/** mount(2) flags: propagation of the new mount namespace. */
export const MS = {
  PRIVATE: 0x40000,
  SLAVE: 0x80000,
} as const;

/** MOUNT_ATTR_* flags of a new file system's mount (fsmount(2)). */
export const MountAttr = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
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

/** Slots of uns_proc_id()'s int64 out array (enum uns_proc). */
export const Proc = {
  START: 0,
  USERNS: 1,
  TRACER: 9,
  EUID: 10,
  OWNER: 11,
  COUNT: 12,
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
  "lock",
  "launch",
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
  time: 0x00000080,
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
  OPENPTY: 21,
  TTY_SIZE: 22,
  REOPEN: 23,
} as const;

/** errno numbers the TypeScript side tests for. */
export const Errno = {
  ENOENT: 2,
  ESRCH: 3,
  EAGAIN: 11,
  EPIPE: 32,
  EBUSY: 16,
} as const;
