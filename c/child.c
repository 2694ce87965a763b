/*
 * child.c - the cloned child, from clone() to execve(). It runs in a copy
 * of the runtime or in the runtime's own memory (shared mode), so it makes
 * raw system calls only: no libc, no errno, no malloc, no locks.
 */
#include "internal.h"

#include <sys/resource.h>

#ifndef NS_GET_NSTYPE
#define NS_GET_NSTYPE _IO(0xb7, 0x3) /* <linux/nsfs.h> */
#endif

/* Installs stdio, then closes every fd but 0-2, the two pipe ends, this
 * library's copy and, when joining, the target's pidfd and the request, so
 * that no other spawn's pipe is held open by this child. */
static void set_up_fds(const struct spawn *s)
{
	int keep[5] = { s->sync_fd, s->err_fd, s->opt[UNS_OPT_SELF_FD],
			s->join_fd, s->req_fd };
	unsigned int from = 3;

	/* The parent moved every fd it made above 2: dup3() never sees two
	 * equal fds. */
	for (int i = 0; i < 3; i++)
		if (s->stdio[i] >= 0)
			CHECK(s, sys(SYS_dup3, s->stdio[i], i, 0),
			      UNS_STEP_STDIO);
	for (int i = 1; i < 5; i++) /* sort them */
		for (int j = i; j > 0 && keep[j] < keep[j - 1]; j--) {
			int t = keep[j];

			keep[j] = keep[j - 1];
			keep[j - 1] = t;
		}
	for (int i = 0; i < 5; i++) {
		if (keep[i] < (int)from)
			continue;
		CHECK(s, close_range_(from, (unsigned)keep[i] - 1), UNS_STEP_FDS);
		from = (unsigned)keep[i] + 1;
	}
	CHECK(s, close_range_(from, ~0U), UNS_STEP_FDS);
}

/* Blocks until the parent writes UNS_GO. EOF means the parent aborted or
 * died: exit without running anything, unmapped; a signal sent meanwhile
 * (kill() before release) ends it first, so its status says so. The core
 * limit is still 0. */
static void wait_for_go(const struct spawn *s)
{
	char go = 0;
	long n;

	while ((n = sys(SYS_read, s->sync_fd, &go, 1)) == -EINTR)
		;
	if (n != 1 || go != UNS_GO) {
		(void)unblock_all();
		sys_exit(125);
	}
}

/* Joins the namespaces of a running process (enter, pods) at once through
 * its pidfd, then unshares the new ones asked for on top of them. Return:
 * 1 when a pid namespace was joined and a new one is asked for on top: the
 * kernel makes a pid namespace only inside the caller's active one (else
 * EINVAL), which the join does not change, so enter_new_pid() unshares it
 * from a child. */
static int join_namespaces(const struct spawn *s)
{
	long flags = s->opt[UNS_OPT_CLONE_FLAGS];
	long join = s->opt[UNS_OPT_JOIN_FLAGS];
	int pid;

	if (s->join_fd < 0)
		return 0;
	CHECK(s, sys(SYS_setns, s->join_fd, join), UNS_STEP_SETNS);
	CHECK(s, sys(SYS_close, s->join_fd), UNS_STEP_SETNS);
	pid = (join & CLONE_NEWPID) && (flags & CLONE_NEWPID);
	if (pid)
		flags &= ~(long)CLONE_NEWPID;
	if (flags)
		CHECK(s, sys(SYS_unshare, flags), UNS_STEP_UNSHARE);
	return pid;
}

/* Forks: the parent stays as the child's userns-init (and never returns),
 * the child returns, its parent-death signal armed again, once the init is
 * named userns-init for good: executing the library's sealed copy names it
 * "memfd:userns" until its first instruction renames it, and the command
 * must never see that (comm, ps). */
static void fork_init(const struct spawn *s)
{
	int named[2];
	char c;
	long pid, r;

	CHECK(s, sys(SYS_prctl, PR_SET_NAME, "userns-init"), UNS_STEP_FORK);
	CHECK(s, sys(SYS_pipe2, named, O_CLOEXEC), UNS_STEP_FORK);
	pid = raw_clone(SIGCHLD, NULL);
	CHECK(s, pid, UNS_STEP_FORK);
	if (pid > 0) {
		(void)sys(SYS_close, named[0]);
		become_init(s, pid, named[1]);
	}
	(void)sys(SYS_close, named[1]);
	while ((r = sys(SYS_read, named[0], &c, 1)) == -EINTR)
		;
	(void)sys(SYS_close, named[0]);
	CHECK(s, sys(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL), UNS_STEP_PDEATHSIG);
}

/**
 * enter_new_pid() - move into the new pid namespace asked for on top of
 * joined ones, before anything is set up in it.
 * @s: the spawn
 * @nest: a pid namespace was joined too (see join_namespaces())
 *
 * unshare(CLONE_NEWPID) puts only the caller's children in the new
 * namespace; the first becomes its PID 1. So the child forks that PID 1 and
 * stays as a relay init that passes signals on and the status back; PID 1
 * then mounts (a /proc of the new namespace is mountable only from inside)
 * and runs the command's own init, or the command. After joining a pid
 * namespace, a first fork gets inside it to unshare the new one there.
 */
static void enter_new_pid(const struct spawn *s, int nest)
{
	if (nest) {
		fork_init(s);
		CHECK(s, sys(SYS_unshare, CLONE_NEWPID), UNS_STEP_UNSHARE);
	}
	fork_init(s);
}

/* Writes V in decimal so that it ends just before END: the first char. */
static char *decimal(char *end, int64_t v)
{
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;

	do
		*--end = (char)('0' + u % 10);
	while (u /= 10);
	if (v < 0)
		*--end = '-';
	return end;
}

static long write_oom_score_adj(int value)
{
	char buf[16], *p = decimal(buf + sizeof buf, value);

	return write_file_at(AT_FDCWD, "/proc/self/oom_score_adj", p,
			     buf + sizeof buf - p);
}

/* The 64-bit value in the two int32 slots from AT: low half, high half. */
static int64_t wide(const int32_t *opt, int at)
{
	return (int64_t)((uint64_t)(uint32_t)opt[at + 1] << 32 |
			 (uint32_t)opt[at]);
}

/* A time namespace for what is executed next, with the clock offsets set
 * while nothing is in it yet (time_namespaces(7)). */
static long new_time_namespace(const int32_t *opt)
{
	static const char mono[] = "monotonic ", boot[] = "boottime ";
	char buf[80], *end = buf + sizeof buf, *p = end;
	long r = sys(SYS_unshare, CLONE_NEWTIME);

	if (r < 0 || (!wide(opt, UNS_OPT_MONOTONIC) &&
		      !wide(opt, UNS_OPT_BOOTTIME)))
		return r;
	*--p = '\n', *--p = '0', *--p = ' ';
	p = decimal(p, wide(opt, UNS_OPT_BOOTTIME));
	for (int i = sizeof boot - 2; i >= 0; i--)
		*--p = boot[i];
	*--p = '\n', *--p = '0', *--p = ' ';
	p = decimal(p, wide(opt, UNS_OPT_MONOTONIC));
	for (int i = sizeof mono - 2; i >= 0; i--)
		*--p = mono[i];
	return write_file_at(AT_FDCWD, "/proc/self/timens_offsets", p, end - p);
}

/* Clocks, hostname, network, mounts and root, while the child still has
 * every capability in its namespace. */
static void set_up_namespace(const struct spawn *s)
{
	const int32_t *opt = s->opt;

	if (opt[UNS_OPT_TIME])
		CHECK(s, new_time_namespace(opt), UNS_STEP_TIME);
	if (s->hostname)
		CHECK(s, sys(SYS_sethostname, s->hostname, s->hostname_len),
		      UNS_STEP_HOSTNAME);
	if (opt[UNS_OPT_LOOPBACK])
		CHECK(s, loopback_up(), UNS_STEP_LOOPBACK);
	if (opt[UNS_OPT_PROPAGATION])
		CHECK(s, sys(SYS_mount, NULL, "/", NULL,
			     MS_REC | opt[UNS_OPT_PROPAGATION], NULL),
		      UNS_STEP_PROPAGATION);
	set_up_mounts(s);
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
			fail_at(s, UNS_STEP_SETUID, EPERM, -1);
	}
	if (gid != -1) {
		CHECK(s, sys(SYS_getresgid, &r, &e, &saved), UNS_STEP_SETGID);
		if (r != (uint32_t)gid || e != r || saved != r)
			fail_at(s, UNS_STEP_SETGID, EPERM, -1);
	}
}

/* Switches to the inside identity. That clears the parent-death signal, so
 * it is armed again; a parent that died in between has closed its end of the
 * sync socket, which poll() reports as a hang-up. */
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

/* The limits asked for; a core limit is left for the last step. */
static void set_limits(const struct spawn *s, struct klimit *core)
{
	for (uint32_t i = 0; i < (uint32_t)s->opt[UNS_OPT_NRLIMIT]; i++) {
		const uint32_t *l = (const uint32_t *)&s->rlimits[i * 5];
		struct klimit k = { (uint64_t)l[2] << 32 | l[1],
				    (uint64_t)l[4] << 32 | l[3] };
		long r;

		if (l[0] == RLIMIT_CORE) {
			*core = k;
			continue;
		}
		r = sys(SYS_prlimit64, 0, l[0], &k, NULL);
		if (r < 0)
			fail_at(s, UNS_STEP_RLIMIT, -r, (int)i);
	}
}

/* The command's own process state: session, terminal, limits, directory. */
static void set_up_process(const struct spawn *s, struct klimit *core)
{
	const int32_t *opt = s->opt;

	if (opt[UNS_OPT_SETSID])
		CHECK(s, sys(SYS_setsid, 0), UNS_STEP_SETSID);
	if (opt[UNS_OPT_CTTY])
		CHECK(s, sys(SYS_ioctl, 0, TIOCSCTTY, 0), UNS_STEP_CTTY);
	if (opt[UNS_OPT_NO_NEW_PRIVS])
		CHECK(s, sys(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0),
		      UNS_STEP_NO_NEW_PRIVS);
	set_limits(s, core);
	if (s->cwd)
		CHECK(s, sys(SYS_chdir, s->cwd), UNS_STEP_CHDIR);
}

/* A file without #! that the kernel refuses (ENOEXEC) is run with /bin/sh,
 * as execvp() does: argv becomes /bin/sh PATH ARGS..., and is put back
 * after a failure, for the next candidate. Return (on failure only):
 * -ENOEXEC when there is no shell to run it (missing, not executable),
 * else the shell's own -errno (E2BIG, ENOMEM, ...). */
static long exec_shell(const struct spawn *s, const char *path)
{
	char **v = s->argv - 1, *arg0 = v[1];
	long r;

	v[0] = (char *)"/bin/sh";
	v[1] = (char *)path;
	r = sys(SYS_execve, v[0], v, s->envp);
	v[1] = arg0;
	if (r == -ENOENT || r == -ENOTDIR || r == -EACCES || r == -ENOEXEC)
		return -ENOEXEC;
	return r;
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

		if (r == -ENOEXEC)
			r = exec_shell(s, s->cand[i]);
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

/**
 * child() - from clone() on: make the child safe to hold, then set the
 * namespace up and execute the command (or, to join namespaces, execute
 * the library's own userns-join first, which goes on from go()).
 * @s: what to do, resolved by the parent
 *
 * Signals stay blocked from clone() to the end, and the core limit is 0, so
 * that nothing sent meanwhile can dump the runtime's memory: signals that
 * came in are delivered only once the last set-up step is done, still under
 * that limit; the caller's limit (or the one asked for) comes back right
 * before execve().
 */
_Noreturn void child(const struct spawn *s)
{
	struct klimit zero = { 0, 0 }, core;

	CHECK(s, sys(SYS_prlimit64, 0, RLIMIT_CORE, NULL, &core),
	      UNS_STEP_RLIMIT);
	zero.max = core.max;
	CHECK(s, sys(SYS_prlimit64, 0, RLIMIT_CORE, &zero, NULL),
	      UNS_STEP_RLIMIT);
	CHECK(s, default_dispositions(), UNS_STEP_SIGNALS);
	set_up_fds(s);
	CHECK(s, sys(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL), UNS_STEP_PDEATHSIG);
	if (s->req_fd >= 0)
		launch_join(s);
	/* Joining in a private copy, where the library cannot be executed:
	 * that copy must not be dumpable either. */
	if (s->join_fd >= 0)
		CHECK(s, sys(SYS_prctl, PR_SET_DUMPABLE, 0), UNS_STEP_SETNS);
	go(s, &core);
}

/**
 * go() - once released: join, set up, switch ids, execute.
 * @s: the spawn
 * @core: the core limit to give the command
 *
 * A joining child runs this as userns-join, not dumpable from before the
 * join until execve(): the namespace's root may see it (runc
 * CVE-2016-9962), and it must find nothing of the caller there.
 */
_Noreturn void go(const struct spawn *s, struct klimit *core)
{
	const int32_t *opt = s->opt;
	int nest;

	wait_for_go(s);
	/* Before the join, with the caller's credentials, which as root may
	 * lower it; for a new namespace the parent writes it (userns-join is
	 * the one to do it here: its memory is not the runtime's). */
	if (s->join_fd >= 0 && opt[UNS_OPT_OOM_SET])
		CHECK(s, write_oom_score_adj(opt[UNS_OPT_OOM]), UNS_STEP_OOM);
	nest = join_namespaces(s);
	if (s->join_fd >= 0 && (opt[UNS_OPT_CLONE_FLAGS] & CLONE_NEWPID))
		enter_new_pid(s, nest);
	set_up_namespace(s);
	/* Capabilities to keep must survive the switch to a non-root uid. */
	if (opt[UNS_OPT_CAPS])
		CHECK(s, sys(SYS_prctl, PR_SET_KEEPCAPS, 1, 0, 0, 0),
		      UNS_STEP_CAPS);
	switch_ids(s);
	/* A change of ids resets it to fs.suid_dumpable's rule. */
	if (s->join_fd >= 0)
		CHECK(s, sys(SYS_prctl, PR_SET_DUMPABLE, 0), UNS_STEP_SETNS);
	if (opt[UNS_OPT_EXEC_SELF])
		exec_self(s);
	if (opt[UNS_OPT_INIT])
		fork_init(s);
	set_up_process(s, core);
	/* With every signal still blocked: then what the filter allows is all
	 * that is left (unblock, the core limit, execve). */
	apply_caps_and_filter(
		s, opt[UNS_OPT_CAPS],
		(uint64_t)(uint32_t)opt[UNS_OPT_CAPS_HI] << 32 |
			(uint32_t)opt[UNS_OPT_CAPS_LO],
		(const struct sock_filter *)s->filter,
		(const uint32_t *)s->filter_lens, (uint32_t)opt[UNS_OPT_NFILTER]);
	/* A signal that came in meanwhile ends it under a core limit of 0;
	 * only then the caller's limit (or the one asked for) comes back:
	 * its soft part only, which needs no capability. */
	CHECK(s, unblock_all(), UNS_STEP_EXEC);
	CHECK(s, sys(SYS_prlimit64, 0, RLIMIT_CORE, core, NULL),
	      UNS_STEP_RLIMIT);
	fail_at(s, UNS_STEP_EXEC, exec_candidates(s), -1);
}

/* The entry point of a shared-mode child, on its region's stack. */
int shared_child(void *s)
{
	child(s);
}
