/* mongo_callbacks.c - ringmon's APM callbacks object (all 12, each chaining the
 * application's), the check of libmongoc's callback layout, and arming a client
 * or pool with them; what the adapter's errors mean. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <ringmon/ringmon.h>
#include <ringmon/ringmon_mongoc.h>
#include "mongo_internal.h"

/* ---- the application's callbacks get their own context, or an error ----
 *
 * libmongoc hands a callback the context its callbacks were set with: ours.
 * The application gets its own back only if the mongoc_apm_*_get_context it
 * calls is ringmon's (mongo_getters.c), which depends on its link order: with
 * libmongoc before libringmon-mongoc, the program binds libmongoc's. The
 * dynamic linker resolves the program's calls in the order dlsym(RTLD_DEFAULT)
 * searches, so that lookup tells which one it calls. */
int mongo_app_getters_check(const mongoc_apm_callbacks_t *app_cbs)
{
	static int told;
	if (!app_cbs)
		return 0;
	struct mongo_app_cbs app;
	mongo_app_cbs_copy(&app, app_cbs);
	for (int i = 0; i < CB_COUNT; i++) {
		if (!app.fn[i])
			continue;
		void *getter = dlsym(RTLD_DEFAULT, mongo_getter_name[i]);
		if (getter && getter != (void *)mongo_real.get_context[i])
			continue;
		if (!__atomic_exchange_n(&told, 1, __ATOMIC_RELAXED)) {
			char line[512];
			int n = snprintf(line, sizeof(line), "ringmon: not instrumenting: %s\n",
					 ringmon_mongoc_strerror(-ELIBBAD));
			if (n > 0)
				(void)!write(2, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
		}
		return -ELIBBAD;
	}
	return 0;
}

/* ---- callbacks object, layout check ---- */

mongoc_apm_callbacks_t *mongo_apm_callbacks(void)
{
	mongoc_apm_callbacks_t *cb = mongoc_apm_callbacks_new();
	if (!cb)
		return NULL;
#define SET_CB(id, name) mongoc_apm_set_##name##_cb(cb, mongo_on_##name);
	MONGO_APM_EVENTS(SET_CB)
#undef SET_CB
	return cb;
}

void mongo_app_cbs_copy(struct mongo_app_cbs *dst, const mongoc_apm_callbacks_t *src)
{
	if (src)
		memcpy(dst, src, sizeof(*dst));
	else
		memset(dst, 0, sizeof(*dst));
}

/* The application's callbacks are read out of libmongoc's opaque struct, whose
 * 1.x layout is 12 function pointers in setter order: check that with our own
 * before trusting it, and refuse to chain (-ENOTSUP) if it ever changes. */
static pthread_once_t setup_once = PTHREAD_ONCE_INIT;
static int setup_err;

static void setup_once_fn(void)
{
	setup_err = mongo_real_init();
	if (setup_err)
		return;
	mongoc_apm_callbacks_t *cb = mongo_apm_callbacks();
	struct mongo_app_cbs probe;
	mongo_app_cbs_copy(&probe, cb);
#define OURS(id, name) [id] = (void (*)(const void *))mongo_on_##name,
	void (*want[CB_COUNT])(const void *) = {MONGO_APM_EVENTS(OURS)};
#undef OURS
	mongoc_apm_callbacks_destroy(cb);
	if (memcmp(probe.fn, want, sizeof(want)) != 0) {
		setup_err = -ENOTSUP;
		return;
	}
	mongo_types_register();
}

int mongo_apm_setup(void)
{
	pthread_once(&setup_once, setup_once_fn);
	return setup_err;
}

int mongo_ctx_arm(struct mongo_ctx *c, void *target, const mongoc_apm_callbacks_t *app_cbs,
		  void *app_ctx, int refused)
{
	mongo_app_cbs_copy(&c->app, app_cbs);
	c->app_ctx = app_ctx;
	c->app_set = app_cbs != NULL;
	mongoc_apm_callbacks_t *cb = mongo_apm_callbacks();
	int err = -ENOMEM;
	if (cb) {
		bool ok = c->kind == MONGO_CLIENT ? mongo_real.client_set_apm(target, cb, c)
						  : mongo_real.pool_set_apm(target, cb, c);
		mongoc_apm_callbacks_destroy(cb);
		err = ok ? 0 : refused;
	}
	if (err) {
		mongo_app_cbs_copy(&c->app, NULL);
		c->app_ctx = NULL;
		c->app_set = 0;
	}
	return err;
}

EXPORT const char *ringmon_mongoc_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
	case -EINVAL:
		return "invalid argument: NULL, or a pool passed where a client is expected";
	case -EBUSY:
		return "the pool has already handed out a client: instrument it right after "
		       "mongoc_client_pool_new(), before the first pop";
	case -EALREADY:
		return "the pool's APM callbacks are already set (libmongoc allows one call "
		       "per pool): pass your callbacks to ringmon_mongoc_pool() instead";
	case -EPERM:
		return "libmongoc refused: this client belongs to a pool; instrument the pool";
	case -ENOSPC:
		return "too many instrumented clients and pools alive at once (1024)";
	case -ENOMEM:
		return "out of memory";
	case -ENOTSUP:
		return "this libmongoc's APM callback layout is unknown to ringmon";
	case -ELIBBAD:
		return "your APM callbacks would get ringmon's context, not yours: this program "
		       "calls libmongoc's mongoc_apm_*_get_context, not ringmon's (libmongoc comes "
		       "before libringmon-mongoc on its link line): link -lringmon-mongoc before "
		       "-lmongoc-1.0, as `pkg-config --libs ringmon-mongoc` does";
	case -ENOSYS:
		return "libmongoc's functions could not be found (is libmongoc loaded?)";
	default:
		return "unknown error";
	}
}
