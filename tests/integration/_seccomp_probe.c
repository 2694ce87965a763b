/*
 * A test-only program that tries what a sandbox must refuse and prints one
 * line per probe: its name, then "ok" or the errno's name. Run as the
 * command of tests/integration/_seccomp_loader.c.
 *
 * probe add_key | keyctl | request_key | bpf | userfaultfd | io_uring |
 *       tiocsti | tiocsti_high | tcgets | mkdir PATH | bind PORT |
 *       create NAME PATH | entries NAME PATH ...
 *
 * create opens PATH with O_CREAT and writes "probe\n" to it; entries
 * prints the number of entries of the directory PATH (besides . and ..)
 * in place of "ok". Both print NAME first, for more than one of each.
 */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#ifndef SYS_io_uring_setup
#define SYS_io_uring_setup 425
#endif

static void report(const char *name, long r)
{
	printf("%s %s\n", name, r < 0 ? strerrorname_np(errno) : "ok");
}

/* A new pty made the controlling terminal, once: TIOCSTI works only there
 * (without CAP_SYS_ADMIN over the terminal). */
static int ctty(void)
{
	static int s = -1;
	char *slave;
	int m;

	if (s >= 0)
		return s;
	m = posix_openpt(O_RDWR | O_NOCTTY);
	if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0 ||
	    !(slave = ptsname(m)) || (s = open(slave, O_RDWR)) < 0)
		return -1;
	if (setsid() < 0 || ioctl(s, TIOCSCTTY, 0) < 0)
		return s = -1;
	return s;
}

static long tiocsti(unsigned long cmd)
{
	char c = 'x';
	int s = ctty();

	return s < 0 ? -1 : syscall(SYS_ioctl, s, cmd, &c);
}

static long create(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	long r = fd < 0 ? -1 : write(fd, "probe\n", 6);

	if (fd >= 0)
		close(fd);
	return r < 0 ? -1 : 0;
}

static void entries(const char *name, const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	long n = 0;

	if (!d) {
		report(name, -1);
		return;
	}
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	printf("%s %ld\n", name, n);
}

static long bind_port(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_ANY) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	return fd < 0 ? -1 : bind(fd, (struct sockaddr *)&a, sizeof a);
}

int main(int argc, char **argv)
{
	struct termios t;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 1; i < argc; i++) {
		const char *p = argv[i];

		if (!strcmp(p, "add_key"))
			report(p, syscall(SYS_add_key, "user", "k", "v", 1, -3));
		else if (!strcmp(p, "keyctl"))
			report(p, syscall(SYS_keyctl, 0 /* GET_KEYRING_ID */, -3, 0));
		else if (!strcmp(p, "request_key"))
			report(p, syscall(SYS_request_key, "user", "k", NULL, 0));
		else if (!strcmp(p, "bpf"))
			report(p, syscall(SYS_bpf, 0, NULL, 0));
		else if (!strcmp(p, "userfaultfd"))
			report(p, syscall(SYS_userfaultfd, 0));
		else if (!strcmp(p, "io_uring"))
			report(p, syscall(SYS_io_uring_setup, 1, NULL));
		else if (!strcmp(p, "tiocsti"))
			report(p, tiocsti(TIOCSTI));
		else if (!strcmp(p, "tiocsti_high")) /* the kernel reads 32 bits */
			report(p, tiocsti(0x100000000UL | TIOCSTI));
		else if (!strcmp(p, "tcgets"))
			report(p, tcgetattr(open("/dev/ptmx", O_RDWR | O_NOCTTY), &t));
		else if (!strcmp(p, "mkdir") && i + 1 < argc)
			report(p, mkdir(argv[++i], 0700));
		else if (!strcmp(p, "create") && i + 2 < argc)
			report(argv[i + 1], create(argv[i + 2])), i += 2;
		else if (!strcmp(p, "entries") && i + 2 < argc)
			entries(argv[i + 1], argv[i + 2]), i += 2;
		else if (!strcmp(p, "bind") && i + 1 < argc)
			report(p, bind_port(atoi(argv[++i])));
		else
			return 2;
	}
	return 0;
}
