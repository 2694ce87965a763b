/*
 * userns.h - the contract between the native library and ffi/symbols.ts.
 *
 * Every function of the library returns >= 0 on success or -errno on failure.
 * None prints or exits. They are reached through uns_call() (see enum
 * uns_call); uns_ctx_wait() is exported on its own, as the one call the
 * runtime runs off its thread. A change here bumps UNS_ABI_VERSION and is mirrored in
 * ffi/abi.ts.
 */
#ifndef USERNS_H
#define USERNS_H

#include <stddef.h>
#include <stdint.h>

#define UNS_ABI_VERSION 8
#define UNS_EXPORT __attribute__((visibility("default")))

/* Slots of the int32 option array given to uns_spawn(). String slots hold an
 * offset into the string buffer, or -1 for "not set". After the fixed slots
 * come ARGC argv offsets, ENVC envp offsets, NMOUNT mount operations of
 * UNS_MOUNT_SLOTS slots, NRLIMIT limits of UNS_RLIMIT_SLOTS slots, and
 * NFILTER program lengths followed by their instructions (a struct
 * sock_filter in 2 slots each). */
enum uns_opt {
	UNS_OPT_CLONE_FLAGS, /* CLONE_NEW* for clone(); when joining, the
			      * namespaces to unshare after the join */
	UNS_OPT_JOIN_PID,    /* > 0: join the namespaces of this process */
	UNS_OPT_JOIN_START_LO, /* its start time (clock ticks), low half */
	UNS_OPT_JOIN_START_HI, /* ... high half: another process is refused */
	UNS_OPT_JOIN_FLAGS,  /* CLONE_NEW* of the namespaces to join */
	UNS_OPT_UID,         /* inside uid, -1 keeps */
	UNS_OPT_GID,          /* inside gid to switch to, -1 keeps */
	UNS_OPT_CLEAR_GROUPS, /* 1: setgroups(0, NULL) before the switch */
	UNS_OPT_STDIN,        /* enum uns_stdio, for fd 0 */
	UNS_OPT_STDOUT,       /* ... fd 1 */
	UNS_OPT_STDERR,       /* ... fd 2 */
	UNS_OPT_SETSID,       /* 1: new session */
	UNS_OPT_CTTY,         /* 1: make stdin's terminal the controlling one */
	UNS_OPT_INIT,         /* 1: fork the command, stay as its userns-init */
	UNS_OPT_OOM_SET,      /* 1: write UNS_OPT_OOM to oom_score_adj */
	UNS_OPT_OOM,          /* oom_score_adj value */
	UNS_OPT_SHARED_VM,    /* 1: the inside ids map to the caller's own, so
			       * the child may share its memory until execve */
	UNS_OPT_PROPAGATION,  /* 0: unchanged; else MS_SLAVE or MS_PRIVATE */
	UNS_OPT_NO_NEW_PRIVS, /* 1: set no_new_privs before execve */
	UNS_OPT_TIME,         /* 1: unshare a time namespace (CLONE_NEWTIME) */
	UNS_OPT_MONOTONIC,    /* its CLOCK_MONOTONIC offset, seconds: low
			       * half of a 64-bit value */
	UNS_OPT_MONOTONIC_HI, /* ... high half */
	UNS_OPT_BOOTTIME,     /* its CLOCK_BOOTTIME offset, low half */
	UNS_OPT_BOOTTIME_HI,  /* ... high half */
	UNS_OPT_LOOPBACK,     /* 1: bring "lo" up (a new net namespace); 2:
			       * and nothing is attached to it, so where
			       * the mounts are locked it is made anew in
			       * the nested user namespace (lock.c) */
	UNS_OPT_SELF_FD,      /* a sealed copy of this library (memfd), to
			       * execveat(), or -1 */
	UNS_OPT_EXEC_SELF,    /* 1: execute the library itself (argv[0] says
			       * which program: userns-pause) */
	UNS_OPT_PRECHECK,     /* 1: fail before cloning when the command
			       * certainly cannot be executed, seen from the
			       * caller's view (UNS_OUT_PRECHECK says why) */
	UNS_OPT_ROOT_RDONLY,  /* 1: the new root is read-only, recursively */
	UNS_OPT_TTY_FD,       /* a pseudo-terminal's slave to make fds 0-2
			       * (with UNS_OPT_SETSID, UNS_OPT_CTTY), or -1 */
	UNS_OPT_CAPS,         /* 1: keep exactly the capabilities below */
	UNS_OPT_CAPS_LO,      /* their mask, bit N capability N: low half */
	UNS_OPT_CAPS_HI,      /* ... high half */
	UNS_OPT_STR_LEN,      /* bytes in the string buffer, last one NUL */
	UNS_OPT_FILE,         /* command name or path */
	UNS_OPT_PATH,         /* PATH to search when FILE has no slash */
	UNS_OPT_CWD,          /* working directory */
	UNS_OPT_ROOT,         /* new root directory (pivot_root) */
	UNS_OPT_HOSTNAME,     /* hostname (needs CLONE_NEWUTS) */
	UNS_OPT_LOCK_UID_MAP, /* set: lock the mounts in a nested user
			       * namespace with this uid_map (identity) */
	UNS_OPT_LOCK_GID_MAP, /* ... and this gid_map */
	UNS_OPT_ARGC,         /* argv entries that follow */
	UNS_OPT_ENVC,         /* envp entries that follow argv */
	UNS_OPT_NMOUNT,       /* mount operations that follow envp */
	UNS_OPT_NRLIMIT,      /* resource limits that follow the mounts */
	UNS_OPT_NFILTER,      /* seccomp programs that follow the limits */
	UNS_OPT_NINSN,        /* their instructions in all */
	UNS_OPT_COUNT
};

/* One mount operation: UNS_MOUNT_SLOTS int32 slots. Targets are resolved
 * inside the new root (openat2 RESOLVE_IN_ROOT); bind sources in the
 * caller's view. */
enum uns_mount_slot {
	UNS_M_KIND,   /* enum uns_mount */
	UNS_M_A,      /* bind: source; fs: type; symlink: link text */
	UNS_M_B,      /* the target path */
	UNS_M_C,      /* fs: mount data, or -1 */
	UNS_M_MS,     /* fs: MOUNT_ATTR_* flags */
	UNS_M_FLAGS,  /* UNS_MNT_* */
	UNS_MOUNT_SLOTS
};

enum uns_mount { UNS_MNT_BIND = 1, UNS_MNT_FS, UNS_MNT_SYMLINK };

#define UNS_MAX_MOUNTS 256

#define UNS_MNT_RDONLY 1  /* bind: read-only, recursively */
#define UNS_MNT_MKDIR 2   /* create a missing target as a directory */
#define UNS_MNT_MKFILE 4  /* create a missing target as an empty file */
#define UNS_MNT_LATE 8    /* where the mounts are locked, made after, in the
			   * nested namespaces (the sysfs of a network
			   * namespace made there: see lock.c) */

/* One resource limit: RLIMIT_* number, then soft and hard as two 32-bit
 * halves each (low, high); all ones is RLIM_INFINITY. */
#define UNS_RLIMIT_SLOTS 5

/* Seccomp programs at most, and instructions in all (BPF_MAXINSNS each). */
#define UNS_MAX_FILTERS 8
#define UNS_MAX_INSNS 32768

enum uns_stdio { UNS_STDIO_INHERIT, UNS_STDIO_NULL, UNS_STDIO_PIPED };

/* Slots of the int32 out array filled by uns_spawn(). */
enum uns_out {
	UNS_OUT_PID,
	UNS_OUT_PIDFD,   /* watched: an UNS_EV_EXIT event when it ends */
	UNS_OUT_SYNC_FD, /* uns_release() lets the child go, uns_abort() not */
	UNS_OUT_ERR_FD,  /* EOF: executed; else a struct uns_failure */
	UNS_OUT_STDIN,   /* parent ends of piped stdio (non-blocking), or -1 */
	UNS_OUT_STDOUT,
	UNS_OUT_STDERR,
	UNS_OUT_SHARED, /* 1: the child shares our memory until it executes */
	UNS_OUT_PRECHECK, /* ENOENT or EACCES when UNS_OPT_PRECHECK refused the
			   * command (uns_spawn() then returns its -errno), else 0 */
	UNS_OUT_COUNT
};

/* Slots of the int64 out array filled by uns_proc_id(). */
enum uns_proc {
	UNS_PROC_START,   /* start time, clock ticks after boot */
	UNS_PROC_USERNS,  /* namespace inodes: user, then mnt pid net ipc uts
			   * cgroup time (0: none) */
	UNS_PROC_TRACER = UNS_PROC_USERNS + 8, /* TracerPid, 0: none */
	UNS_PROC_EUID,    /* effective uid */
	UNS_PROC_OWNER,   /* owner of /proc/PID: root while not dumpable */
	UNS_PROC_SLOTS
};

/* Slots of the int32 out array filled by uns_start_helper(). */
enum uns_helper_out {
	UNS_HOUT_PID,
	UNS_HOUT_PIDFD,   /* watched: an UNS_EV_EXIT event when it ends */
	UNS_HOUT_ERR_FD,  /* read end of its stderr (non-blocking) */
	UNS_HOUT_EXEC_FD, /* EOF: executed; 4 bytes: the errno of execve() */
	UNS_HOUT_COUNT
};

/* An event of a context: UNS_EV_SLOTS int32 slots, from uns_ctx_take(). */
enum uns_event_slot { UNS_E_FD, UNS_E_KIND, UNS_E_A, UNS_E_B, UNS_EV_SLOTS };

enum uns_event {
	UNS_EV_EXIT = 1, /* a: exit code or 128+N; b: signal N or 0. Taking
			  * it closes the pidfd and its sync fd */
	UNS_EV_READ,     /* the fd is readable, or at EOF/error */
	UNS_EV_WRITE     /* the fd is writable, or its reader is gone */
};

/* The child's set-up steps, as reported in struct uns_failure. */
enum uns_step {
	UNS_STEP_SETNS = 1,
	UNS_STEP_OOM,
	UNS_STEP_HOSTNAME,
	UNS_STEP_PROPAGATION,
	UNS_STEP_MOUNT,
	UNS_STEP_ROOT,
	UNS_STEP_SETGROUPS,
	UNS_STEP_SETGID,
	UNS_STEP_SETUID,
	UNS_STEP_PDEATHSIG,
	UNS_STEP_FORK,
	UNS_STEP_SETSID,
	UNS_STEP_CTTY,
	UNS_STEP_CHDIR,
	UNS_STEP_STDIO,
	UNS_STEP_FDS,
	UNS_STEP_EXEC,
	UNS_STEP_SIGNALS,
	UNS_STEP_UNSHARE,
	UNS_STEP_TIME,
	UNS_STEP_LOOPBACK,
	UNS_STEP_RLIMIT,
	UNS_STEP_NO_NEW_PRIVS,
	UNS_STEP_MOUNT_SOURCE,
	UNS_STEP_LOCK,   /* the nested user namespace that locks the mounts */
	UNS_STEP_LAUNCH, /* executing the library's own userns-join */
	UNS_STEP_CAPS,   /* the capabilities kept; index: the capability */
	UNS_STEP_SECCOMP /* the seccomp filter; index: the program */
};

/* What a child that failed writes on the error pipe before _exit(). */
struct uns_failure {
	int32_t step;  /* enum uns_step */
	int32_t err;   /* errno */
	int32_t index; /* the mount operation or limit that failed, or -1 */
};

#define UNS_GO 'G'

/* The operations of uns_call(): each is the function named in its comment,
 * with the arguments taken from a, b, c (int32) and p, q, r (pointers). */
enum uns_call {
	UNS_CALL_CTX_OPEN = 1, /* uns_ctx_open(p out) */
	UNS_CALL_CTX_WAIT,     /* uns_ctx_wait(a ctx, b timeout_ms) */
	UNS_CALL_CTX_TAKE,     /* uns_ctx_take(a ctx, p buf, b cap) */
	UNS_CALL_CTX_KICK,     /* uns_ctx_kick(a ctx) */
	UNS_CALL_WATCH,        /* uns_watch(a fd, b kind) */
	UNS_CALL_SPAWN,        /* uns_spawn(a ctx, p opt, b nopt, q str, r out) */
	UNS_CALL_RELEASE,      /* uns_release(a sync_fd) */
	UNS_CALL_ABORT,        /* uns_abort(a sync_fd) */
	UNS_CALL_READ,         /* uns_read(a fd, p buf, b len) */
	UNS_CALL_READ_TIMED,   /* uns_read_timed(a fd, p buf, b len, c ms) */
	UNS_CALL_WRITE,        /* uns_write(a fd, p buf, b len) */
	UNS_CALL_CLOSE,        /* uns_close(a fd) */
	UNS_CALL_KILL,         /* uns_kill(a pidfd, b sig) */
	UNS_CALL_WRITE_FILE,   /* uns_write_file(p path, q buf, b len) */
	UNS_CALL_START_HELPER, /* uns_start_helper(a ctx, p str, b len, q off,
				* c argc, r out) */
	UNS_CALL_OPEN_SELF,    /* uns_open_self(a src_fd) */
	UNS_CALL_PIDFD_OPEN,   /* uns_pidfd_open(a pid) */
	UNS_CALL_PROC_ID,      /* uns_proc_id(a pid, b full, p out) */
	UNS_CALL_WHICH,        /* uns_which(p path, q name) */
	UNS_CALL_TIMER,        /* uns_timer(a ctx, b ms) */
	UNS_CALL_OPENPTY,      /* uns_openpty(a ctx, p out) */
	UNS_CALL_TTY_SIZE,     /* uns_tty_size(a from_fd, b to_fd) */
	UNS_CALL_REOPEN,       /* uns_reopen(a ctx, b fd, c flags) */
	UNS_CALL_READ_PATH,    /* uns_read_path(p path, q buf, b len) */
	UNS_CALL_LIST_DIR,     /* uns_list_dir(p path, q buf, b len) */
	UNS_CALL_READ_LINK     /* uns_read_link(p path, q buf, b len) */
};

/* The library's exports: three symbols, as each one costs the runtime's
 * loader time at start-up. */
UNS_EXPORT int32_t uns_abi_version(void);
UNS_EXPORT int32_t uns_call(int32_t op, int32_t a, int32_t b, int32_t c,
			    void *p, void *q, void *r);
UNS_EXPORT int32_t uns_ctx_wait(int32_t ctx, int32_t timeout_ms);

#endif
