// The attacker's tools for the boundary tests (README, "The boundary: what
// the command inside cannot do"), compiled with the system's C compiler
// into a temp dir every user can read: `hold-exec`, which holds every
// execve(2) of a program's descendants for a while, so that the short time
// between a join and the command's exec is long enough to be attacked
// every time; `watch`, a namespace's hostile root that reads what new
// processes show it; `sti`, a command that types into its caller's
// terminal with TIOCSTI; and `caller.sh`, the caller's shell on a real
// terminal (`script`) that reads whatever was typed once userns is done.
import assert from "node:assert/strict";
import { MAIN, PRIVILEGED, text } from "./_env.ts";
import { asUser, USER_UID, userMain } from "./_user.ts";
import { must } from "./_rootfs.ts";

/**
 * `hold-exec MS PROG [ARG...]`: runs PROG and holds every execve(2) or
 * execveat(2) of its descendants (not PROG's own) for MS milliseconds at
 * the system call's entry, through a seccomp user notification: the
 * process is then exactly where it was just before executing, with its
 * memory, credentials and namespaces, and nothing traces it (a ptrace-based
 * delay, as strace's inject, would make a second tracer's PTRACE_ATTACH
 * fail for the wrong reason). Says `hold-exec: held HOSTPID INNERPID` on
 * stderr for each, INNERPID being the pid in its own pid namespace.
 * Unprivileged, the filter needs no_new_privs; no set-uid helper runs in a
 * pod spawn or an enter.
 */
const HOLD_C = String.raw`#define _GNU_SOURCE
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAXHELD 256

static long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int listen_exec(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_execve, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_execveat, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
	};
	struct sock_fprog prog = { sizeof f / sizeof f[0], f };

	if (getuid() != 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
			    SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
}

static int pass_fd(int sock, int fd)
{
	char c = 0, buf[CMSG_SPACE(sizeof(int))];
	struct iovec io = { &c, 1 };
	struct msghdr m = { .msg_iov = &io, .msg_iovlen = 1,
			    .msg_control = buf, .msg_controllen = sizeof buf };
	struct cmsghdr *h;

	memset(buf, 0, sizeof buf);
	if (fd >= 0) {
		h = CMSG_FIRSTHDR(&m);
		h->cmsg_level = SOL_SOCKET;
		h->cmsg_type = SCM_RIGHTS;
		h->cmsg_len = CMSG_LEN(sizeof fd);
		memcpy(CMSG_DATA(h), &fd, sizeof fd);
		return sendmsg(sock, &m, 0) == 1 ? 0 : -1;
	}
	if (recvmsg(sock, &m, 0) != 1 || !(h = CMSG_FIRSTHDR(&m)))
		return -1;
	memcpy(&fd, CMSG_DATA(h), sizeof fd);
	return fd;
}

/* The pid of PID in its innermost pid namespace (NSpid's last field). */
static long inner_pid(long pid)
{
	char path[64], line[256];
	long inner = pid;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%ld/status", pid);
	if (!(f = fopen(path, "re")))
		return pid;
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, "NSpid:", 6)) {
			char *last = strrchr(line, '\t');

			inner = strtol(last ? last : line + 6, NULL, 10);
		}
	fclose(f);
	return inner;
}

int main(int argc, char **argv)
{
	struct {
		unsigned long long id;
		long due;
	} held[MAXHELD];
	int sv[2], n = 0, status = 0, fd;
	long ms;
	pid_t child;

	if (argc < 3)
		return 125;
	ms = atol(argv[1]);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return 125;
	if ((child = fork()) == 0) {
		/* Killed (a test's timeout), it takes PROG with it. */
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		if ((fd = listen_exec()) < 0 || pass_fd(sv[1], fd) < 0) {
			perror("hold-exec: seccomp");
			_exit(125);
		}
		close(fd);
		execvp(argv[2], argv + 2);
		perror("hold-exec: exec");
		_exit(127);
	}
	close(sv[1]);
	if (child < 0 || (fd = pass_fd(sv[0], -1)) < 0)
		return 125;
	while (waitpid(child, &status, WNOHANG) != child) {
		struct pollfd p = { fd, POLLIN, 0 };
		long wait = 50, t = now_ms();

		for (int i = 0; i < n; i++)
			if (held[i].due - t < wait)
				wait = held[i].due > t ? held[i].due - t : 0;
		if (poll(&p, 1, (int)wait) > 0 && (p.revents & POLLIN)) {
			struct seccomp_notif req;

			memset(&req, 0, sizeof req);
			if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, &req) == 0 &&
			    n < MAXHELD) {
				int own = (pid_t)req.pid == child;

				held[n].id = req.id;
				held[n++].due = now_ms() + (own ? 0 : ms);
				if (!own)
					fprintf(stderr, "hold-exec: held %u %ld\n",
						req.pid, inner_pid(req.pid));
			}
		}
		t = now_ms();
		for (int i = 0; i < n; i++) {
			struct seccomp_notif_resp r;

			if (held[i].due > t)
				continue;
			memset(&r, 0, sizeof r);
			r.id = held[i].id;
			r.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
			(void)ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, &r);
			held[i--] = held[--n];
		}
	}
	return WIFEXITED(status) ? WEXITSTATUS(status)
				 : 128 + WTERMSIG(status);
}
`;

/**
 * `watch`: a namespace's root, with every capability of its user
 * namespace, that wants what the processes joining it carry. It notes the
 * processes there when it starts and then, every 5 ms until stdin ends,
 * tries each new process of its own uid (as its namespace sees uids) over
 * and over until the process is gone: read `/proc/PID/environ` (for
 * `USERNS_SECRET=`), read its memory through `/proc/PID/mem` (every
 * readable mapping, for `USERNS-HEAP-` and 32 hex digits), and attach
 * it with ptrace (`PTRACE_SEIZE`, which PTRACE_ATTACH's permission check
 * guards too). Each attempt that worked is done; one line per change
 * of an outcome: `PID COMM environ|mem|ptrace: RESULT`. Prints `watching`
 * once ready and `watched N new processes` at the end.
 */
const WATCH_C = String.raw`#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAXP 8192
#define ENV_KEY "USERNS_SECRET="
#define MEM_KEY "USERNS-HEAP-"
#define MEM_LEN 32
#define CHUNK (1 << 20)

struct proc {
	int pid, done; /* 1 environ, 2 mem, 4 ptrace */
	char last[3][200];
};

static int before[MAXP], nbefore;
static struct proc procs[MAXP];
static int nprocs;

/* The comm of PID, if it is alive and has our real uid. */
static int look(int pid, char *comm, size_t len)
{
	char path[64], buf[2048], *a, *b, *uid;
	int fd, n;

	snprintf(path, sizeof path, "/proc/%d/status", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = (int)read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	uid = strstr(buf, "\nUid:\t");
	if (!uid || atoi(uid + 6) != (int)getuid() ||
	    strstr(buf, "\nState:\tZ"))
		return -1;
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = (int)read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	if (!(a = strchr(buf, '(')) || !(b = strrchr(buf, ')')) || b < a)
		return -1;
	snprintf(comm, len, "%.*s", (int)(b - a - 1), a + 1);
	for (char *c = comm; *c; c++)
		if (!isgraph((unsigned char)*c))
			*c = '_';
	return 0;
}

static void say(struct proc *p, int what, const char *comm, const char *msg)
{
	static const char *names[] = { "environ", "mem", "ptrace" };

	if (!strcmp(msg, "ESRCH") || !strcmp(p->last[what], msg))
		return;
	snprintf(p->last[what], sizeof p->last[what], "%s", msg);
	printf("%d %s %s: %s\n", p->pid, comm, names[what], msg);
}

static void try_environ(struct proc *p, const char *comm)
{
	static char buf[1 << 16];
	char path[64], msg[200];
	int fd, n;

	snprintf(path, sizeof path, "/proc/%d/environ", p->pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		say(p, 0, comm, strerrorname_np(errno));
		return;
	}
	n = (int)read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n < 0) {
		say(p, 0, comm, strerrorname_np(errno));
		return;
	}
	buf[n] = 0;
	snprintf(msg, sizeof msg, "read %d bytes, no %s", n, ENV_KEY);
	for (char *e = buf; e < buf + n; e += strlen(e) + 1)
		if (!strncmp(e, ENV_KEY, strlen(ENV_KEY)))
			snprintf(msg, sizeof msg, "read %d bytes, %.120s", n, e);
	say(p, 0, comm, msg);
	p->done |= 1;
}

/* Adds each MEM_KEY + 32 hex digits in BUF[0..N) to FOUND, once. */
static void find_keys(const char *buf, size_t n, char *found, size_t len)
{
	const char *c = buf, *end = buf + n;

	while ((c = memmem(c, (size_t)(end - c), MEM_KEY, strlen(MEM_KEY)))) {
		const char *v = c + strlen(MEM_KEY);
		char key[MEM_LEN + 1];
		int ok = v + MEM_LEN <= end;

		for (int i = 0; ok && i < MEM_LEN; i++)
			ok = isxdigit((unsigned char)v[i]);
		c++;
		if (!ok)
			continue;
		snprintf(key, sizeof key, "%.*s", MEM_LEN, v);
		if (!strstr(found, key) &&
		    strlen(found) + strlen(MEM_KEY) + MEM_LEN + 2 < len) {
			strcat(found, " " MEM_KEY);
			strcat(found, key);
		}
	}
}

/* Reads every readable mapping of PID through MEM; chunks overlap by the
 * length of a key, so that none is cut. Return: MiB read. */
static long scan(int pid, int mem, char *found, size_t len)
{
	static char buf[CHUNK + 64];
	char path[64], line[512];
	long bytes = 0;
	FILE *maps;

	snprintf(path, sizeof path, "/proc/%d/maps", pid);
	if (!(maps = fopen(path, "re")))
		return 0;
	while (fgets(line, sizeof line, maps) && bytes < (4L << 30)) {
		unsigned long lo, hi;
		char perm[8];

		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perm) != 3 ||
		    perm[0] != 'r' || strstr(line, "[vvar") ||
		    strstr(line, "[vsyscall]"))
			continue;
		for (unsigned long at = lo; at < hi; at += CHUNK) {
			size_t want = hi - at < CHUNK + 64 ? hi - at : CHUNK + 64;
			ssize_t n = pread(mem, buf, want, (off_t)at);

			if (n <= 0)
				break;
			bytes += n;
			find_keys(buf, (size_t)n, found, len);
		}
	}
	fclose(maps);
	return bytes >> 20;
}

static void try_mem(struct proc *p, const char *comm)
{
	char path[64], found[160] = "", msg[200];
	long mb;
	int fd;

	snprintf(path, sizeof path, "/proc/%d/mem", p->pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		say(p, 1, comm, strerrorname_np(errno));
		return;
	}
	mb = scan(p->pid, fd, found, sizeof found);
	close(fd);
	snprintf(msg, sizeof msg, "opened, read %ld MiB,%s", mb,
		 *found ? found : " no " MEM_KEY);
	say(p, 1, comm, msg);
	p->done |= 2;
}

/* Attaches and stops it, then lets it go as it was. PTRACE_SEIZE, not
 * PTRACE_ATTACH (the same permission check): ATTACH's SIGSTOP could stay
 * pending behind the SIGTRAP that ATTACH adds after an exec, and stop the
 * process for good once detached. */
static void try_ptrace(struct proc *p, const char *comm)
{
	int status, sig = 0;
	char now[64];

	if (ptrace(PTRACE_SEIZE, p->pid, 0, 0) < 0) {
		say(p, 2, comm, strerrorname_np(errno));
		return;
	}
	(void)ptrace(PTRACE_INTERRUPT, p->pid, 0, 0);
	/* Stopped, it is what it runs now: a process caught in execve() past
	 * its point of no return (its comm not yet the command's) stops in
	 * the command, and is named after it here. */
	snprintf(now, sizeof now, "%s", comm);
	if (waitpid(p->pid, &status, __WALL) == p->pid && WIFSTOPPED(status)) {
		(void)look(p->pid, now, sizeof now);
		/* A signal that came first goes on; the stop itself does not. */
		if (status >> 16 == 0)
			sig = WSTOPSIG(status);
		(void)ptrace(PTRACE_DETACH, p->pid, 0, sig);
	}
	say(p, 2, now, "attached");
	p->done |= 4;
}

static struct proc *proc_of(int pid)
{
	for (int i = 0; i < nbefore; i++)
		if (before[i] == pid)
			return NULL;
	for (int i = 0; i < nprocs; i++)
		if (procs[i].pid == pid)
			return &procs[i];
	if (nprocs == MAXP || pid == getpid())
		return NULL;
	memset(&procs[nprocs], 0, sizeof procs[0]);
	procs[nprocs].pid = pid;
	return &procs[nprocs++];
}

static void look_around(int first)
{
	DIR *d = opendir("/proc");
	struct dirent *e;

	while (d && (e = readdir(d))) {
		int pid = atoi(e->d_name);
		char comm[64];
		struct proc *p;

		if (pid <= 0)
			continue;
		if (first) {
			if (nbefore < MAXP)
				before[nbefore++] = pid;
			continue;
		}
		if (!(p = proc_of(pid)) || p->done == 7 ||
		    look(pid, comm, sizeof comm) < 0)
			continue;
		if (!(p->done & 1))
			try_environ(p, comm);
		if (!(p->done & 2))
			try_mem(p, comm);
		if (!(p->done & 4))
			try_ptrace(p, comm);
	}
	if (d)
		closedir(d);
	fflush(stdout);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	look_around(1);
	printf("watching\n");
	for (;;) {
		struct pollfd in = { 0, POLLIN, 0 };
		char c[64];

		if (poll(&in, 1, 5) > 0 && read(0, c, sizeof c) <= 0)
			break;
		look_around(0);
	}
	printf("watched %d new processes\n", nprocs);
	return 0;
}
`;

/**
 * `sti TOKEN`: a command that wants to type into its caller's shell. For
 * each of fds 0, 1 and 2 that is a terminal, and for `/dev/tty`, it pushes
 * the line `TOKEN-fd0` (`-fd1`, `-fd2`, `-tty`) with TIOCSTI one character
 * at a time, and says on stderr:
 *
 * - `sti: fdN DEV:INO RESULT` (the terminal as fstat(2) names it, so a
 *   new pty is told from the caller's even with a devpts of its own) or
 *   `sti: fdN not-a-tty`;
 * - `sti: /dev/tty ERRNO`, or `sti: /dev/tty fdN RESULT` when it is the
 *   terminal of fd N (TIOCGDEV), `other` when of none;
 *
 * RESULT is `pushed` or the errno's name. Then it waits a second, so that
 * its session can be looked at from outside.
 */
const STI_C = String.raw`#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *push(int fd, const char *token, const char *tag)
{
	char line[128];

	snprintf(line, sizeof line, "%s-%s\n", token, tag);
	for (char *c = line; *c; c++)
		if (ioctl(fd, TIOCSTI, c) < 0)
			return strerrorname_np(errno);
	return "pushed";
}

int main(int argc, char **argv)
{
	unsigned int dev[3] = { 0, 0, 0 }, own = 0;
	const char *tags[3] = { "fd0", "fd1", "fd2" }, *which = "other";
	struct stat st;
	int tty;

	if (argc != 2)
		return 2;
	for (int fd = 0; fd < 3; fd++) {
		if (!isatty(fd) || fstat(fd, &st) < 0) {
			dprintf(2, "sti: fd%d not-a-tty\n", fd);
			continue;
		}
		(void)ioctl(fd, TIOCGDEV, &dev[fd]);
		dprintf(2, "sti: fd%d %lu:%lu %s\n", fd,
			(unsigned long)st.st_dev, (unsigned long)st.st_ino,
			push(fd, argv[1], tags[fd]));
	}
	tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (tty < 0) {
		dprintf(2, "sti: /dev/tty %s\n", strerrorname_np(errno));
	} else {
		(void)ioctl(tty, TIOCGDEV, &own);
		for (int fd = 2; fd >= 0; fd--)
			if (dev[fd] && dev[fd] == own)
				which = tags[fd];
		dprintf(2, "sti: /dev/tty %s %s\n", which,
			push(tty, argv[1], "tty"));
	}
	sleep(1);
	return 0;
}
`;

/**
 * The caller's shell, run by `script` on a new terminal: says its session
 * and terminal, runs its arguments, says their exit status, then reads
 * what was typed meanwhile (one second at most between lines), as the
 * interactive shell that ran userns would once userns is done.
 */
const CALLER_SH = `#!/bin/bash
echo "caller: sid $(cut -d' ' -f6 /proc/$$/stat) tty $(stat -L -c %d:%i /proc/$$/fd/0)"
"$@"
echo "caller: exit $?"
while read -r -t 1 line; do echo "caller read: $line"; done
echo "caller: end"
`;

/** The attacker's programs, in a temp dir every user can read. */
export interface Tools {
  /** The dir: remove it with {@link removeTools}. */
  dir: string;
  /** `hold-exec`, see {@link HOLD_C}. */
  hold: string;
  /** `watch`, see {@link WATCH_C}. */
  watch: string;
  /** `sti`, see {@link STI_C}. */
  sti: string;
  /** The caller's shell, see {@link CALLER_SH}. */
  caller: string;
}

function onPath(name: string): boolean {
  return (Deno.env.get("PATH") ?? "").split(":").some((d) => {
    try {
      return Deno.statSync(`${d}/${name}`).isFile;
    } catch {
      return false;
    }
  });
}

/** Why the tools cannot be built or used here, or undefined. */
export const toolsReason: string | undefined = !onPath("cc")
  ? "no C compiler (apt-get install gcc libc6-dev)"
  : !onPath("script")
  ? "no script(1) (apt-get install bsdutils)"
  : undefined;

/**
 * Why TIOCSTI cannot be tried here (the kernel refuses it to everyone,
 * `dev.tty.legacy_tiocsti = 0`), or undefined.
 */
export const tiocstiReason: string | undefined = (() => {
  try {
    const v = Deno.readTextFileSync("/proc/sys/dev/tty/legacy_tiocsti").trim();
    return v === "0"
      ? "dev.tty.legacy_tiocsti = 0: this kernel refuses TIOCSTI to all"
      : undefined;
  } catch {
    return undefined; // before Linux 6.2: TIOCSTI always works
  }
})();

/**
 * Compiles the tools (static, so that they run inside a busybox root) in
 * a new temp dir of mode 755 under /tmp.
 *
 * @returns the tools
 */
export async function buildTools(): Promise<Tools> {
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "userns-attack-" });
  await Deno.chmod(dir, 0o755);
  const tools = {
    dir,
    hold: `${dir}/hold-exec`,
    watch: `${dir}/watch`,
    sti: `${dir}/sti`,
    caller: `${dir}/caller.sh`,
  };
  try {
    for (
      const [exe, source] of [
        [tools.hold, HOLD_C],
        [tools.watch, WATCH_C],
        [tools.sti, STI_C],
      ] as const
    ) {
      await Deno.writeTextFile(`${exe}.c`, source);
      await must("cc", [
        "-static",
        "-O2",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-o",
        exe,
        `${exe}.c`,
      ]);
      await Deno.chmod(exe, 0o755);
    }
    await Deno.writeTextFile(tools.caller, CALLER_SH, { mode: 0o755 });
    return tools;
  } catch (e) {
    await Deno.remove(dir, { recursive: true });
    throw e;
  }
}

/** Removes the tools' dir. */
export async function removeTools(tools: Tools): Promise<void> {
  await Deno.remove(tools.dir, { recursive: true });
}

/** A random 32-digit hex string. */
export function secret(): string {
  return crypto.randomUUID().replaceAll("-", "");
}

/**
 * The execs `hold-exec` held, from its stderr.
 *
 * @param stderr what it (and the program it ran) wrote on stderr
 * @returns `{ host, inner }` for each held execve, in order
 */
export function held(stderr: string): { host: number; inner: number }[] {
  return [...stderr.matchAll(/^hold-exec: held (\d+) (\d+)$/gm)]
    .map((m) => ({ host: Number(m[1]), inner: Number(m[2]) }));
}

/** A `watch` running in a namespace; see {@link startWatch}. */
export interface Watch {
  /** Ends the watch (EOF on its stdin); returns its lines and status. */
  stop(): Promise<{ code: number; lines: string[]; stderr: string }>;
}

/**
 * Starts `watch` through argv (e.g. `userns run --in POD -- .../watch`)
 * and waits until it watches.
 *
 * @param argv the program and its arguments
 * @param env its variables
 * @returns the running watch
 * @throws {Error} when it ends or says anything else first
 */
export async function startWatch(
  argv: string[],
  env: Record<string, string> = {},
): Promise<Watch> {
  const child = new Deno.Command(argv[0]!, {
    args: argv.slice(1),
    env,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream())
    .getReader();
  let all = "";
  while (!all.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    all += value;
  }
  const rest = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return all;
      all += value;
    }
  })();
  const stop = async () => {
    await writer.close().catch(() => {});
    const [lines, status, err] = await Promise.all([
      rest,
      child.status,
      stderr,
    ]);
    return { code: status.code, lines: lines.trim().split("\n"), stderr: err };
  };
  if (!all.startsWith("watching\n")) {
    const out = await stop();
    throw new Error(
      `watch did not start: ${out.lines.join("\n")}${out.stderr}`,
    );
  }
  return { stop };
}

/** What a caller held and what held it; see {@link leaks}. */
export interface Leak {
  /** The secrets and markers the caller held. */
  secrets: string[];
  /**
   * The execs `hold-exec` held for this caller. Their innermost pids are
   * matched with watch's: the command runs in the pod's own pid namespace,
   * where watch is.
   */
  held: { host: number; inner: number }[];
  /** The command's comm once it executes (`sleep`). */
  command: string;
}

/**
 * What `watch` got that it must not have: the caller's secrets, a process
 * attached before it executed the command; and whether it saw a held
 * process before it executed at all (else the window was not watched and
 * the case proves nothing).
 *
 * @param lines watch's output
 * @param leak what to look for
 * @param what the case, for the messages
 * @returns one message per problem; empty when nothing leaked
 */
export function leaks(lines: string[], leak: Leak, what: string): string[] {
  const pids = new Set(leak.held.map((h) => h.inner));
  // A held process before it executed: not yet the command.
  const early = lines.filter((l) => {
    const [pid, comm] = l.split(" ");
    return pids.has(Number(pid)) && comm !== leak.command;
  });
  const problems: string[] = [];
  for (const s of leak.secrets) {
    const hit = lines.filter((l) => l.includes(s));
    if (hit.length) {
      problems.push(
        `${what}: the namespace's root read the caller's secret ${s}:\n  ` +
          hit.join("\n  "),
      );
    }
  }
  const attached = early.filter((l) => l.endsWith("ptrace: attached"));
  if (attached.length) {
    problems.push(
      `${what}: the namespace's root attached a process before it ` +
        `executed the command:\n  ${attached.join("\n  ")}`,
    );
  }
  if (!early.length) {
    problems.push(
      `${what}: watch never saw a held process (pids ${
        [...pids].join(" ") || "none"
      }) before it executed the command`,
    );
  }
  return problems;
}

/** What the caller's shell on a terminal saw; see {@link onTerminal}. */
export interface Terminal {
  /** The caller's session id (host pid numbers). */
  sid: number;
  /** The caller's terminal, as `DEV:INO`. */
  tty: string;
  /** The exit status of what it ran. */
  code: number;
  /** The lines the caller read after it: what was typed into it. */
  read: string[];
  /** `sti`'s outcomes: `fd0`, `fd1`, `fd2`, `/dev/tty` to the rest of its line. */
  sti: Record<string, string>;
  /** `sti`'s session id, as the host sees it (undefined if never seen). */
  stiSid?: number;
  /** The whole output, `\r` removed. */
  output: string;
}

/** Quotes a word for sh. */
export function shq(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word)
    ? word
    : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** The session id of `sti TOKEN`, if it runs. */
function sidOf(token: string): number | undefined {
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const argv = Deno.readTextFileSync(`/proc/${e.name}/cmdline`)
        .split("\0");
      // sti itself: not the CLI or the shell that were given the token.
      if (argv.length !== 3 || !argv[0]!.endsWith("/sti")) continue;
      if (argv[1] !== token) continue;
      const stat = Deno.readTextFileSync(`/proc/${e.name}/stat`);
      return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[3]);
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return undefined;
}

/**
 * Runs `caller.sh ARGV...` on a new terminal (`script -qec`), as `prefix`
 * says (e.g. `runuser -u USER -- env -i ...`), while looking for the
 * session of the `sti` whose token is `token`.
 *
 * @param tools the tools
 * @param argv what the caller runs (`sti` is given `token` by it)
 * @param token the token `sti` pushes
 * @param prefix a command prefix for `script`
 * @param env variables for `script`
 * @returns what the terminal showed
 */
export async function onTerminal(
  tools: Tools,
  argv: string[],
  token: string,
  prefix: string[] = [],
  env: Record<string, string> = {},
): Promise<Terminal> {
  const line = [tools.caller, ...argv].map(shq).join(" ");
  const cmd = [...prefix, "script", "-qec", line, "/dev/null"];
  // stdin stays open until the end: at EOF script would type ^D.
  const child = new Deno.Command(cmd[0]!, {
    args: cmd.slice(1),
    env,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).spawn();
  const output = child.output();
  let stiSid: number | undefined;
  let ended = false;
  output.finally(() => ended = true).catch(() => {});
  while (!ended && stiSid === undefined) {
    stiSid = sidOf(token);
    await new Promise((r) => setTimeout(r, 20));
  }
  const out = await output;
  await child.stdin.close().catch(() => {});
  const all = text(out.stdout).replaceAll("\r", "");
  const first = /^caller: sid (\d+) tty (\d+:\d+)$/m.exec(all);
  const code = /^caller: exit (\d+)$/m.exec(all);
  assert.ok(
    first && code && /^caller: end$/m.test(all),
    `the terminal did not run through: ${all}${text(out.stderr)}`,
  );
  return {
    sid: Number(first[1]),
    tty: first[2]!,
    code: Number(code[1]),
    read: [...all.matchAll(/^caller read: (.*)$/gm)].map((m) => m[1]!),
    sti: Object.fromEntries(
      [...all.matchAll(/^sti: (fd\d|\/dev\/tty) (.*)$/gm)].map((m) => [
        m[1]!,
        m[2]!,
      ]),
    ),
    stiSid,
    output: all,
  };
}

/** A namespace that runs until stopped; see {@link startTarget}. */
export interface Target {
  /** The host pid `--pid-file` names: the init, else the command. */
  pid: number;
  /** Kills it and waits for the CLI to end. */
  stop(): Promise<void>;
}

/**
 * Starts `userns run --pid-file F ...run` in the background, as the test
 * user (through `runuser` when root) or as the caller, and waits until the
 * pid file names the namespace's first process.
 *
 * @param run the options and command of `userns run`
 * @param user run as the test user (as the caller when not root)
 * @returns the target
 * @throws {Error} when it ends before it runs, with its stderr
 */
export async function startTarget(
  run: string[],
  user: boolean,
): Promise<Target> {
  const dir = await Deno.makeTempDir({ prefix: "userns-target-" });
  if (user && PRIVILEGED) await Deno.chown(dir, USER_UID, null);
  const file = `${dir}/pid`;
  const argv = [
    Deno.execPath(),
    "run",
    "-A",
    user ? userMain() : MAIN,
    "run",
    "--pid-file",
    file,
    ...run,
  ];
  const cmd = user ? asUser(argv) : { argv, env: {} };
  const child = new Deno.Command(cmd.argv[0]!, {
    args: cmd.argv.slice(1),
    env: cmd.env,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  let ended = false;
  child.status.finally(() => ended = true);
  let pid = 0;
  for (const end = Date.now() + 20_000; !pid && Date.now() < end;) {
    try {
      pid = Number(await Deno.readTextFile(file)) || 0;
    } catch {
      // not yet
    }
    if (!pid && ended) break;
    if (!pid) await new Promise((r) => setTimeout(r, 20));
  }
  const stop = async () => {
    try {
      if (pid) Deno.kill(pid, "SIGKILL");
    } catch {
      // gone already
    }
    await child.status;
    await stderr;
    await Deno.remove(dir, { recursive: true });
  };
  if (!pid) {
    if (!ended) child.kill("SIGKILL");
    const err = await stderr;
    await stop();
    throw new Error(`userns run ${run.join(" ")} did not start: ${err}`);
  }
  return { pid, stop };
}
