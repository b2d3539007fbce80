/* mongo_preload.c - LD_PRELOAD=libringmon-preload.so: ringmon for unmodified
 * libmongoc programs.
 *
 * Interposes the libmongoc functions that make clients and pools (each new
 * one is instrumented), pool pop/push (timed as pool.checkout/checkin), the
 * APM setters (the application's callbacks are chained behind ringmon's and
 * see exactly the events and return values they saw before) and the destroys
 * (ringmon's record of the object is released). The mongoc_apm_*_get_context
 * getters are interposed by mongo_getters.c, linked in here too: a preloaded
 * library comes before every library of the program, libmongoc included, but
 * libringmon-mongoc.so (which it links, dynamically, as it links libringmon.so:
 * one producer per process) may come after libmongoc.
 *
 * The program must behave as without us: nothing is printed here (libringmon
 * prints its one line if it cannot start), every call returns what libmongoc
 * returned, and when ringmon is off the wrappers only pass calls through.
 * libmongoc may call its own exported functions (mongoc_client_new calls
 * mongoc_client_new_from_uri...): a per-thread depth keeps us to one
 * instrumentation, by the outermost wrapper. */
#define _GNU_SOURCE
#include <errno.h>

#include <ringmon/ringmon.h>
#include <ringmon/ringmon_mongoc.h>
#include "mongo_internal.h"

static __thread int depth;

/* The next definition of name, resolved once. */
#define REAL(ret, name, ...)                                                       \
	static ret (*real)(__VA_ARGS__);                                           \
	ret (*r_)(__VA_ARGS__) = __atomic_load_n(&real, __ATOMIC_ACQUIRE);         \
	if (!r_) {                                                                 \
		*(void **)&r_ = ringmon_mongoc__real_sym(#name);                             \
		__atomic_store_n(&real, r_, __ATOMIC_RELEASE);                     \
	}

static mongoc_client_t *instrument_client(mongoc_client_t *c)
{
	if (c && depth == 0)
		(void)ringmon_mongoc_client(c, NULL, NULL);
	return c;
}

static mongoc_client_pool_t *instrument_pool(mongoc_client_pool_t *p)
{
	if (p && depth == 0)
		(void)ringmon_mongoc__pool_preload(p);
	return p;
}

EXPORT mongoc_client_t *mongoc_client_new(const char *uri_string)
{
	REAL(mongoc_client_t *, mongoc_client_new, const char *);
	if (!r_)
		return NULL;
	depth++;
	mongoc_client_t *c = r_(uri_string);
	depth--;
	return instrument_client(c);
}

EXPORT mongoc_client_t *mongoc_client_new_from_uri(const mongoc_uri_t *uri)
{
	REAL(mongoc_client_t *, mongoc_client_new_from_uri, const mongoc_uri_t *);
	if (!r_)
		return NULL;
	depth++;
	mongoc_client_t *c = r_(uri);
	depth--;
	return instrument_client(c);
}

EXPORT mongoc_client_t *mongoc_client_new_from_uri_with_error(const mongoc_uri_t *uri,
							     bson_error_t *error)
{
	REAL(mongoc_client_t *, mongoc_client_new_from_uri_with_error, const mongoc_uri_t *,
	     bson_error_t *);
	if (!r_)
		return NULL;
	depth++;
	mongoc_client_t *c = r_(uri, error);
	depth--;
	return instrument_client(c);
}

EXPORT mongoc_client_pool_t *mongoc_client_pool_new(const mongoc_uri_t *uri)
{
	REAL(mongoc_client_pool_t *, mongoc_client_pool_new, const mongoc_uri_t *);
	if (!r_)
		return NULL;
	depth++;
	mongoc_client_pool_t *p = r_(uri);
	depth--;
	return instrument_pool(p);
}

EXPORT mongoc_client_pool_t *mongoc_client_pool_new_with_error(const mongoc_uri_t *uri,
							      bson_error_t *error)
{
	REAL(mongoc_client_pool_t *, mongoc_client_pool_new_with_error, const mongoc_uri_t *,
	     bson_error_t *);
	if (!r_)
		return NULL;
	depth++;
	mongoc_client_pool_t *p = r_(uri, error);
	depth--;
	return instrument_pool(p);
}

EXPORT bool mongoc_client_set_apm_callbacks(mongoc_client_t *client,
					    mongoc_apm_callbacks_t *callbacks, void *context)
{
	return ringmon_mongoc__client_set_apm(client, callbacks, context);
}

EXPORT bool mongoc_client_pool_set_apm_callbacks(mongoc_client_pool_t *pool,
						 mongoc_apm_callbacks_t *callbacks, void *context)
{
	return ringmon_mongoc__pool_set_apm(pool, callbacks, context);
}

EXPORT mongoc_client_t *mongoc_client_pool_pop(mongoc_client_pool_t *pool)
{
	return ringmon_mongoc_pool_pop(pool);
}

EXPORT mongoc_client_t *mongoc_client_pool_try_pop(mongoc_client_pool_t *pool)
{
	return ringmon_mongoc_pool_try_pop(pool);
}

EXPORT void mongoc_client_pool_push(mongoc_client_pool_t *pool, mongoc_client_t *client)
{
	ringmon_mongoc_pool_push(pool, client);
}

EXPORT void mongoc_client_destroy(mongoc_client_t *client)
{
	ringmon_mongoc_client_destroy(client);
}

EXPORT void mongoc_client_pool_destroy(mongoc_client_pool_t *pool)
{
	ringmon_mongoc_pool_destroy(pool);
}
