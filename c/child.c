/*
 * child.c - the cloned child, from clone() to execve(). It runs in a copy
 * of the runtime or in the runtime's own memory (shared mode), so it makes
 * raw system calls only: no libc, no errno, no malloc, no locks.
 */
#include "internal.h"

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
		CHECK(s, sys(SYS_mount, NULL, "/", NULL, MS_REC | MS_SLAVE,
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

_Noreturn void child(const struct spawn *s)
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
int shared_child(void *s)
{
	child(s);
}
