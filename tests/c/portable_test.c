// cflags: -DUNS_PORTABLE
/*
 * program.c, built as for an architecture without the inline forms (no
 * raw system calls, no shared mode, no entry point of its own).
 */
#include "../../c/program.c"

#include "harness.h"

TEST(entry_ends,
     "uns_entry, executed where it cannot even exit without libc, ends the process at once (a trap), not spins")
{
	int pidfd, status = -1;
	struct pollfd p;
	pid_t pid;

	if ((pid = fork()) == 0) {
		uns_entry();
		_exit(0);
	}
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	p = (struct pollfd){ .fd = pidfd, .events = POLLIN };
	if (poll(&p, 1, 3000) == 0)
		kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	EXPECT(WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL,
	       "uns_entry did not end in 3 s (status %#x)", status);
}

TEST(no_self,
     "uns_open_self() refuses (-ENOEXEC): the library is never executed there")
{
	EXPECT_EQ(uns_open_self(-1), -ENOEXEC);
}
