/*
 * region.c - the pool of stacks and data areas for shared-mode children.
 * See internal.h for the protocol.
 */
#include "internal.h"

/* A region larger than this is given back once its child is done with it:
 * one spawn with a huge argv must not keep that memory for good. */
#define TRIM_ABOVE (1024 * 1024)

static struct region pool[UNS_POOL];

void unclaim(struct region *r)
{
	__atomic_store_n(&r->busy, 0, __ATOMIC_RELEASE);
}

/* Maps R anew, at least NEED bytes; its old mapping goes. */
int grow(struct region *r, size_t need)
{
	size_t size = (need + GRAIN - 1) / GRAIN * GRAIN;
	char *p;

	if (r->size >= need)
		return 0;
	if (r->base && munmap(r->base, r->size) < 0)
		return -errno;
	r->base = NULL;
	r->size = 0;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	if (mprotect(p, GUARD, PROT_NONE) < 0) {
		int rc = -errno;

		(void)munmap(p, size);
		return rc;
	}
	r->base = p;
	r->size = size;
	return 0;
}

/* A free region of at least NEED bytes, claimed; or NULL when every one is
 * busy or mapping failed (*rc says which). */
struct region *claim(size_t need, int *rc)
{
	*rc = 0;
	for (int i = 0; i < UNS_POOL; i++) {
		pid_t free_ = 0;

		if (__atomic_load_n(&pool[i].busy, __ATOMIC_RELAXED) != 0 ||
		    !__atomic_compare_exchange_n(&pool[i].busy, &free_, -1, 0,
						 __ATOMIC_ACQUIRE,
						 __ATOMIC_RELAXED))
			continue;
		*rc = grow(&pool[i], need);
		if (*rc == 0)
			return &pool[i];
		unclaim(&pool[i]);
		return NULL;
	}
	return NULL;
}

/* Unmaps every free region grown past TRIM_ABOVE. Each is claimed first,
 * so that no spawn can take it meanwhile. */
void trim(void)
{
	for (int i = 0; i < UNS_POOL; i++) {
		pid_t free_ = 0;

		if (!__atomic_compare_exchange_n(&pool[i].busy, &free_, -1, 0,
						 __ATOMIC_ACQUIRE,
						 __ATOMIC_RELAXED))
			continue;
		if (pool[i].size > TRIM_ABOVE && munmap(pool[i].base,
							pool[i].size) == 0) {
			pool[i].base = NULL;
			pool[i].size = 0;
		}
		unclaim(&pool[i]);
	}
}

void *take(struct arena *a, size_t n)
{
	void *p = a->at;

	n = (n + 15) & ~(size_t)15;
	if ((size_t)(a->end - a->at) < n)
		return NULL;
	a->at += n;
	return p;
}
