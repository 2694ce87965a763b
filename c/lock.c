/*
 * lock.c - locks the mounts userns made, so that the command cannot undo
 * them, even as inside root with every capability of its namespace.
 *
 * The kernel locks the flags of every mount (read-only, nosuid, ...) and
 * ties each mount to its parent when a mount namespace is copied into one
 * owned by a less privileged user namespace (mount_namespaces(7)): a
 * remount to read-write then fails with EPERM, an unmount or move of a
 * single mount with EINVAL. So, once its mounts are made, the child enters
 * a further user namespace nested in its own, with a new mount namespace
 * copied from its own. Its ids are mapped onto themselves there (one line
 * per line of the outer map, as each must lie inside one outer line), so
 * that the command keeps its ids and every capability of its namespace:
 * podman and buildah still make user namespaces and mounts inside.
 *
 * Only a process of the outer namespace with CAP_SETUID there may write the
 * nested one's maps: a writer cloned before the unshare does it, through the
 * child's own directory in /proc, opened before the root changed.
 */
#include "internal.h"

#define WRITER_STACK (16 * 1024)

/* What the writer needs: the child's /proc directory, its pipe, the maps. */
struct job {
	long dir;
	int go, done; /* read end; the write end, which the writer closes */
	const char *uid_map, *gid_map;
};

static long length(const char *p)
{
	long n = 0;

	while (p[n])
		n++;
	return n;
}

/* The writer: once the child has unshared (one byte on the pipe), writes
 * its uid_map and gid_map. Its exit code is 0 or the errno. */
static int writer(void *arg)
{
	const struct job *j = arg;
	char go = 0;
	long r;

	(void)sys(SYS_close, j->done);
	while ((r = sys(SYS_read, j->go, &go, 1)) == -EINTR)
		;
	if (r != 1)
		return ECANCELED;
	r = write_file_at((int)j->dir, "uid_map", j->uid_map,
			  length(j->uid_map));
	if (r >= 0)
		r = write_file_at((int)j->dir, "gid_map", j->gid_map,
				  length(j->gid_map));
	return r < 0 ? (int)-r : 0;
}

/* Sets the last pid the child's pid namespace handed out (through DIR, its
 * /proc/self, whose ".." is /proc). Where the kernel has no ns_last_pid,
 * nothing is done: the command is then pid 3. */
static void last_pid(long dir, const char *value, long len)
{
	(void)write_file_at((int)dir, "../sys/kernel/ns_last_pid", value, len);
}

/**
 * lock_mounts() - enter a nested user namespace and a copy of the mount
 * namespace owned by it.
 * @s: the spawn: its identity maps, and which namespaces were made fresh
 * @dir: this process's directory in /proc (closed here)
 *
 * The uts, ipc and cgroup namespaces the child made itself are made anew
 * with it (the hostname is copied), so that the command keeps the power to
 * change them; net, pid and time stay those of the outer namespace.
 */
void lock_mounts(const struct spawn *s, long dir)
{
	unsigned long stack[WRITER_STACK / sizeof(unsigned long)]
		__attribute__((aligned(16)));
	long fresh = s->opt[UNS_OPT_CLONE_FLAGS] &
		     (CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP);
	int p[2] = { -1, -1 }, status = 0;
	struct job j;
	long w, r;

	/* As PID 1 of a new pid namespace that forks an init next, the
	 * writer's pid is one the command would have had: bwrap's command is
	 * pid 2 under its init, and so is ours. The writer gets a pid far
	 * off, and the next one handed out is 2 again. */
	int renumber = s->opt[UNS_OPT_INIT] && sys(SYS_getpid, 0) == 1;

	CHECK(s, sys(SYS_pipe2, p, O_CLOEXEC), UNS_STEP_LOCK);
	j = (struct job){ dir, p[0], p[1], s->lock_uid_map, s->lock_gid_map };
	if (renumber)
		last_pid(dir, "1000", 4);
	w = clone_on((char *)stack + sizeof stack, CLONE_VM | SIGCHLD, writer,
		     &j);
	if (renumber)
		last_pid(dir, "1", 1);
	CHECK(s, w, UNS_STEP_LOCK);
	r = sys(SYS_unshare, CLONE_NEWUSER | CLONE_NEWNS | fresh);
	if (r >= 0)
		r = sys(SYS_write, p[1], "G", 1);
	(void)sys(SYS_close, p[1]);
	while (sys(SYS_wait4, w, &status, __WALL, NULL) == -EINTR)
		;
	(void)sys(SYS_close, p[0]);
	(void)sys(SYS_close, dir);
	CHECK(s, r, UNS_STEP_LOCK);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_at(s, UNS_STEP_LOCK,
			WIFEXITED(status) ? WEXITSTATUS(status) : EIO, -1);
}
