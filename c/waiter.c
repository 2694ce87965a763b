/*
 * waiter.c - one thread that waits for every child and pipe of the library.
 *
 * Why: a runtime thread blocked per pending wait costs a thread each; a
 * blocking call still running when a Worker is torn down would write into
 * memory that is gone; and a child whose isolate is gone would stay a
 * zombie. Here one thread, with one epoll set, reaps each child the moment
 * it ends and queues events for the isolate that owns it.
 *
 * Each isolate opens a context. Every fd the library hands to an isolate
 * belongs to its context (the table below, indexed by fd number). The
 * isolate waits with uns_ctx_wait(), the only call it leaves pending, which
 * writes nothing into its memory, and takes the events with uns_ctx_take(),
 * which returns at once.
 *
 * A context lives as long as the read end of its liveness pipe, which the
 * isolate holds as a resource of its own: when the isolate is torn down the
 * runtime closes it, the write end here reports EPOLLERR, and the context's
 * children are killed and reaped, its fds closed, its waiter released, and
 * the context freed.
 */
#include "internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>

enum kind {
	W_FREE,   /* not ours */
	W_OWNED,  /* a context's fd, not watched */
	W_READ,   /* watched (one-shot) for input */
	W_WRITE,  /* watched (one-shot) for output */
	W_EXIT,   /* a child's pidfd, watched until it ends */
	W_STATUS, /* the sync socket a child's init reports its status on */
	W_ALIVE   /* the write end of a context's liveness pipe */
};

struct watch {
	int32_t ctx;
	uint32_t gen;      /* tells a stale epoll event from a reused fd */
	uint8_t kind;
	uint8_t polled;    /* in the epoll set */
	uint8_t armed;     /* may still queue an event (counted in watching) */
	uint8_t ended;     /* W_EXIT: reaped, its event queued */
	int32_t status_fd; /* W_EXIT: its sync socket, or -1 */
};

struct context {
	pthread_cond_t cond;
	int32_t id;
	int dead, kicked;
	uint32_t waiting;  /* threads in uns_ctx_wait(): a dead context is
			    * freed once none is */
	int32_t *q; /* UNS_EV_SLOTS per event */
	uint32_t len, cap;
	uint32_t watching; /* watches that may queue an event: q's need */
};

/* A context's id is its slot in the low CTX_BITS bits and the count of the
 * slot's earlier uses above them: the id of a context that has ended names
 * no later one, should a call of its isolate still come. */
#define CTX_BITS 16
#define CTX_MAX (1U << CTX_BITS)

struct ctx_slot {
	struct context *c; /* NULL: free */
	uint32_t uses;
};

/* The epoll data of a killed child that no context owns any more (see
 * forget()): its pidfd, and this bit, which no table entry's has. */
#define ORPHAN (1ULL << 63)

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int epfd = -1;
static struct watch *table;
static uint32_t table_size;
static struct ctx_slot *ctxs;
static uint32_t nctx;

/* The watch of FD, the table grown to hold it; NULL when out of memory. */
static struct watch *slot(int fd)
{
	uint32_t size = table_size ? table_size : 64;
	struct watch *t;

	if (fd < 0)
		return NULL;
	if ((uint32_t)fd < table_size)
		return &table[fd];
	while (size <= (uint32_t)fd)
		size *= 2;
	if (!(t = realloc(table, size * sizeof *t)))
		return NULL;
	memset(t + table_size, 0, (size - table_size) * sizeof *t);
	table = t;
	table_size = size;
	return &table[fd];
}

static struct context *context(int32_t id)
{
	uint32_t at = (uint32_t)id & (CTX_MAX - 1);
	struct context *c = id >= 0 && at < nctx ? ctxs[at].c : NULL;

	return c && c->id == id ? c : NULL;
}

/* A free slot of ctxs, the table grown if need be. Return: 0 or -ENOMEM. */
static int free_slot(uint32_t *at)
{
	struct ctx_slot *grown;

	for (*at = 0; *at < nctx; (*at)++)
		if (!ctxs[*at].c)
			return 0;
	if (nctx == CTX_MAX ||
	    !(grown = realloc(ctxs, (nctx + 1) * sizeof *ctxs)))
		return -ENOMEM;
	ctxs = grown; /* the old one is gone, whatever fails next */
	ctxs[nctx] = (struct ctx_slot){ NULL, 0 };
	nctx++;
	return 0;
}

/* Frees the dead context C, once no thread waits on it. */
static void release(struct context *c)
{
	ctxs[(uint32_t)c->id & (CTX_MAX - 1)].c = NULL;
	pthread_cond_destroy(&c->cond);
	free(c->q);
	free(c);
}

/* Arms W: makes room in its context's queue for the event it may queue,
 * so that queueing never fails. The room is counted past the events still
 * queued: those the isolate has not taken yet keep their slots, so the
 * queue holds len + watching events at most. */
static int arm(struct context *c, struct watch *w)
{
	uint32_t need = (c->len + c->watching + 1) * UNS_EV_SLOTS;
	int32_t *q;

	if (w->armed)
		return 0;
	if (need > c->cap) {
		if (!(q = realloc(c->q, need * 2 * sizeof *q)))
			return -ENOMEM;
		c->q = q;
		c->cap = need * 2;
	}
	c->watching++;
	w->armed = 1;
	return 0;
}

static void disarm(struct watch *w)
{
	struct context *c = context(w->ctx);

	if (w->armed && c)
		c->watching--;
	w->armed = 0;
}

/* Queues W's event (W armed, its context alive). */
static void fire(struct watch *w, int fd, int kind, int32_t a, int32_t b)
{
	struct context *c = context(w->ctx);
	int32_t *e = c->q + c->len * UNS_EV_SLOTS;

	disarm(w);
	e[UNS_E_FD] = fd, e[UNS_E_KIND] = kind, e[UNS_E_A] = a, e[UNS_E_B] = b;
	c->len++;
	pthread_cond_broadcast(&c->cond);
}

static int poll_fd(int fd, struct watch *w, uint32_t events)
{
	struct epoll_event ev = { .events = events };

	ev.data.u64 = (uint64_t)(w->gen & 0x7fffffff) << 32 | (uint32_t)fd;
	if (epoll_ctl(epfd, w->polled ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd,
		      &ev) < 0)
		return -errno;
	w->polled = 1;
	return 0;
}

/* Removes FD's queued events from C's queue: once FD is closed, its number
 * may come back for another fd, which must not get them. */
static void unqueue(struct context *c, int fd)
{
	uint32_t kept = 0;

	for (uint32_t i = 0; i < c->len; i++) {
		const int32_t *e = c->q + i * UNS_EV_SLOTS;

		if (e[UNS_E_FD] == fd)
			continue;
		if (kept != i)
			memmove(c->q + kept * UNS_EV_SLOTS, e,
				UNS_EV_SLOTS * sizeof *e);
		kept++;
	}
	c->len = kept;
}

/* Forgets FD (unwatched, its queued events gone) and closes it. */
static void drop(int fd)
{
	struct watch *w = &table[fd];
	struct context *c = context(w->ctx);

	if (c)
		unqueue(c, fd);
	if (w->polled)
		(void)epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
	disarm(w);
	w->kind = W_FREE;
	w->polled = w->ended = 0;
	w->gen++;
	(void)close(fd);
}

/* Reaps the child of PIDFD if it has ended; its event, or nothing for a
 * dead context, whose fds then go. */
static void reap(int pidfd, struct watch *w)
{
	siginfo_t si = { 0 };
	int32_t code, sig, status;

	if (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &si, WEXITED | WNOHANG) < 0) {
		sig = 0;
		code = -errno; /* ECHILD: reaped by someone else */
	} else if (si.si_pid == 0) {
		return; /* not yet */
	} else {
		sig = si.si_code == CLD_EXITED ? 0 : si.si_status;
		code = sig ? 128 + sig : si.si_status;
	}
	/* userns-init reports the command's own status. */
	if (w->status_fd >= 0 &&
	    recv(w->status_fd, &status, sizeof status, MSG_DONTWAIT) ==
		    sizeof status) {
		sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
		code = sig ? 128 + sig : WEXITSTATUS(status);
	}
	(void)epoll_ctl(epfd, EPOLL_CTL_DEL, pidfd, NULL);
	w->polled = 0;
	w->ended = 1;
	if (context(w->ctx) && !context(w->ctx)->dead) {
		fire(w, pidfd, UNS_EV_EXIT, code, sig);
		return;
	}
	if (w->status_fd >= 0)
		drop(w->status_fd);
	drop(pidfd);
}

/* The isolate of context ID is gone: kill its children (reaped as they
 * end, see reap()), close its other fds, release a call still waiting, and
 * free the context once none is. */
static void bury(int32_t id)
{
	struct context *c = context(id);

	c->dead = 1;
	for (uint32_t fd = 0; fd < table_size; fd++) {
		struct watch *w = &table[fd];

		if (w->kind != W_EXIT || w->ctx != id)
			continue;
		if (!w->ended) {
			(void)syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL,
				      0);
			continue;
		}
		if (w->status_fd >= 0)
			drop(w->status_fd);
		drop((int)fd);
	}
	for (uint32_t fd = 0; fd < table_size; fd++)
		if (table[fd].ctx == id && table[fd].kind != W_FREE &&
		    table[fd].kind != W_EXIT && table[fd].kind != W_STATUS)
			drop((int)fd);
	free(c->q);
	c->q = NULL;
	c->len = c->cap = 0;
	pthread_cond_broadcast(&c->cond);
	if (c->waiting == 0)
		release(c);
}

/* Reaps the killed child of PIDFD (see forget()), once it has ended. */
static void reap_orphan(int pidfd)
{
	siginfo_t si = { 0 };

	if (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &si, WEXITED | WNOHANG) ==
		    0 &&
	    si.si_pid == 0)
		return; /* not yet */
	(void)epoll_ctl(epfd, EPOLL_CTL_DEL, pidfd, NULL);
	(void)close(pidfd);
}

static void dispatch(const struct epoll_event *ev)
{
	int fd = (int)(uint32_t)ev->data.u64;
	struct watch *w = (uint32_t)fd < table_size ? &table[fd] : NULL;

	if (ev->data.u64 & ORPHAN) {
		reap_orphan(fd);
		return;
	}
	if (!w || (w->gen & 0x7fffffff) != (uint32_t)(ev->data.u64 >> 32) ||
	    !w->polled)
		return; /* closed meanwhile */
	if (w->kind == W_EXIT)
		reap(fd, w);
	else if (w->kind == W_ALIVE)
		bury(w->ctx);
	else if ((w->kind == W_READ || w->kind == W_WRITE) && w->armed)
		fire(w, fd, w->kind == W_READ ? UNS_EV_READ : UNS_EV_WRITE,
		     (int32_t)ev->events, 0);
}

static void *waiter(void *arg)
{
	struct epoll_event ev[64];

	(void)arg;
	for (;;) {
		int n = epoll_wait(epfd, ev, 64, -1);

		pthread_mutex_lock(&lock);
		for (int i = 0; i < n; i++)
			dispatch(&ev[i]);
		pthread_mutex_unlock(&lock);
		if (n > 0)
			trim(); /* a child that ended has left its region */
	}
	return NULL;
}

/* Starts the waiter thread (under the lock), with every signal blocked:
 * the runtime's handlers run on its own threads. A failure (EMFILE, say)
 * is tried again by the next call. Return: 0 or -errno. */
static int start(void)
{
	sigset_t old;
	pthread_t t;
	int rc, fd;

	if (epfd >= 0)
		return 0;
	if ((fd = raise_fd(epoll_create1(EPOLL_CLOEXEC))) < 0)
		return -errno;
	epfd = fd;
	if ((rc = block_signals(&old)) < 0)
		goto fail;
	rc = -pthread_create(&t, NULL, waiter, NULL);
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc == 0) {
		(void)pthread_detach(t);
		return 0;
	}
fail:
	(void)close(fd);
	epfd = -1;
	return rc;
}

/**
 * uns_ctx_open() - open a context for the calling isolate.
 * @out: [0] the context, [1] the read end of its liveness pipe, which the
 *       isolate must hold open as its own resource (reopen it through
 *       /proc/self/fd, then close this fd)
 *
 * Return: 0, or -errno.
 */
int32_t uns_ctx_open(int32_t *out)
{
	pthread_condattr_t attr;
	struct context *c;
	uint32_t at = 0;
	int alive[2];
	int rc;

	if ((rc = make_pipe(alive)) < 0)
		return rc;
	pthread_mutex_lock(&lock);
	if ((rc = start()) < 0) {
		pthread_mutex_unlock(&lock);
		close_fds(alive, 2);
		return rc;
	}
	c = calloc(1, sizeof *c);
	rc = c ? free_slot(&at) : -ENOMEM;
	if (rc == 0 && !slot(alive[1]))
		rc = -ENOMEM;
	if (rc == 0) {
		struct watch *w = &table[alive[1]];

		c->id = (int32_t)((ctxs[at].uses & 0x7fff) << CTX_BITS | at);
		w->ctx = c->id;
		w->kind = W_ALIVE;
		rc = poll_fd(alive[1], w, 0); /* EPOLLERR needs no asking */
		if (rc < 0)
			w->kind = W_FREE;
	}
	if (rc == 0) {
		pthread_condattr_init(&attr);
		pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
		pthread_cond_init(&c->cond, &attr);
		pthread_condattr_destroy(&attr);
		ctxs[at].c = c;
		ctxs[at].uses++;
		out[0] = c->id;
		out[1] = alive[0];
	}
	pthread_mutex_unlock(&lock);
	if (rc < 0) {
		free(c);
		close_fds(alive, 2);
	}
	return rc;
}

/**
 * uns_ctx_wait() - wait until CTX has events, or TIMEOUT_MS pass (-1: no
 * limit), or uns_ctx_kick().
 * @ctx: the context
 * @timeout_ms: how long at most
 *
 * Return: the number of events queued (0: timed out or kicked), -EPIPE when
 * the context died meanwhile, -EINVAL for no context (or one that is gone).
 */
UNS_EXPORT int32_t uns_ctx_wait(int32_t ctx, int32_t timeout_ms)
{
	struct timespec end;
	struct context *c;
	int32_t n;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += timeout_ms / 1000;
	end.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (end.tv_nsec >= 1000000000)
		end.tv_sec++, end.tv_nsec -= 1000000000;
	pthread_mutex_lock(&lock);
	if (!(c = context(ctx))) {
		pthread_mutex_unlock(&lock);
		return -EINVAL;
	}
	c->waiting++;
	while (!c->dead && c->len == 0 && !c->kicked)
		if (timeout_ms < 0)
			pthread_cond_wait(&c->cond, &lock);
		else if (pthread_cond_timedwait(&c->cond, &lock, &end) ==
			 ETIMEDOUT)
			break;
	c->waiting--;
	c->kicked = 0;
	n = c->dead ? -EPIPE : (int32_t)c->len;
	if (c->dead && c->waiting == 0)
		release(c);
	pthread_mutex_unlock(&lock);
	return n;
}

/* Makes a waiting uns_ctx_wait() return. */
int32_t uns_ctx_kick(int32_t ctx)
{
	struct context *c;

	pthread_mutex_lock(&lock);
	if ((c = context(ctx))) {
		c->kicked = 1;
		pthread_cond_broadcast(&c->cond);
	}
	pthread_mutex_unlock(&lock);
	return c ? 0 : -EINVAL;
}

/**
 * uns_ctx_take() - take CTX's queued events.
 * @ctx: the context
 * @buf: room for @cap events of UNS_EV_SLOTS int32 each
 * @cap: events @buf holds
 *
 * Taking an UNS_EV_EXIT event closes the child's pidfd and sync socket:
 * the child is reaped, nothing more can be asked of them.
 *
 * Return: the number of events taken, or -EINVAL.
 */
int32_t uns_ctx_take(int32_t ctx, int32_t *buf, uint32_t cap)
{
	struct context *c;
	uint32_t n;

	pthread_mutex_lock(&lock);
	if (!(c = context(ctx)) || c->dead) {
		pthread_mutex_unlock(&lock);
		return -EINVAL;
	}
	n = c->len < cap ? c->len : cap;
	memcpy(buf, c->q, n * UNS_EV_SLOTS * sizeof *buf);
	memmove(c->q, c->q + n * UNS_EV_SLOTS,
		(c->len - n) * UNS_EV_SLOTS * sizeof *c->q);
	c->len -= n;
	for (uint32_t i = 0; i < n; i++) {
		int fd = buf[i * UNS_EV_SLOTS + UNS_E_FD];

		if (buf[i * UNS_EV_SLOTS + UNS_E_KIND] != UNS_EV_EXIT)
			continue;
		if (table[fd].status_fd >= 0)
			drop(table[fd].status_fd);
		drop(fd);
	}
	pthread_mutex_unlock(&lock);
	return (int32_t)n;
}

/**
 * own_fds() - hand fds over to a context (no watch).
 * @ctx: the context
 * @fds: the fds; negative ones are skipped
 * @n: how many
 *
 * Return: 0, or -ENOMEM / -EINVAL with none of them owned.
 */
int own_fds(int ctx, const int *fds, int n)
{
	int rc = 0;

	pthread_mutex_lock(&lock);
	if (!context(ctx) || context(ctx)->dead)
		rc = -EINVAL;
	for (int i = 0; i < n && rc == 0; i++)
		if (fds[i] >= 0 && !slot(fds[i]))
			rc = -ENOMEM;
	for (int i = 0; i < n && rc == 0; i++)
		if (fds[i] >= 0) {
			struct watch *w = &table[fds[i]];

			w->ctx = ctx;
			w->kind = W_OWNED;
			w->status_fd = -1;
			w->polled = w->armed = w->ended = 0;
		}
	pthread_mutex_unlock(&lock);
	return rc;
}

/**
 * watch_exit() - watch a child's pidfd: an UNS_EV_EXIT event once it has
 * ended and is reaped.
 * @ctx: the context that owns it
 * @pidfd: the child's pidfd
 * @status_fd: its sync socket (the init's status), or -1
 *
 * Return: 0, or -errno.
 */
int watch_exit(int ctx, int pidfd, int status_fd)
{
	struct context *c;
	struct watch *w, *st = NULL;
	int rc;

	pthread_mutex_lock(&lock);
	c = context(ctx);
	w = c && !c->dead ? slot(pidfd) : NULL;
	if (w && status_fd >= 0)
		st = slot(status_fd), w = st ? &table[pidfd] : NULL;
	if (w)
		w->ctx = ctx;
	rc = !c || c->dead ? -EINVAL : !w ? -ENOMEM : arm(c, w);
	if (rc == 0) {
		w->kind = W_EXIT;
		w->ended = 0;
		w->status_fd = status_fd;
		if ((rc = poll_fd(pidfd, w, EPOLLIN)) < 0) {
			disarm(w);
			w->kind = W_FREE;
		}
	}
	if (rc == 0 && st) {
		st->ctx = ctx;
		st->kind = W_STATUS;
	}
	pthread_mutex_unlock(&lock);
	return rc;
}

/* Takes FD back from its context, if any, without closing it. */
static void unown(int fd)
{
	if (fd < 0 || (uint32_t)fd >= table_size || table[fd].kind == W_FREE)
		return;
	if (table[fd].polled)
		(void)epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
	disarm(&table[fd]);
	table[fd].kind = W_FREE;
	table[fd].polled = table[fd].ended = 0;
	table[fd].gen++;
}

/**
 * forget() - undo a spawn whose fds could not all be handed over.
 * @pidfd: the child's pidfd: the child is killed, then reaped and the fd
 *         closed by the waiter thread
 * @fds: its other fds, taken back from their context (the caller closes
 *       them)
 * @n: how many
 *
 * The caller's thread is the runtime's: it does not wait for the child to
 * end (a process in an uninterruptible sleep ends when that sleep does).
 * Only where the kernel will not watch the pidfd does it wait here.
 */
void forget(int pidfd, const int *fds, int n)
{
	struct epoll_event ev = { .events = EPOLLIN };
	siginfo_t si;
	int rc;

	ev.data.u64 = ORPHAN | (uint32_t)pidfd;
	pthread_mutex_lock(&lock);
	unown(pidfd);
	for (int i = 0; i < n; i++)
		unown(fds[i]);
	(void)syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
	if ((rc = start()) == 0 && epoll_ctl(epfd, EPOLL_CTL_ADD, pidfd, &ev) < 0)
		rc = -errno;
	pthread_mutex_unlock(&lock);
	if (rc == 0)
		return;
	while (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &si, WEXITED) < 0 &&
	       errno == EINTR)
		;
	(void)close(pidfd);
}

/**
 * uns_watch() - ask for one UNS_EV_READ or UNS_EV_WRITE event for FD.
 * @fd: a pipe fd of a context
 * @kind: UNS_EV_READ or UNS_EV_WRITE
 *
 * Return: 0, or -EBADF for an fd of no context, -errno.
 */
int32_t uns_watch(int32_t fd, int32_t kind)
{
	struct watch *w = NULL;
	struct context *c = NULL;
	int rc;

	pthread_mutex_lock(&lock);
	if ((uint32_t)fd < table_size) {
		w = &table[fd];
		c = context(w->ctx);
	}
	if (!w || !c || c->dead ||
	    (w->kind != W_OWNED && w->kind != W_READ && w->kind != W_WRITE))
		rc = -EBADF;
	else if (kind != UNS_EV_READ && kind != UNS_EV_WRITE)
		rc = -EINVAL;
	else
		rc = arm(c, w);
	if (rc == 0) {
		w->kind = kind == UNS_EV_READ ? W_READ : W_WRITE;
		rc = poll_fd(fd, w,
			     (kind == UNS_EV_READ ? EPOLLIN : EPOLLOUT) |
				     EPOLLONESHOT);
		if (rc < 0)
			disarm(w);
	}
	pthread_mutex_unlock(&lock);
	return rc;
}

/**
 * uns_close() - close an fd the library handed out.
 * @fd: the fd
 *
 * A child's pidfd and sync socket are closed by taking its exit event.
 *
 * Return: 0, -EBUSY for those, or -errno of close().
 */
int32_t uns_close(int32_t fd)
{
	int rc = 0;

	pthread_mutex_lock(&lock);
	if ((uint32_t)fd < table_size && table[fd].kind != W_FREE) {
		const struct watch *w = &table[fd];

		if (w->kind == W_EXIT || w->kind == W_STATUS)
			rc = -EBUSY;
		else
			drop(fd);
		pthread_mutex_unlock(&lock);
		return rc;
	}
	pthread_mutex_unlock(&lock);
	return close(fd) < 0 ? -errno : 0;
}
