/*
 * userns.c - clone a child into new namespaces, hold it on a socket until
 * the parent has written its ID maps, then let it set itself up and execute.
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
 * locks, every signal blocked until just before execve(). The credential
 * calls are raw system calls also because glibc's wrappers signal every
 * thread of the process, and the child's copy of that list is stale.
 *
 * Parent-side functions return -errno; none prints or exits.
 */
#include "internal.h"

#include <sys/resource.h>
#include <sys/stat.h>

/* ---- the parent ---------------------------------------------------------- */

static const char *const DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin";

static int in_str(int32_t off, int32_t len, int optional)
{
	return (optional && off == -1) || (off >= 0 && off < len);
}

/* Checks the mount operations and limits that follow argv and envp. */
static int check_tail(const int32_t *m, int32_t nmount, const int32_t *l,
		      int32_t nlim, int32_t len)
{
	for (int32_t i = 0; i < nmount; i++, m += UNS_MOUNT_SLOTS)
		if (m[UNS_M_KIND] < UNS_MNT_BIND ||
		    m[UNS_M_KIND] > UNS_MNT_SYMLINK ||
		    !in_str(m[UNS_M_A], len, 0) || !in_str(m[UNS_M_B], len, 0) ||
		    !in_str(m[UNS_M_C], len, 1))
			return -EINVAL;
	for (int32_t i = 0; i < nlim; i++, l += UNS_RLIMIT_SLOTS)
		if (l[0] < 0 || l[0] >= 16)
			return -EINVAL;
	return 0;
}

/* Checks the option array against the string buffer. The counts add up
 * to NOPT in 64 bits, and NOPT is below 2^31: no later sum of them (argc +
 * envc, the sizes) can overflow. */
static int check_opt(const int32_t *opt, uint32_t nopt, const char *str)
{
	int32_t len, argc, envc, nmount, nlim, nfilter, ninsn;

	if (nopt < UNS_OPT_COUNT || nopt > INT32_MAX)
		return -EINVAL;
	len = opt[UNS_OPT_STR_LEN], argc = opt[UNS_OPT_ARGC];
	envc = opt[UNS_OPT_ENVC], nmount = opt[UNS_OPT_NMOUNT];
	nlim = opt[UNS_OPT_NRLIMIT];
	nfilter = opt[UNS_OPT_NFILTER], ninsn = opt[UNS_OPT_NINSN];
	if (len < 1 || str[len - 1] != '\0' || argc < 1 || envc < 0 ||
	    nmount < 0 || nmount > UNS_MAX_MOUNTS || nlim < 0 || nlim > 16 ||
	    nfilter < 0 || nfilter > UNS_MAX_FILTERS || ninsn < 0 ||
	    ninsn > UNS_MAX_INSNS || (nfilter == 0) != (ninsn == 0) ||
	    nopt != (uint64_t)UNS_OPT_COUNT + (uint64_t)argc + (uint64_t)envc +
			    (uint64_t)nmount * UNS_MOUNT_SLOTS +
			    (uint64_t)nlim * UNS_RLIMIT_SLOTS +
			    (uint64_t)nfilter + 2 * (uint64_t)ninsn ||
	    !in_str(opt[UNS_OPT_FILE], len, 0))
		return -EINVAL;
	if (nfilter > 0) {
		const int32_t *lens = opt + nopt - nfilter - 2 * ninsn;
		int64_t sum = 0;

		for (int32_t i = 0; i < nfilter; i++) {
			if (lens[i] < 1 || lens[i] > 4096)
				return -EINVAL;
			sum += lens[i];
		}
		if (sum != ninsn)
			return -EINVAL;
	}
	for (int i = UNS_OPT_FILE; i <= UNS_OPT_LOCK_GID_MAP; i++)
		if (!in_str(opt[i], len, 1))
			return -EINVAL;
	for (int32_t i = 0; i < argc + envc; i++)
		if (!in_str(opt[UNS_OPT_COUNT + i], len, 0))
			return -EINVAL;
	return check_tail(opt + UNS_OPT_COUNT + argc + envc, nmount,
			  opt + UNS_OPT_COUNT + argc + envc +
				  nmount * UNS_MOUNT_SLOTS,
			  nlim, len);
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
	       (size_t)(opt[UNS_OPT_ARGC] + opt[UNS_OPT_ENVC] + 3) *
		       sizeof(char *) +
	       (dirs + 1) * sizeof(char *) + dirs * (16 + flen + 2) +
	       strlen(path);
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

static char *str_at(const int32_t *opt, char *str, int slot)
{
	return opt[slot] < 0 ? NULL : str + opt[slot];
}

/* Copies the request into the arena and resolves it into a struct spawn. */
static struct spawn *place(struct arena *a, const int32_t *opt0, uint32_t nopt,
			   const char *str0, const char *path)
{
	int32_t len = opt0[UNS_OPT_STR_LEN], argc = opt0[UNS_OPT_ARGC];
	int32_t envc = opt0[UNS_OPT_ENVC];
	struct spawn *s = take(a, sizeof *s); /* first: see rebase() */
	int32_t *opt = take(a, nopt * sizeof *opt);
	char *str = take(a, (size_t)len);
	char **vec = take(a, (size_t)(argc + envc + 3) * sizeof *vec);
	const int32_t *offs = opt0 + UNS_OPT_COUNT;

	if (!opt || !str || !vec || !s)
		return NULL;
	memcpy(opt, opt0, nopt * sizeof *opt);
	memcpy(str, str0, (size_t)len);
	memset(s, 0, sizeof *s);
	s->at = s;
	s->opt = opt;
	s->str = str;
	s->join_fd = s->req_fd = -1;
	s->lock_uid_map = str_at(opt, str, UNS_OPT_LOCK_UID_MAP);
	s->lock_gid_map = str_at(opt, str, UNS_OPT_LOCK_GID_MAP);
	s->cwd = str_at(opt, str, UNS_OPT_CWD);
	s->root = str_at(opt, str, UNS_OPT_ROOT);
	s->hostname = str_at(opt, str, UNS_OPT_HOSTNAME);
	s->hostname_len = s->hostname ? strlen(s->hostname) : 0;
	vec[0] = NULL; /* spare: the /bin/sh fallback's argv[0] */
	for (int32_t i = 0; i < argc; i++)
		vec[1 + i] = str + offs[i];
	vec[1 + argc] = NULL;
	for (int32_t i = 0; i < envc; i++)
		vec[2 + argc + i] = str + offs[argc + i];
	vec[2 + argc + envc] = NULL;
	s->argv = vec + 1;
	s->envp = vec + 2 + argc;
	s->mounts = opt + UNS_OPT_COUNT + argc + envc;
	s->rlimits = s->mounts + opt[UNS_OPT_NMOUNT] * UNS_MOUNT_SLOTS;
	s->filter_lens = s->rlimits + opt[UNS_OPT_NRLIMIT] * UNS_RLIMIT_SLOTS;
	s->filter = s->filter_lens + opt[UNS_OPT_NFILTER];
	s->stdio[0] = s->stdio[1] = s->stdio[2] = -1;
	if (place_candidates(s, a, str + opt[UNS_OPT_FILE], path) < 0)
		return NULL;
	return s;
}

/**
 * precheck() - what execve() of the candidates will certainly answer, seen
 * from the caller's view, so that spawn() can throw it at once, as
 * Deno.Command's spawn() does.
 * @s: the spawn, for its candidates and working directory
 *
 * Relative candidates are looked up from the command's working directory:
 * the child executes them after chdir(). A directory, or a file without any
 * execute bit, is refused by execve() whoever asks, root inside included;
 * a file that may be executable is left to the child to try, and so is a
 * path this process cannot look at, unless it comes from a PATH search,
 * which skips it (as Deno's search and the child's own do).
 *
 * Return: 0 when some candidate may be executed or it cannot be told from
 * here, ENOENT when none exists, EACCES when every one that exists is
 * refused.
 */
static int precheck(const struct spawn *s)
{
	int dir = AT_FDCWD, denied = 0, rc = ENOENT;
	struct stat st;

	if (s->cwd &&
	    (dir = open(s->cwd, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return 0; /* the child's chdir() reports it */
	for (uint32_t i = 0; i < s->ncand && rc; i++) {
		if (fstatat(dir, s->cand[i], &st, 0) < 0) {
			if (errno != ENOENT && errno != ENOTDIR && !s->search)
				rc = 0; /* cannot tell from here */
		} else if (S_ISREG(st.st_mode) && (st.st_mode & 0111))
			rc = 0;
		else
			denied = 1;
	}
	if (dir >= 0)
		(void)close(dir);
	return rc && denied ? EACCES : rc;
}

/* Whether the child may share our memory: asked for (the caller knows the
 * inside ids map to its own, and any user namespace joined is one it
 * created), possible here, and nothing that needs fork mode: oom_score_adj
 * is shared, a time namespace needs a process of its own, userns-pause
 * stays. An init may: it forks the command (a copy, as in fork mode) and
 * executes the library's sealed copy, which leaves our memory; only where
 * the library cannot be executed would it stay in it. */
static int may_share(const int32_t *opt)
{
	return UNS_CAN_SHARE_VM && opt[UNS_OPT_SHARED_VM] &&
	       opt[UNS_OPT_JOIN_PID] <= 0 &&
	       (!opt[UNS_OPT_INIT] || can_exec_self(opt)) &&
	       !opt[UNS_OPT_OOM_SET] &&
	       !opt[UNS_OPT_TIME] && !opt[UNS_OPT_EXEC_SELF] &&
	       getuid() == geteuid() && getgid() == getegid();
}

/* Creates the child's stdio ends in child[] and the parent's in out (non-
 * blocking). The /dev/null fd, if any, goes in *null. */
static int make_stdio(const int32_t *opt, int child[3], int32_t *out,
		      int *null)
{
	int rc = 0;

	for (int i = 0; i < 3 && rc == 0; i++) {
		int32_t mode = opt[UNS_OPT_STDIN + i];
		int p[2] = { -1, -1 };

		if (opt[UNS_OPT_TTY_FD] >= 0) { /* the caller's: not closed */
			child[i] = opt[UNS_OPT_TTY_FD];
			continue;
		}
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
		if (rc == 0)
			rc = set_nonblock(out[UNS_OUT_STDIN + i]);
	}
	return rc;
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
	} else if (s->req_fd >= 0) {
		/* Launching userns-join: in our memory until it executes.
		 * A pooled region is the kernel's to free then (as in shared
		 * mode); a one-off one we free once it has (vfork). */
		int pooled = r->busy != 0;

		pid = clone(shared_child, r->base + GUARD + STACK,
			    (int)(flags | CLONE_VM |
				  (pooled ? CLONE_CHILD_CLEARTID : CLONE_VFORK)),
			    s, pidfd, NULL, pooled ? &r->busy : NULL);
		pid = pid < 0 ? -errno : pid;
	} else {
		pid = raw_clone(flags, pidfd);
		if (pid == 0)
			child(s);
	}
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	return pid;
}

/* Hands the parent's ends to context CTX and watches the child; on failure
 * the child is killed and reaped. */
static int hand_over(int ctx, long pidfd, int sync_fd, int32_t *out)
{
	int fds[5] = { sync_fd, out[UNS_OUT_ERR_FD], out[UNS_OUT_STDIN],
		       out[UNS_OUT_STDOUT], out[UNS_OUT_STDERR] };
	int rc;

	if ((rc = set_nonblock(sync_fd)) < 0 ||
	    (rc = set_nonblock(out[UNS_OUT_ERR_FD])) < 0 ||
	    (rc = own_fds(ctx, fds + 1, 4)) < 0 ||
	    (rc = watch_exit(ctx, (int)pidfd, sync_fd)) < 0)
		forget((int)pidfd, fds, 5);
	return rc;
}

/**
 * open_target() - a pidfd of the process whose namespaces the child joins,
 * checked to be the one meant.
 * @opt: the request: its pid and start time
 *
 * The pid is checked after the pidfd is open: a process that ended and
 * whose pid was reused meanwhile has another start time, so the pidfd
 * never names a process other than the one the caller looked at.
 *
 * Return: the pidfd (close-on-exec, above 2), or -errno (-ESRCH: gone).
 */
static int open_target(const int32_t *opt)
{
	int64_t want = (int64_t)((uint64_t)(uint32_t)opt[UNS_OPT_JOIN_START_HI]
					 << 32 |
				 (uint32_t)opt[UNS_OPT_JOIN_START_LO]);
	int64_t start = -1;
	int fd = raise_fd((int)syscall(SYS_pidfd_open, opt[UNS_OPT_JOIN_PID],
				       0));
	int rc = fd < 0 ? -errno : start_time(opt[UNS_OPT_JOIN_PID], &start);

	if (rc == 0 && start != want)
		rc = -ESRCH;
	if (rc < 0 && fd >= 0)
		(void)close(fd);
	return rc < 0 ? (rc == -ENOENT ? -ESRCH : rc) : fd;
}

/**
 * stage_join() - puts a joining child's request in a memfd, for
 * userns-join to map (see join.c), and notes the caller's core limit.
 * @s: the request, placed first in its region; @end: where it ends
 *
 * Return: 0, or -errno.
 */
static int stage_join(struct spawn *s, const char *end)
{
	size_t size = (size_t)(end - (const char *)s);
	struct rlimit core;
	int fd, rc;

	if (getrlimit(RLIMIT_CORE, &core) < 0)
		return -errno;
	s->core.cur = core.rlim_cur;
	s->core.max = core.rlim_max;
	fd = raise_fd(memfd_create("userns-join", MFD_CLOEXEC));
	if (fd < 0)
		return -errno;
	s->req_fd = fd;
	s->size = size;
	if ((rc = write_all(fd, s, size)) < 0) {
		(void)close(fd);
		s->req_fd = -1;
	}
	return rc;
}

UNS_EXPORT int32_t uns_abi_version(void)
{
	return UNS_ABI_VERSION;
}

/**
 * uns_spawn() - clone a child that waits on a socket before setting up.
 * @ctx: the context that owns the child and its fds
 * @opt: enum uns_opt slots, then argv, envp, mounts and limits
 * @nopt: entries in @opt
 * @str: NUL-terminated strings
 * @out: enum uns_out slots, filled on success
 *
 * Return: 0, or -errno with nothing left open and no child (-ENOENT or
 * -EACCES before any clone when UNS_OPT_PRECHECK refuses the command, which
 * UNS_OUT_PRECHECK then repeats).
 */
int32_t uns_spawn(int32_t ctx, const int32_t *opt, uint32_t nopt,
			     const char *str, int32_t *out)
{
	struct region one = { 0 }, *r = NULL;
	struct spawn *s = NULL;
	struct arena a;
	int sync[2] = { -1, -1 }, err[2] = { -1, -1 }, null = -1, pidfd = -1;
	int stdio[3] = { -1, -1, -1 }; /* the child's; s may be its now */
	int rc = check_opt(opt, nopt, str), target = -1, req = -1, own = -1;
	const char *path;
	size_t need;
	long pid = -1;

	out[UNS_OUT_PRECHECK] = 0;
	if (rc < 0)
		return rc;
	path = opt[UNS_OPT_PATH] < 0 ? DEFAULT_PATH : str + opt[UNS_OPT_PATH];
	need = GUARD + STACK + data_size(opt, nopt, str, path);
	/* A child that launches userns-join runs in our memory too, until
	 * it executes the library: from a pooled region, we need not wait. */
	if (may_share(opt) || (opt[UNS_OPT_JOIN_PID] > 0 && UNS_CAN_SHARE_VM &&
			       opt[UNS_OPT_SELF_FD] >= 0))
		r = claim(need, &rc);
	if (!r && (rc = grow(&one, need)) == 0)
		r = &one; /* fork mode: the child gets a copy */
	for (int i = 0; i < UNS_OUT_PRECHECK; i++)
		out[i] = -1;
	if (rc == 0) {
		a.at = r->base + GUARD + STACK;
		a.end = r->base + r->size;
		s = place(&a, opt, nopt, str, path);
		rc = !s ? -ENOMEM : 0;
		if (s && opt[UNS_OPT_PRECHECK] &&
		    (out[UNS_OUT_PRECHECK] = precheck(s)) != 0)
			rc = -out[UNS_OUT_PRECHECK];
	}
	if (rc == 0 && opt[UNS_OPT_JOIN_PID] > 0 &&
	    (rc = target = open_target(opt)) > 0)
		rc = 0;
	if (rc == 0 && (rc = make_socketpair(sync)) == 0 &&
	    (rc = make_pipe(err)) == 0)
		rc = make_stdio(opt, stdio, out, &null);
	if (rc == 0) {
		/* From clone() on, a shared region is the child's: nothing
		 * below reads s again. */
		memcpy(s->stdio, stdio, sizeof stdio);
		s->sync_fd = sync[0];
		s->err_fd = err[1];
		s->shared = r != &one && target < 0;
		s->join_fd = target;
		/* An init or a holder gets a sealed copy of its own: its
		 * namespace's root reaches it (/proc/1/exe) and may spoil it
		 * (a POSIX ACL changes its mode past F_SEAL_EXEC; a write fd
		 * kept makes it ETXTBSY), which must not stop the next spawn.
		 * userns-join's copy is out of reach: the program is not
		 * dumpable, and its memory was made outside. */
		if ((opt[UNS_OPT_INIT] || opt[UNS_OPT_EXEC_SELF]) &&
		    can_exec_self(opt)) {
			own = sealed_copy(opt[UNS_OPT_SELF_FD]);
			rc = own < 0 ? own : 0;
			((int32_t *)s->opt)[UNS_OPT_SELF_FD] = own;
		}
		if (rc == 0 && target >= 0 && UNS_CAN_SHARE_VM &&
		    opt[UNS_OPT_SELF_FD] >= 0)
			rc = stage_join(s, a.at);
		req = s->req_fd;
	}
	if (rc == 0) {
		pid = clone_child(s, r,
				  (unsigned long)opt[UNS_OPT_CLONE_FLAGS] *
						  (target < 0) |
					  CLONE_PIDFD | SIGCHLD,
				  &pidfd);
		rc = pid < 0 ? (int)pid : 0;
	}
	close_fds((int[]){ sync[0], err[1], null, target, req, own }, 6);
	for (int i = 0; i < 3; i++)
		if (stdio[i] != null && stdio[i] != opt[UNS_OPT_TTY_FD])
			close_fds(&stdio[i], 1);
	/* A shared region is the kernel's to free now; any other is ours. */
	if (r == &one && one.base)
		(void)munmap(one.base, one.size);
	else if (r && rc < 0)
		unclaim(r);
	out[UNS_OUT_ERR_FD] = err[0];
	if (rc == 0)
		rc = hand_over(ctx, pidfd, sync[1], out);
	if (rc < 0) {
		close_fds((int[]){ sync[1], err[0] }, 2);
		close_fds(out + UNS_OUT_STDIN, 3);
		for (int i = 0; i < UNS_OUT_PRECHECK; i++)
			out[i] = -1;
		return rc;
	}
	out[UNS_OUT_PID] = (int32_t)pid;
	out[UNS_OUT_PIDFD] = pidfd;
	out[UNS_OUT_SYNC_FD] = sync[1];
	out[UNS_OUT_SHARED] = r != &one && target < 0;
	return 0;
}
