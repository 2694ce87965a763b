/*
 * internal.h - what the native library's files share: raw system calls, the
 * child's instructions (struct spawn), the region pool and the parent's fd
 * helpers. All of it is hidden, so calls between the files are direct and
 * never go through the PLT, which a shared-mode child must not enter (its
 * lazy binding would run the dynamic linker on the runtime's TLS).
 */
#ifndef USERNS_INTERNAL_H
#define USERNS_INTERNAL_H

#include "userns.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#pragma GCC visibility push(hidden)

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef SYS_newfstatat
#define SYS_newfstatat SYS_fstatat64
#endif
/* Newer system calls have one number on every architecture. */
#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef SYS_fsopen
#define SYS_fsopen 430
#endif
#ifndef SYS_fsconfig
#define SYS_fsconfig 431
#endif
#ifndef SYS_fsmount
#define SYS_fsmount 432
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_memfd_create
#define SYS_memfd_create 319 /* x86_64; other arches define it */
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* ---- raw system calls ---------------------------------------------------- */

/* The architectures with inline forms here and in clone.c and program.c.
 * UNS_PORTABLE builds what any other gets (the tests build it on x86_64). */
#if defined(__x86_64__) && !defined(UNS_PORTABLE)
#define UNS_X86_64 1
#elif defined(__aarch64__) && !defined(UNS_PORTABLE)
#define UNS_AARCH64 1
#endif

/* sys(NR, args...) makes a system call without libc: it returns the result
 * or -errno and writes no errno. Where it has no inline form, shared mode is
 * off, the library never executes itself (it could not even exit without
 * libc), and libc's syscall() stands in (fork mode has private TLS). */
#if defined(UNS_X86_64)
#define UNS_CAN_SHARE_VM 1
#define UNS_CAN_EXEC_SELF 1
static inline long sys6(long n, long a, long b, long c, long d, long e, long f)
{
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8),
			   "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}
#elif defined(UNS_AARCH64)
#define UNS_CAN_SHARE_VM 1
#define UNS_CAN_EXEC_SELF 1
static inline long sys6(long n, long a, long b, long c, long d, long e, long f)
{
	register long x8 __asm__("x8") = n;
	register long x0 __asm__("x0") = a;
	register long x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c;
	register long x3 __asm__("x3") = d;
	register long x4 __asm__("x4") = e;
	register long x5 __asm__("x5") = f;

	__asm__ volatile("svc 0"
			 : "+r"(x0)
			 : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
			 : "memory", "cc");
	return x0;
}
#else
#define UNS_CAN_SHARE_VM 0
#define UNS_CAN_EXEC_SELF 0
static inline long sys6(long n, long a, long b, long c, long d, long e, long f)
{
	long r = syscall(n, a, b, c, d, e, f);

	return r < 0 ? -errno : r;
}
#endif
#define SYS_ARGS(a, b, c, d, e, f, ...)                                        \
	(long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f)
#define sys(n, ...) sys6(n, SYS_ARGS(__VA_ARGS__, 0, 0, 0, 0, 0, 0))

/* The kernel's signal set: 64 signals on most architectures, 128 on MIPS. */
#define KSIGSET_SIZE ((NSIG - 1) / 8)
typedef struct {
	unsigned long w[16 / sizeof(unsigned long)];
} ksigset;

static inline _Noreturn void sys_exit(int code)
{
	for (;;)
		(void)sys(SYS_exit_group, code);
}

/* Whether the request holds the library's sealed copy and this build can
 * execute it (as userns-init, -pause or -join). */
static inline int can_exec_self(const int32_t *opt)
{
	return UNS_CAN_EXEC_SELF && opt[UNS_OPT_SELF_FD] >= 0;
}

/**
 * raw_clone() - fork-like clone(2) without glibc's fork handlers.
 * @flags: clone flags, including the exit signal
 * @pidfd: where CLONE_PIDFD stores the pidfd, or NULL
 *
 * Return: the child's pid in the parent, 0 in the child, or -errno.
 */
static inline long raw_clone(unsigned long flags, int *pidfd)
{
#if defined(__s390__) || defined(__CRIS__)
	return sys(SYS_clone, 0, flags, pidfd, NULL, 0);
#else
	return sys(SYS_clone, flags, 0, pidfd, NULL, 0);
#endif
}

/* Every disposition back to default: the runtime ignores SIGPIPE and handles
 * others, and ignored dispositions survive execve(). An all-zero kernel
 * sigaction is SIG_DFL on every arch. Return: 0 or -errno. */
static inline long default_dispositions(void)
{
	unsigned long dfl[4] = { 0 };
	long r = 0;

	for (int sig = 1; sig < NSIG && r == 0; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			r = sys(SYS_rt_sigaction, sig, dfl, NULL, KSIGSET_SIZE);
	return r;
}

static inline long unblock_all(void)
{
	ksigset none = { { 0 } };

	return sys(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, KSIGSET_SIZE);
}

static inline long close_range_(unsigned int lo, unsigned int hi)
{
	return lo > hi ? 0 : sys(SYS_close_range, lo, hi, 0);
}

/* Writes LEN bytes at P to the file PATH (relative to DIR) in one write():
 * /proc's map files refuse a split one. Return: 0 or -errno. */
static inline long write_file_at(int dir, const char *path, const char *p,
				 long len)
{
	long fd = sys(SYS_openat, dir, path, O_WRONLY | O_CLOEXEC), n, c;

	if (fd < 0)
		return fd;
	n = sys(SYS_write, fd, p, len);
	c = sys(SYS_close, fd);
	if (n >= 0 && n != len)
		n = -EIO;
	return n < 0 ? n : c;
}

/* The kernel's struct rlimit64. */
struct klimit {
	uint64_t cur, max;
};

/* Everything the child needs, resolved by the parent before clone(); in a
 * region's data part, or copied with the rest of the memory. A joining
 * child gets it in a memfd, at another address: rebase() moves every
 * pointer below. */
struct spawn {
	const void *at; /* where the parent placed it */
	const int32_t *opt;
	const char *cwd, *root, *hostname;
	const char *lock_uid_map, *lock_gid_map; /* NULL: no lock */
	size_t hostname_len;
	const char *const *cand; /* the paths to try executing, in order */
	uint32_t ncand;
	int search;         /* cand comes from a PATH search */
	int shared;         /* shared mode: the ids must not change */
	char **argv;        /* argv[-1] is spare, for the /bin/sh fallback */
	char *const *envp;
	char *str;          /* the strings; writable (mkdir -p cuts paths) */
	const int32_t *mounts; /* NMOUNT operations of UNS_MOUNT_SLOTS */
	const int32_t *rlimits; /* NRLIMIT limits of UNS_RLIMIT_SLOTS */
	const int32_t *filter_lens; /* NFILTER seccomp programs' lengths */
	const int32_t *filter; /* their instructions, 2 slots each */
	int sync_fd, err_fd; /* the child's ends */
	int stdio[3];        /* fd to install as 0, 1, 2, or -1 to inherit */
	int join_fd;         /* a pidfd of the process to join, or -1 */
	int req_fd;          /* joining: the memfd holding this request */
	struct klimit core;  /* joining: the caller's core limit */
	size_t size;         /* joining: bytes of the request from here on */
};

/* fail.c: reports the failed step, errno and operation index to the
 * parent, then exits; CHECK() does it for a call that returns -errno. */
_Noreturn void fail_at(const struct spawn *s, int step, long err, int index);
#define CHECK(s, call, step)                                                   \
	do {                                                                   \
		long r_ = (call);                                              \
		if (r_ < 0)                                                    \
			fail_at(s, step, -r_, -1);                             \
	} while (0)

/* All signals in a kernel signal set. */
static inline void fill_ksigset(ksigset *set)
{
	for (size_t i = 0; i < sizeof set->w / sizeof set->w[0]; i++)
		set->w[i] = ~0UL;
}

/* ---- regions: stacks and data for shared-mode children ------------------ */
/*
 * A shared-mode child runs on a region's stack and reads its struct spawn,
 * strings and vectors from the region's data part, never from the caller's
 * buffers, which may be gone as soon as uns_spawn() returns.
 *
 * busy is 0 when the region is free. uns_spawn() claims it with a
 * compare-and-swap and then owns base and size; clone() is given busy as the
 * CLONE_CHILD_CLEARTID word, so the kernel writes 0 there once the child has
 * executed or exited (mm_release(): the last moment it could touch the
 * region). Stacks and buffers are reused, memory stays flat; a region grown
 * for an unusually large request is unmapped once free (trim()). With every
 * region busy, uns_spawn() falls back to fork mode.
 */
#define UNS_POOL 64
#define GUARD 4096
#define STACK (64 * 1024)
#define GRAIN (64 * 1024)

struct region {
	pid_t busy; /* 0: free; the CLONE_CHILD_CLEARTID word */
	char *base; /* [guard page][stack][data] */
	size_t size;
};

/* A bump allocator over a region's data part. */
struct arena {
	char *at, *end;
};

/* The files call each other downwards only, never back (the native tests
 * check that there is no cycle):
 *   call.c    -> userns.c helper.c io.c waiter.c
 *   userns.c  -> child.c io.c waiter.c fd.c region.c
 *   helper.c  -> waiter.c fd.c region.c
 *   io.c      -> waiter.c fd.c;  waiter.c -> fd.c region.c
 *   program.c -> child.c join.c init.c
 *   child.c   -> join.c init.c mounts.c lock.c fail.c
 *   mounts.c  -> lock.c fail.c;  lock.c -> clone.c fail.c
 *   join.c    -> fail.c;  init.c -> fail.c
 * The first five are the parent's side, the rest the child's. */

/* child.c */
_Noreturn void child(const struct spawn *s);
_Noreturn void go(const struct spawn *s, struct klimit *core);
int shared_child(void *s);

/* join.c */
_Noreturn void launch_join(const struct spawn *s);
struct spawn *join_main(char **envp);

/* mounts.c */
void set_up_mounts(const struct spawn *s);

/* lock.c */
void lock_mounts(const struct spawn *s, long proc_self);
long loopback_up(void); /* brings "lo" of this network namespace up */

/* clone.c */
long clone_on(void *stack_top, unsigned long flags, int *pidfd,
	      int (*fn)(void *), void *arg);

/* init.c */
_Noreturn void become_init(const struct spawn *s, long cmd, int named);
_Noreturn void exec_self(const struct spawn *s);
_Noreturn void init_loop(long cmd, int status_fd, int same_pgrp);
_Noreturn void pause_loop(int err_fd, int sync_fd);

/* region.c */
void unclaim(struct region *r);
int grow(struct region *r, size_t need);
struct region *claim(size_t need, int *rc);
void trim(void);
void *take(struct arena *a, size_t n);

/* fd.c: the parent's fd helpers */
int block_signals(sigset_t *old);
int raise_fd(int fd);
void close_fds(int *fds, int n);
int make_pipe(int fds[2]);
int make_socketpair(int fds[2]);
int set_nonblock(int fd);
int write_all(int fd, const void *p, size_t len);

/* filter.c: the command's capabilities and seccomp filter */
struct sock_filter;
void set_caps(const struct spawn *s, uint64_t keep);
void set_filter(const struct spawn *s, const struct sock_filter *prog,
		const uint32_t *lens, uint32_t n);
void apply_caps_and_filter(const struct spawn *s, int caps, uint64_t keep,
			   const struct sock_filter *prog,
			   const uint32_t *lens, uint32_t n);

/* waiter.c: every fd handed to the caller belongs to a context */
int own_fds(int ctx, const int *fds, int n);
int watch_exit(int ctx, int pidfd, int status_fd);
void forget(int pidfd, const int *fds, int n);

/* io.c */
int start_time(int32_t pid, int64_t *out);

/* The operations behind uns_call() (userns.h, enum uns_call). */
int32_t uns_ctx_open(int32_t *out);
int32_t uns_ctx_take(int32_t ctx, int32_t *buf, uint32_t cap);
int32_t uns_ctx_kick(int32_t ctx);
int32_t uns_watch(int32_t fd, int32_t kind);
int32_t uns_spawn(int32_t ctx, const int32_t *opt, uint32_t nopt,
		  const char *str, int32_t *out);
int32_t uns_release(int32_t sync_fd);
int32_t uns_abort(int32_t sync_fd);
int32_t uns_read(int32_t fd, void *buf, uint32_t len);
int32_t uns_read_timed(int32_t fd, void *buf, uint32_t len,
		       int32_t timeout_ms);
int32_t uns_write(int32_t fd, const void *buf, uint32_t len);
int32_t uns_close(int32_t fd);
int32_t uns_kill(int32_t pidfd, int32_t sig);
int32_t uns_write_file(const char *path, const void *buf, uint32_t len);
int32_t uns_start_helper(int32_t ctx, const char *str, uint32_t len,
			 const int32_t *off, uint32_t argc, int32_t *out);
int32_t uns_open_self(int32_t src);
int sealed_copy(int src);
int32_t uns_pidfd_open(int32_t pid);
int32_t uns_proc_id(int32_t pid, int32_t full, int64_t *out);
int32_t uns_which(const char *path, const char *name);
int32_t uns_timer(int32_t ctx, int32_t ms);
int32_t uns_openpty(int32_t ctx, int32_t *out);
int32_t uns_tty_size(int32_t from, int32_t to);
int32_t uns_reopen(int32_t ctx, int32_t fd, int32_t flags);
int32_t uns_read_path(const char *path, void *buf, uint32_t len);
int32_t uns_list_dir(const char *path, char *buf, uint32_t len);
int32_t uns_read_link(const char *path, char *buf, uint32_t len);

#pragma GCC visibility pop

#endif
