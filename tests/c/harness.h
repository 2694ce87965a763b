/*
 * harness.h - the C unit tests' harness. Each tests/c/NAME_test.c includes
 * the file of c/ it tests (to reach its static functions), then this; it is
 * linked with the library's other files (tests/integration/c_unit_test.ts).
 *
 * Each TEST runs in a process of its own, so that a crash or a hang fails
 * that test alone. One line per test on stdout: "ok<TAB>NAME" or
 * "not ok<TAB>NAME<TAB>why"; the exit code is the number of failures.
 */
#ifndef USERNS_TEST_HARNESS_H
#define USERNS_TEST_HARNESS_H

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_TESTS 64
#define TEST_SECONDS 10

struct test_case {
	const char *name;
	void (*fn)(void);
};

static struct test_case tests[MAX_TESTS];
static int ntests;

#define TEST(fn, name)                                                         \
	static void fn(void);                                                  \
	__attribute__((constructor)) static void add_##fn(void)                \
	{                                                                      \
		tests[ntests++] = (struct test_case){ name, fn };              \
	}                                                                      \
	static void fn(void)

/* Ends the test as failed, saying why (the harness prints it). */
__attribute__((format(printf, 1, 2), noreturn)) static void fail(
	const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
	_exit(1);
}

#define EXPECT(cond, ...)                                                      \
	do {                                                                   \
		if (!(cond))                                                   \
			fail(__VA_ARGS__);                                     \
	} while (0)

#define EXPECT_EQ(got, want)                                                   \
	do {                                                                   \
		long long g_ = (long long)(got), w_ = (long long)(want);       \
		if (g_ != w_)                                                  \
			fail("%s:%d: %s is %lld, not %lld", __FILE__,          \
			     __LINE__, #got, g_, w_);                          \
	} while (0)

/* Runs one test in a child; its output becomes the failure's reason. */
static int run_test(const struct test_case *t)
{
	char why[512] = "";
	int out[2], status = 0, pidfd;
	struct pollfd p;
	ssize_t n, len = 0;
	pid_t pid;

	if (pipe(out) < 0)
		return 1;
	fflush(stdout);
	if ((pid = fork()) == 0) {
		dup2(out[1], 1);
		close(out[0]);
		close(out[1]);
		t->fn();
		fflush(stdout);
		_exit(0);
	}
	close(out[1]);
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	p = (struct pollfd){ .fd = pidfd, .events = POLLIN };
	if (poll(&p, 1, TEST_SECONDS * 1000) == 0) {
		kill(pid, SIGKILL);
		snprintf(why, sizeof why, "did not end in %d s", TEST_SECONDS);
	}
	waitpid(pid, &status, 0);
	close(pidfd);
	while (!why[0] && len < (ssize_t)sizeof why - 1 &&
	       (n = read(out[0], why + len, sizeof why - 1 - len)) > 0)
		len += n;
	close(out[0]);
	for (char *c = why; *c; c++)
		if (*c == '\n' || *c == '\t')
			*c = ' ';
	if (!why[0] && WIFSIGNALED(status))
		snprintf(why, sizeof why, "killed by signal %d",
			 WTERMSIG(status));
	else if (!why[0] && WEXITSTATUS(status) != 0)
		snprintf(why, sizeof why, "exited %d", WEXITSTATUS(status));
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		why[0] = '\0';
	if (why[0])
		printf("not ok\t%s\t%s\n", t->name, why);
	else
		printf("ok\t%s\n", t->name);
	return why[0] != '\0';
}

int main(void)
{
	int failed = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 0; i < ntests; i++)
		failed += run_test(&tests[i]);
	return failed;
}

#endif
