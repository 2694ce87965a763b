/*
 * io.c - the parent's small system-call exports: release, abort, read,
 * write, signal, map files, the library's own file, process identity,
 * terminals. Parent side: libc is fine here; every function returns
 * -errno, none prints or exits.
 */
#include "internal.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>

/* Lets the child go on: its maps are written. */
int32_t uns_release(int32_t sync_fd)
{
	char go = UNS_GO;
	ssize_t n;

	do
		n = send(sync_fd, &go, 1, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : 0;
}

/* Stops a child that was not released: it reads EOF and exits unmapped.
 * The socket itself stays open until the child's exit event is taken. */
int32_t uns_abort(int32_t sync_fd)
{
	return shutdown(sync_fd, SHUT_WR) < 0 ? -errno : 0;
}

/* Reads at most LEN (< 2 GiB) bytes: the count, 0 at EOF, or -errno
 * (-EAGAIN: nothing yet, on a non-blocking fd). */
int32_t uns_read(int32_t fd, void *buf, uint32_t len)
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
int32_t uns_write(int32_t fd, const void *buf, uint32_t len)
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
 * a round trip through the waiter thread.
 *
 * Return: the count, 0 at EOF, -EAGAIN when nothing came in time, or -errno.
 */
int32_t uns_read_timed(int32_t fd, void *buf, uint32_t len,
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

int32_t uns_kill(int32_t pidfd, int32_t sig)
{
	return syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0 ? -errno
								      : 0;
}

/* A pidfd for PID (not owned by any context): uns_kill() and uns_close()
 * it. Return: the fd, or -errno. */
int32_t uns_pidfd_open(int32_t pid)
{
	int fd = raise_fd((int)syscall(SYS_pidfd_open, pid, 0));

	return fd < 0 ? -errno : fd;
}

/**
 * uns_timer() - a one-shot timer of context CTX.
 * @ctx: the context that owns it
 * @ms: when it fires, from now (>= 0)
 *
 * A timerfd, readable once MS milliseconds have passed: uns_watch() it for
 * one UNS_EV_READ event; uns_close() it when done. The runtime's own first
 * timer costs its start-up some 5 ms; this one costs a system call.
 *
 * Return: the fd, or -errno.
 */
int32_t uns_timer(int32_t ctx, int32_t ms)
{
	/* it_value 0 would disarm it: at least 1 ns */
	struct itimerspec it = {
		.it_value = { .tv_sec = ms / 1000,
			      .tv_nsec = (ms % 1000) * 1000000L + 1 },
	};
	int fd, rc;

	if (ms < 0)
		return -EINVAL;
	fd = raise_fd(timerfd_create(CLOCK_MONOTONIC,
				     TFD_CLOEXEC | TFD_NONBLOCK));
	if (fd < 0)
		return -errno;
	rc = timerfd_settime(fd, 0, &it, NULL) < 0 ? -errno : 0;
	if (rc == 0)
		rc = own_fds(ctx, &fd, 1);
	if (rc < 0) {
		(void)close(fd);
		return rc;
	}
	return fd;
}

/* Writes BUF in one write(): /proc/PID/{uid,gid}_map refuse a split one. */
int32_t uns_write_file(const char *path, const void *buf,
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

#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020 /* Linux 6.3 */
#endif

/* Copies SRC (from its start) into a new memfd, sealed against any change:
 * the copy userns-init, userns-pause and userns-join are executed from.
 * Its mode too, where the kernel can seal it: it is the caller's file, so
 * a command whose inside root is the caller could otherwise chmod it
 * through /proc/PID/exe, and the next init would not be executed.
 * Return: the memfd (close-on-exec: execveat() of an ELF file needs the fd
 * no more once it runs), or -errno. */
int sealed_copy(int src)
{
	static const int seals =
		F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
	char buf[16384];
	off_t at = 0;
	ssize_t n;
	int fd, rc = 0;

	fd = memfd_create("userns", MFD_CLOEXEC | MFD_ALLOW_SEALING |
					    0x10 /* MFD_EXEC */);
	if (fd < 0 && errno == EINVAL) /* before Linux 6.3 */
		fd = memfd_create("userns", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if ((fd = raise_fd(fd)) < 0)
		return -errno;
	while (rc == 0 && (n = pread(src, buf, sizeof buf, at)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		rc = n < 0 ? -errno : write_all(fd, buf, (size_t)n);
		at += n;
	}
	if (rc == 0 && fcntl(fd, F_ADD_SEALS, seals | F_SEAL_EXEC) < 0 &&
	    (errno != EINVAL || fcntl(fd, F_ADD_SEALS, seals) < 0))
		rc = -errno;
	if (rc < 0) {
		(void)close(fd);
		return rc;
	}
	return fd;
}

/**
 * uns_open_self() - a sealed copy of this library, for execveat() of its
 * programs (as runc executes a sealed copy of itself since CVE-2019-5736):
 * what the namespace's root reaches through /proc/PID/exe can be neither
 * written nor made writable, and is no file a later run loads.
 * @src: the library's file as it was verified and loaded, or -1 to open it
 *       by the path it was loaded from (a prebuilt library, in a trusted
 *       place)
 *
 * Made once per process, the same fd for every isolate, which keeps it for
 * good; a failure (EMFILE) is tried again by the next call.
 *
 * Return: the fd, or -errno (-ENOEXEC where the library has no entry point
 * to be executed by: the programs then run in place).
 */
int32_t uns_open_self(int32_t src)
{
	static pthread_mutex_t once = PTHREAD_MUTEX_INITIALIZER;
	static int self = -1;
	Dl_info info;
	int fd = src, rc = 0;

	if (!UNS_CAN_EXEC_SELF)
		return -ENOEXEC;
	pthread_mutex_lock(&once);
	if (self < 0 && fd < 0) {
		if (!dladdr((void *)uns_open_self, &info) || !info.dli_fname)
			rc = -ENOENT;
		else if ((fd = open(info.dli_fname, O_RDONLY | O_CLOEXEC)) < 0)
			rc = -errno;
	}
	if (self < 0 && rc == 0) {
		rc = sealed_copy(fd);
		self = rc < 0 ? -1 : rc;
		if (fd != src)
			(void)close(fd);
	}
	if (self >= 0)
		rc = self;
	pthread_mutex_unlock(&once);
	return rc;
}

/* The 22nd field of /proc/PID/stat, its start time in clock ticks; -ESRCH
 * for a process that has ended and waits to be reaped (a zombie, all its
 * threads ended): where PID 1 reaps late or never, as in many containers,
 * it would otherwise pass for alive. */
int start_time(int32_t pid, int64_t *out)
{
	char path[48], buf[1024], *p, state;
	int fd, field = 2;
	long long threads = 0;
	ssize_t n;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	n = read(fd, buf, sizeof buf - 1);
	(void)close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -EIO;
	buf[n] = '\0';
	/* The command name may hold spaces and parentheses: skip to the
	 * last ')', then count fields. */
	if (!(p = strrchr(buf, ')')) || p[1] != ' ')
		return -EIO;
	state = p[2];
	for (p++; *p && field < 22; p++) {
		field += *p == ' ' && p[1] != ' ';
		if (field == 20 && *p == ' ')
			threads = strtoll(p + 1, NULL, 10);
	}
	/* A zombie leader whose other threads still run (num_threads, the
	 * 20th field, counts the leader until it is reaped) is alive: the
	 * namespace's root can get a holder there through ptrace, and it
	 * must not pass for gone then. */
	if (state == 'X' || (state == 'Z' && threads <= 1))
		return -ESRCH;
	*out = strtoll(p, NULL, 10);
	return field == 22 ? 0 : -EIO;
}

/* TracerPid and the effective uid, from /proc/PID/status. */
static int status_fields(int32_t pid, int64_t *tracer, int64_t *euid)
{
	char path[48], buf[4096], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	n = read(fd, buf, sizeof buf - 1);
	(void)close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -EIO;
	buf[n] = '\0';
	if (!(p = strstr(buf, "\nTracerPid:")))
		return -EIO;
	*tracer = strtoll(p + 11, NULL, 10);
	if (!(p = strstr(buf, "\nUid:")))
		return -EIO;
	p += 5;
	(void)strtoll(p, &p, 10); /* real, then effective */
	*euid = strtoll(p, NULL, 10);
	return 0;
}

/**
 * uns_proc_id() - what tells a process from a later one with the same pid,
 * and what `enter` checks before it joins it.
 * @pid: the process
 * @full: 0: its start time only; 1: and its user namespace; 2: all of @out
 * @out: UNS_PROC_SLOTS slots (enum uns_proc): its start time (clock ticks
 *       after boot), the inodes of its namespaces (0: none), its tracer's
 *       pid, its effective uid, and the owner of /proc/PID, which is root
 *       (or its namespace's root) while it is not dumpable
 *
 * Return: 0, or -errno (-ENOENT: no such process; -ESRCH: it has ended,
 * not yet reaped).
 */
int32_t uns_proc_id(int32_t pid, int32_t full, int64_t *out)
{
	static const char *const ns[] = { "user", "mnt", "pid", "net",
					  "ipc", "uts", "cgroup", "time" };
	char path[48];
	struct stat st;
	int rc;

	if ((rc = start_time(pid, &out[UNS_PROC_START])) < 0 || !full)
		return rc;
	for (int i = 0; i < (full == 1 ? 1 : 8); i++) {
		snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)pid, ns[i]);
		if (stat(path, &st) == 0)
			out[UNS_PROC_USERNS + i] = (int64_t)st.st_ino;
		else if (errno == ENOENT && i > 0) /* an older kernel's */
			out[UNS_PROC_USERNS + i] = 0;
		else
			return -errno;
	}
	if (full == 1)
		return 0;
	if ((rc = status_fields(pid, &out[UNS_PROC_TRACER],
				&out[UNS_PROC_EUID])) < 0)
		return rc;
	snprintf(path, sizeof path, "/proc/%d", (int)pid);
	if (stat(path, &st) < 0)
		return -errno;
	out[UNS_PROC_OWNER] = st.st_uid;
	return 0;
}

/**
 * uns_which() - find NAME on PATH as execvp() would: the first absolute
 * entry holding it as an executable regular file.
 * @path: the PATH value
 * @name: the program
 *
 * Return: the entry's index among all of PATH's entries, or -ENOENT. Why a
 * program is missing is the caller's to find out, on that rare path.
 */
int32_t uns_which(const char *path, const char *name)
{
	char file[PATH_MAX];
	size_t nlen = strlen(name);
	int32_t index = 0;

	for (const char *p = path;; index++) {
		const char *end = strchrnul(p, ':');
		size_t dlen = (size_t)(end - p);
		struct stat st;

		if (dlen > 0 && p[0] == '/' && dlen + nlen + 2 <= sizeof file) {
			memcpy(file, p, dlen);
			file[dlen] = '/';
			memcpy(file + dlen + 1, name, nlen + 1);
			if (stat(file, &st) == 0 && S_ISREG(st.st_mode) &&
			    (st.st_mode & 0111))
				return index;
		}
		if (*end == '\0')
			return -ENOENT;
		p = end + 1;
	}
}

/**
 * uns_openpty() - a new pseudo-terminal, for a command run with --tty.
 * @ctx: the context that owns the master (non-blocking, for the reactor)
 * @out: [0] the master, [1] the slave (close-on-exec, owned by no context:
 *       given to the child as its fds 0-2, then closed with uns_close())
 *
 * The slave is opened through the master (TIOCGPTPEER), never by a path a
 * namespace could have replaced.
 *
 * Return: 0, or -errno.
 */
int32_t uns_openpty(int32_t ctx, int32_t *out)
{
	int unlock = 0, rc = 0;
	int master = raise_fd(open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC |
							 O_NONBLOCK));
	int slave = -1;

	if (master < 0)
		return -errno;
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0 ||
	    (slave = raise_fd(ioctl(master, TIOCGPTPEER,
				    O_RDWR | O_NOCTTY | O_CLOEXEC))) < 0)
		rc = -errno;
	if (rc == 0)
		rc = own_fds(ctx, &master, 1);
	if (rc < 0) {
		close_fds((int[]){ master, slave }, 2);
		return rc;
	}
	out[0] = master;
	out[1] = slave;
	return 0;
}

/* Gives the terminal TO the window size of the terminal FROM. */
int32_t uns_tty_size(int32_t from, int32_t to)
{
	struct winsize ws;

	if (ioctl(from, TIOCGWINSZ, &ws) < 0 || ioctl(to, TIOCSWINSZ, &ws) < 0)
		return -errno;
	return 0;
}

/**
 * uns_reopen() - a new open file description of what FD is (a terminal,
 * a pipe), non-blocking, owned by context CTX: a relay may wait on it
 * without making the caller's own description (shared with its shell)
 * non-blocking.
 * @ctx: the context that owns the new fd
 * @fd: the fd, usually 0
 * @flags: O_RDONLY or O_WRONLY
 *
 * Return: the new fd, or -errno.
 */
int32_t uns_reopen(int32_t ctx, int32_t fd, int32_t flags)
{
	char path[40];
	int nfd, rc;

	snprintf(path, sizeof path, "/proc/self/fd/%d", (int)fd);
	nfd = raise_fd(open(path, flags | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
	if (nfd < 0)
		return -errno;
	if ((rc = own_fds(ctx, &nfd, 1)) < 0) {
		(void)close(nfd);
		return rc;
	}
	return nfd;
}

/**
 * uns_read_path() - reads a file whole, for what the runtime's permissions
 * keep behind --allow-all (every file under /proc): the library's FFI
 * permission covers it.
 * @path: the file
 * @buf: where its bytes go
 * @len: at most this many (< 2 GiB)
 *
 * Return: the count (@len when it may be longer), or -errno.
 */
int32_t uns_read_path(const char *path, void *buf, uint32_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	uint32_t got = 0;
	ssize_t n = 1;

	if (fd < 0)
		return -errno;
	if (len > INT32_MAX)
		len = INT32_MAX;
	while (got < len && n > 0) {
		n = read(fd, (char *)buf + got, len - got);
		if (n < 0 && errno == EINTR)
			n = 1;
		else if (n > 0)
			got += (uint32_t)n;
	}
	n = n < 0 ? -errno : (int32_t)got;
	(void)close(fd);
	return (int32_t)n;
}

/**
 * uns_list_dir() - the names in a directory, NUL-terminated one after the
 * other ("." and ".." left out): for /proc, as uns_read_path().
 * @path: the directory
 * @buf: where the names go
 * @len: its size
 *
 * Return: the bytes used, -ENOSPC when they do not fit, or -errno.
 */
int32_t uns_list_dir(const char *path, char *buf, uint32_t len)
{
	char ents[8192];
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	uint32_t used = 0;
	long n;

	if (fd < 0)
		return -errno;
	while ((n = syscall(SYS_getdents64, fd, ents, sizeof ents)) > 0) {
		for (long at = 0; at < n;) {
			struct {
				uint64_t ino;
				int64_t off;
				unsigned short reclen;
				unsigned char type;
				char name[];
			} *d = (void *)(ents + at);
			size_t l = strlen(d->name) + 1;

			at += d->reclen;
			if (!strcmp(d->name, ".") || !strcmp(d->name, ".."))
				continue;
			if (used + l > len) {
				(void)close(fd);
				return -ENOSPC;
			}
			memcpy(buf + used, d->name, l);
			used += (uint32_t)l;
		}
	}
	n = n < 0 ? -errno : (long)used;
	(void)close(fd);
	return (int32_t)n;
}

/**
 * uns_read_link() - the text of a symbolic link (a /proc/PID/ns/ one), as
 * uns_read_path().
 * @path: the link
 * @buf: where its text goes
 * @len: its size
 *
 * Return: the length, or -errno (-ENAMETOOLONG when it does not fit).
 */
int32_t uns_read_link(const char *path, char *buf, uint32_t len)
{
	ssize_t n = readlink(path, buf, len);

	if (n < 0)
		return -errno;
	return (uint32_t)n >= len ? -ENAMETOOLONG : (int32_t)n;
}
