/*
 * program.c: the numbers userns-init and userns-pause take from their
 * environment, which anyone who executes the library may set.
 */
#include "../../c/program.c"

#include "harness.h"

static int numbers(const char *text, long *n, int count)
{
	char *envp[] = { (char *)"A=1", (char *)text, NULL };

	return env_numbers(envp, "UNS_PAUSE=", n, count);
}

TEST(numbers_fit, "env_numbers(): numbers up to INT_MAX, one space apart")
{
	long n[2] = { 0, 0 };

	EXPECT_EQ(numbers("UNS_PAUSE=2147483647 4", n, 2), 0);
	EXPECT_EQ(n[0], 2147483647);
	EXPECT_EQ(n[1], 4);
	EXPECT_EQ(numbers("UNS_PAUSE=3 4 ", n, 2), -1);
	EXPECT_EQ(numbers("UNS_PAUSE=3", n, 2), -1);
	EXPECT_EQ(numbers("UNS_PAUSE=3 x", n, 2), -1);
}

TEST(numbers_overflow,
     "env_numbers(): a number past INT_MAX is refused, not wrapped around")
{
	long n[2] = { 0, 0 };

	EXPECT_EQ(numbers("UNS_PAUSE=2147483648 4", n, 2), -1);
	/* 2^64 + 3: wrapped around, fd 3. */
	EXPECT_EQ(numbers("UNS_PAUSE=18446744073709551619 4", n, 2), -1);
	EXPECT_EQ(numbers("UNS_PAUSE=4 99999999999999999999999999", n, 2),
		  -1);
}

TEST(pause_refuses_overflow,
     "userns-pause with a number past INT_MAX exits 127 and writes nothing")
{
	char *stack[] = {
		(char *)1, (char *)"userns-pause", NULL,
		(char *)"UNS_PAUSE=18446744073709551619 18446744073709551620",
		NULL
	};
	int p[2], status;
	char c;
	pid_t pid;

	EXPECT_EQ(pipe(p), 0);
	if ((pid = fork()) == 0) {
		/* fd 3 is where the wrapped number points. */
		dup2(p[1], 3);
		uns_program((long *)stack);
	}
	close(p[1]);
	if (p[0] != 3)
		close(3);
	EXPECT_EQ(waitpid(pid, &status, 0), pid);
	EXPECT(WIFEXITED(status), "status %#x", status);
	EXPECT_EQ(WEXITSTATUS(status), 127);
	EXPECT_EQ(read(p[0], &c, 1), 0);
}
