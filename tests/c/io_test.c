/*
 * io.c: failures come back as -errno, whatever errno held before.
 */
#include "../../c/io.c"

#include "harness.h"

#include <sys/resource.h>

TEST(pidfd_open_errno,
     "uns_pidfd_open(): a pidfd that cannot be moved off 0-2 gives that -errno, not -1")
{
	struct rlimit three = { 3, 3 };
	int32_t rc;

	/* The pidfd lands on 0, and F_DUPFD_CLOEXEC to 3 or above cannot
	 * be under a limit of 3 fds: EINVAL. */
	close(0);
	EXPECT_EQ(setrlimit(RLIMIT_NOFILE, &three), 0);
	errno = 0;
	rc = uns_pidfd_open(getpid());
	EXPECT_EQ(rc, -EINVAL);
	EXPECT(fcntl(0, F_GETFD) < 0, "fd 0 left open");
}

TEST(sealed_copy_short_write,
     "uns_open_self(): a copy cut short by the file size limit gives -EFBIG, not a stale errno")
{
	struct rlimit small = { 4096, RLIM_INFINITY };
	char path[] = "/tmp/userns-io-test-XXXXXX", block[8192] = { 0 };
	int src = mkstemp(path);
	int32_t rc;

	EXPECT(src >= 0, "mkstemp: %d", errno);
	unlink(path);
	for (int i = 0; i < 4; i++)
		EXPECT_EQ(write(src, block, sizeof block), (long)sizeof block);
	signal(SIGXFSZ, SIG_IGN);
	EXPECT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
	errno = EXDEV;
	rc = uns_open_self(src);
	EXPECT_EQ(rc, -EFBIG);
}
