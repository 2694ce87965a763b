/*
 * init.c - userns-init, PID 1 of a new pid namespace (or the parent of a
 * command that joined one), and userns-pause, which holds a pod's
 * namespaces.
 *
 * A process that stays must not be a copy of the runtime: a forked copy
 * keeps every page of it resident once its parent is gone. So the child
 * executes the library's own file (execveat() of its fd) with argv[0]
 * naming the program (program.c), and the loops below run there. Nothing
 * here may need libc, TLS or a relocation. As in child.c: raw system
 * calls, the stack, position-independent code. Where the file cannot be
 * executed (another architecture, a noexec mount), the same loop runs in
 * place.
 */
#include "internal.h"

#include <sys/socket.h>

/* Writes "KEY=A B ..." of the COUNT numbers N so that it ends (NUL
 * included) just before END: the first char. */
static char *env_text(char *end, const char *key, const long *n, int count)
{
	char *p = end;
	int k = 0;

	*--p = '\0';
	for (int i = count - 1; i >= 0; i--) {
		long v = n[i];

		do
			*--p = (char)('0' + v % 10);
		while (v /= 10);
		if (i > 0)
			*--p = ' ';
	}
	while (key[k])
		k++;
	while (k > 0)
		*--p = key[--k];
	return p;
}

/* Exits the way the command did. The parent reads the real status on the
 * socket; as the init of a namespace, a signal to itself is ignored, so
 * 128+N is what the exit code says. */
static _Noreturn void exit_like(int status)
{
	if (WIFSIGNALED(status)) {
		ksigset one = { { 0 } };
		int sig = WTERMSIG(status);

		one.w[(sig - 1) / (8 * sizeof(unsigned long))] |=
			1UL << ((sig - 1) % (8 * sizeof(unsigned long)));
		(void)sys(SYS_rt_sigprocmask, SIG_UNBLOCK, &one, NULL,
			  KSIGSET_SIZE);
		(void)sys(SYS_kill, sys(SYS_getpid, 0), sig);
		sys_exit(128 + sig);
	}
	sys_exit(WEXITSTATUS(status));
}

/* Reports the command's wait status to the parent, then ends as it did. */
static _Noreturn void end_like(int status_fd, int status)
{
	(void)sys(SYS_sendto, status_fd, &status, sizeof status,
		  MSG_NOSIGNAL | MSG_DONTWAIT, NULL, 0);
	exit_like(status);
}

/* The next signal of ALL (every one blocked), or -errno when the kernel
 * refuses to hand one over, which then lasts (EINVAL, or a seccomp filter
 * that denies sigtimedwait()): looping on it would spin. */
static long next_signal(const ksigset *all, siginfo_t *si)
{
	long sig;

	while ((sig = sys(SYS_rt_sigtimedwait, all, si, NULL, KSIGSET_SIZE)) ==
	       -EINTR)
		;
	return sig;
}

/* Without signals: blocks until a child ends, or, with none, a second
 * (an orphan may yet be reparented here). Return: its pid and *status. */
static long wait_child(int *status)
{
	struct timespec second = { 1, 0 };
	long pid;

	while ((pid = sys(SYS_wait4, -1, status, 0, NULL)) <= 0)
		if (pid == -ECHILD)
			(void)sys(SYS_ppoll, NULL, 0, &second, NULL,
				  KSIGSET_SIZE);
	return pid;
}

/**
 * init_loop() - reap every child, forward every signal to the command, and
 * end as the command did.
 * @cmd: the command's pid
 * @status_fd: the socket on which the command's wait status is reported
 * @same_pgrp: the command shares our process group, so a terminal's signal
 *             (SI_KERNEL) has reached it already
 *
 * Every signal is blocked (since clone()) and taken with sigtimedwait():
 * no handler, no race. Orphans of the namespace are reparented here and
 * reaped. The command's real wait status goes to the parent, which so
 * tells "exit 143" from "killed by SIGTERM". Should sigtimedwait() fail
 * for good, it reaps with a blocking wait instead and forwards nothing.
 */
_Noreturn void init_loop(long cmd, int status_fd, int same_pgrp)
{
	ksigset all;
	siginfo_t si;
	int status;

	fill_ksigset(&all);
	(void)sys(SYS_chdir, "/"); /* pin no mount */
	for (;;) {
		long sig = next_signal(&all, &si);

		while (sig < 0)
			if (wait_child(&status) == cmd)
				end_like(status_fd, status);
		if (sig != SIGCHLD) {
			if (!(same_pgrp && si.si_code == SI_KERNEL))
				(void)sys(SYS_kill, cmd, sig);
			continue;
		}
		for (long pid; (pid = sys(SYS_wait4, -1, &status, WNOHANG,
					  NULL)) > 0;)
			if (pid == cmd)
				end_like(status_fd, status);
	}
}

/**
 * pause_loop() - userns-pause: hold the namespaces, reap what is reparented
 * here, ignore every signal; SIGKILL ends it.
 * @err_fd: the error pipe: a record of step 0 says it is ready
 * @sync_fd: the socket on which the starter commits it (one byte), once it
 *           has recorded the pod; EOF instead means the start failed
 *
 * Until committed it dies with its starter (the parent-death signal);
 * then it outlives it, holding no fd at all. Should sigtimedwait() fail
 * for good, it reaps with a blocking wait instead.
 */
_Noreturn void pause_loop(int err_fd, int sync_fd)
{
	struct uns_failure ready = { 0, 0, -1 };
	ksigset all;
	siginfo_t si;
	int status;
	char c = 0;
	long n;

	fill_ksigset(&all);
	(void)sys(SYS_rt_sigprocmask, SIG_SETMASK, &all, NULL, KSIGSET_SIZE);
	(void)sys(SYS_write, err_fd, &ready, sizeof ready);
	while ((n = sys(SYS_read, sync_fd, &c, 1)) == -EINTR)
		;
	if (n != 1 || c != UNS_GO)
		sys_exit(0);
	(void)sys(SYS_prctl, PR_SET_PDEATHSIG, 0);
	(void)sys(SYS_chdir, "/");
	(void)close_range_(0, ~0U); /* EOF on err_fd: the starter's answer */
	for (;;) {
		long sig = next_signal(&all, &si);

		while (sig < 0) /* signals cannot be taken: reap only */
			(void)wait_child(&status);
		if (sig == SIGCHLD)
			while (sys(SYS_wait4, -1, &status, WNOHANG, NULL) > 0)
				;
	}
}

/* execveat() of this library's file, argv[0] naming the program. */
static long run_self(const struct spawn *s, char *const *argv,
		     char *const *envp)
{
	if (!can_exec_self(s->opt))
		return -ENOEXEC;
	return sys(SYS_execveat, s->opt[UNS_OPT_SELF_FD], "", argv, envp,
		   AT_EMPTY_PATH);
}

/*
 * After run_self() returned: where the library could have been executed,
 * that it was not means its copy was tampered with (or a policy forbids
 * it), and a program must not stay in the caller's memory (a child that
 * shares it) or in a copy of it (one that forked): the spawn fails. Where
 * it cannot be by design (no sealed copy, no entry point), the program
 * runs in place, in a copy (may_share() never shares memory then), made
 * not dumpable: that copy's memory was made in the caller's user
 * namespace, so neither ptrace nor /proc/PID/mem of the namespace's root
 * reaches it.
 */
static void stay_in_place(const struct spawn *s, long r, long cmd)
{
	if (can_exec_self(s->opt)) {
		/* The command waits for the init to be named: it must not
		 * take the pipe's end, as the init exits, for that. */
		if (cmd > 0)
			(void)sys(SYS_kill, cmd, SIGKILL);
		fail_at(s, UNS_STEP_LAUNCH, -r, -1);
	}
	CHECK(s, sys(SYS_prctl, PR_SET_DUMPABLE, 0), UNS_STEP_LAUNCH);
}

/**
 * become_init() - the child, after forking the command, becomes its init.
 * @s: the spawn
 * @cmd: the command's pid
 * @named: a pipe the command waits on until it ends: closed once the init
 *         is named userns-init again (by the program, or here)
 *
 * Only the status socket, the library's file and @named stay open, so the
 * parent sees EOF on the error pipe once the command has executed.
 */
_Noreturn void become_init(const struct spawn *s, long cmd, int named)
{
	char env[64];
	char *argv[] = { (char *)"userns-init", NULL }, *envp[] = { NULL, NULL };
	long n[4] = { cmd, s->sync_fd, !s->opt[UNS_OPT_SETSID], named };
	/* The error pipe stays close-on-exec: open only until the execveat()
	 * succeeds, or to say why it did not. */
	int keep[4] = { s->sync_fd, s->opt[UNS_OPT_SELF_FD], named, s->err_fd };
	int from = 0;
	long r;

	/* Everything but keep[], from the lowest up. */
	for (int i = 0; i < 4; i++)
		for (int j = i + 1; j < 4; j++)
			if (keep[j] < keep[i]) {
				int t = keep[i];

				keep[i] = keep[j], keep[j] = t;
			}
	for (int i = 0; i < 4; i++) {
		if (keep[i] < from)
			continue;
		(void)close_range_((unsigned)from, (unsigned)keep[i] - 1);
		from = keep[i] + 1;
	}
	(void)close_range_((unsigned)from, ~0U);
	/* The status socket and the pipe must survive execve(). */
	(void)sys(SYS_fcntl, s->sync_fd, F_SETFD, 0);
	(void)sys(SYS_fcntl, named, F_SETFD, 0);
	envp[0] = env_text(env + sizeof env, "UNS_INIT=", n, 4);
	r = run_self(s, argv, envp);
	stay_in_place(s, r, cmd);
	(void)sys(SYS_close, s->err_fd);
	(void)sys(SYS_close, named); /* named already, in place */
	init_loop(cmd, s->sync_fd, !s->opt[UNS_OPT_SETSID]);
}

/**
 * exec_self() - execute the library as userns-pause, signals still
 * blocked, its error pipe and sync socket kept open for the handshake
 * (see pause_loop()). Where it cannot be by design, it runs in place
 * (stay_in_place()).
 * @s: the spawn, for argv and the library's fd
 */
_Noreturn void exec_self(const struct spawn *s)
{
	char env[48];
	long n[2] = { s->err_fd, s->sync_fd };
	char *envp[] = { env_text(env + sizeof env, "UNS_PAUSE=", n, 2), NULL };
	long r;

	(void)sys(SYS_fcntl, s->err_fd, F_SETFD, 0);
	(void)sys(SYS_fcntl, s->sync_fd, F_SETFD, 0);
	r = run_self(s, s->argv, envp);
	stay_in_place(s, r, -1);
	(void)sys(SYS_prctl, PR_SET_NAME, s->argv[0]);
	pause_loop(s->err_fd, s->sync_fd);
}
