/*
 * userns.c: the request is checked before anything is sized from it, and
 * failures come back as -errno.
 */
#include "../../c/userns.c"

#include "harness.h"

#include <sys/resource.h>

/* A request with the given counts, in 64 KiB of its own with nothing
 * mapped after them: its fixed slots unset, zeros after them. */
static int32_t *request(int32_t argc, int32_t envc, int32_t nlim)
{
	int32_t *opt = mmap(NULL, 2 << 16, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	EXPECT(opt != MAP_FAILED, "mmap: %d", errno);
	EXPECT_EQ(munmap((char *)opt + (1 << 16), 1 << 16), 0);
	for (int i = 0; i < UNS_OPT_COUNT; i++)
		opt[i] = -1;
	opt[UNS_OPT_STR_LEN] = 2;
	opt[UNS_OPT_FILE] = 0;
	opt[UNS_OPT_ARGC] = argc;
	opt[UNS_OPT_ENVC] = envc;
	opt[UNS_OPT_NMOUNT] = 0;
	opt[UNS_OPT_NRLIMIT] = nlim;
	opt[UNS_OPT_NFILTER] = 0;
	opt[UNS_OPT_NINSN] = 0;
	return opt;
}

/* Maps zeros where a check that took the counts at their word would look
 * for the limits: 2 * (2^31 - 1) slots on. Then such a check reads no
 * unmapped memory, and what it answers is what it decided. */
static void zeros_past(const int32_t *opt)
{
	uintptr_t at = (uintptr_t)(opt + UNS_OPT_COUNT) +
		       4 * (2 * (uintptr_t)INT32_MAX);
	void *p = mmap((void *)(at & ~(uintptr_t)4095), 2 * 4096,
		       PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

	EXPECT(p != MAP_FAILED, "mmap past the request: %d", errno);
}

TEST(counts_overflow,
     "uns_spawn(): argc and envc whose sum wraps around are refused (-EINVAL), not used")
{
	/* 2 * (2^31 - 1) + 2 limits * 5 slots wraps to 8 extra slots. */
	int32_t *opt = request(INT32_MAX, INT32_MAX, 2), out[UNS_OUT_COUNT];

	zeros_past(opt);
	EXPECT_EQ(check_opt(opt, UNS_OPT_COUNT + 8, "x"), -EINVAL);
	EXPECT_EQ(uns_spawn(0, opt, UNS_OPT_COUNT + 8, "x", out), -EINVAL);
	opt = request(INT32_MAX, 1, 0);
	EXPECT_EQ(check_opt(opt, UNS_OPT_COUNT, "x"), -EINVAL);
}

TEST(counts_fit,
     "uns_spawn(): a request whose counts add up is accepted by the check")
{
	int32_t *opt = request(1, 1, 1);

	opt[UNS_OPT_COUNT] = 0;     /* argv[0] */
	opt[UNS_OPT_COUNT + 1] = 0; /* envp[0] */
	EXPECT_EQ(check_opt(opt, UNS_OPT_COUNT + 7, "x"), 0);
	EXPECT_EQ(check_opt(opt, UNS_OPT_COUNT + 8, "x"), -EINVAL);
}

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
