/*
 * clone.c - clone_on(): libc's clone() without libc, for the child's side
 * (lock.c's carrier), which makes raw system calls only. The architecture's
 * forms are here, in one place.
 */
#include "internal.h"

/**
 * clone_on() - clone a child that runs FN(ARG) on its own stack, then
 * exits with what FN returns: for a CLONE_VM child, without libc.
 * @stack_top: the top of the child's stack, 16-byte aligned
 * @flags: clone flags, with the exit signal
 * @pidfd: where CLONE_PIDFD puts the child's pidfd
 * @fn: what the child runs
 * @arg: its argument
 *
 * Return: the child's pid, or -errno.
 */
#if defined(UNS_X86_64)
long clone_on(void *stack_top, unsigned long flags, int *pidfd,
	      int (*fn)(void *), void *arg)
{
	void **sp = stack_top;
	register long r10 __asm__("r10") = 0;
	register long r8 __asm__("r8") = 0;
	long ret;

	*--sp = arg;
	*--sp = (void *)fn;
	__asm__ volatile("syscall\n\t"
			 "test %%rax, %%rax\n\t"
			 "jnz 1f\n\t"
			 "xor %%ebp, %%ebp\n\t"
			 "pop %%rax\n\t"
			 "pop %%rdi\n\t"
			 "call *%%rax\n\t"
			 "mov %%eax, %%edi\n\t"
			 "mov $60, %%eax\n\t" /* SYS_exit */
			 "syscall\n\t"
			 "hlt\n"
			 "1:"
			 : "=a"(ret)
			 : "a"((long)SYS_clone), "D"(flags), "S"(sp),
			   "d"(pidfd), "r"(r10), "r"(r8)
			 : "rcx", "r11", "memory");
	return ret;
}
#elif defined(UNS_AARCH64)
long clone_on(void *stack_top, unsigned long flags, int *pidfd,
	      int (*fn)(void *), void *arg)
{
	void **sp = stack_top;
	register long x8 __asm__("x8") = SYS_clone;
	register long x0 __asm__("x0") = (long)flags;
	register long x1 __asm__("x1");
	register long x2 __asm__("x2") = (long)pidfd;
	register long x3 __asm__("x3") = 0;
	register long x4 __asm__("x4") = 0;

	*--sp = arg;
	*--sp = (void *)fn;
	x1 = (long)sp;
	__asm__ volatile("svc 0\n\t"
			 "cbnz x0, 1f\n\t"
			 "mov x29, #0\n\t"
			 "ldp x1, x0, [sp], #16\n\t"
			 "blr x1\n\t"
			 "mov x8, #93\n\t" /* SYS_exit */
			 "svc 0\n\t"
			 "brk #0\n"
			 "1:"
			 : "+r"(x0)
			 : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4)
			 : "memory", "cc");
	return x0;
}
#else
/* Fork-style where there is no inline form: a copy of the memory. */
long clone_on(void *stack_top, unsigned long flags, int *pidfd,
	      int (*fn)(void *), void *arg)
{
	long pid = raw_clone(flags & ~(unsigned long)CLONE_VM, pidfd);

	(void)stack_top;
	if (pid == 0)
		sys_exit(fn(arg));
	return pid;
}
#endif
