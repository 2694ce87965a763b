/*
 * userns.c - clone a child into new namespaces, hold it on a pipe until the
 * parent has written its ID maps, then let it set itself up and execute.
 *
 * The caller is a multi-threaded runtime. Between clone() and execve() the
 * child is a copy of it with one thread, so it may only make async-signal-safe
 * calls: no malloc, no stdio, no locks. The credential calls go through
 * syscall() because glibc's wrappers signal every thread of the process, and
 * the child's copy of that thread list is stale.
 *
 * Parent-side functions return -errno; none prints, exits or allocates.
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
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/* Everything the child needs, resolved by the parent before clone(). */
struct spawn {
	const int32_t *opt;
	const char *join[UNS_MAX_JOIN];
	const char *file, *path, *cwd, *root, *hostname, *proc;
	char *const *argv, *const *envp;
	int sync_fd, err_fd; /* the child's ends */
	int stdio[3];        /* fd to install as 0, 1, 2, or -1 to inherit */
};

/**
 * raw_clone() - fork-like clone(2) without glibc's fork handlers.
 * @flags: clone flags, including the exit signal
 * @pidfd: where CLONE_PIDFD stores the pidfd, or NULL
 *
 * Return: the child's pid in the parent, 0 in the child, -1 on error.
 */
static pid_t raw_clone(unsigned long flags, int *pidfd)
{
#if defined(__s390__) || defined(__CRIS__)
	return (pid_t)syscall(SYS_clone, 0, flags, pidfd, NULL, 0);
#else
	return (pid_t)syscall(SYS_clone, flags, 0, pidfd, NULL, 0);
#endif
}

/* ---- the child ---------------------------------------------------------- */

/* Reports the failed step and errno to the parent, then exits. */
static _Noreturn void fail(const struct spawn *s, int step, int err)
{
	struct uns_failure f = { step, err };
	ssize_t n;

	do
		n = write(s->err_fd, &f, sizeof f);
	while (n < 0 && errno == EINTR);
	_exit(125);
}

#define CHECK(s, call, step)                                                   \
	do {                                                                   \
		if ((call) < 0)                                                \
			fail(s, step, errno);                                  \
	} while (0)

/* Every disposition back to default: the runtime ignores SIGPIPE and handles
 * others, and ignored dispositions survive execve(). This goes around glibc,
 * which refuses to touch its own internal signals (32, 33) that the runtime
 * may have set. An all-zero kernel sigaction is SIG_DFL on every arch. */
static void reset_dispositions(const struct spawn *s)
{
	unsigned long dfl[4] = { 0 };

	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			CHECK(s, syscall(SYS_rt_sigaction, sig, dfl, NULL,
					 (NSIG - 1) / 8),
			      UNS_STEP_SIGNALS);
}

static int close_range_(unsigned int lo, unsigned int hi)
{
	return lo > hi ? 0 : (int)syscall(SYS_close_range, lo, hi, 0);
}

/* Installs stdio, then closes every fd but 0-2 and the two pipe ends, so that
 * no other spawn's pipe is held open by this child. */
static void set_up_fds(const struct spawn *s)
{
	int lo = s->sync_fd < s->err_fd ? s->sync_fd : s->err_fd;
	int hi = s->sync_fd < s->err_fd ? s->err_fd : s->sync_fd;

	for (int i = 0; i < 3; i++)
		if (s->stdio[i] >= 0)
			CHECK(s, dup2(s->stdio[i], i), UNS_STEP_STDIO);
	CHECK(s, close_range_(3, lo - 1), UNS_STEP_FDS);
	CHECK(s, close_range_(lo + 1, hi - 1), UNS_STEP_FDS);
	CHECK(s, close_range_(hi + 1, ~0U), UNS_STEP_FDS);
}

/* Blocks until the parent writes UNS_GO. EOF means the parent aborted or
 * died: exit without running anything, unmapped. */
static void wait_for_go(const struct spawn *s)
{
	char go = 0;
	ssize_t n;

	do
		n = read(s->sync_fd, &go, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1 || go != UNS_GO)
		_exit(125);
}

static void join_namespaces(const struct spawn *s)
{
	int fd[UNS_MAX_JOIN], n = 0;

	/* Open all first: joining the mount namespace changes what /proc is. */
	for (; n < UNS_MAX_JOIN && s->join[n]; n++)
		CHECK(s, fd[n] = open(s->join[n], O_RDONLY | O_CLOEXEC),
		      UNS_STEP_SETNS);
	for (int i = 0; i < n; i++) {
		CHECK(s, setns(fd[i], 0), UNS_STEP_SETNS);
		CHECK(s, close(fd[i]), UNS_STEP_SETNS);
	}
}

static int write_oom_score_adj(int value)
{
	char buf[16], *p = buf + sizeof buf;
	unsigned int v = value < 0 ? -(unsigned int)value : (unsigned int)value;
	int fd, saved;
	ssize_t n;

	do
		*--p = (char)('0' + v % 10);
	while (v /= 10);
	if (value < 0)
		*--p = '-';
	fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = write(fd, p, (size_t)(buf + sizeof buf - p));
	saved = errno;
	if (close(fd) < 0 && n >= 0)
		return -1;
	errno = saved;
	return n < 0 ? -1 : 0;
}

/* Hostname, mounts and root, while the child still has every capability in
 * its namespace; /proc goes under the new root, as unshare --root does. */
static void set_up_namespace(const struct spawn *s)
{
	const int32_t *opt = s->opt;

	if (opt[UNS_OPT_OOM_SET])
		CHECK(s, write_oom_score_adj(opt[UNS_OPT_OOM]), UNS_STEP_OOM);
	if (s->hostname)
		CHECK(s, sethostname(s->hostname, strlen(s->hostname)),
		      UNS_STEP_HOSTNAME);
	if (opt[UNS_OPT_CLONE_FLAGS] & CLONE_NEWNS)
		CHECK(s, mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL),
		      UNS_STEP_MOUNT_PRIVATE);
	if (s->proc)
		CHECK(s, mount("proc", s->proc, "proc",
			       MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL),
		      UNS_STEP_MOUNT_PROC);
	if (s->root)
		CHECK(s, chroot(s->root), UNS_STEP_CHROOT);
}

/* Switches to the inside identity. That clears the parent-death signal, so
 * it is armed again; a parent that died in between has closed its end of the
 * sync pipe, which poll() reports as a hang-up. */
static void switch_ids(const struct spawn *s)
{
	int32_t uid = s->opt[UNS_OPT_UID], gid = s->opt[UNS_OPT_GID];
	struct pollfd p = { .fd = s->sync_fd, .events = POLLIN };

	if (s->opt[UNS_OPT_CLEAR_GROUPS])
		CHECK(s, syscall(SYS_setgroups, 0, NULL), UNS_STEP_SETGROUPS);
	if (gid != -1)
		CHECK(s, syscall(SYS_setresgid, gid, gid, gid), UNS_STEP_SETGID);
	if (uid != -1)
		CHECK(s, syscall(SYS_setresuid, uid, uid, uid), UNS_STEP_SETUID);
	CHECK(s, prctl(PR_SET_PDEATHSIG, SIGKILL), UNS_STEP_PDEATHSIG);
	CHECK(s, poll(&p, 1, 0), UNS_STEP_PDEATHSIG);
	if (p.revents & (POLLHUP | POLLERR))
		_exit(125);
}

/* Exits the way the command did. As a namespace's init, a signal sent to
 * itself is ignored, so 128+N is what remains. */
static _Noreturn void exit_like(int status)
{
	if (WIFSIGNALED(status)) {
		sigset_t one;

		sigemptyset(&one);
		sigaddset(&one, WTERMSIG(status));
		(void)sigprocmask(SIG_UNBLOCK, &one, NULL);
		(void)kill(getpid(), WTERMSIG(status));
		_exit(128 + WTERMSIG(status));
	}
	_exit(WEXITSTATUS(status));
}

/* The parent of the command: reaps every child, forwards every signal, and
 * exits like the command. A terminal's signal (SI_KERNEL) already reached the
 * command when it shares our process group. */
static _Noreturn void reap_and_forward(pid_t cmd, int same_pgrp)
{
	sigset_t all;
	siginfo_t si;
	int status;
	pid_t pid = -1;

	sigfillset(&all);
	for (;;) {
		int sig = sigwaitinfo(&all, &si);

		if (sig < 0)
			continue;
		if (sig != SIGCHLD) {
			if (!(same_pgrp && si.si_code == SI_KERNEL))
				(void)kill(cmd, sig);
			continue;
		}
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
			if (pid == cmd)
				exit_like(status);
	}
}

/* For --init and for joining a pid namespace: fork once more. Returns in the
 * command's process; the parent stays, holding no fd at all. */
static void fork_command(const struct spawn *s)
{
	pid_t cmd = raw_clone(SIGCHLD, NULL);

	CHECK(s, cmd, UNS_STEP_FORK);
	if (cmd == 0) {
		CHECK(s, prctl(PR_SET_PDEATHSIG, SIGKILL), UNS_STEP_PDEATHSIG);
		return;
	}
	if (close_range_(0, ~0U) < 0 ||
	    prctl(PR_SET_NAME, "userns-init") < 0)
		(void)kill(cmd, SIGKILL);
	reap_and_forward(cmd, !s->opt[UNS_OPT_SETSID]);
}

/**
 * exec_search() - execve() FILE, searching PATH when it has no slash.
 * @s: the spawn, for file, path, argv and envp
 *
 * Return: the errno to report: EACCES if some existing candidate was not
 * executable, else ENOENT when none was found, else the first other error.
 */
static int exec_search(const struct spawn *s)
{
	char buf[PATH_MAX];
	struct stat st;
	const char *p = s->path ? s->path : "/usr/local/bin:/usr/bin:/bin";
	size_t flen = strlen(s->file);
	int eacces = 0;

	if (flen == 0)
		return ENOENT;
	if (strchr(s->file, '/')) {
		execve(s->file, s->argv, s->envp);
		return errno;
	}
	for (;;) {
		const char *end = strchrnul(p, ':');
		size_t dlen = (size_t)(end - p);

		if (dlen + flen + 2 <= sizeof buf) {
			memcpy(buf, p, dlen);
			buf[dlen] = '/';
			memcpy(buf + dlen + 1, s->file, flen + 1);
			execve(dlen ? buf : buf + 1, s->argv, s->envp);
			/* A directory we may not search hides nothing: only a
			 * file that exists makes EACCES the answer. */
			if (errno == EACCES)
				eacces |= stat(dlen ? buf : buf + 1, &st) == 0;
			else if (errno != ENOENT && errno != ENOTDIR)
				return errno;
		}
		if (*end == '\0')
			return eacces ? EACCES : ENOENT;
		p = end + 1;
	}
}

static _Noreturn void child(const struct spawn *s)
{
	const int32_t *opt = s->opt;
	sigset_t none;

	reset_dispositions(s);
	set_up_fds(s);
	CHECK(s, prctl(PR_SET_PDEATHSIG, SIGKILL), UNS_STEP_PDEATHSIG);
	wait_for_go(s);
	join_namespaces(s);
	set_up_namespace(s);
	switch_ids(s);
	if (opt[UNS_OPT_FORK])
		fork_command(s);
	if (opt[UNS_OPT_SETSID])
		CHECK(s, setsid(), UNS_STEP_SETSID);
	if (opt[UNS_OPT_CTTY])
		CHECK(s, ioctl(0, TIOCSCTTY, 0), UNS_STEP_CTTY);
	if (s->cwd)
		CHECK(s, chdir(s->cwd), UNS_STEP_CHDIR);
	sigemptyset(&none);
	CHECK(s, sigprocmask(SIG_SETMASK, &none, NULL), UNS_STEP_EXEC);
	fail(s, UNS_STEP_EXEC, exec_search(s));
}

/* ---- the parent ---------------------------------------------------------- */

static const char *str_at(const struct spawn *s, const char *str, int slot)
{
	return s->opt[slot] < 0 ? NULL : str + s->opt[slot];
}

/* Checks the option array and resolves its strings into s and vec. */
static int load(struct spawn *s, const int32_t *opt, uint32_t nopt,
		const char *str, char **vec, uint32_t nvec)
{
	int32_t len, argc, envc;
	uint32_t i;

	if (nopt < UNS_OPT_COUNT)
		return -EINVAL;
	len = opt[UNS_OPT_STR_LEN], argc = opt[UNS_OPT_ARGC];
	envc = opt[UNS_OPT_ENVC];
	if (len < 1 || str[len - 1] != '\0' || argc < 1 || envc < 0 ||
	    nopt != (uint32_t)(UNS_OPT_COUNT + argc + envc) ||
	    nvec < (uint32_t)(argc + envc + 2) || opt[UNS_OPT_FILE] < 0)
		return -EINVAL;
	for (i = 0; i < nopt; i++) {
		int is_str = i >= UNS_OPT_FILE && i != UNS_OPT_ARGC &&
			     i != UNS_OPT_ENVC;
		if ((is_str || (i >= UNS_OPT_JOIN0 && i < UNS_OPT_UID)) &&
		    opt[i] >= len)
			return -EINVAL;
		if (i >= UNS_OPT_COUNT && opt[i] < 0)
			return -EINVAL;
	}
	memset(s, 0, sizeof *s);
	s->opt = opt;
	for (i = 0; i < UNS_MAX_JOIN; i++)
		s->join[i] = str_at(s, str, UNS_OPT_JOIN0 + (int)i);
	s->file = str_at(s, str, UNS_OPT_FILE);
	s->path = str_at(s, str, UNS_OPT_PATH);
	s->cwd = str_at(s, str, UNS_OPT_CWD);
	s->root = str_at(s, str, UNS_OPT_ROOT);
	s->hostname = str_at(s, str, UNS_OPT_HOSTNAME);
	s->proc = str_at(s, str, UNS_OPT_PROC);
	for (i = 0; i < (uint32_t)argc; i++)
		vec[i] = (char *)str + opt[UNS_OPT_COUNT + i];
	vec[argc] = NULL;
	for (i = 0; i < (uint32_t)envc; i++)
		vec[argc + 1 + i] = (char *)str + opt[UNS_OPT_COUNT + argc + i];
	vec[argc + 1 + envc] = NULL;
	s->argv = vec;
	s->envp = vec + argc + 1;
	return 0;
}

/* Moves an fd we created off 0-2, which the child overwrites with stdio. */
static int raise_fd(int fd)
{
	int high, saved;

	if (fd > 2)
		return fd;
	high = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	saved = errno;
	(void)close(fd);
	errno = saved;
	return high;
}

static int make_pipe(int fds[2])
{
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	fds[0] = raise_fd(fds[0]);
	fds[1] = raise_fd(fds[1]);
	return fds[0] < 0 || fds[1] < 0 ? -errno : 0;
}

static void close_fds(int *fds, int n)
{
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			(void)close(fds[i]);
}

/* Creates the child's stdio ends in s->stdio and the parent's in out. The
 * /dev/null fd, if any, goes in *null. */
static int make_stdio(struct spawn *s, int32_t *out, int *null)
{
	int rc = 0;

	for (int i = 0; i < 3 && rc == 0; i++) {
		int32_t mode = s->opt[UNS_OPT_STDIN + i];
		int p[2] = { -1, -1 };

		if (mode == UNS_STDIO_NULL && *null < 0) {
			*null = raise_fd(open("/dev/null", O_RDWR | O_CLOEXEC));
			rc = *null < 0 ? -errno : 0;
		}
		if (mode == UNS_STDIO_NULL)
			s->stdio[i] = *null;
		if (mode != UNS_STDIO_PIPED)
			continue;
		rc = make_pipe(p);
		s->stdio[i] = p[i == 0 ? 0 : 1];
		out[UNS_OUT_STDIN + i] = p[i == 0 ? 1 : 0];
	}
	return rc;
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
 * @vec: scratch for the argv and envp pointer arrays
 * @nvec: entries in @vec, at least argc + envc + 2
 * @out: enum uns_out slots, filled on success
 *
 * Return: 0, or -errno with nothing left open and no child.
 */
UNS_EXPORT int32_t uns_spawn(const int32_t *opt, uint32_t nopt,
			     const char *str, char **vec, uint32_t nvec,
			     int32_t *out)
{
	struct spawn s;
	int sync[2] = { -1, -1 }, err[2] = { -1, -1 }, null = -1, pidfd = -1;
	sigset_t all, old;
	pid_t pid = -1;
	int rc = load(&s, opt, nopt, str, vec, nvec);

	if (rc < 0)
		return rc;
	s.stdio[0] = s.stdio[1] = s.stdio[2] = -1;
	for (int i = 0; i < UNS_OUT_COUNT; i++)
		out[i] = -1;
	if ((rc = make_pipe(sync)) == 0 && (rc = make_pipe(err)) == 0)
		rc = make_stdio(&s, out, &null);
	if (rc == 0) {
		s.sync_fd = sync[0];
		s.err_fd = err[1];
		/* The child starts with every signal blocked, so no handler of
		 * the runtime ever runs in it. */
		sigfillset(&all);
		rc = -pthread_sigmask(SIG_BLOCK, &all, &old);
	}
	if (rc == 0) {
		pid = raw_clone((unsigned long)opt[UNS_OPT_CLONE_FLAGS] |
					CLONE_PIDFD | SIGCHLD,
				&pidfd);
		if (pid == 0)
			child(&s);
		rc = pid < 0 ? -errno : 0;
		(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	close_fds((int[]){ sync[0], err[1], null }, 3);
	for (int i = 0; i < 3; i++)
		if (s.stdio[i] != null)
			close_fds(&s.stdio[i], 1);
	if (rc < 0) {
		close_fds((int[]){ sync[1], err[0] }, 2);
		close_fds(out + UNS_OUT_STDIN, 3);
		return rc;
	}
	out[UNS_OUT_PID] = pid;
	out[UNS_OUT_PIDFD] = pidfd;
	out[UNS_OUT_SYNC_FD] = sync[1];
	out[UNS_OUT_ERR_FD] = err[0];
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

UNS_EXPORT int32_t uns_close(int32_t fd)
{
	return close(fd) < 0 ? -errno : 0;
}

/* Waits for the child to end: out[0] is its exit code (128+N for signal N),
 * out[1] the signal or 0. Reaps it; the pidfd stays open. */
UNS_EXPORT int32_t uns_wait(int32_t pidfd, int32_t *out)
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
