// cflags: -Wl,--wrap=malloc -Wl,--wrap=calloc -Wl,--wrap=realloc -Wl,--wrap=waitid
/*
 * waiter.c: contexts, and children taken back after a failed hand-over.
 * malloc, calloc and realloc are wrapped so that a test can make one fail
 * and make every realloc() move (the old block poisoned, never reused);
 * waitid() so that a test sees which thread waits.
 */
#include "../../c/waiter.c"

#include "harness.h"

#include <malloc.h>
#include <stdatomic.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
int __real_waitid(idtype_t type, id_t id, siginfo_t *si, int options);

/* > 0: the allocation that many calls from now fails. */
static _Atomic int fail_in;
/* Every realloc() moves, and poisons the block it leaves. */
static _Atomic int moving;

static int fails_now(void)
{
	return fail_in > 0 && atomic_fetch_sub(&fail_in, 1) == 1;
}

void *__wrap_malloc(size_t n)
{
	return fails_now() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
	return fails_now() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
	size_t old;
	void *q;

	if (fails_now())
		return NULL;
	if (!moving || !p)
		return __real_realloc(p, n);
	q = __real_malloc(n);
	if (!q)
		return NULL;
	old = malloc_usable_size(p);
	memcpy(q, p, old < n ? old : n);
	memset(p, 0xa5, old); /* left allocated: stays poisoned */
	return q;
}

/* A blocking waitid() on the thread that called forget(). */
static pthread_t forgetting;
static _Atomic int waited_there;

int __wrap_waitid(idtype_t type, id_t id, siginfo_t *si, int options)
{
	if (!(options & WNOHANG) && pthread_equal(pthread_self(), forgetting))
		waited_there = 1;
	return __real_waitid(type, id, si, options);
}

static int open_fds(void)
{
	int n = 0;

	for (int fd = 0; fd < 1024; fd++)
		n += fcntl(fd, F_GETFD) >= 0;
	return n;
}

TEST(open_fails_cleanly,
     "uns_ctx_open(): an allocation that fails leaves the contexts before it usable and no fd open")
{
	int32_t first[2], out[2];
	int null = open("/dev/null", O_RDONLY), fds, rc = -ENOMEM;

	EXPECT_EQ(uns_ctx_open(first), 0);
	/* The next pipe's fds lie past the fd table: it must grow too. */
	for (int fd = 3; fd <= (int)table_size + 1; fd++)
		if (fcntl(fd, F_GETFD) < 0)
			dup2(null, fd);
	fds = open_fds();
	moving = 1;
	for (int k = 1; rc == -ENOMEM && k < 16; k++) {
		fail_in = k;
		rc = uns_ctx_open(out);
		EXPECT(rc == 0 || rc == -ENOMEM, "allocation %d: %d", k, rc);
		EXPECT_EQ(uns_ctx_kick(first[0]), 0);
		if (rc == 0)
			break;
		EXPECT_EQ(open_fds(), fds);
	}
	EXPECT(rc == 0, "no allocation was left to fail");
	EXPECT(out[0] != first[0], "two contexts, one id");
}

/* Opens a context and ends it as a torn-down isolate does: by closing the
 * read end of its liveness pipe. Returns once the waiter has buried it. */
static void open_and_end(void)
{
	int32_t out[2];
	int32_t rc;

	EXPECT_EQ(uns_ctx_open(out), 0);
	close(out[1]);
	rc = uns_ctx_wait(out[0], 5000);
	EXPECT(rc == -EPIPE || rc == -EINVAL, "uns_ctx_wait: %d", rc);
	EXPECT_EQ(uns_ctx_wait(out[0], 0) < 0, 1);
}

TEST(ended_contexts_are_freed,
     "a context whose isolate is gone is freed: no memory is kept for it")
{
	size_t before;

	for (int i = 0; i < 20; i++)
		open_and_end();
	before = mallinfo2().uordblks;
	for (int i = 0; i < 400; i++)
		open_and_end();
	EXPECT(mallinfo2().uordblks < before + 4096,
	       "400 ended contexts hold %zu bytes",
	       mallinfo2().uordblks - before);
}

TEST(forget_does_not_wait,
     "forget(): the child is killed and reaped by the waiter thread, not waited for on the caller's")
{
	int32_t out[2];
	siginfo_t si;
	pid_t pid;
	int pidfd;

	EXPECT_EQ(uns_ctx_open(out), 0);
	if ((pid = fork()) == 0) {
		pause();
		_exit(0);
	}
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	EXPECT(pidfd >= 0, "pidfd_open: %d", errno);
	forgetting = pthread_self();
	forget(pidfd, NULL, 0);
	EXPECT(!waited_there, "forget() waited for the child on its caller's thread");
	/* Reaped by the waiter: then no status is left to take (ECHILD). */
	for (int i = 0; i < 5000; i++) {
		memset(&si, 0, sizeof si);
		if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) <
			    0 &&
		    errno == ECHILD)
			return;
		usleep(1000);
	}
	fail("the child was not reaped in 5 s");
}
