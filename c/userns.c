/*
 * userns.c - clone a child into new namespaces, hold it on a pipe until the
 * parent has written its ID maps, then let it set itself up and execute.
 *
 * The caller is a multi-threaded runtime. Between clone() and execve() the
 * child runs our code only, in one of two ways:
 *
 * - fork mode: in a copy of the runtime's memory. Copying the page tables of a
 *   large runtime, the copy-on-write faults that follow on both sides, and
 *   tearing the copy down again at execve() cost about a millisecond.
 * - shared mode (CLONE_VM): in the runtime's own memory, on a stack of its
 *   own from a pool (struct region). Nothing is copied. The child shares
 *   the calling thread's TLS, so it must not touch errno or call into libc at
 *   all (a lazily bound PLT entry would run the dynamic linker on that TLS):
 *   every system call goes through sys(), inline. And anything that changes
 *   the memory's owner state would change the runtime's: a change of
 *   euid/egid makes the memory undumpable, writing oom_score_adj applies to
 *   every process sharing it. So shared mode is used only when the caller
 *   asks for it (the ids stay the same) and nothing else needs fork mode.
 *
 * Either way the child code is async-signal-safe: no malloc, no stdio, no
 * locks, signals blocked until the dispositions are back to default. The
 * credential calls are raw system calls also because glibc's wrappers signal
 * every thread of the process, and the child's copy of that list is stale.
 *
 * Parent-side functions return -errno; none prints, exits or mallocs.
 */
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

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef SYS_newfstatat
#define SYS_newfstatat SYS_fstatat64
#endif

/* ---- raw system calls ---------------------------------------------------- */

/* sys(NR, args...) makes a system call without libc: it returns the result
 * or -errno and writes no errno. Where it has no inline form, shared mode is
 * off and libc's syscall() stands in (fork mode has private TLS). */
#if defined(__x86_64__)
#define UNS_CAN_SHARE_VM 1
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
#elif defined(__aarch64__)
#define UNS_CAN_SHARE_VM 1
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
static long sys6(long n, long a, long b, long c, long d, long e, long f)
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

static _Noreturn void sys_exit(int code)
{
	for (;;)
		(void)sys(SYS_exit_group, code);
}

/**
 * raw_clone() - fork-like clone(2) without glibc's fork handlers.
 * @flags: clone flags, including the exit signal
 * @pidfd: where CLONE_PIDFD stores the pidfd, or NULL
 *
 * Return: the child's pid in the parent, 0 in the child, or -errno.
 */
static long raw_clone(unsigned long flags, int *pidfd)
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
static long default_dispositions(void)
{
	unsigned long dfl[4] = { 0 };
	long r = 0;

	for (int sig = 1; sig < NSIG && r == 0; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			r = sys(SYS_rt_sigaction, sig, dfl, NULL, KSIGSET_SIZE);
	return r;
}

static long unblock_all(void)
{
	ksigset none = { { 0 } };

	return sys(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, KSIGSET_SIZE);
}

static long close_range_(unsigned int lo, unsigned int hi)
{
	return lo > hi ? 0 : sys(SYS_close_range, lo, hi, 0);
}

/* ---- the child ---------------------------------------------------------- */

/* Everything the child needs, resolved by the parent before clone(); in a
 * region's data part, or copied with the rest of the memory. */
struct spawn {
	const int32_t *opt;
	const char *join[UNS_MAX_JOIN];
	const char *cwd, *root, *hostname, *proc;
	size_t hostname_len;
	const char *const *cand; /* the paths to try executing, in order */
	uint32_t ncand;
	int search;         /* cand comes from a PATH search */
	int shared;         /* shared mode: the ids must not change */
	char *const *argv, *const *envp;
	int sync_fd, err_fd; /* the child's ends */
	int stdio[3];        /* fd to install as 0, 1, 2, or -1 to inherit */
};

/* Reports the failed step and errno to the parent, then exits. */
static _Noreturn void fail(const struct spawn *s, int step, long err)
{
	struct uns_failure f = { step, (int32_t)err };

	while (sys(SYS_write, s->err_fd, &f, sizeof f) == -EINTR)
		;
	sys_exit(125);
}

/* CALL returns >= 0 or -errno; a failure ends the child with STEP. */
#define CHECK(s, call, step)                                                   \
	do {                                                                   \
		long r_ = (call);                                              \
		if (r_ < 0)                                                    \
			fail(s, step, -r_);                                    \
	} while (0)

/* Installs stdio, then closes every fd but 0-2 and the two pipe ends, so that
 * no other spawn's pipe is held open by this child. */
static void set_up_fds(const struct spawn *s)
{
	int lo = s->sync_fd < s->err_fd ? s->sync_fd : s->err_fd;
	int hi = s->sync_fd < s->err_fd ? s->err_fd : s->sync_fd;

	/* The parent moved every fd it made above 2: dup3() never sees two
	 * equal fds. */
	for (int i = 0; i < 3; i++)
		if (s->stdio[i] >= 0)
			CHECK(s, sys(SYS_dup3, s->stdio[i], i, 0),
			      UNS_STEP_STDIO);
	CHECK(s, close_range_(3, (unsigned)lo - 1), UNS_STEP_FDS);
	CHECK(s, close_range_((unsigned)lo + 1, (unsigned)hi - 1), UNS_STEP_FDS);
	CHECK(s, close_range_((unsigned)hi + 1, ~0U), UNS_STEP_FDS);
}

/* Blocks until the parent writes UNS_GO. EOF means the parent aborted or
 * died: exit without running anything, unmapped. */
static void wait_for_go(const struct spawn *s)
{
	char go = 0;
	long n;

	while ((n = sys(SYS_read, s->sync_fd, &go, 1)) == -EINTR)
		;
	if (n != 1 || go != UNS_GO)
		sys_exit(125);
}

static void join_namespaces(const struct spawn *s)
{
	long fd[UNS_MAX_JOIN];
	int n = 0;

	/* Open all first: joining the mount namespace changes what /proc is. */
	for (; n < UNS_MAX_JOIN && s->join[n]; n++)
		CHECK(s,
		      fd[n] = sys(SYS_openat, AT_FDCWD, s->join[n],
				  O_RDONLY | O_CLOEXEC),
		      UNS_STEP_SETNS);
	for (int i = 0; i < n; i++) {
		CHECK(s, sys(SYS_setns, fd[i], 0), UNS_STEP_SETNS);
		CHECK(s, sys(SYS_close, fd[i]), UNS_STEP_SETNS);
	}
}

static long write_oom_score_adj(int value)
{
	char buf[16], *p = buf + sizeof buf;
	unsigned int v = value < 0 ? -(unsigned int)value : (unsigned int)value;
	long fd, n, c;

	do
		*--p = (char)('0' + v % 10);
	while (v /= 10);
	if (value < 0)
		*--p = '-';
	fd = sys(SYS_openat, AT_FDCWD, "/proc/self/oom_score_adj",
		 O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return fd;
	n = sys(SYS_write, fd, p, buf + sizeof buf - p);
	c = sys(SYS_close, fd);
	return n < 0 ? n : c;
}

/* Hostname, mounts and root, while the child still has every capability in
 * its namespace; /proc goes under the new root, as unshare --root does. */
static void set_up_namespace(const struct spawn *s)
{
	const int32_t *opt = s->opt;

	if (opt[UNS_OPT_OOM_SET])
		CHECK(s, write_oom_score_adj(opt[UNS_OPT_OOM]), UNS_STEP_OOM);
	if (s->hostname)
		CHECK(s, sys(SYS_sethostname, s->hostname, s->hostname_len),
		      UNS_STEP_HOSTNAME);
	if (opt[UNS_OPT_CLONE_FLAGS] & CLONE_NEWNS)
		CHECK(s, sys(SYS_mount, NULL, "/", NULL, MS_REC | MS_PRIVATE,
			     NULL),
		      UNS_STEP_MOUNT_PRIVATE);
	if (s->proc)
		CHECK(s, sys(SYS_mount, "proc", s->proc, "proc",
			     MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL),
		      UNS_STEP_MOUNT_PROC);
	if (s->root)
		CHECK(s, sys(SYS_chroot, s->root), UNS_STEP_CHROOT);
}

/* In shared mode, a set*id() that changed an id would make the shared memory
 * undumpable, the runtime's too. The caller asked for shared mode only when
 * the inside ids map to its own; this makes sure, before any change. */
static void check_ids_kept(const struct spawn *s, int32_t uid, int32_t gid)
{
	uint32_t r, e, saved;

	if (uid != -1) {
		CHECK(s, sys(SYS_getresuid, &r, &e, &saved), UNS_STEP_SETUID);
		if (r != (uint32_t)uid || e != r || saved != r)
			fail(s, UNS_STEP_SETUID, EPERM);
	}
	if (gid != -1) {
		CHECK(s, sys(SYS_getresgid, &r, &e, &saved), UNS_STEP_SETGID);
		if (r != (uint32_t)gid || e != r || saved != r)
			fail(s, UNS_STEP_SETGID, EPERM);
	}
}

/* Switches to the inside identity. That clears the parent-death signal, so
 * it is armed again; a parent that died in between has closed its end of the
 * sync pipe, which poll() reports as a hang-up. */
static void switch_ids(const struct spawn *s)
{
	int32_t uid = s->opt[UNS_OPT_UID], gid = s->opt[UNS_OPT_GID];
	struct pollfd p = { .fd = s->sync_fd, .events = POLLIN };
	struct timespec now = { 0, 0 };

	if (s->shared)
		check_ids_kept(s, uid, gid);
	if (s->opt[UNS_OPT_CLEAR_GROUPS])
		CHECK(s, sys(SYS_setgroups, 0, NULL), UNS_STEP_SETGROUPS);
	if (gid != -1)
		CHECK(s, sys(SYS_setresgid, gid, gid, gid), UNS_STEP_SETGID);
	if (uid != -1)
		CHECK(s, sys(SYS_setresuid, uid, uid, uid), UNS_STEP_SETUID);
	CHECK(s, sys(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL), UNS_STEP_PDEATHSIG);
	CHECK(s, sys(SYS_ppoll, &p, 1, &now, NULL, KSIGSET_SIZE),
	      UNS_STEP_PDEATHSIG);
	if (p.revents & (POLLHUP | POLLERR))
		sys_exit(125);
}

/* Exits the way the command did. As a namespace's init, a signal sent to
 * itself is ignored, so 128+N is what remains. */
static _Noreturn void exit_like(int status)
{
	if (WIFSIGNALED(status)) {
		ksigset one = { { 0 } };
		int sig = WTERMSIG(status);

		one.w[(sig - 1) / (8 * sizeof(unsigned long))] |=
			1UL << ((sig - 1) % (8 * sizeof(unsigned long)));
		(void)sys(SYS_rt_sigprocmask, SIG_UNBLOCK, &one, NULL,
			  KSIGSET_SIZE);
		(void)sys(SYS_kill, sys(SYS_getpid, 0), sig);
		sys_exit(128 + sig);
	}
	sys_exit(WEXITSTATUS(status));
}

/* The parent of the command: reaps every child, forwards every signal, and
 * exits like the command. A terminal's signal (SI_KERNEL) already reached the
 * command when it shares our process group. */
static _Noreturn void reap_and_forward(long cmd, int same_pgrp)
{
	ksigset all;
	siginfo_t si;
	int status;

	for (size_t i = 0; i < sizeof all.w / sizeof all.w[0]; i++)
		all.w[i] = ~0UL;
	for (;;) {
		long sig = sys(SYS_rt_sigtimedwait, &all, &si, NULL,
			       KSIGSET_SIZE);

		if (sig < 0)
			continue;
		if (sig != SIGCHLD) {
			if (!(same_pgrp && si.si_code == SI_KERNEL))
				(void)sys(SYS_kill, cmd, sig);
			continue;
		}
		for (long pid; (pid = sys(SYS_wait4, -1, &status, WNOHANG,
					  NULL)) > 0;)
			if (pid == cmd)
				exit_like(status);
	}
}

/* For --init and for joining a pid namespace: fork once more (fork mode
 * only). Returns in the command's process; the parent stays, holding no fd
 * at all. */
static void fork_command(const struct spawn *s)
{
	long cmd = raw_clone(SIGCHLD, NULL);

	CHECK(s, cmd, UNS_STEP_FORK);
	if (cmd == 0) {
		CHECK(s, sys(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL),
		      UNS_STEP_PDEATHSIG);
		return;
	}
	if (close_range_(0, ~0U) < 0 ||
	    sys(SYS_prctl, PR_SET_NAME, "userns-init") < 0)
		(void)sys(SYS_kill, cmd, SIGKILL);
	reap_and_forward(cmd, !s->opt[UNS_OPT_SETSID]);
}

/**
 * exec_candidates() - execve() each candidate path in turn.
 * @s: the spawn, for the candidates, argv and envp
 *
 * Return: the errno to report. For a path with a slash, execve()'s. For a
 * PATH search: EACCES if some existing candidate was not executable, else
 * ENOENT when none was found, else the first other error.
 */
static long exec_candidates(const struct spawn *s)
{
	unsigned long st[32]; /* any arch's struct stat */
	int eacces = 0;

	for (uint32_t i = 0; i < s->ncand; i++) {
		long r = sys(SYS_execve, s->cand[i], s->argv, s->envp);

		if (!s->search)
			return -r;
		/* A directory we may not search hides nothing: only a file
		 * that exists makes EACCES the answer. */
		if (r == -EACCES)
			eacces |= sys(SYS_newfstatat, AT_FDCWD, s->cand[i], st,
				      0) == 0;
		else if (r != -ENOENT && r != -ENOTDIR)
			return -r;
	}
	return eacces ? EACCES : ENOENT;
}

static _Noreturn void child(const struct spawn *s)
{
	const int32_t *opt = s->opt;

	CHECK(s, default_dispositions(), UNS_STEP_SIGNALS);
	set_up_fds(s);
	CHECK(s, sys(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL), UNS_STEP_PDEATHSIG);
	wait_for_go(s);
	join_namespaces(s);
	set_up_namespace(s);
	switch_ids(s);
	if (opt[UNS_OPT_FORK])
		fork_command(s);
	if (opt[UNS_OPT_SETSID])
		CHECK(s, sys(SYS_setsid, 0), UNS_STEP_SETSID);
	if (opt[UNS_OPT_CTTY])
		CHECK(s, sys(SYS_ioctl, 0, TIOCSCTTY, 0), UNS_STEP_CTTY);
	if (s->cwd)
		CHECK(s, sys(SYS_chdir, s->cwd), UNS_STEP_CHDIR);
	CHECK(s, unblock_all(), UNS_STEP_EXEC);
	fail(s, UNS_STEP_EXEC, exec_candidates(s));
}

/* The entry point of a shared-mode child, on its region's stack. */
static int shared_child(void *s)
{
	child(s);
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
 * region). The pool is never shrunk: stacks and buffers are reused, memory
 * stays flat. With every region busy, uns_spawn() falls back to fork mode.
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

static struct region pool[UNS_POOL];

static void unclaim(struct region *r)
{
	__atomic_store_n(&r->busy, 0, __ATOMIC_RELEASE);
}

/* Maps R anew, at least NEED bytes; its old mapping goes. */
static int grow(struct region *r, size_t need)
{
	size_t size = (need + GRAIN - 1) / GRAIN * GRAIN;
	char *p;

	if (r->size >= need)
		return 0;
	if (r->base && munmap(r->base, r->size) < 0)
		return -errno;
	r->base = NULL;
	r->size = 0;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	if (mprotect(p, GUARD, PROT_NONE) < 0) {
		int rc = -errno;

		(void)munmap(p, size);
		return rc;
	}
	r->base = p;
	r->size = size;
	return 0;
}

/* A free region of at least NEED bytes, claimed; or NULL when every one is
 * busy or mapping failed (*rc says which). */
static struct region *claim(size_t need, int *rc)
{
	*rc = 0;
	for (int i = 0; i < UNS_POOL; i++) {
		pid_t free_ = 0;

		if (__atomic_load_n(&pool[i].busy, __ATOMIC_RELAXED) != 0 ||
		    !__atomic_compare_exchange_n(&pool[i].busy, &free_, -1, 0,
						 __ATOMIC_ACQUIRE,
						 __ATOMIC_RELAXED))
			continue;
		*rc = grow(&pool[i], need);
		if (*rc == 0)
			return &pool[i];
		unclaim(&pool[i]);
		return NULL;
	}
	return NULL;
}

/* A bump allocator over a region's data part. */
struct arena {
	char *at, *end;
};

static void *take(struct arena *a, size_t n)
{
	void *p = a->at;

	n = (n + 15) & ~(size_t)15;
	if ((size_t)(a->end - a->at) < n)
		return NULL;
	a->at += n;
	return p;
}

/* ---- the parent ---------------------------------------------------------- */

static const char *const DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin";

/* Checks the option array against the string buffer. */
static int check_opt(const int32_t *opt, uint32_t nopt, const char *str)
{
	int32_t len, argc, envc;

	if (nopt < UNS_OPT_COUNT)
		return -EINVAL;
	len = opt[UNS_OPT_STR_LEN], argc = opt[UNS_OPT_ARGC];
	envc = opt[UNS_OPT_ENVC];
	if (len < 1 || str[len - 1] != '\0' || argc < 1 || envc < 0 ||
	    nopt != (uint32_t)(UNS_OPT_COUNT + argc + envc) ||
	    opt[UNS_OPT_FILE] < 0)
		return -EINVAL;
	for (uint32_t i = 0; i < nopt; i++) {
		int is_str = i >= UNS_OPT_FILE && i != UNS_OPT_ARGC &&
			     i != UNS_OPT_ENVC;
		if ((is_str || (i >= UNS_OPT_JOIN0 && i < UNS_OPT_UID)) &&
		    opt[i] >= len)
			return -EINVAL;
		if (i >= UNS_OPT_COUNT && opt[i] < 0)
			return -EINVAL;
	}
	return 0;
}

/* The PATH entries to search for FILE, or 0 when FILE is a path itself. */
static size_t path_entries(const char *file, const char *path)
{
	size_t n = 1;

	if (strchr(file, '/'))
		return 0;
	for (; *path; path++)
		n += *path == ':';
	return n;
}

/* An upper bound of the data part place() fills. */
static size_t data_size(const int32_t *opt, uint32_t nopt, const char *str,
			const char *path)
{
	const char *file = str + opt[UNS_OPT_FILE];
	size_t dirs = path_entries(file, path), flen = strlen(file);

	return 16 * 8 + sizeof(struct spawn) + nopt * sizeof *opt +
	       (size_t)opt[UNS_OPT_STR_LEN] +
	       (nopt - UNS_OPT_COUNT + 2) * sizeof(char *) +
	       (dirs + 1) * sizeof(char *) +
	       dirs * (16 + flen + 2) + strlen(path);
}

/* Fills s->cand: FILE itself, or FILE in each PATH entry. The child then only
 * calls execve(), with no string handling. */
static int place_candidates(struct spawn *s, struct arena *a, const char *file,
			    const char *path)
{
	size_t dirs = path_entries(file, path), flen = strlen(file);
	const char **cand = take(a, (dirs + 1) * sizeof *cand);

	if (!cand)
		return -ENOMEM;
	s->cand = cand;
	s->search = dirs > 0;
	s->ncand = flen > 0 && dirs == 0;
	if (s->ncand)
		cand[0] = file;
	for (const char *p = path; flen > 0 && dirs > 0; p++) {
		const char *end = strchrnul(p, ':');
		size_t dlen = (size_t)(end - p);
		char *buf;

		if (dlen + flen + 2 <= PATH_MAX) {
			if (!(buf = take(a, dlen + flen + 2)))
				return -ENOMEM;
			memcpy(buf, p, dlen);
			buf[dlen] = '/';
			memcpy(buf + dlen + 1, file, flen + 1);
			/* An empty entry is the current directory. */
			cand[s->ncand++] = dlen ? buf : buf + 1;
		}
		if (*end == '\0')
			break;
		p = end;
	}
	return 0;
}

static const char *str_at(const int32_t *opt, const char *str, int slot)
{
	return opt[slot] < 0 ? NULL : str + opt[slot];
}

/* Copies the request into the arena and resolves it into a struct spawn. */
static struct spawn *place(struct arena *a, const int32_t *opt0, uint32_t nopt,
			   const char *str0, const char *path)
{
	int32_t len = opt0[UNS_OPT_STR_LEN], argc = opt0[UNS_OPT_ARGC];
	int32_t envc = opt0[UNS_OPT_ENVC];
	int32_t *opt = take(a, nopt * sizeof *opt);
	char *str = take(a, (size_t)len);
	char **vec = take(a, (size_t)(argc + envc + 2) * sizeof *vec);
	struct spawn *s = take(a, sizeof *s);

	if (!opt || !str || !vec || !s)
		return NULL;
	memcpy(opt, opt0, nopt * sizeof *opt);
	memcpy(str, str0, (size_t)len);
	memset(s, 0, sizeof *s);
	s->opt = opt;
	for (int i = 0; i < UNS_MAX_JOIN; i++)
		s->join[i] = str_at(opt, str, UNS_OPT_JOIN0 + i);
	s->cwd = str_at(opt, str, UNS_OPT_CWD);
	s->root = str_at(opt, str, UNS_OPT_ROOT);
	s->hostname = str_at(opt, str, UNS_OPT_HOSTNAME);
	s->hostname_len = s->hostname ? strlen(s->hostname) : 0;
	s->proc = str_at(opt, str, UNS_OPT_PROC);
	for (int32_t i = 0; i < argc; i++)
		vec[i] = str + opt[UNS_OPT_COUNT + i];
	vec[argc] = NULL;
	for (int32_t i = 0; i < envc; i++)
		vec[argc + 1 + i] = str + opt[UNS_OPT_COUNT + argc + i];
	vec[argc + 1 + envc] = NULL;
	s->argv = vec;
	s->envp = vec + argc + 1;
	s->stdio[0] = s->stdio[1] = s->stdio[2] = -1;
	if (place_candidates(s, a, str + opt[UNS_OPT_FILE], path) < 0)
		return NULL;
	return s;
}

/* Whether the child may share our memory: asked for, possible here, and
 * nothing that needs fork mode (joining a user namespace changes the
 * credentials, oom_score_adj is shared, --init forks from the child). */
static int may_share(const int32_t *opt)
{
	return UNS_CAN_SHARE_VM && opt[UNS_OPT_SHARED_VM] &&
	       opt[UNS_OPT_JOIN0] < 0 && !opt[UNS_OPT_FORK] &&
	       !opt[UNS_OPT_OOM_SET] && getuid() == geteuid() &&
	       getgid() == getegid();
}

/* Moves an fd we created off 0-2, which the child overwrites with stdio.
 * A failed open() (-1, errno set) passes through. */
static int raise_fd(int fd)
{
	int high, saved;

	if (fd < 0 || fd > 2)
		return fd;
	high = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	saved = errno;
	(void)close(fd);
	errno = saved;
	return high;
}

static void close_fds(int *fds, int n)
{
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			(void)close(fds[i]);
}

static int make_pipe(int fds[2])
{
	int rc;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	fds[0] = raise_fd(fds[0]);
	rc = fds[0] < 0 ? -errno : 0;
	fds[1] = raise_fd(fds[1]);
	rc = rc == 0 && fds[1] < 0 ? -errno : rc;
	if (rc < 0) {
		close_fds(fds, 2);
		fds[0] = fds[1] = -1;
	}
	return rc;
}

/* Creates the child's stdio ends in child[] and the parent's in out. The
 * /dev/null fd, if any, goes in *null. */
static int make_stdio(const int32_t *opt, int child[3], int32_t *out,
		      int *null)
{
	int rc = 0;

	for (int i = 0; i < 3 && rc == 0; i++) {
		int32_t mode = opt[UNS_OPT_STDIN + i];
		int p[2] = { -1, -1 };

		if (mode == UNS_STDIO_NULL && *null < 0) {
			*null = raise_fd(open("/dev/null", O_RDWR | O_CLOEXEC));
			rc = *null < 0 ? -errno : 0;
		}
		if (mode == UNS_STDIO_NULL)
			child[i] = *null;
		if (mode != UNS_STDIO_PIPED)
			continue;
		rc = make_pipe(p);
		child[i] = p[i == 0 ? 0 : 1];
		out[UNS_OUT_STDIN + i] = p[i == 0 ? 1 : 0];
	}
	return rc;
}

/* Clones the child with every signal blocked, so no handler of the runtime
 * ever runs in it. Return: its pid, or -errno. */
static long clone_child(struct spawn *s, struct region *r, unsigned long flags,
			int *pidfd)
{
	sigset_t all, old;
	long pid;
	int rc;

	if (sigfillset(&all) < 0)
		return -errno;
	if ((rc = pthread_sigmask(SIG_BLOCK, &all, &old)) != 0)
		return -rc;
	if (s->shared) {
		pid = clone(shared_child, r->base + GUARD + STACK,
			    (int)(flags | CLONE_VM | CLONE_CHILD_CLEARTID), s,
			    pidfd, NULL, &r->busy);
		pid = pid < 0 ? -errno : pid;
	} else {
		pid = raw_clone(flags, pidfd);
		if (pid == 0)
			child(s);
	}
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	return pid;
}

UNS_EXPORT int32_t uns_abi_version(void)
{
	return UNS_ABI_VERSION;
}

/**
 * uns_spawn() - clone a child that waits on a pipe before setting up.
 * @opt: enum uns_opt slots, then argv and envp offsets into @str
 * @nopt: entries in @opt
 * @str: NUL-terminated strings
 * @out: enum uns_out slots, filled on success
 *
 * Return: 0, or -errno with nothing left open and no child.
 */
UNS_EXPORT int32_t uns_spawn(const int32_t *opt, uint32_t nopt,
			     const char *str, int32_t *out)
{
	struct region one = { 0 }, *r = NULL;
	struct spawn *s = NULL;
	struct arena a;
	int sync[2] = { -1, -1 }, err[2] = { -1, -1 }, null = -1, pidfd = -1;
	int stdio[3] = { -1, -1, -1 }; /* the child's; s may be its now */
	int rc = check_opt(opt, nopt, str);
	const char *path;
	size_t need;
	long pid = -1;

	if (rc < 0)
		return rc;
	path = str_at(opt, str, UNS_OPT_PATH);
	path = path ? path : DEFAULT_PATH;
	need = GUARD + STACK + data_size(opt, nopt, str, path);
	if (may_share(opt))
		r = claim(need, &rc);
	if (!r && (rc = grow(&one, need)) == 0)
		r = &one; /* fork mode: the child gets a copy */
	if (rc == 0) {
		a.at = r->base + GUARD + STACK;
		a.end = r->base + r->size;
		s = place(&a, opt, nopt, str, path);
		rc = s ? 0 : -ENOMEM;
	}
	for (int i = 0; i < UNS_OUT_COUNT; i++)
		out[i] = -1;
	if (rc == 0 && (rc = make_pipe(sync)) == 0 &&
	    (rc = make_pipe(err)) == 0)
		rc = make_stdio(opt, stdio, out, &null);
	if (rc == 0) {
		/* From clone() on, a shared region is the child's: nothing
		 * below reads s again. */
		memcpy(s->stdio, stdio, sizeof stdio);
		s->sync_fd = sync[0];
		s->err_fd = err[1];
		s->shared = r != &one;
		pid = clone_child(s, r,
				  (unsigned long)opt[UNS_OPT_CLONE_FLAGS] |
					  CLONE_PIDFD | SIGCHLD,
				  &pidfd);
		rc = pid < 0 ? (int)pid : 0;
	}
	close_fds((int[]){ sync[0], err[1], null }, 3);
	for (int i = 0; i < 3; i++)
		if (stdio[i] != null)
			close_fds(&stdio[i], 1);
	/* A shared region is the kernel's to free now; any other is ours. */
	if (r == &one && one.base)
		(void)munmap(one.base, one.size);
	else if (r && rc < 0)
		unclaim(r);
	if (rc < 0) {
		close_fds((int[]){ sync[1], err[0] }, 2);
		close_fds(out + UNS_OUT_STDIN, 3);
		for (int i = 0; i < UNS_OUT_COUNT; i++)
			out[i] = -1;
		return rc;
	}
	out[UNS_OUT_PID] = (int32_t)pid;
	out[UNS_OUT_PIDFD] = pidfd;
	out[UNS_OUT_SYNC_FD] = sync[1];
	out[UNS_OUT_ERR_FD] = err[0];
	out[UNS_OUT_SHARED] = r != &one;
	return 0;
}

/* Lets the child go on: its maps are written. */
UNS_EXPORT int32_t uns_release(int32_t sync_fd)
{
	char go = UNS_GO;
	ssize_t n;

	do
		n = write(sync_fd, &go, 1);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : 0;
}

/* Reads at most LEN (< 2 GiB) bytes: the count, 0 at EOF, or -errno. */
UNS_EXPORT int32_t uns_read(int32_t fd, void *buf, uint32_t len)
{
	ssize_t n;

	if (len > INT32_MAX)
		return -EINVAL;
	do
		n = read(fd, buf, len);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : (int32_t)n;
}

/* Writes at most LEN (< 2 GiB) bytes: the count written, or -errno. */
UNS_EXPORT int32_t uns_write(int32_t fd, const void *buf, uint32_t len)
{
	ssize_t n;

	if (len > INT32_MAX)
		return -EINVAL;
	do
		n = write(fd, buf, len);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : (int32_t)n;
}

/**
 * uns_read_timed() - uns_read(), if something arrives within TIMEOUT_MS.
 * @fd: the fd to read
 * @buf: where the bytes go
 * @len: at most this many (< 2 GiB)
 * @timeout_ms: how long to wait for the fd to be readable (or at EOF)
 *
 * Lets the caller wait briefly on its own thread for an event that is
 * usually a fraction of a millisecond away (a child executing), instead of
 * handing a blocking read to another thread.
 *
 * Return: the count, 0 at EOF, -EAGAIN when nothing came in time, or -errno.
 */
UNS_EXPORT int32_t uns_read_timed(int32_t fd, void *buf, uint32_t len,
				  int32_t timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int n = poll(&p, 1, timeout_ms);

	if (n < 0)
		return errno == EINTR ? -EAGAIN : -errno;
	if (n == 0)
		return -EAGAIN;
	return uns_read(fd, buf, len);
}

UNS_EXPORT int32_t uns_close(int32_t fd)
{
	return close(fd) < 0 ? -errno : 0;
}

/* Reaps the child of PIDFD: out[0] is its exit code (128+N for signal N),
 * out[1] the signal or 0. Return: 0 or -errno. */
static int reap(int pidfd, int32_t *out)
{
	siginfo_t si;
	int rc;

	memset(&si, 0, sizeof si);
	do
		rc = waitid((idtype_t)P_PIDFD, (id_t)pidfd, &si, WEXITED);
	while (rc < 0 && errno == EINTR);
	if (rc < 0)
		return -errno;
	out[1] = si.si_code == CLD_EXITED ? 0 : si.si_status;
	out[0] = si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
	return 0;
}

/* Waits for the child to end: out[0] is its exit code (128+N for signal N),
 * out[1] the signal or 0. Reaps it; the pidfd stays open. */
UNS_EXPORT int32_t uns_wait(int32_t pidfd, int32_t *out)
{
	return reap(pidfd, out);
}

UNS_EXPORT int32_t uns_kill(int32_t pidfd, int32_t sig)
{
	return syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0 ? -errno
								      : 0;
}

/* Writes BUF in one write(): /proc/PID/{uid,gid}_map refuse a split one. */
UNS_EXPORT int32_t uns_write_file(const char *path, const void *buf,
				  uint32_t len)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), rc = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, buf, len);
	if (n < 0)
		rc = -errno;
	else if ((uint32_t)n != len)
		rc = -EIO;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	return rc;
}

/* ---- the ID-map helpers -------------------------------------------------- */

/* What a helper's child needs, in a region's data part. */
struct helper {
	const char *path;
	char *const *argv;
	int null_fd, err_fd, exec_fd; /* the child's ends */
};

/* The helper's child. It runs as a shared-mode child does (or, with every
 * region busy, vfork-style), so the same rules hold: raw system calls only,
 * nothing touched but its region. A failed execve() is reported as its
 * errno (4 bytes) on exec_fd, which a successful one closes. */
static int helper_child(void *arg)
{
	const struct helper *h = arg;
	static char *const no_env[] = { NULL };
	int32_t err;
	long r;

	/* The helpers are setuid and clear their environment anyway. */
	if ((r = default_dispositions()) == 0 &&
	    (r = sys(SYS_dup3, h->null_fd, 0, 0)) == 0 &&
	    (r = sys(SYS_dup3, h->null_fd, 1, 0)) == 1 &&
	    (r = sys(SYS_dup3, h->err_fd, 2, 0)) == 2 &&
	    (r = close_range_(3, (unsigned)h->exec_fd - 1)) == 0 &&
	    (r = close_range_((unsigned)h->exec_fd + 1, ~0U)) == 0 &&
	    (r = unblock_all()) == 0)
		r = sys(SYS_execve, h->path, h->argv, no_env);
	err = (int32_t)-r;
	while (sys(SYS_write, h->exec_fd, &err, sizeof err) == -EINTR)
		;
	sys_exit(127);
}

/* Copies argv (ARGC offsets into STR) and a struct helper into the arena. */
static struct helper *place_helper(struct arena *a, const char *str,
				   uint32_t len, const int32_t *off,
				   uint32_t argc)
{
	struct helper *h = take(a, sizeof *h);
	char *copy = take(a, len);
	char **vec = take(a, (argc + 1) * sizeof *vec);

	if (!h || !copy || !vec)
		return NULL;
	memcpy(copy, str, len);
	for (uint32_t i = 0; i < argc; i++)
		vec[i] = copy + off[i];
	vec[argc] = NULL;
	h->path = vec[0];
	h->argv = vec;
	return h;
}

static int check_argv(const char *str, uint32_t len, const int32_t *off,
		      uint32_t argc)
{
	if (len < 1 || len > INT32_MAX || str[len - 1] != '\0' || argc < 1 ||
	    argc > 65536)
		return -EINVAL;
	for (uint32_t i = 0; i < argc; i++)
		if (off[i] < 0 || (uint32_t)off[i] >= len)
			return -EINVAL;
	return 0;
}

/* Clones the helper's child from region R: shared mode, or vfork-style from
 * a one-off region (this thread then waits until it has executed). */
static long clone_helper(struct helper *h, struct region *r, int shared,
			 int *pidfd)
{
	int flags = CLONE_VM | CLONE_PIDFD | SIGCHLD;
	sigset_t all, old;
	long pid;
	int rc;

	/* Every signal blocked: no handler of the runtime runs in the child. */
	if (sigfillset(&all) < 0)
		return -errno;
	if ((rc = pthread_sigmask(SIG_BLOCK, &all, &old)) != 0)
		return -rc;
	flags |= shared ? CLONE_CHILD_CLEARTID : CLONE_VFORK;
	pid = clone(helper_child, r->base + GUARD + STACK, flags, h, pidfd,
		    NULL, shared ? &r->busy : NULL);
	pid = pid < 0 ? -errno : pid;
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	return pid;
}

/**
 * uns_start_helper() - start newuidmap or newgidmap; do not wait for it.
 * @str: NUL-terminated strings; the first argv entry is also the path
 * @len: bytes in @str
 * @off: @argc offsets into @str, one per argv entry
 * @argc: argv entries
 * @out: enum uns_helper_out slots, filled on success
 *
 * The helper is cloned in shared mode from a region, so this returns at
 * once and the helper executes on its own: no copy of the runtime's memory,
 * no thread of the runtime busy. stdin and stdout are /dev/null, stderr a
 * pipe, the environment is empty, all other fds are closed. Pass the out
 * slots to uns_finish_helpers(), always.
 *
 * Return: 0, or -errno with nothing left behind.
 */
UNS_EXPORT int32_t uns_start_helper(const char *str, uint32_t len,
				    const int32_t *off, uint32_t argc,
				    int32_t *out)
{
	struct region one = { 0 }, *r = NULL;
	struct helper *h = NULL;
	struct arena a;
	int err[2] = { -1, -1 }, ex[2] = { -1, -1 }, null = -1, pidfd = -1;
	int rc = check_argv(str, len, off, argc);
	size_t need = GUARD + STACK + 64 + sizeof *h + len +
		      (argc + 1) * sizeof(char *);
	long pid = -1;

	if (rc < 0)
		return rc;
	if (UNS_CAN_SHARE_VM)
		r = claim(need, &rc);
	if (!r && (rc = grow(&one, need)) == 0)
		r = &one;
	if (rc == 0) {
		a.at = r->base + GUARD + STACK;
		a.end = r->base + r->size;
		h = place_helper(&a, str, len, off, argc);
		rc = h ? 0 : -ENOMEM;
	}
	if (rc == 0 && (rc = make_pipe(err)) == 0 && (rc = make_pipe(ex)) == 0) {
		null = raise_fd(open("/dev/null", O_RDWR | O_CLOEXEC));
		rc = null < 0 ? -errno : 0;
	}
	if (rc == 0) {
		h->null_fd = null;
		h->err_fd = err[1];
		h->exec_fd = ex[1];
		pid = clone_helper(h, r, r != &one, &pidfd);
		rc = pid < 0 ? (int)pid : 0;
	}
	close_fds((int[]){ err[1], ex[1], null }, 3);
	if (r == &one && one.base)
		(void)munmap(one.base, one.size);
	else if (r && rc < 0)
		unclaim(r);
	if (rc < 0) {
		close_fds((int[]){ err[0], ex[0] }, 2);
		return rc;
	}
	out[UNS_HOUT_PID] = (int32_t)pid;
	out[UNS_HOUT_PIDFD] = pidfd;
	out[UNS_HOUT_ERR_FD] = err[0];
	out[UNS_HOUT_EXEC_FD] = ex[0];
	return 0;
}

/* Reads FD to its end, keeping the first LEN bytes in BUF: how many, or
 * -errno. */
static long read_all(int fd, char *buf, uint32_t len)
{
	char sink[512];
	uint32_t kept = 0;
	ssize_t n;

	for (;;) {
		char *to = kept < len ? buf + kept : sink;
		size_t room = kept < len ? len - kept : sizeof sink;

		do
			n = read(fd, to, room);
		while (n < 0 && errno == EINTR);
		if (n <= 0)
			return n < 0 ? -errno : (long)kept;
		if (to != sink)
			kept += (uint32_t)n;
	}
}

/* Waits for one helper: out[] as enum uns_finish_out. */
static void finish_helper(int pidfd, int exec_fd, int err_fd, char *buf,
			  uint32_t buflen, int32_t *out)
{
	long status = read_all(exec_fd, (char *)&out[UNS_FOUT_EXEC_ERRNO], 4);
	long kept = read_all(err_fd, buf, buflen);
	int rc = reap(pidfd, out);

	if (status >= 0 && status != 4)
		out[UNS_FOUT_EXEC_ERRNO] = 0; /* EOF: executed */
	out[UNS_FOUT_ERR_LEN] = kept < 0 ? 0 : (int32_t)kept;
	out[UNS_FOUT_RC] = (int32_t)(status < 0 ? status : kept < 0 ? kept : rc);
}

/**
 * uns_finish_helpers() - wait for helpers from uns_start_helper() to end.
 * @fds: for each helper its pidfd, exec-status fd and stderr fd
 * @n: helpers, at most UNS_MAX_HELPERS
 * @buf: @n chunks of @buflen bytes, for the start of each one's stderr; the
 *       rest is drained
 * @buflen: bytes per chunk
 * @out: @n times UNS_FOUT_COUNT slots (enum uns_finish_out)
 *
 * Blocks: meant for a worker thread, one for all the helpers of a spawn.
 * Every helper is reaped; the fds stay open.
 *
 * Return: 0, or -EINVAL for a bad @n.
 */
UNS_EXPORT int32_t uns_finish_helpers(const int32_t *fds, uint32_t n,
				      char *buf, uint32_t buflen,
				      int32_t *out)
{
	if (n > UNS_MAX_HELPERS)
		return -EINVAL;
	for (uint32_t i = 0; i < n; i++)
		finish_helper(fds[3 * i], fds[3 * i + 1], fds[3 * i + 2],
			      buf + (size_t)i * buflen, buflen,
			      out + i * UNS_FOUT_COUNT);
	return 0;
}
