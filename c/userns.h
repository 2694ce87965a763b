/*
 * userns.h - the contract between the native library and ffi/symbols.ts.
 *
 * Every exported function returns >= 0 on success or -errno on failure. None
 * prints, exits or allocates. A change here bumps UNS_ABI_VERSION and is
 * mirrored in ffi/abi.ts.
 */
#ifndef USERNS_H
#define USERNS_H

#include <stddef.h>
#include <stdint.h>

#define UNS_ABI_VERSION 2
#define UNS_EXPORT __attribute__((visibility("default")))

/* Slots of the int32 option array given to uns_spawn(). String slots hold an
 * offset into the string buffer, or -1 for "not set". After the fixed slots
 * come ARGC argv offsets, then ENVC envp offsets. */
enum uns_opt {
	UNS_OPT_CLONE_FLAGS, /* CLONE_NEW* flags for clone() */
	UNS_OPT_JOIN0,       /* enter: UNS_MAX_JOIN /proc/PID/ns/ paths, user first */
	UNS_OPT_UID = UNS_OPT_JOIN0 + 8, /* inside uid to switch to, -1 keeps */
	UNS_OPT_GID,          /* inside gid to switch to, -1 keeps */
	UNS_OPT_CLEAR_GROUPS, /* 1: setgroups(0, NULL) before the switch */
	UNS_OPT_STDIN,        /* enum uns_stdio, for fd 0 */
	UNS_OPT_STDOUT,       /* ... fd 1 */
	UNS_OPT_STDERR,       /* ... fd 2 */
	UNS_OPT_SETSID,       /* 1: new session */
	UNS_OPT_CTTY,         /* 1: make stdin's terminal the controlling one */
	UNS_OPT_FORK,         /* 1: stay as a reaping, forwarding parent (--init) */
	UNS_OPT_OOM_SET,      /* 1: write UNS_OPT_OOM to oom_score_adj */
	UNS_OPT_OOM,          /* oom_score_adj value */
	UNS_OPT_SHARED_VM,    /* 1: the inside ids map to the caller's own, so
			       * the child may share its memory until execve */
	UNS_OPT_STR_LEN,      /* bytes in the string buffer, last one NUL */
	UNS_OPT_FILE,         /* command name or path */
	UNS_OPT_PATH,         /* PATH to search when FILE has no slash */
	UNS_OPT_CWD,          /* working directory */
	UNS_OPT_ROOT,         /* chroot directory */
	UNS_OPT_HOSTNAME,     /* hostname (needs CLONE_NEWUTS) */
	UNS_OPT_PROC,         /* where to mount a fresh proc (needs NEWNS|NEWPID) */
	UNS_OPT_ARGC,         /* argv entries that follow */
	UNS_OPT_ENVC,         /* envp entries that follow argv */
	UNS_OPT_COUNT
};

#define UNS_MAX_JOIN 8

enum uns_stdio { UNS_STDIO_INHERIT, UNS_STDIO_NULL, UNS_STDIO_PIPED };

/* Slots of the int32 out array filled by uns_spawn(). */
enum uns_out {
	UNS_OUT_PID,
	UNS_OUT_PIDFD,
	UNS_OUT_SYNC_FD, /* write one UNS_GO byte to release; close to abort */
	UNS_OUT_ERR_FD,  /* EOF: executed; 8 bytes: struct uns_failure */
	UNS_OUT_STDIN,   /* parent ends of piped stdio, or -1 */
	UNS_OUT_STDOUT,
	UNS_OUT_STDERR,
	UNS_OUT_SHARED, /* 1: the child shares our memory until it executes */
	UNS_OUT_COUNT
};

/* Slots of the int32 out array filled by uns_start_helper(). */
enum uns_helper_out {
	UNS_HOUT_PID,
	UNS_HOUT_PIDFD,
	UNS_HOUT_ERR_FD,  /* read end of its stderr */
	UNS_HOUT_EXEC_FD, /* EOF: executed; 4 bytes: the errno of execve() */
	UNS_HOUT_COUNT
};

/* Slots of the int32 out array filled by uns_finish_helpers(), per helper. */
enum uns_finish_out {
	UNS_FOUT_CODE,       /* exit code, or 128+N for signal N */
	UNS_FOUT_SIGNAL,     /* the signal, or 0 */
	UNS_FOUT_ERR_LEN,    /* bytes of stderr kept in the buffer */
	UNS_FOUT_EXEC_ERRNO, /* 0: it was executed; else why not */
	UNS_FOUT_RC,         /* 0, or -errno: reading or reaping failed */
	UNS_FOUT_COUNT
};

#define UNS_MAX_HELPERS 2

/* The child's set-up steps, as reported in struct uns_failure. */
enum uns_step {
	UNS_STEP_SETNS = 1,
	UNS_STEP_OOM,
	UNS_STEP_HOSTNAME,
	UNS_STEP_MOUNT_PRIVATE,
	UNS_STEP_MOUNT_PROC,
	UNS_STEP_CHROOT,
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
	UNS_STEP_SIGNALS
};

/* What a child that failed writes on the error pipe before _exit(). */
struct uns_failure {
	int32_t step; /* enum uns_step */
	int32_t err;  /* errno */
};

#define UNS_GO 'G'

UNS_EXPORT int32_t uns_abi_version(void);
UNS_EXPORT int32_t uns_spawn(const int32_t *opt, uint32_t nopt,
			     const char *str, int32_t *out);
UNS_EXPORT int32_t uns_release(int32_t sync_fd);
UNS_EXPORT int32_t uns_read(int32_t fd, void *buf, uint32_t len);
UNS_EXPORT int32_t uns_read_timed(int32_t fd, void *buf, uint32_t len,
				  int32_t timeout_ms);
UNS_EXPORT int32_t uns_write(int32_t fd, const void *buf, uint32_t len);
UNS_EXPORT int32_t uns_close(int32_t fd);
UNS_EXPORT int32_t uns_wait(int32_t pidfd, int32_t *out);
UNS_EXPORT int32_t uns_kill(int32_t pidfd, int32_t sig);
UNS_EXPORT int32_t uns_write_file(const char *path, const void *buf,
				  uint32_t len);
UNS_EXPORT int32_t uns_start_helper(const char *str, uint32_t len,
				    const int32_t *off, uint32_t argc,
				    int32_t *out);
UNS_EXPORT int32_t uns_finish_helpers(const int32_t *fds, uint32_t n,
				      char *buf, uint32_t buflen,
				      int32_t *out);

#endif
