// Generated from c/userns.h by `deno task gen` (tools/gen.ts): do not
// edit. tests/unit/gen_test.ts fails when it differs from c/userns.h.

/**
 * The numbers shared with the native library (`c/userns.h`): option,
 * out and event slots, stdio modes, mount kinds and flags, set-up steps,
 * operations. A change of any is a change of {@link ABI_VERSION}.
 *
 * @module
 */

/** The ABI version the native library must report. */
export const ABI_VERSION = 8;

/** Mount operations one spawn takes at most. */
export const MAX_MOUNTS = 256;

/**
 * One resource limit: RLIMIT_* number, then soft and hard as two 32-bit
 * halves each (low, high); all ones is RLIM_INFINITY.
 */
export const RLIMIT_SLOTS = 5;

/** Seccomp programs one spawn takes at most. */
export const MAX_FILTERS = 8;

/** Seccomp instructions one spawn takes at most. */
export const MAX_INSNS = 32768;

/** The byte that releases a paused child. */
export const GO = 71;

/** MountFlag (`#define`s of userns.h). */
export const MountFlag = {
  /** bind: read-only, recursively */
  RDONLY: 1,
  /** create a missing target as a directory */
  MKDIR: 2,
  /** create a missing target as an empty file */
  MKFILE: 4,
  LATE: 8,
} as const;

/**
 * `enum uns_opt`: Slots of the int32 option array given to uns_spawn().
 * String slots hold an offset into the string buffer, or -1 for "not set".
 * After the fixed slots come ARGC argv offsets, ENVC envp offsets, NMOUNT
 * mount operations of UNS_MOUNT_SLOTS slots, NRLIMIT limits of
 * UNS_RLIMIT_SLOTS slots, and NFILTER program lengths followed by their
 * instructions (a struct sock_filter in 2 slots each).
 */
export const Opt = {
  /**
   * CLONE_NEW* for clone(); when joining, the namespaces to unshare after
   * the join
   */
  CLONE_FLAGS: 0,
  /** > 0: join the namespaces of this process */
  JOIN_PID: 1,
  /** its start time (clock ticks), low half */
  JOIN_START_LO: 2,
  /** ... high half: another process is refused */
  JOIN_START_HI: 3,
  /** CLONE_NEW* of the namespaces to join */
  JOIN_FLAGS: 4,
  /** inside uid, -1 keeps */
  UID: 5,
  /** inside gid to switch to, -1 keeps */
  GID: 6,
  /** 1: setgroups(0, NULL) before the switch */
  CLEAR_GROUPS: 7,
  /** enum uns_stdio, for fd 0 */
  STDIN: 8,
  /** ... fd 1 */
  STDOUT: 9,
  /** ... fd 2 */
  STDERR: 10,
  /** 1: new session */
  SETSID: 11,
  /** 1: make stdin's terminal the controlling one */
  CTTY: 12,
  /** 1: fork the command, stay as its userns-init */
  INIT: 13,
  /** 1: write UNS_OPT_OOM to oom_score_adj */
  OOM_SET: 14,
  /** oom_score_adj value */
  OOM: 15,
  /**
   * 1: the inside ids map to the caller's own, so the child may share its
   * memory until execve
   */
  SHARED_VM: 16,
  /** 0: unchanged; else MS_SLAVE or MS_PRIVATE */
  PROPAGATION: 17,
  /** 1: set no_new_privs before execve */
  NO_NEW_PRIVS: 18,
  /** 1: unshare a time namespace (CLONE_NEWTIME) */
  TIME: 19,
  /** its CLOCK_MONOTONIC offset, seconds: low half of a 64-bit value */
  MONOTONIC: 20,
  /** ... high half */
  MONOTONIC_HI: 21,
  /** its CLOCK_BOOTTIME offset, low half */
  BOOTTIME: 22,
  /** ... high half */
  BOOTTIME_HI: 23,
  /**
   * 1: bring "lo" up (a new net namespace); 2: and nothing is attached to
   * it, so where the mounts are locked it is made anew in the nested user
   * namespace (lock.c)
   */
  LOOPBACK: 24,
  /** a sealed copy of this library (memfd), to execveat(), or -1 */
  SELF_FD: 25,
  /**
   * 1: execute the library itself (argv[0] says which program: userns-pause)
   */
  EXEC_SELF: 26,
  /**
   * 1: fail before cloning when the command certainly cannot be executed,
   * seen from the caller's view (UNS_OUT_PRECHECK says why)
   */
  PRECHECK: 27,
  /** 1: the new root is read-only, recursively */
  ROOT_RDONLY: 28,
  /**
   * a pseudo-terminal's slave to make fds 0-2 (with UNS_OPT_SETSID,
   * UNS_OPT_CTTY), or -1
   */
  TTY_FD: 29,
  /** 1: keep exactly the capabilities below */
  CAPS: 30,
  /** their mask, bit N capability N: low half */
  CAPS_LO: 31,
  /** ... high half */
  CAPS_HI: 32,
  /** bytes in the string buffer, last one NUL */
  STR_LEN: 33,
  /** command name or path */
  FILE: 34,
  /** PATH to search when FILE has no slash */
  PATH: 35,
  /** working directory */
  CWD: 36,
  /** new root directory (pivot_root) */
  ROOT: 37,
  /** hostname (needs CLONE_NEWUTS) */
  HOSTNAME: 38,
  /**
   * set: lock the mounts in a nested user namespace with this uid_map
   * (identity)
   */
  LOCK_UID_MAP: 39,
  /** ... and this gid_map */
  LOCK_GID_MAP: 40,
  /** argv entries that follow */
  ARGC: 41,
  /** envp entries that follow argv */
  ENVC: 42,
  /** mount operations that follow envp */
  NMOUNT: 43,
  /** resource limits that follow the mounts */
  NRLIMIT: 44,
  /** seccomp programs that follow the limits */
  NFILTER: 45,
  /** their instructions in all */
  NINSN: 46,
  COUNT: 47,
} as const;

/** Int32 slots of one MountSlot entry (UNS_MOUNT_SLOTS). */
export const MOUNT_SLOTS = 6;

/**
 * `enum uns_mount_slot`: One mount operation: UNS_MOUNT_SLOTS int32 slots.
 * Targets are resolved inside the new root (openat2 RESOLVE_IN_ROOT); bind
 * sources in the caller's view.
 */
export const MountSlot = {
  /** enum uns_mount */
  KIND: 0,
  /** bind: source; fs: type; symlink: link text */
  A: 1,
  /** the target path */
  B: 2,
  /** fs: mount data, or -1 */
  C: 3,
  /** fs: MOUNT_ATTR_* flags */
  MS: 4,
  /** UNS_MNT_* */
  FLAGS: 5,
} as const;

/** `enum uns_mount`: Mount operation kinds. */
export const MountKind = {
  bind: 1,
  fs: 2,
  symlink: 3,
} as const;

/** `enum uns_stdio`: How each of fds 0-2 is set up. */
export const Stdio = {
  inherit: 0,
  null: 1,
  piped: 2,
} as const;

/** `enum uns_out`: Slots of the int32 out array filled by uns_spawn(). */
export const Out = {
  PID: 0,
  /** watched: an UNS_EV_EXIT event when it ends */
  PIDFD: 1,
  /** uns_release() lets the child go, uns_abort() not */
  SYNC_FD: 2,
  /** EOF: executed; else a struct uns_failure */
  ERR_FD: 3,
  /** parent ends of piped stdio (non-blocking), or -1 */
  STDIN: 4,
  STDOUT: 5,
  STDERR: 6,
  /** 1: the child shares our memory until it executes */
  SHARED: 7,
  /**
   * ENOENT or EACCES when UNS_OPT_PRECHECK refused the command (uns_spawn()
   * then returns its -errno), else 0
   */
  PRECHECK: 8,
  COUNT: 9,
} as const;

/** `enum uns_proc`: Slots of the int64 out array filled by uns_proc_id(). */
export const Proc = {
  /** start time, clock ticks after boot */
  START: 0,
  /** namespace inodes: user, then mnt pid net ipc uts cgroup time (0: none) */
  USERNS: 1,
  /** TracerPid, 0: none */
  TRACER: 9,
  /** effective uid */
  EUID: 10,
  /** owner of /proc/PID: root while not dumpable */
  OWNER: 11,
  SLOTS: 12,
} as const;

/**
 * `enum uns_helper_out`: Slots of the int32 out array filled by
 * uns_start_helper().
 */
export const HelperOut = {
  PID: 0,
  /** watched: an UNS_EV_EXIT event when it ends */
  PIDFD: 1,
  /** read end of its stderr (non-blocking) */
  ERR_FD: 2,
  /** EOF: executed; 4 bytes: the errno of execve() */
  EXEC_FD: 3,
  COUNT: 4,
} as const;

/** Int32 slots of one EventSlot entry (UNS_EV_SLOTS). */
export const EV_SLOTS = 4;

/**
 * `enum uns_event_slot`: An event of a context: UNS_EV_SLOTS int32 slots,
 * from uns_ctx_take().
 */
export const EventSlot = {
  FD: 0,
  KIND: 1,
  A: 2,
  B: 3,
} as const;

/** `enum uns_event`: Event kinds. */
export const Event = {
  /**
   * a: exit code or 128+N; b: signal N or 0. Taking it closes the pidfd and
   * its sync fd
   */
  EXIT: 1,
  /** the fd is readable, or at EOF/error */
  READ: 2,
  /** the fd is writable, or its reader is gone */
  WRITE: 3,
} as const;

/**
 * `enum uns_step`: The child's set-up steps, as reported in struct
 * uns_failure.
 */
export const Step = {
  SETNS: 1,
  OOM: 2,
  HOSTNAME: 3,
  PROPAGATION: 4,
  MOUNT: 5,
  ROOT: 6,
  SETGROUPS: 7,
  SETGID: 8,
  SETUID: 9,
  PDEATHSIG: 10,
  FORK: 11,
  SETSID: 12,
  CTTY: 13,
  CHDIR: 14,
  STDIO: 15,
  FDS: 16,
  EXEC: 17,
  SIGNALS: 18,
  UNSHARE: 19,
  TIME: 20,
  LOOPBACK: 21,
  RLIMIT: 22,
  NO_NEW_PRIVS: 23,
  MOUNT_SOURCE: 24,
  /** the nested user namespace that locks the mounts */
  LOCK: 25,
  /** executing the library's own userns-join */
  LAUNCH: 26,
  /** the capabilities kept; index: the capability */
  CAPS: 27,
  /** the seccomp filter; index: the program */
  SECCOMP: 28,
} as const;

/** The set-up steps by number, as `SpawnError.step` names them. */
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
  "caps",
  "seccomp",
];

/**
 * `enum uns_call`: The operations of uns_call(): each is the function named
 * in its comment, with the arguments taken from a, b, c (int32) and p, q, r
 * (pointers).
 */
export const Call = {
  /** uns_ctx_open(p out) */
  CTX_OPEN: 1,
  /** uns_ctx_wait(a ctx, b timeout_ms) */
  CTX_WAIT: 2,
  /** uns_ctx_take(a ctx, p buf, b cap) */
  CTX_TAKE: 3,
  /** uns_ctx_kick(a ctx) */
  CTX_KICK: 4,
  /** uns_watch(a fd, b kind) */
  WATCH: 5,
  /** uns_spawn(a ctx, p opt, b nopt, q str, r out) */
  SPAWN: 6,
  /** uns_release(a sync_fd) */
  RELEASE: 7,
  /** uns_abort(a sync_fd) */
  ABORT: 8,
  /** uns_read(a fd, p buf, b len) */
  READ: 9,
  /** uns_read_timed(a fd, p buf, b len, c ms) */
  READ_TIMED: 10,
  /** uns_write(a fd, p buf, b len) */
  WRITE: 11,
  /** uns_close(a fd) */
  CLOSE: 12,
  /** uns_kill(a pidfd, b sig) */
  KILL: 13,
  /** uns_write_file(p path, q buf, b len) */
  WRITE_FILE: 14,
  /** uns_start_helper(a ctx, p str, b len, q off, c argc, r out) */
  START_HELPER: 15,
  /** uns_open_self(a src_fd) */
  OPEN_SELF: 16,
  /** uns_pidfd_open(a pid) */
  PIDFD_OPEN: 17,
  /** uns_proc_id(a pid, b full, p out) */
  PROC_ID: 18,
  /** uns_which(p path, q name) */
  WHICH: 19,
  /** uns_timer(a ctx, b ms) */
  TIMER: 20,
  /** uns_openpty(a ctx, p out) */
  OPENPTY: 21,
  /** uns_tty_size(a from_fd, b to_fd) */
  TTY_SIZE: 22,
  /** uns_reopen(a ctx, b fd, c flags) */
  REOPEN: 23,
  /** uns_read_path(p path, q buf, b len) */
  READ_PATH: 24,
  /** uns_list_dir(p path, q buf, b len) */
  LIST_DIR: 25,
  /** uns_read_link(p path, q buf, b len) */
  READ_LINK: 26,
} as const;
