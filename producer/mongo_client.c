/* mongo_client.c - instrumenting a single-threaded mongoc_client_t, and
 * releasing ringmon's record of it. Pools: mongo_pool.c. */
#include <errno.h>

#include <ringmon/ringmon_mongoc.h>
#include "mongo_internal.h"

EXPORT int ringmon_mongoc_client(mongoc_client_t *client, const mongoc_apm_callbacks_t *app_cbs,
				 void *app_ctx)
{
	if (!client)
		return -EINVAL;
	int err = mongo_apm_setup();
	if (err)
		return err;
	struct mongo_ctx *c = mongo_ctx_find(client);
	if ((err = mongo_app_getters_check(app_cbs)) != 0)
		return err;
	int fresh = 0;
	if (!c) {
		c = mongo_ctx_new(client, MONGO_CLIENT);
		if (!c)
			return -ENOSPC;
		fresh = 1;
	} else if (c->kind != MONGO_CLIENT) {
		return -EINVAL;
	}
	/* single-threaded client: its events fire on this thread only, so
	 * the update cannot race a callback; -EPERM: a client popped from a pool */
	err = mongo_ctx_arm(c, client, app_cbs, app_ctx, -EPERM);
	if (err && fresh)
		mongo_ctx_release(c);
	return err;
}

EXPORT void ringmon_mongoc_client_destroy(mongoc_client_t *client)
{
	if (!client)
		return;
	if (mongo_real_init() != 0)
		return;
	struct mongo_ctx *c = mongo_ctx_find(client);
	mongo_real.client_destroy(client);
	/* after the destroy: its topology_closed event still needed the ctx */
	if (c && c->kind == MONGO_CLIENT)
		mongo_ctx_release(c);
}

EXPORT bool ringmon_mongoc__client_set_apm(mongoc_client_t *client,
					   mongoc_apm_callbacks_t *callbacks, void *context)
{
	if (mongo_real_init() != 0)
		return false;
	struct mongo_ctx *c = mongo_ctx_find(client);
	/* ours: keep ringmon's callbacks, chain the application's (libmongoc
	 * returns true here: a single-threaded client) */
	if (c && c->kind == MONGO_CLIENT)
		return ringmon_mongoc_client(client, callbacks, context) == 0;
	/* a pooled client, or one we could not instrument: libmongoc decides */
	return mongo_real.client_set_apm(client, callbacks, context);
}
