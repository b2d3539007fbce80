/* mongo_preload_load.c - the adapter, loaded by the preload only once the
 * program calls libmongoc.
 *
 * LD_PRELOAD applies to every process that inherits it: shells, make, echo.
 * Were libringmon-preload.so to link libringmon-mongoc.so (and so libmongoc,
 * OpenSSL, SASL), each of them would load libmongoc and run its automatic
 * initialisation, which on Debian creates /dev/shm/mongoc-PID (left behind by a
 * process that is killed, and a warning on stderr for the next process that
 * gets that pid). So the preload links neither: its wrappers run only when the
 * program calls a libmongoc function, and the first of them dlopen()s
 * libringmon-mongoc.so.0 (found beside the preload through its $ORIGIN
 * runpath, or the copy the program already has: one adapter, one producer per
 * process).
 *
 * These are the adapter entry points the preload's wrappers and getters call
 * (mongo_preload.c, mongo_getters.c), by the same names, local to the preload:
 * each goes to the loaded adapter, or, if it could not be loaded, straight to
 * libmongoc's own function (the program runs unmonitored, as without ringmon,
 * and is told why once on stderr). Thread-safe: loaded under pthread_once. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>

#include <ringmon/ringmon_mongoc.h>
#include "mongo_internal.h"

#define ADAPTER_SONAME "libringmon-mongoc.so.0"

/* The adapter's functions the preload calls, by their names. */
#define ADAPTER_FUNCS(X)                                                                    \
	X(client, int, (mongoc_client_t *, const mongoc_apm_callbacks_t *, void *),        \
	  "ringmon_mongoc_client")                                                         \
	X(pool_preload, int, (mongoc_client_pool_t *), "ringmon_mongoc__pool_preload")      \
	X(get_context, void *, (int, const void *), "ringmon_mongoc__get_context")         \
	X(client_set_apm, bool, (mongoc_client_t *, mongoc_apm_callbacks_t *, void *),     \
	  "ringmon_mongoc__client_set_apm")                                                \
	X(pool_set_apm, bool, (mongoc_client_pool_t *, mongoc_apm_callbacks_t *, void *),  \
	  "ringmon_mongoc__pool_set_apm")                                                  \
	X(pool_pop, mongoc_client_t *, (mongoc_client_pool_t *), "ringmon_mongoc_pool_pop") \
	X(pool_try_pop, mongoc_client_t *, (mongoc_client_pool_t *),                       \
	  "ringmon_mongoc_pool_try_pop")                                                   \
	X(pool_push, void, (mongoc_client_pool_t *, mongoc_client_t *),                    \
	  "ringmon_mongoc_pool_push")                                                      \
	X(client_destroy, void, (mongoc_client_t *), "ringmon_mongoc_client_destroy")      \
	X(pool_destroy, void, (mongoc_client_pool_t *), "ringmon_mongoc_pool_destroy")      \
	X(monotonic_time, int64_t, (void), "ringmon_mongoc__monotonic_time")

struct adapter {
#define FIELD(field, ret, args, name) ret(*field) args;
	ADAPTER_FUNCS(FIELD)
#undef FIELD
};

static struct adapter loaded;
static const struct adapter *adapter_ptr; /* &loaded once complete, else NULL */
static pthread_once_t load_once = PTHREAD_ONCE_INIT;

static void load(void)
{
	void *h = dlopen(ADAPTER_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		fprintf(stderr,
			"ringmon: cannot load " ADAPTER_SONAME " (%s); this program runs without "
			"ringmon: install ringmon's libraries together (make install puts them "
			"beside libringmon-preload.so)\n",
			dlerror());
		return;
	}
	struct adapter a;
#define RESOLVE(field, ret, args, name)                                                     \
	if (!(*(void **)&a.field = dlsym(h, name))) {                                       \
		fprintf(stderr,                                                             \
			"ringmon: " ADAPTER_SONAME " has no %s (a different version from "   \
			"libringmon-preload.so); this program runs without ringmon: install " \
			"ringmon's libraries together\n",                                    \
			name);                                                              \
		return; /* the handle stays open: the program may hold the library too */ \
	}
	ADAPTER_FUNCS(RESOLVE)
#undef RESOLVE
	loaded = a;
	__atomic_store_n(&adapter_ptr, &loaded, __ATOMIC_RELEASE);
}

/* The adapter, loading it on the first call; NULL if it cannot be loaded. */
static const struct adapter *adapter(void)
{
	const struct adapter *a = __atomic_load_n(&adapter_ptr, __ATOMIC_ACQUIRE);
	if (a)
		return a;
	pthread_once(&load_once, load);
	return __atomic_load_n(&adapter_ptr, __ATOMIC_ACQUIRE);
}

/* libmongoc's own function name, resolved once into *slot (NULL if absent). */
static void *real(void **slot, const char *name)
{
	void *p = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
	if (!p) {
		p = mongo_real_sym(name);
		__atomic_store_n(slot, p, __ATOMIC_RELEASE);
	}
	return p;
}

int ringmon_mongoc_client(mongoc_client_t *client, const mongoc_apm_callbacks_t *app_cbs,
			  void *app_ctx)
{
	const struct adapter *a = adapter();
	return a ? a->client(client, app_cbs, app_ctx) : -ENOSYS;
}

int ringmon_mongoc__pool_preload(mongoc_client_pool_t *pool)
{
	const struct adapter *a = adapter();
	return a ? a->pool_preload(pool) : -ENOSYS;
}

void *ringmon_mongoc__get_context(int event, const void *e)
{
	const struct adapter *a = adapter();
	if (a)
		return a->get_context(event, e);
	static void *getter[CB_COUNT];
	void *(*g)(const void *) = (void *(*)(const void *))real(&getter[event],
								  mongo_getter_name[event]);
	return g ? g(e) : NULL;
}

bool ringmon_mongoc__client_set_apm(mongoc_client_t *client, mongoc_apm_callbacks_t *callbacks,
				    void *context)
{
	const struct adapter *a = adapter();
	if (a)
		return a->client_set_apm(client, callbacks, context);
	static void *r;
	bool (*f)(mongoc_client_t *, mongoc_apm_callbacks_t *, void *) =
		(bool (*)(mongoc_client_t *, mongoc_apm_callbacks_t *, void *))real(
			&r, "mongoc_client_set_apm_callbacks");
	return f && f(client, callbacks, context);
}

bool ringmon_mongoc__pool_set_apm(mongoc_client_pool_t *pool, mongoc_apm_callbacks_t *callbacks,
				  void *context)
{
	const struct adapter *a = adapter();
	if (a)
		return a->pool_set_apm(pool, callbacks, context);
	static void *r;
	bool (*f)(mongoc_client_pool_t *, mongoc_apm_callbacks_t *, void *) =
		(bool (*)(mongoc_client_pool_t *, mongoc_apm_callbacks_t *, void *))real(
			&r, "mongoc_client_pool_set_apm_callbacks");
	return f && f(pool, callbacks, context);
}

mongoc_client_t *ringmon_mongoc_pool_pop(mongoc_client_pool_t *pool)
{
	const struct adapter *a = adapter();
	if (a)
		return a->pool_pop(pool);
	static void *r;
	mongoc_client_t *(*f)(mongoc_client_pool_t *) =
		(mongoc_client_t * (*)(mongoc_client_pool_t *)) real(&r, "mongoc_client_pool_pop");
	return f ? f(pool) : NULL;
}

mongoc_client_t *ringmon_mongoc_pool_try_pop(mongoc_client_pool_t *pool)
{
	const struct adapter *a = adapter();
	if (a)
		return a->pool_try_pop(pool);
	static void *r;
	mongoc_client_t *(*f)(mongoc_client_pool_t *) =
		(mongoc_client_t * (*)(mongoc_client_pool_t *)) real(&r, "mongoc_client_pool_try_pop");
	return f ? f(pool) : NULL;
}

void ringmon_mongoc_pool_push(mongoc_client_pool_t *pool, mongoc_client_t *client)
{
	const struct adapter *a = adapter();
	if (a) {
		a->pool_push(pool, client);
		return;
	}
	static void *r;
	void (*f)(mongoc_client_pool_t *, mongoc_client_t *) =
		(void (*)(mongoc_client_pool_t *, mongoc_client_t *))real(&r, "mongoc_client_pool_push");
	if (f)
		f(pool, client);
}

void ringmon_mongoc_client_destroy(mongoc_client_t *client)
{
	const struct adapter *a = adapter();
	if (a) {
		a->client_destroy(client);
		return;
	}
	static void *r;
	void (*f)(mongoc_client_t *) = (void (*)(mongoc_client_t *))real(&r, "mongoc_client_destroy");
	if (f)
		f(client);
}

void ringmon_mongoc_pool_destroy(mongoc_client_pool_t *pool)
{
	const struct adapter *a = adapter();
	if (a) {
		a->pool_destroy(pool);
		return;
	}
	static void *r;
	void (*f)(mongoc_client_pool_t *) =
		(void (*)(mongoc_client_pool_t *))real(&r, "mongoc_client_pool_destroy");
	if (f)
		f(pool);
}

/* libbson's clock, interposed as the adapter does (mongo_clock.c): the
 * adapter's once it is loaded, so that libmongoc's reads time the command
 * records; before, a plain read returning what libbson's returns. Never loads
 * the adapter: a program may use libbson without libmongoc. */
EXPORT int64_t bson_get_monotonic_time(void)
{
	const struct adapter *a = __atomic_load_n(&adapter_ptr, __ATOMIC_ACQUIRE);
	if (a)
		return a->monotonic_time();
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return mongo_bson_us(&ts);
}
