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
#include "internal.h"

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
int raise_fd(int fd)
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

void close_fds(int *fds, int n)
{
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			(void)close(fds[i]);
}

int make_pipe(int fds[2])
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

/* Blocks every signal in this thread before a clone(), so that no handler
 * of the runtime ever runs in the child; OLD keeps the mask to restore.
 * Return: 0 or -errno. */
int block_signals(sigset_t *old)
{
	sigset_t all;
	int rc;

	if (sigfillset(&all) < 0)
		return -errno;
	rc = pthread_sigmask(SIG_BLOCK, &all, old);
	return -rc;
}

/* Clones the child with every signal blocked. Return: its pid, or -errno. */
static long clone_child(struct spawn *s, struct region *r, unsigned long flags,
			int *pidfd)
{
	sigset_t old;
	long pid;
	int rc;

	if ((rc = block_signals(&old)) < 0)
		return rc;
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
int reap(int pidfd, int32_t *out)
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
