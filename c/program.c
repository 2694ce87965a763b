/*
 * program.c - the library as a program of its own: its ELF entry point and
 * the choice, by argv[0], of userns-init, userns-pause (init.c) or
 * userns-join (join.c, then child.c's go()).
 *
 * The file has no interpreter: the kernel maps it and jumps to uns_entry
 * as it would for a static PIE, with no dynamic linker and no relocation
 * applied. So nothing reached from here may need libc, TLS or a relocated
 * pointer: raw system calls, the stack, position-independent code
 * (tests/integration/native_test.ts checks the built file for it).
 */
#include "internal.h"

static int same(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

/* The COUNT numbers in "KEY=A B ..." of ENVP (out[COUNT]): pids and fds,
 * each at most INT_MAX, one space apart. Anyone who executes the library
 * sets them. Return: 0, or -1 when KEY is missing or its value is not
 * that. */
static int env_numbers(char **envp, const char *key, long *out, int count)
{
	for (; *envp; envp++) {
		const char *p = *envp;
		int i = 0;

		while (key[i] && p[i] == key[i])
			i++;
		if (key[i])
			continue;
		p += i;
		for (i = 0; i < count; i++) {
			if ((i > 0 && *p++ != ' ') || *p < '0' || *p > '9')
				return -1;
			for (out[i] = 0; *p >= '0' && *p <= '9'; p++) {
				if (out[i] > (INT_MAX - (*p - '0')) / 10)
					return -1;
				out[i] = out[i] * 10 + (*p - '0');
			}
		}
		return *p ? -1 : 0;
	}
	return -1;
}

/* The program's C entry, from uns_entry with the initial stack: argc,
 * argv..., NULL, envp... The init's numbers come in its environment, so
 * that ps shows just "userns-init". */
__attribute__((used)) _Noreturn void uns_program(long *sp)
{
	long argc = sp[0], n[4];

	char **argv = (char **)(sp + 1);

	/* Executed through an fd, the process is named after its number. */
	if (argc >= 1)
		(void)sys(SYS_prctl, PR_SET_NAME, argv[0]);
	if (argc >= 1 && same(argv[0], "userns-init") &&
	    env_numbers(argv + argc + 1, "UNS_INIT=", n, 4) == 0) {
		(void)sys(SYS_close, n[3]); /* named: the command may go on */
		init_loop(n[0], (int)n[1], n[2] == 1);
	}
	if (argc >= 1 && same(argv[0], "userns-pause") &&
	    env_numbers(argv + argc + 1, "UNS_PAUSE=", n, 2) == 0)
		pause_loop((int)n[0], (int)n[1]);
	if (argc >= 1 && same(argv[0], "userns-join")) {
		struct spawn *s = join_main(argv + argc + 1);

		go(s, &s->core);
	}
	sys_exit(127);
}

/* The ELF entry point (-Wl,-e,uns_entry): no libc runs before it. */
#if defined(UNS_X86_64)
__asm__(".text\n"
	".globl uns_entry\n"
	".hidden uns_entry\n"
	".type uns_entry,@function\n"
	"uns_entry:\n"
	"	xor %ebp, %ebp\n"
	"	mov %rsp, %rdi\n"
	"	and $-16, %rsp\n"
	"	call uns_program\n"
	"	hlt\n");
#elif defined(UNS_AARCH64)
__asm__(".text\n"
	".globl uns_entry\n"
	".hidden uns_entry\n"
	".type uns_entry,%function\n"
	"uns_entry:\n"
	"	mov x29, #0\n"
	"	mov x30, #0\n"
	"	mov x0, sp\n"
	"	bl uns_program\n"
	"	brk #0\n");
#else
/* Here no system call can be made without libc, which is not loaded: not
 * even exit(). The library never executes itself (uns_open_self() and
 * run_self() refuse); a file executed by hand traps at once. */
void uns_entry(void)
{
	__builtin_trap();
}
#endif

