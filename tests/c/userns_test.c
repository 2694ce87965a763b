/*
 * userns.c: the request is checked before anything is sized from it, and
 * failures come back as -errno.
 */
#include "../../c/userns.c"

#include "harness.h"

#include <sys/resource.h>

TEST(stage_join_short_write,
     "stage_join(): a request cut short by the file size limit gives -EFBIG, not a stale errno")
{
	struct rlimit small = { 4096, RLIM_INFINITY };
	static struct spawn s[1024]; /* some 100 KiB */

	signal(SIGXFSZ, SIG_IGN);
	EXPECT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
	errno = EXDEV;
	EXPECT_EQ(stage_join(s, (const char *)(s + 1024)), -EFBIG);
	EXPECT_EQ(s->req_fd, -1);
}
