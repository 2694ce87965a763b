/*
 * fail.c - how the child tells the parent that it cannot go on: the step,
 * the errno and the operation's index, as one struct uns_failure on its
 * error pipe, then exit 125. Every file of the child's side reports
 * through it (CHECK() in internal.h); it calls nothing but the kernel.
 */
#include "internal.h"

_Noreturn void fail_at(const struct spawn *s, int step, long err, int index)
{
	struct uns_failure f = { step, (int32_t)err, index };

	while (sys(SYS_write, s->err_fd, &f, sizeof f) == -EINTR)
		;
	sys_exit(125);
}
