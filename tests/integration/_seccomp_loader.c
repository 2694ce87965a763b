/*
 * A test-only program around c/filter.c: it applies capabilities and
 * seccomp filters as the child will, then executes a command, so that the
 * tests see their effect from inside a real user namespace without the
 * spawn path. Compiled by tests/integration/_seccomp.ts together with
 * c/filter.c.
 *
 * loader [-u UID [-N]] [-w UID [-k]] [-n] [-c HEXMASK] [-f BPF]... [-T N] -- COMMAND [ARG]...
 *   -u UID  first unshare a user namespace with UID (and the gid UID)
 *           mapped to the caller's own ids, as bwrap --unshare-user --uid
 *   -N      with -u: a new network namespace too, owned by it
 *   -w UID  switch to UID and the gid UID (setresgid, setresuid) first,
 *           as the child's switch_ids() does for --user
 *   -k      with -w: PR_SET_KEEPCAPS before the switch, so that the
 *           permitted set survives it
 *   -n      set no_new_privs first
 *   -c      keep exactly these capabilities (set_caps)
 *   -f      a file holding one BPF program (struct sock_filter[])
 *   -T N    instead of executing: fork N children that each apply the
 *           settings, and print the nanoseconds apply_caps_and_filter()
 *           took (median, then mean)
 *   -S N    instead of executing: apply the settings, then print the
 *           nanoseconds per system call of N calls each of read (number
 *           0 on x86_64), getppid (110) and statx (332) on bad arguments
 */
#include "internal.h"

#include <linux/filter.h>
#include <stdio.h>
#include <stdlib.h>

#define MAXPROG 4

_Noreturn void fail_at(const struct spawn *s, int step, long err, int index)
{
	(void)s;
	dprintf(2, "loader: step %d failed: errno %ld, index %d\n", step, err,
		index);
	_exit(125);
}

static void die(const char *what)
{
	perror(what);
	exit(126);
}

static void write_to(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);

	if (fd < 0 || write(fd, text, strlen(text)) < 0 || close(fd) < 0)
		die(path);
}

/* A user namespace with UID inside for the caller's uid and gid. */
static void own_namespace(long uid, int net)
{
	char map[64];
	unsigned outer_uid = getuid(), outer_gid = getgid();

	if (unshare(CLONE_NEWUSER | (net ? CLONE_NEWNET : 0)) < 0)
		die("unshare");
	write_to("/proc/self/setgroups", "deny");
	snprintf(map, sizeof map, "%ld %u 1", uid, outer_uid);
	write_to("/proc/self/uid_map", map);
	snprintf(map, sizeof map, "%ld %u 1", uid, outer_gid);
	write_to("/proc/self/gid_map", map);
}

static size_t read_prog(const char *path, struct sock_filter *at,
			size_t room)
{
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, at, room * sizeof *at);

	if (n < 0 || n % sizeof *at)
		die(path);
	close(fd);
	return (size_t)n / sizeof *at;
}

static int by_value(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return (x > y) - (x < y);
}

/* Forks N children that apply the settings; prints their cost. */
static void measure(int n, int caps, uint64_t keep,
		    const struct sock_filter *prog, const uint32_t *lens,
		    uint32_t nprog, const struct spawn *s)
{
	long *ns = calloc((size_t)n, sizeof *ns), sum = 0;
	int fds[2];

	if (!ns || pipe(fds) < 0)
		die("measure");
	for (int i = 0; i < n; i++) {
		struct timespec a, b;
		pid_t pid = fork();

		if (pid < 0)
			die("fork");
		if (pid == 0) {
			long d;

			clock_gettime(CLOCK_MONOTONIC, &a);
			apply_caps_and_filter(s, caps, keep, prog, lens, nprog);
			clock_gettime(CLOCK_MONOTONIC, &b);
			d = (b.tv_sec - a.tv_sec) * 1000000000L +
			    (b.tv_nsec - a.tv_nsec);
			if (write(fds[1], &d, sizeof d) != sizeof d)
				_exit(1);
			_exit(0);
		}
		if (read(fds[0], &ns[i], sizeof ns[i]) != sizeof ns[i])
			die("read");
		waitpid(pid, NULL, 0);
		sum += ns[i];
	}
	qsort(ns, (size_t)n, sizeof *ns, by_value);
	printf("%ld %ld\n", ns[n / 2], sum / n);
	exit(0);
}

static long ns_per_call(long nr, int n)
{
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < n; i++)
		(void)sys(nr, -1, 0, 0, 0, 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	return ((b.tv_sec - a.tv_sec) * 1000000000L + b.tv_nsec - a.tv_nsec) /
	       n;
}

/* The cost of a system call under the filters (a tight loop). */
static void per_call(int n)
{
	long r = ns_per_call(SYS_read, n), p = ns_per_call(SYS_getppid, n);

	printf("%ld %ld %ld\n", r, p, ns_per_call(SYS_statx, n));
	exit(0);
}

int main(int argc, char **argv)
{
	static struct sock_filter prog[MAXPROG * BPF_MAXINSNS];
	uint32_t lens[MAXPROG], nprog = 0;
	size_t used = 0;
	struct spawn s = { .err_fd = 2 };
	uint64_t keep = 0;
	int caps = 0, nnp = 0, runs = 0, calls = 0, net = 0, keepcaps = 0, opt;
	long uid = -1, to = -1;

	while ((opt = getopt(argc, argv, "+u:Nw:knc:f:T:S:")) != -1) {
		switch (opt) {
		case 'u': uid = strtol(optarg, NULL, 10); break;
		case 'N': net = 1; break;
		case 'w': to = strtol(optarg, NULL, 10); break;
		case 'k': keepcaps = 1; break;
		case 'n': nnp = 1; break;
		case 'c': caps = 1, keep = strtoull(optarg, NULL, 16); break;
		case 'T': runs = atoi(optarg); break;
		case 'S': calls = atoi(optarg); break;
		case 'f':
			if (nprog == MAXPROG)
				die("too many -f");
			lens[nprog] = (uint32_t)read_prog(
				optarg, prog + used,
				MAXPROG * BPF_MAXINSNS - used);
			used += lens[nprog++];
			break;
		default: return 126;
		}
	}
	if (uid >= 0)
		own_namespace(uid, net);
	if (keepcaps && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		die("keepcaps");
	if (to >= 0 && (syscall(SYS_setgroups, 0, NULL) < 0 ||
			syscall(SYS_setresgid, to, to, to) < 0 ||
			syscall(SYS_setresuid, to, to, to) < 0))
		die("switch");
	if (nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		die("no_new_privs");
	if (runs > 0)
		measure(runs, caps, keep, prog, lens, nprog, &s);
	if (calls <= 0 && optind >= argc)
		return 126;
	apply_caps_and_filter(&s, caps, keep, prog, lens, nprog);
	if (calls > 0)
		per_call(calls);
	execvp(argv[optind], argv + optind);
	die(argv[optind]);
}
