/*
 * child.c: what the child reports when it cannot execute the command.
 */
#include "../../c/child.c"

#include "harness.h"

static char big[200 * 1024]; /* past MAX_ARG_STRLEN (128 KiB) */

TEST(shell_errno,
     "exec_shell(): a failure of /bin/sh itself is reported as its errno (E2BIG), not as ENOEXEC")
{
	char *vec[] = { NULL, (char *)"cmd", big, NULL };
	char *const envp[] = { NULL };
	struct spawn s = { .argv = vec + 1, .envp = envp };

	memset(big, 'x', sizeof big - 1);
	EXPECT_EQ(exec_shell(&s, "/some/script"), -E2BIG);
	EXPECT(strcmp(s.argv[0], "cmd") == 0, "argv[0] is now %s", s.argv[0]);
}

TEST(shell_missing,
     "exec_shell(): without a /bin/sh to run it, the file's own ENOEXEC stands")
{
	char *vec[] = { NULL, (char *)"cmd", NULL };
	char *const envp[] = { NULL };
	struct spawn s = { .argv = vec + 1, .envp = envp };
	char dir[] = "/tmp/userns-child-test-XXXXXX";
	int status;
	pid_t pid;

	EXPECT(mkdtemp(dir), "mkdtemp: %d", errno);
	if ((pid = fork()) == 0) {
		/* A root with no /bin/sh: chroot() needs privilege, so in a
		 * user namespace of its own. */
		if (unshare(CLONE_NEWUSER) < 0 && getuid() != 0)
			fail("unshare(CLONE_NEWUSER): %d", errno);
		EXPECT_EQ(chroot(dir), 0);
		EXPECT_EQ(exec_shell(&s, "/script"), -ENOEXEC);
		EXPECT(strcmp(s.argv[0], "cmd") == 0, "argv[0] is now %s",
		       s.argv[0]);
		_exit(0);
	}
	EXPECT_EQ(waitpid(pid, &status, 0), pid);
	rmdir(dir);
	EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x",
	       status);
}
