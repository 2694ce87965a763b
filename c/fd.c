/*
 * fd.c - the parent's fd helpers: every fd the library makes is
 * close-on-exec and above 2 (the child overwrites 0-2 with its stdio).
 * Parent side: libc is fine here.
 */
#include "internal.h"

#include <pthread.h>
#include <sys/socket.h>

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

/* FDS[0..1] from pipe2() or socketpair() (TYPE 0: a pipe), close-on-exec
 * and above 2. */
static int make_pair(int fds[2], int type)
{
	int rc;

	if ((type ? socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, fds)
		  : pipe2(fds, O_CLOEXEC)) < 0)
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

int make_pipe(int fds[2])
{
	return make_pair(fds, 0);
}

int make_socketpair(int fds[2])
{
	return make_pair(fds, SOCK_STREAM);
}

/* Writes all LEN bytes at P, going on after a short write or EINTR.
 * Return: 0, or -errno of the write that wrote nothing. */
int write_all(int fd, const void *p, size_t len)
{
	const char *at = p;

	while (len > 0) {
		ssize_t n = write(fd, at, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		at += n;
		len -= (size_t)n;
	}
	return 0;
}

int set_nonblock(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

/* Blocks every signal in this thread before a clone(), so that no handler
 * of the runtime ever runs in the child; OLD keeps the mask to restore.
 * Return: 0 or -errno. */
int block_signals(sigset_t *old)
{
	sigset_t all;

	if (sigfillset(&all) < 0)
		return -errno;
	return -pthread_sigmask(SIG_BLOCK, &all, old);
}
