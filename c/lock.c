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
 * nested one's maps, and only through /proc/PID of a process that is in it
 * and dumpable. A joining child is not dumpable (join.c), so the nested
 * namespace is made by a carrier: a child cloned into it, holding no fd,
 * that does nothing but wait. The child writes the carrier's maps, through
 * the /proc it opened before the root changed, joins its namespace by its
 * pidfd, unshares the mount namespace, and kills it.
 */
#include "internal.h"

#include <net/if.h>
#include <sys/socket.h>

#define CARRIER_STACK (4 * 1024)

/* What the carrier is told: the write end of the pipe on which it says it
 * is ready, and whether it runs in memory of its own. */
struct carrier_job {
	int ready;
	int own_memory;
};

/* The carrier: drops every fd but the one it says it is ready on, makes
 * itself dumpable in its own memory (a joining child's is not, and a copy
 * keeps that; /proc/PID is then root's, and its maps cannot be written),
 * says so, and waits to be killed. */
static int carrier(void *arg)
{
	const struct carrier_job *j = arg;

	(void)close_range_(0, (unsigned)j->ready - 1);
	(void)close_range_((unsigned)j->ready + 1, ~0U);
	if (j->own_memory)
		(void)sys(SYS_prctl, PR_SET_DUMPABLE, 1);
	(void)sys(SYS_write, j->ready, "R", 1);
	(void)sys(SYS_close, j->ready);
	for (;;)
		(void)sys(SYS_ppoll, NULL, 0, NULL, NULL, KSIGSET_SIZE);
	return 0;
}

static long length(const char *p)
{
	long n = 0;

	while (p[n])
		n++;
	return n;
}

/* Writes N in decimal at P; returns where it ends. */
static char *number_at(char *p, long n)
{
	char digits[20];
	int k = 0;

	do
		digits[k++] = (char)('0' + n % 10);
	while (n /= 10);
	while (k > 0)
		*p++ = digits[--k];
	return p;
}

/* Copies TEXT (with its NUL) to P. */
static void text_at(char *p, const char *text)
{
	while ((*p++ = *text++))
		;
}

/* The pid, in the /proc that DIR is in, of the process PIDFD names: the
 * "Pid:" line of DIR/fdinfo/PIDFD. Return: it, or -errno. */
static long pid_of(long dir, int pidfd)
{
	char path[32] = "fdinfo/", buf[256];
	long fd, n, v = -1;

	*number_at(path + 7, pidfd) = '\0';
	if ((fd = sys(SYS_openat, dir, path, O_RDONLY | O_CLOEXEC)) < 0)
		return fd;
	n = sys(SYS_read, fd, buf, sizeof buf - 1);
	(void)sys(SYS_close, fd);
	for (long k = 0; k + 5 < n && v < 0; k++)
		if (buf[k] == '\n' && buf[k + 1] == 'P' && buf[k + 2] == 'i' &&
		    buf[k + 3] == 'd' && buf[k + 4] == ':')
			for (v = 0, k += 5; k < n && buf[k] != '\n'; k++)
				if (buf[k] >= '0' && buf[k] <= '9')
					v = v * 10 + (buf[k] - '0');
	return n < 0 ? n : v > 0 ? v : -ESRCH;
}

/* Writes the carrier's uid_map and gid_map: the files of /proc/PID, with
 * DIR this process's /proc/self. */
static long write_maps(const struct spawn *s, long dir, long pid)
{
	char path[48] = "../", *end = number_at(path + 3, pid);
	long r;

	text_at(end, "/uid_map");
	r = write_file_at((int)dir, path, s->lock_uid_map,
			  length(s->lock_uid_map));
	end[1] = 'g';
	return r < 0 ? r
		     : write_file_at((int)dir, path, s->lock_gid_map,
				     length(s->lock_gid_map));
}

/* Brings the loopback interface of this network namespace up. */
long loopback_up(void)
{
	struct ifreq ifr;
	long fd = sys(SYS_socket, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r;

	if (fd < 0)
		return fd;
	for (size_t i = 0; i < sizeof ifr; i++)
		((volatile char *)&ifr)[i] = 0;
	ifr.ifr_name[0] = 'l', ifr.ifr_name[1] = 'o';
	r = sys(SYS_ioctl, fd, SIOCGIFFLAGS, &ifr);
	if (r >= 0) {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		r = sys(SYS_ioctl, fd, SIOCSIFFLAGS, &ifr);
	}
	(void)sys(SYS_close, fd);
	return r;
}

/* Whether the command keeps CAP_NET_BIND_SERVICE (10): kept exactly (in
 * the ambient set too, whoever it runs as), or as inside root with every
 * capability; another uid loses them all at execve(). */
static int keeps_bind(const int32_t *opt)
{
	uint64_t keep = (uint64_t)(uint32_t)opt[UNS_OPT_CAPS_HI] << 32 |
			(uint32_t)opt[UNS_OPT_CAPS_LO];
	long uid = opt[UNS_OPT_UID] == -1 ? sys(SYS_getuid, 0) : opt[UNS_OPT_UID];

	return opt[UNS_OPT_CAPS] ? (int)(keep >> 10 & 1) : uid == 0;
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
 * change them; so is a network namespace that nothing is attached to
 * (UNS_OPT_LOOPBACK 2), its loopback up, so that the command's network
 * capabilities hold in it. Pid and time stay those of the outer namespace,
 * and so does a network that a helper serves (pasta, slirp4netns): there,
 * the one network capability the kernel lets a setting grant is granted,
 * ports below 1024, when the command keeps CAP_NET_BIND_SERVICE.
 */
void lock_mounts(const struct spawn *s, long dir)
{
	unsigned long stack[CARRIER_STACK / sizeof(unsigned long)]
		__attribute__((aligned(16)));
	long net = s->opt[UNS_OPT_CLONE_FLAGS] & CLONE_NEWNET;
	long own_net = net && s->opt[UNS_OPT_LOOPBACK] == 2 ? CLONE_NEWNET : 0;
	long fresh = (s->opt[UNS_OPT_CLONE_FLAGS] &
		      (CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP)) |
		     own_net;
	/* A joining child is not dumpable: the carrier gets a copy of its
	 * small memory, made dumpable; any other shares the child's. */
	int own = s->join_fd >= 0, pidfd = -1, status, p[2] = { -1, -1 };
	struct carrier_job job;
	char ready = 0;
	/* As PID 1 of a new pid namespace that forks an init next, the
	 * carrier's pid is one the command would have had: bwrap's command
	 * is pid 2 under its init, and so is ours. The carrier gets a pid far
	 * off, and the next one handed out is 2 again. */
	int renumber = s->opt[UNS_OPT_INIT] && sys(SYS_getpid, 0) == 1;
	long c, r;

	/* Best effort: where /proc/sys is read-only, such a port stays
	 * refused, as without this. */
	if (net && !own_net && keeps_bind(s->opt))
		(void)write_file_at((int)dir,
				    "../sys/net/ipv4/ip_unprivileged_port_start",
				    "0", 1);
	CHECK(s, sys(SYS_pipe2, p, O_CLOEXEC), UNS_STEP_LOCK);
	job = (struct carrier_job){ p[1], own };
	if (renumber)
		last_pid(dir, "1000", 4);
	c = clone_on((char *)stack + sizeof stack,
		     CLONE_NEWUSER | CLONE_PIDFD | (own ? 0 : CLONE_VM) |
			     SIGCHLD,
		     &pidfd, carrier, &job);
	if (renumber)
		last_pid(dir, "1", 1);
	(void)sys(SYS_close, p[1]);
	CHECK(s, c, UNS_STEP_LOCK);
	while ((r = sys(SYS_read, p[0], &ready, 1)) == -EINTR)
		;
	(void)sys(SYS_close, p[0]);
	if (r >= 0)
		r = r == 1 ? pid_of(dir, pidfd) : -ECHILD;
	if (r > 0)
		r = write_maps(s, dir, r);
	if (r >= 0)
		r = sys(SYS_setns, pidfd, CLONE_NEWUSER);
	if (r >= 0)
		r = sys(SYS_unshare, CLONE_NEWNS | fresh);
	if (r >= 0 && own_net)
		r = loopback_up();
	(void)sys(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
	while (sys(SYS_wait4, c, &status, __WALL, NULL) == -EINTR)
		;
	(void)sys(SYS_close, pidfd);
	(void)sys(SYS_close, dir);
	CHECK(s, r, UNS_STEP_LOCK);
}
