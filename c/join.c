/*
 * join.c - userns-join: a child that joins the namespaces of a running
 * process (a pod, `enter`) does it as a program of its own.
 *
 * The namespace's root may see the joining process (runc CVE-2016-9962):
 * were it a copy of the runtime, or worse its own memory, /proc/PID/mem,
 * environ or ptrace would hand the caller's memory to that root. So the
 * child, cloned vfork-style in the runtime's memory, at once executes the
 * library's sealed copy (the "launch"), with argv[0] "userns-join". Its
 * request travels in a memfd that the program maps and rebases; the program
 * is not dumpable from before the join until it executes the command.
 */
#include "internal.h"

/* Parses the decimal number at P; *END gets where it stopped. */
static long number(const char *p, const char **end)
{
	long n = 0;

	while (*p >= '0' && *p <= '9' && n < 1L << 30)
		n = n * 10 + (*p++ - '0');
	*end = p;
	return n;
}

/* Writes N in decimal so that it ends just before END: the first char. */
static char *digits(char *end, long n)
{
	do
		*--end = (char)('0' + n % 10);
	while (n /= 10);
	return end;
}

/**
 * launch_join() - in the cloned child: execute the library's sealed copy
 * as userns-join, keeping the fds the request names.
 * @s: the spawn; its request is in the memfd s->req_fd
 *
 * Every other fd is closed already (set_up_fds()); these lose close-on-exec
 * for the one execveat() and get it back in join_main().
 */
_Noreturn void launch_join(const struct spawn *s)
{
	int keep[5] = { s->sync_fd, s->err_fd, s->opt[UNS_OPT_SELF_FD],
			s->join_fd, s->req_fd };
	char env[48], *argv[] = { (char *)"userns-join", NULL };
	char *envp[] = { NULL, NULL }, *p = env + sizeof env;
	long r = 0;

	*--p = '\0';
	p = digits(p, s->err_fd);
	*--p = ' ';
	p = digits(p, s->req_fd);
	for (int i = 8; i >= 0; i--)
		*--p = "UNS_JOIN="[i];
	envp[0] = p;
	for (int i = 0; i < 5 && r >= 0; i++)
		r = sys(SYS_fcntl, keep[i], F_SETFD, 0);
	if (r >= 0)
		r = s->opt[UNS_OPT_SELF_FD] < 0
			    ? -ENOEXEC
			    : sys(SYS_execveat, s->opt[UNS_OPT_SELF_FD], "", argv,
				  envp, AT_EMPTY_PATH);
	fail_at(s, UNS_STEP_LAUNCH, -r, -1);
}

/* Moves every pointer of S by the distance from where the parent placed it
 * (s->at) to where it is now. */
static void rebase(struct spawn *s)
{
	long d = (char *)s - (char *)s->at;
#define MOVE(p) ((p) = (void *)((p) ? (char *)(p) + d : NULL))
	char **v;

	MOVE(s->opt);
	MOVE(s->cwd);
	MOVE(s->root);
	MOVE(s->hostname);
	MOVE(s->lock_uid_map);
	MOVE(s->lock_gid_map);
	MOVE(s->str);
	MOVE(s->mounts);
	MOVE(s->rlimits);
	MOVE(s->filter_lens);
	MOVE(s->filter);
	MOVE(s->cand);
	for (v = (char **)s->cand; v < (char **)s->cand + s->ncand; v++)
		MOVE(*v);
	MOVE(s->argv);
	for (v = s->argv; *v; v++)
		MOVE(*v);
	MOVE(s->envp);
	for (v = (char **)s->envp; *v; v++)
		MOVE(*v);
	s->at = s;
#undef MOVE
}

/* Reports a failure before the request is mapped: on ERR_FD, by hand. */
static _Noreturn void fail_early(int err_fd, long err)
{
	struct uns_failure f = { UNS_STEP_LAUNCH, (int32_t)-err, -1 };

	(void)sys(SYS_write, err_fd, &f, sizeof f);
	sys_exit(125);
}

/**
 * join_main() - userns-join's main: map the request, not dumpable, for the
 * program to go on as the child would (go()).
 * @envp: the program's environment, holding "UNS_JOIN=REQ_FD ERR_FD"
 *
 * Return: the request, rebased; a failure exits (and reports it).
 */
struct spawn *join_main(char **envp)
{
	const char *p = NULL;
	long req, err, size;
	struct spawn *s;

	for (; *envp && !p; envp++) {
		const char *e = *envp, *k = "UNS_JOIN=";

		while (*k && *e == *k)
			e++, k++;
		if (!*k)
			p = e;
	}
	if (!p)
		sys_exit(127);
	req = number(p, &p);
	err = *p == ' ' ? number(p + 1, &p) : -1;
	if (err < 0 || *p)
		sys_exit(127);
	if ((size = sys(SYS_prctl, PR_SET_DUMPABLE, 0)) >= 0)
		size = sys(SYS_lseek, req, 0, SEEK_END);
	if (size < (long)sizeof *s)
		fail_early((int)err, size < 0 ? size : -EINVAL);
	s = (struct spawn *)sys(SYS_mmap, NULL, size, PROT_READ | PROT_WRITE,
				MAP_PRIVATE, req, 0);
	if ((unsigned long)s > -4096UL)
		fail_early((int)err, (long)s);
	(void)sys(SYS_close, req);
	rebase(s);
	s->req_fd = -1;
	CHECK(s, sys(SYS_fcntl, s->sync_fd, F_SETFD, FD_CLOEXEC),
	      UNS_STEP_LAUNCH);
	CHECK(s, sys(SYS_fcntl, s->err_fd, F_SETFD, FD_CLOEXEC),
	      UNS_STEP_LAUNCH);
	CHECK(s, sys(SYS_fcntl, s->opt[UNS_OPT_SELF_FD], F_SETFD, FD_CLOEXEC),
	      UNS_STEP_LAUNCH);
	return s;
}
