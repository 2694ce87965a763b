/*
 * helper.c - newuidmap and newgidmap, started from the library: cloned like
 * a shared-mode child; the waiter thread reports when each has ended.
 */
#include "internal.h"

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
	sigset_t old;
	long pid;
	int rc;

	if ((rc = block_signals(&old)) < 0)
		return rc;
	flags |= shared ? CLONE_CHILD_CLEARTID : CLONE_VFORK;
	pid = clone(helper_child, r->base + GUARD + STACK, flags, h, pidfd,
		    NULL, shared ? &r->busy : NULL);
	pid = pid < 0 ? -errno : pid;
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	return pid;
}

/**
 * uns_start_helper() - start newuidmap or newgidmap; do not wait for it.
 * @ctx: the context that owns it
 * @str: NUL-terminated strings; the first argv entry is also the path
 * @len: bytes in @str
 * @off: @argc offsets into @str, one per argv entry
 * @argc: argv entries
 * @out: enum uns_helper_out slots, filled on success
 *
 * The helper is cloned in shared mode from a region, so this returns at
 * once and the helper executes on its own: no copy of the runtime's memory,
 * no thread of the runtime busy. stdin and stdout are /dev/null, stderr a
 * pipe, the environment is empty, all other fds are closed. Its pidfd is
 * watched: an UNS_EV_EXIT event comes when it has ended; then read its
 * stderr and exec-status fds (both non-blocking) and close them.
 *
 * Return: 0, or -errno with nothing left behind.
 */
int32_t uns_start_helper(int32_t ctx, const char *str,
				    uint32_t len, const int32_t *off,
				    uint32_t argc, int32_t *out)
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
	if (rc == 0 && ((rc = set_nonblock(err[0])) < 0 ||
			(rc = set_nonblock(ex[0])) < 0 ||
			(rc = own_fds(ctx, (int[]){ err[0], ex[0] }, 2)) < 0 ||
			(rc = watch_exit(ctx, pidfd, -1)) < 0))
		forget(pidfd, (int[]){ err[0], ex[0] }, 2);
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
