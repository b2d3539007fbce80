/* mongo_pool.c - instrumenting a mongoc_client_pool_t, and timing checkouts.
 *
 * libmongoc 1.23 has no connection-pool events: a checkout is a
 * mongoc_client_pool_pop() that may block until another thread pushes a client
 * back (or waitQueueTimeoutMS passes). The wrappers here time it; the preload
 * library routes the application's own pop/push calls here too. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ringmon/ringmon.h>
#include <ringmon/ringmon_mongoc.h>
#include "mongo_internal.h"
#include "mongo_schema.h"

/* A pool's servers opened after the application's late set of its callbacks
 * (below) and not closed since, by host:port. Only pools with a late set have
 * one; heartbeats (one per server per heartbeatFrequencyMS) and server
 * openings and closings take its mutex. */
#define MONGO_LATE_HOSTS 64 /* more than a replica set's 50 members */
struct mongo_late_hosts {
	pthread_mutex_t lock;
	int n;
	char host[MONGO_LATE_HOSTS][BSON_HOST_NAME_MAX + 7]; /* as host_and_port */
};

/* ---- pool.checkout and pool.checkin records ---- */

void mongo_pool_checkout(struct mongo_ctx *c, uint64_t wait_ns, int outcome, int blocking)
{
	if (!ringmon_enabled(mongo_type.pool_checkout))
		return;
	ringmon_emit(mongo_type.pool_checkout, mongo_key_of(mongo_type.pool_checkout, ms_outcome_name(outcome % MS_NOUTCOMES)), wait_ns,
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

/* ringmon_mongoc_pool(); preload: armed for the preload, which leaves the
 * application its one set of the pool's callbacks. */
static int pool_instrument(mongoc_client_pool_t *pool, const mongoc_apm_callbacks_t *app_cbs,
			   void *app_ctx, int preload)
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
	if (c && c->armed) {
		/* a program written for this API and run under the preload: the
		 * preload armed the pool, and this is the application's call that,
		 * linked alone, would have armed it; no event has fired before the
		 * first pop, so its callbacks are simply kept */
		if (preload || !c->by_preload || c->app_set)
			return -EALREADY;
		mongo_app_cbs_copy(&c->app, app_cbs);
		c->app_ctx = app_ctx;
		c->app_set = app_cbs != NULL;
		c->by_preload = 0;
		return 0;
	}
	int fresh = !c;
	if (!c && !(c = mongo_ctx_new(pool, MONGO_POOL)))
		return -ENOSPC;
	/* no event can fire yet: monitoring starts with the first pop;
	 * -EALREADY: the application set its callbacks first */
	err = mongo_ctx_arm(c, pool, app_cbs, app_ctx, -EALREADY);
	if (!err) {
		c->armed = 1;
		c->by_preload = preload;
	} else if (fresh) {
		mongo_ctx_release(c);
	}
	return err;
}

EXPORT int ringmon_mongoc_pool(mongoc_client_pool_t *pool, const mongoc_apm_callbacks_t *app_cbs,
			       void *app_ctx)
{
	return pool_instrument(pool, app_cbs, app_ctx, 0);
}

EXPORT int ringmon_mongoc__pool_preload(mongoc_client_pool_t *pool)
{
	return pool_instrument(pool, NULL, NULL, 1);
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
		struct mongo_ctx *late = __atomic_load_n(&c->late, __ATOMIC_ACQUIRE);
		if (late) {
			pthread_mutex_destroy(&late->hosts->lock);
			free(late->hosts);
			late->hosts = NULL;
			mongo_ctx_release(late);
		}
		mongo_ctx_release(c);
	}
}

/* ---- the application's callbacks set on a pool after its first pop ----
 *
 * libmongoc 1.23 accepts one mongoc_client_pool_set_apm_callbacks() per pool,
 * also after the first pop. It replaces the callbacks of the pool's topology
 * description, which every SDAM event (server and topology opening, changed,
 * closed) reads, and those that clients the pool makes afterwards get; clients
 * made before keep the callbacks they were made with (none). Heartbeats come
 * from server monitors, each of which copied the description's callbacks when
 * it was made (mongoc_server_monitor_new): the servers monitored before the
 * set never reach the new heartbeat callbacks, a server added to the topology
 * after it (discovered, or removed and added back: a new monitor) does.
 *
 * Under the preload ringmon's callbacks were set when the pool was made, so
 * that call is followed here: the pool's ctx chains the application's SDAM
 * callbacks, and its heartbeat callbacks for the servers opened after the set
 * only (c->late->hosts, from ringmon's server opening and closed callbacks);
 * each client the pool makes afterwards gets a ctx of its own (c->late) that
 * chains all of them. */

static int late_host_find(const struct mongo_late_hosts *t, const char *h)
{
	for (int i = 0; i < t->n; i++)
		if (strcmp(t->host[i], h) == 0)
			return i;
	return -1;
}

/* pairs with the release store of c->late in pool_set_late */
static struct mongo_late_hosts *late_hosts(const struct mongo_ctx *c)
{
	struct mongo_ctx *late = __atomic_load_n(&c->late, __ATOMIC_ACQUIRE);
	return late ? late->hosts : NULL;
}

void mongo_pool_late_server(struct mongo_ctx *c, const mongoc_host_list_t *h, int opened)
{
	struct mongo_late_hosts *t = late_hosts(c);
	if (!t || !h)
		return;
	pthread_mutex_lock(&t->lock);
	int i = late_host_find(t, h->host_and_port);
	if (opened && i < 0 && t->n < MONGO_LATE_HOSTS)
		snprintf(t->host[t->n++], sizeof(t->host[0]), "%s", h->host_and_port);
	else if (!opened && i >= 0)
		memcpy(t->host[i], t->host[--t->n], sizeof(t->host[0]));
	pthread_mutex_unlock(&t->lock);
}

int mongo_pool_late_heartbeat(struct mongo_ctx *c, const mongoc_host_list_t *h)
{
	struct mongo_late_hosts *t = late_hosts(c);
	if (!t)
		return 1;
	pthread_mutex_lock(&t->lock);
	int found = h && late_host_find(t, h->host_and_port) >= 0;
	pthread_mutex_unlock(&t->lock);
	return found;
}

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
	struct mongo_late_hosts *hosts;
	if (!mongo_real.client_set_apm_private || !c->clients ||
	    __atomic_load_n(&c->clients_full, __ATOMIC_RELAXED) ||
	    !(hosts = calloc(1, sizeof(*hosts))))
		return mongo_real.pool_set_apm(pool, callbacks, context);
	if (!(late = mongo_ctx_new(pool, MONGO_POOL_LATE))) {
		free(hosts);
		return mongo_real.pool_set_apm(pool, callbacks, context);
	}
	pthread_mutex_init(&hosts->lock, NULL);
	late->hosts = hosts;
	mongo_app_cbs_copy(&late->app, callbacks);
	late->app_ctx = context;
	late->app_set = 1;
	late->pool_id = c->pool_id;
	/* c->late first: a monitor thread that sees the application's heartbeat
	 * callbacks below also sees the table that filters them; a server opened
	 * from now on is one libmongoc would give the new callbacks */
	__atomic_store_n(&c->late, late, __ATOMIC_RELEASE);
	/* the pool's own ctx: the application's SDAM and heartbeat callbacks;
	 * monitor threads may be reading it, hence the atomic stores */
	struct mongo_app_cbs sdam;
	mongo_app_cbs_copy(&sdam, callbacks);
	sdam.fn[CB_CMD_STARTED] = sdam.fn[CB_CMD_SUCCEEDED] = sdam.fn[CB_CMD_FAILED] = NULL;
	__atomic_store_n(&c->app_ctx, context, __ATOMIC_RELEASE);
	for (int i = 0; i < CB_COUNT; i++)
		__atomic_store_n(&c->app.fn[i], sdam.fn[i], __ATOMIC_RELEASE);
	c->app_set = 1;
	return true;
}

EXPORT bool ringmon_mongoc__pool_set_apm(mongoc_client_pool_t *pool,
					 mongoc_apm_callbacks_t *callbacks, void *context)
{
	if (mongo_real_init() != 0)
		return false;
	struct mongo_ctx *c = mongo_ctx_find(pool);
	/* not ours, the application's second call, or a pool it instrumented
	 * itself (ringmon_mongoc_pool): libmongoc answers (and logs) as it
	 * would have */
	if (!c || c->kind != MONGO_POOL || !c->armed || !c->by_preload || c->app_set)
		return mongo_real.pool_set_apm(pool, callbacks, context);
	if (__atomic_load_n(&c->popped, __ATOMIC_ACQUIRE))
		return pool_set_late(c, pool, callbacks, context);
	/* before the first pop no event has fired: keep them, as libmongoc would */
	mongo_app_cbs_copy(&c->app, callbacks);
	c->app_ctx = context;
	c->app_set = 1;
	return true;
}
