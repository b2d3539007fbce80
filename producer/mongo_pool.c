/* mongo_pool.c - instrumenting a mongoc_client_pool_t, and timing checkouts.
 *
 * libmongoc 1.23 has no connection-pool events: a checkout is a
 * mongoc_client_pool_pop() that may block until another thread pushes a client
 * back (or waitQueueTimeoutMS passes). The wrappers here time it; the preload
 * library routes the application's own pop/push calls here too. */
#define _GNU_SOURCE
#include <errno.h>

#include "ringmon.h"
#include "ringmon_mongoc.h"
#include "mongo_internal.h"

/* ---- pool.checkout and pool.checkin records ---- */

static const char *const outcome_key[] = {"ok", "timeout", "empty"};

void mongo_pool_checkout(struct mongo_ctx *c, uint64_t wait_ns, int outcome, int blocking)
{
	if (!ringmon_enabled(mongo_type.pool_checkout))
		return;
	ringmon_emit(mongo_type.pool_checkout, mongo_key_of(mongo_type.pool_checkout, outcome_key[outcome % 3]), wait_ns,
		     outcome, __atomic_load_n(&c->in_use, __ATOMIC_RELAXED), c->pool_id, blocking);
}

void mongo_pool_checkin(struct mongo_ctx *c)
{
	if (ringmon_enabled(mongo_type.pool_checkin))
		ringmon_emit(mongo_type.pool_checkin, 0, RINGMON_NO_DURATION,
			     __atomic_load_n(&c->in_use, __ATOMIC_RELAXED), c->pool_id, 0, 0);
}

struct mongo_ctx *mongo_pool_ctx(mongoc_client_pool_t *pool)
{
	struct mongo_ctx *c = mongo_ctx_find(pool);
	if (!c)
		c = mongo_ctx_new(pool, MONGO_POOL);
	return c;
}

EXPORT int ringmon_mongoc_pool(mongoc_client_pool_t *pool, const mongoc_apm_callbacks_t *app_cbs,
			       void *app_ctx)
{
	if (!pool)
		return -EINVAL;
	int err = mongo_apm_setup();
	if (err)
		return err;
	struct mongo_ctx *c = mongo_ctx_find(pool);
	if (c && c->kind != MONGO_POOL)
		return -EINVAL;
	if (c && __atomic_load_n(&c->popped, __ATOMIC_ACQUIRE))
		return -EBUSY; /* its clients already carry their callbacks */
	if (c && c->armed)
		return -EALREADY;
	int fresh = !c;
	if (!c && !(c = mongo_ctx_new(pool, MONGO_POOL)))
		return -ENOSPC;
	/* no event can fire yet: monitoring starts with the first pop;
	 * -EALREADY: the application set its callbacks first */
	err = mongo_ctx_arm(c, pool, app_cbs, app_ctx, -EALREADY);
	if (!err)
		c->armed = 1;
	else if (fresh)
		mongo_ctx_release(c);
	return err;
}

static mongoc_client_t *checkout(mongoc_client_pool_t *pool, int blocking)
{
	if (!pool || mongo_real_init() != 0)
		return NULL;
	struct mongo_ctx *c = mongo_pool_ctx(pool);
	if (!c) /* arena full: hand out clients unmeasured */
		return blocking ? mongo_real.pool_pop(pool) : mongo_real.pool_try_pop(pool);
	/* before the pop: ringmon_mongoc_pool() must refuse from now on */
	__atomic_store_n(&c->popped, 1, __ATOMIC_RELEASE);
	uint64_t t0 = ringmon_now_ns();
	mongoc_client_t *client = blocking ? mongo_real.pool_pop(pool) : mongo_real.pool_try_pop(pool);
	uint64_t wait = ringmon_now_ns() - t0;
	if (client)
		__atomic_add_fetch(&c->in_use, 1, __ATOMIC_RELAXED);
	mongo_pool_checkout(c, wait, client ? 0 : blocking ? 1 : 2, blocking);
	return client;
}

EXPORT mongoc_client_t *ringmon_mongoc_pool_pop(mongoc_client_pool_t *pool)
{
	return checkout(pool, 1);
}

EXPORT mongoc_client_t *ringmon_mongoc_pool_try_pop(mongoc_client_pool_t *pool)
{
	return checkout(pool, 0);
}

EXPORT void ringmon_mongoc_pool_push(mongoc_client_pool_t *pool, mongoc_client_t *client)
{
	if (!pool || mongo_real_init() != 0)
		return;
	struct mongo_ctx *c = client ? mongo_ctx_find(pool) : NULL;
	/* down before the push, up after the pop: a client handed from one
	 * thread to another is never counted twice */
	if (c)
		__atomic_sub_fetch(&c->in_use, 1, __ATOMIC_RELAXED);
	mongo_real.pool_push(pool, client);
	if (c)
		mongo_pool_checkin(c);
}

EXPORT void ringmon_mongoc_pool_destroy(mongoc_client_pool_t *pool)
{
	if (!pool || mongo_real_init() != 0)
		return;
	struct mongo_ctx *c = mongo_ctx_find(pool);
	mongo_real.pool_destroy(pool);
	/* after: monitor threads are joined, no callback can use c any more */
	if (c)
		mongo_ctx_release(c);
}
