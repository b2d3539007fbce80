/* mongo_pool.c - instrumenting a mongoc_client_pool_t, and timing checkouts.
 *
 * libmongoc 1.23 has no connection-pool events: a checkout is a
 * mongoc_client_pool_pop() that may block until another thread pushes a client
 * back (or waitQueueTimeoutMS passes). The wrappers here time it; the preload
 * library routes the application's own pop/push calls here too. */
#define _GNU_SOURCE
#include <errno.h>

#include <ringmon/ringmon.h>
#include <ringmon/ringmon_mongoc.h>
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
	if ((err = mongo_app_getters_check(app_cbs)) != 0)
		return err;
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
	if (client) {
		__atomic_add_fetch(&c->in_use, 1, __ATOMIC_RELAXED);
		mongo_pool_note_client(c, client);
	}
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
	if (c) {
		mongo_ctx_release(__atomic_load_n(&c->late, __ATOMIC_ACQUIRE));
		mongo_ctx_release(c);
	}
}

/* ---- the application's callbacks set on a pool after its first pop ----
 *
 * libmongoc 1.23 accepts one mongoc_client_pool_set_apm_callbacks() per pool,
 * also after the first pop: from then on the pool's SDAM and heartbeat events
 * go to the new callbacks, and so do the command events of clients the pool
 * makes afterwards; clients made before keep the callbacks they were made with
 * (none). Under the preload ringmon's callbacks were set when the pool was
 * made, so that call is followed here: the pool's ctx chains the application's
 * SDAM and heartbeat callbacks, and each client the pool makes afterwards gets
 * a ctx of its own (c->late) that chains all of them. */

static size_t client_slot(const void *client)
{
	uintptr_t h = (uintptr_t)client;
	h ^= h >> 17;
	h *= 0x9e3779b97f4a7c15ull;
	return (size_t)(h >> 40) % MONGO_POOL_CLIENTS;
}

/* 1 if client was seen before, else records it (0); -1 when the table is full */
static int client_seen(struct mongo_ctx *c, mongoc_client_t *client)
{
	size_t i = client_slot(client);
	for (size_t n = 0; n < MONGO_POOL_CLIENTS; n++, i = (i + 1) % MONGO_POOL_CLIENTS) {
		void *cur = __atomic_load_n(&c->clients[i], __ATOMIC_ACQUIRE);
		if (cur == client)
			return 1;
		if (!cur && __atomic_compare_exchange_n(&c->clients[i], &cur, (void *)client, 0,
							__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			return 0;
		if (cur == client)
			return 1;
	}
	__atomic_store_n(&c->clients_full, 1, __ATOMIC_RELAXED);
	return -1;
}

void mongo_pool_note_client(struct mongo_ctx *c, mongoc_client_t *client)
{
	if (!c->clients || client_seen(c, client) != 0)
		return;
	/* a client the pool made just now */
	struct mongo_ctx *late = __atomic_load_n(&c->late, __ATOMIC_ACQUIRE);
	if (!late)
		return;
	mongoc_apm_callbacks_t *cb = mongo_apm_callbacks();
	if (cb) {
		mongo_real.client_set_apm_private(client, cb, late);
		mongoc_apm_callbacks_destroy(cb);
	}
}

/* The first set after the first pop. False (libmongoc's own answer and log)
 * where it cannot be followed exactly: an older libmongoc, or more clients
 * made before than ringmon can tell apart. */
static bool pool_set_late(struct mongo_ctx *c, mongoc_client_pool_t *pool,
			  mongoc_apm_callbacks_t *callbacks, void *context)
{
	struct mongo_ctx *late;
	if (!mongo_real.client_set_apm_private || !c->clients ||
	    __atomic_load_n(&c->clients_full, __ATOMIC_RELAXED) ||
	    !(late = mongo_ctx_new(pool, MONGO_POOL_LATE)))
		return mongo_real.pool_set_apm(pool, callbacks, context);
	mongo_app_cbs_copy(&late->app, callbacks);
	late->app_ctx = context;
	late->app_set = 1;
	late->pool_id = c->pool_id;
	/* the pool's own ctx: the application's SDAM and heartbeat callbacks;
	 * monitor threads may be reading it, hence the atomic stores */
	struct mongo_app_cbs sdam;
	mongo_app_cbs_copy(&sdam, callbacks);
	sdam.fn[CB_CMD_STARTED] = sdam.fn[CB_CMD_SUCCEEDED] = sdam.fn[CB_CMD_FAILED] = NULL;
	__atomic_store_n(&c->app_ctx, context, __ATOMIC_RELEASE);
	for (int i = 0; i < CB_COUNT; i++)
		__atomic_store_n(&c->app.fn[i], sdam.fn[i], __ATOMIC_RELEASE);
	c->app_set = 1;
	__atomic_store_n(&c->late, late, __ATOMIC_RELEASE);
	return true;
}

EXPORT bool ringmon_mongoc__pool_set_apm(mongoc_client_pool_t *pool,
					 mongoc_apm_callbacks_t *callbacks, void *context)
{
	if (mongo_real_init() != 0)
		return false;
	struct mongo_ctx *c = mongo_ctx_find(pool);
	/* not ours, or the application's second call: libmongoc answers (and
	 * logs) as it would have */
	if (!c || c->kind != MONGO_POOL || !c->armed || c->app_set)
		return mongo_real.pool_set_apm(pool, callbacks, context);
	if (__atomic_load_n(&c->popped, __ATOMIC_ACQUIRE))
		return pool_set_late(c, pool, callbacks, context);
	/* before the first pop no event has fired: keep them, as libmongoc would */
	mongo_app_cbs_copy(&c->app, callbacks);
	c->app_ctx = context;
	c->app_set = 1;
	return true;
}
