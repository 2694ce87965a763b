/*
 * init.c: userns-init and userns-pause where sigtimedwait() fails for good
 * (here a seccomp filter makes it EINVAL): they must neither spin nor stop
 * reaping.
 */
#include "../../c/init.c"

#include "harness.h"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/socket.h>

static void deny_sigtimedwait(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_rt_sigtimedwait, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EINVAL),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof f / sizeof f[0], f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
		_exit(99);
}

static void block_all(void)
{
	sigset_t all;

	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
}

/* Waits up to 3 s for PID to end: its wait status, or -1. */
static int ends(pid_t pid)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0), status = -1;
	struct pollfd p = { .fd = pidfd, .events = POLLIN };

	if (poll(&p, 1, 3000) == 1)
		waitpid(pid, &status, 0);
	else
		kill(pid, SIGKILL);
	close(pidfd);
	return status;
}

/* The state letter of PID in /proc/PID/stat. */
static char state(pid_t pid)
{
	char path[64], buf[512], *p;
	int fd;
	ssize_t n;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY)) < 0)
		return '?';
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] ? p[2] : '?';
}

TEST(init_without_sigtimedwait,
     "userns-init: when sigtimedwait() fails for good it reaps the command with a blocking wait, exits as it did, reports its status")
{
	int sv[2], status = -1;
	pid_t init;

	EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	if ((init = fork()) == 0) {
		pid_t cmd;

		block_all();
		if ((cmd = fork()) == 0)
			_exit(7);
		deny_sigtimedwait();
		init_loop(cmd, sv[1], 0);
	}
	status = ends(init);
	EXPECT(status != -1, "userns-init did not end in 3 s (it spins)");
	EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 7, "status %#x",
	       status);
	EXPECT_EQ(recv(sv[0], &status, sizeof status, MSG_DONTWAIT),
		  (long)sizeof status);
	EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 7,
	       "reported %#x", status);
}

TEST(pause_without_sigtimedwait,
     "userns-pause: when sigtimedwait() fails for good it sleeps in a blocking wait, not spins")
{
	struct uns_failure ready;
	int err[2], sync[2];
	pid_t pause;
	char c = UNS_GO, s = '?';

	EXPECT_EQ(pipe(err), 0);
	EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sync), 0);
	if ((pause = fork()) == 0) {
		block_all();
		deny_sigtimedwait();
		pause_loop(err[1], sync[1]);
	}
	close(err[1]);
	close(sync[1]);
	EXPECT_EQ(read(err[0], &ready, sizeof ready), (long)sizeof ready);
	EXPECT_EQ(write(sync[0], &c, 1), 1);
	/* EOF: it has closed every fd, and is in its loop. */
	EXPECT_EQ(read(err[0], &c, 1), 0);
	for (int i = 0; i < 3000 && (s = state(pause)) != 'S'; i++)
		usleep(1000);
	kill(pause, SIGKILL);
	waitpid(pause, NULL, 0);
	EXPECT(s == 'S', "userns-pause is in state %c, not asleep (it spins)",
	       s);
}
