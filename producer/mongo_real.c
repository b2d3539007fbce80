/* mongo_real.c - the libmongoc functions the adapter calls, found past any
 * interposer (the preload's wrappers, ringmon's own context getters). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>

#include "mongo_internal.h"

struct mongo_real mongo_real;

void *mongo_real_sym(const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);
	if (!p) {
		/* RTLD_NEXT misses libmongoc when it was loaded before us */
		void *h = dlopen("libmongoc-1.0.so.0", RTLD_NOW | RTLD_NOLOAD);
		if (h) {
			p = dlsym(h, name);
			dlclose(h);
		}
	}
	return p;
}

EXPORT void *ringmon_mongoc__real_sym(const char *name)
{
	return mongo_real_sym(name);
}

static pthread_once_t real_once = PTHREAD_ONCE_INIT;
static int real_err;

#define GETTER_NAME(id, name) [id] = "mongoc_apm_" #name "_get_context",
const char *const mongo_getter_name[CB_COUNT] = {MONGO_APM_EVENTS(GETTER_NAME)};
#undef GETTER_NAME

static void real_init_once(void)
{
	struct mongo_real r = {0};
#define LOAD(field, name)                                                    \
	do {                                                                 \
		*(void **)&r.field = mongo_real_sym(name);                   \
		if (!r.field)                                                \
			goto fail;                                           \
	} while (0)
	LOAD(client_set_apm, "mongoc_client_set_apm_callbacks");
	LOAD(pool_set_apm, "mongoc_client_pool_set_apm_callbacks");
	LOAD(pool_pop, "mongoc_client_pool_pop");
	LOAD(pool_try_pop, "mongoc_client_pool_try_pop");
	LOAD(pool_push, "mongoc_client_pool_push");
	LOAD(client_destroy, "mongoc_client_destroy");
	LOAD(pool_destroy, "mongoc_client_pool_destroy");
	for (int i = 0; i < CB_COUNT; i++)
		LOAD(get_context[i], mongo_getter_name[i]);
#undef LOAD
	*(void **)&r.client_set_apm_private = mongo_real_sym("_mongoc_client_set_apm_callbacks_private");
	mongo_real = r;
	return;
fail:
	real_err = -ENOSYS;
}

int mongo_real_init(void)
{
	pthread_once(&real_once, real_init_once);
	return real_err;
}
