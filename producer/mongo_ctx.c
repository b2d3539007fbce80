/* mongo_ctx.c - what libmongoc gets as the APM context of an instrumented
 * client or pool: a static arena of struct mongo_ctx, recycled, never freed, so
 * that callbacks and context lookups never touch freed memory. Lookups are
 * lock-free; taking and giving back a slot takes a mutex (not on the emit path). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "mongo_internal.h"

#define ARENA MONGO_CTX_ARENA
#define arena mongo_ctx_arena
struct mongo_ctx mongo_ctx_arena[MONGO_CTX_ARENA];
static unsigned arena_used; /* slots ever handed out (atomic, only grows) */
static pthread_mutex_t arena_lock = PTHREAD_MUTEX_INITIALIZER;
static int next_pool_id;

struct mongo_ctx *mongo_ctx_find(const void *target)
{
	if (!target)
		return NULL;
	/* pairs with the release store of arena_used in mongo_ctx_new */
	unsigned n = __atomic_load_n(&arena_used, __ATOMIC_ACQUIRE);
	for (unsigned i = 0; i < n; i++) {
		struct mongo_ctx *c = &arena[i];
		if (__atomic_load_n(&c->target, __ATOMIC_ACQUIRE) != target)
			continue;
		int kind = __atomic_load_n(&c->kind, __ATOMIC_ACQUIRE);
		if (kind != MONGO_FREE && kind != MONGO_POOL_LATE)
			return c;
	}
	return NULL;
}

struct mongo_ctx *mongo_ctx_new(void *target, int kind)
{
	struct mongo_ctx *c = NULL;
	pthread_mutex_lock(&arena_lock);
	for (unsigned i = 0; i < arena_used; i++) {
		if (__atomic_load_n(&arena[i].kind, __ATOMIC_RELAXED) == MONGO_FREE) {
			c = &arena[i];
			break;
		}
	}
	if (!c && arena_used < ARENA)
		c = &arena[arena_used];
	if (c) {
		memset(&c->app, 0, sizeof(c->app));
		c->magic = MONGO_CTX_MAGIC;
		c->app_ctx = NULL;
		c->app_set = 0;
		c->in_use = 0;
		c->popped = 0;
		c->armed = 0;
		c->clients_full = 0;
		c->late = NULL;
		c->hosts = NULL;
		c->by_preload = 0;
		if (kind == MONGO_POOL && !c->clients) /* kept when the slot is reused */
			c->clients = calloc(MONGO_POOL_CLIENTS, sizeof(void *));
		else if (c->clients)
			memset(c->clients, 0, MONGO_POOL_CLIENTS * sizeof(void *));
		c->pool_id = kind == MONGO_POOL ? ++next_pool_id : 0;
		__atomic_store_n(&c->target, target, __ATOMIC_RELEASE);
		/* pairs with the acquire loads in mongo_ctx_find */
		__atomic_store_n(&c->kind, kind, __ATOMIC_RELEASE);
		if (c == &arena[arena_used])
			__atomic_store_n(&arena_used, arena_used + 1, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&arena_lock);
	return c;
}

void mongo_ctx_release(struct mongo_ctx *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&arena_lock);
	__atomic_store_n(&c->target, NULL, __ATOMIC_RELEASE);
	__atomic_store_n(&c->kind, MONGO_FREE, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&arena_lock);
}

void *mongo_ctx_app_context(void *p)
{
	if (mongo_ctx_is_ours(p))
		return ((struct mongo_ctx *)p)->app_ctx;
	return p;
}

EXPORT void *ringmon_mongoc__get_context(int event, const void *e)
{
	if (event < 0 || event >= CB_COUNT || mongo_real_init() != 0)
		return NULL;
	return mongo_ctx_app_context(mongo_real.get_context[event](e));
}
