/*
 * call.c - the one entry point of every operation but the wait. The runtime
 * binds each exported symbol when it loads the library, at a cost of a few
 * tenths of a millisecond each, which a CLI's start pays in full: one
 * symbol for all of them costs one.
 */
#include "internal.h"

/**
 * uns_call() - run the operation OP (enum uns_call in userns.h).
 * @op: which
 * @a: first int argument, as the operation's comment says
 * @b: second int argument
 * @c: third int argument
 * @p: first pointer argument
 * @q: second pointer argument
 * @r: third pointer argument
 *
 * Return: the operation's result (>= 0, or -errno); -ENOSYS for an unknown OP.
 */
UNS_EXPORT int32_t uns_call(int32_t op, int32_t a, int32_t b, int32_t c,
			    void *p, void *q, void *r)
{
	switch (op) {
	case UNS_CALL_CTX_OPEN:
		return uns_ctx_open(p);
	case UNS_CALL_CTX_WAIT:
		return uns_ctx_wait(a, b);
	case UNS_CALL_CTX_TAKE:
		return uns_ctx_take(a, p, (uint32_t)b);
	case UNS_CALL_CTX_KICK:
		return uns_ctx_kick(a);
	case UNS_CALL_WATCH:
		return uns_watch(a, b);
	case UNS_CALL_SPAWN:
		return uns_spawn(a, p, (uint32_t)b, q, r);
	case UNS_CALL_RELEASE:
		return uns_release(a);
	case UNS_CALL_ABORT:
		return uns_abort(a);
	case UNS_CALL_READ:
		return uns_read(a, p, (uint32_t)b);
	case UNS_CALL_READ_TIMED:
		return uns_read_timed(a, p, (uint32_t)b, c);
	case UNS_CALL_WRITE:
		return uns_write(a, p, (uint32_t)b);
	case UNS_CALL_CLOSE:
		return uns_close(a);
	case UNS_CALL_KILL:
		return uns_kill(a, b);
	case UNS_CALL_WRITE_FILE:
		return uns_write_file(p, q, (uint32_t)b);
	case UNS_CALL_START_HELPER:
		return uns_start_helper(a, p, (uint32_t)b, q, (uint32_t)c, r);
	case UNS_CALL_OPEN_SELF:
		return uns_open_self(a);
	case UNS_CALL_PIDFD_OPEN:
		return uns_pidfd_open(a);
	case UNS_CALL_PROC_ID:
		return uns_proc_id(a, b, p);
	case UNS_CALL_WHICH:
		return uns_which(p, q);
	case UNS_CALL_TIMER:
		return uns_timer(a, b);
	case UNS_CALL_OPENPTY:
		return uns_openpty(a, p);
	case UNS_CALL_TTY_SIZE:
		return uns_tty_size(a, b);
	case UNS_CALL_REOPEN:
		return uns_reopen(a, b, c);
	case UNS_CALL_READ_PATH:
		return uns_read_path(p, q, (uint32_t)b);
	case UNS_CALL_LIST_DIR:
		return uns_list_dir(p, q, (uint32_t)b);
	case UNS_CALL_READ_LINK:
		return uns_read_link(p, q, (uint32_t)b);
	}
	return -ENOSYS;
}
