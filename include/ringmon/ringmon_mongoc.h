/* ringmon_mongoc.h - ringmon for libmongoc: MongoDB driver events as ringmon records.
 *
 * Instrumenting a mongoc_client_t or mongoc_client_pool_t turns libmongoc's 12
 * APM events (commands, server and topology changes, heartbeats) into ringmon
 * records with exact per-command, per-collection, per-error and per-server
 * counters and latency histograms; the pool wrappers below also time client
 * checkouts. `ringmon top` shows them while your program runs. Command and
 * reply bodies are never stored; sensitive commands (authentication, user
 * management) contribute their name only. docs/mongodb.md lists every type,
 * key and field.
 *
 * Build: pkg-config --cflags --libs ringmon-mongoc (libringmon-mongoc, on
 * libringmon, the core). Without code changes: LD_PRELOAD=libringmon-preload.so
 * ./app instruments every client and pool the application creates.
 *
 * Example:
 *
 *     #include <ringmon/ringmon_mongoc.h>
 *
 *     mongoc_client_pool_t *pool = mongoc_client_pool_new(uri);
 *     int err = ringmon_mongoc_pool(pool, my_callbacks, my_ctx); // or NULL, NULL
 *     if (err)
 *             fprintf(stderr, "ringmon: %s\n", ringmon_mongoc_strerror(err));
 *     mongoc_client_t *client = ringmon_mongoc_pool_pop(pool);  // timed checkout
 *     ... run commands: recorded ...
 *     ringmon_mongoc_pool_push(pool, client);
 *     ringmon_mongoc_pool_destroy(pool);
 *
 * Your own callbacks: pass them (and their context) to ringmon_mongoc_client()
 * or ringmon_mongoc_pool() instead of calling mongoc_*_set_apm_callbacks()
 * yourself. Each is called exactly as before, after ringmon's, and
 * mongoc_apm_*_get_context() returns your context inside them (ringmon
 * interposes those 12 getters: they return your context for an instrumented
 * client or pool, and any other context unchanged). That needs your program to
 * call ringmon's getters, not libmongoc's: link -lringmon-mongoc before
 * -lmongoc-1.0 (pkg-config --libs ringmon-mongoc does). When you pass
 * callbacks and the getters your process resolves are libmongoc's, the
 * functions below return -ELIBBAD and change nothing (said once on stderr),
 * rather than let your callbacks see ringmon's context.
 *
 * What may be called concurrently:
 *   call                                    any thread        after fork (child)
 *   ringmon_mongoc_client                   yes, one call per client at a time   yes
 *   ringmon_mongoc_pool                     yes, before the pool's first pop     yes
 *   ringmon_mongoc_pool_pop/try_pop/push    yes (as libmongoc's)                 yes
 *   ringmon_mongoc_*_destroy                as libmongoc's destroy               yes
 *   ringmon_mongoc_strerror                 yes                                  yes
 * None may be called from a signal handler. With a pool, libmongoc calls the
 * SDAM and heartbeat callbacks on its monitor threads while command callbacks
 * run on yours: ringmon's callbacks keep no shared mutable state except atomics
 * and per-thread tables; yours must be as thread-safe as they were before.
 * Events of a forked child go to the child's own segment.
 *
 * Contexts: ringmon keeps one small record per instrumented client or pool
 * (at most 1024 alive at once), released by ringmon_mongoc_client_destroy()
 * and ringmon_mongoc_pool_destroy(); destroying with libmongoc's own destroy
 * leaks that slot (harmless until 1024 are leaked).
 */
#ifndef RINGMON_MONGOC_H
#define RINGMON_MONGOC_H

/* mongoc.h names struct addrinfo in a prototype, which strict -std=c11 code
 * (no POSIX feature macros) has not declared: declare the tag first */
struct addrinfo;
#include <mongoc/mongoc.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Instruments a single-threaded client: sets its APM callbacks to ringmon's,
 * which also call app_cbs (may be NULL) with app_ctx. Calling it again on the
 * same client replaces the application's callbacks (NULL clears them), like
 * mongoc_client_set_apm_callbacks(). app_cbs is copied: free it when you like;
 * app_ctx must outlive the client. Do not set APM callbacks on the client
 * directly afterwards (that removes ringmon's).
 * Returns 0, -EINVAL (NULL client), -EPERM (a client popped from a pool:
 * instrument the pool), -ELIBBAD (app_cbs given, but libmongoc's getters come
 * first on the link line: see above), -ENOSPC (1024 instrumented objects alive), -ENOMEM,
 * -ENOTSUP/-ENOSYS (this libmongoc is not one ringmon knows). If ringmon itself
 * is off (RINGMON_DISABLE, no segment), it still succeeds and records nothing.
 * Allocates a little; not for the hot path. */
int ringmon_mongoc_client(mongoc_client_t *client, const mongoc_apm_callbacks_t *app_cbs,
			  void *app_ctx);

/* Instruments a pool, like ringmon_mongoc_client(). libmongoc allows one
 * mongoc_client_pool_set_apm_callbacks() per pool, before the first pop, so
 * call this right after mongoc_client_pool_new() and give it your callbacks.
 * Returns 0, -EINVAL, -EBUSY (the pool already handed out a client through the
 * wrappers below or the preload; a pop made with plain mongoc_client_pool_pop()
 * before instrumenting cannot be detected), -EALREADY (instrumented before by
 * this function, or the application already set callbacks on it; under
 * LD_PRELOAD=libringmon-preload.so the preload's own instrumenting of the pool
 * does not count: the first call takes your callbacks, as linked alone),
 * -ELIBBAD, -ENOSPC, -ENOMEM, -ENOTSUP, -ENOSYS. */
int ringmon_mongoc_pool(mongoc_client_pool_t *pool, const mongoc_apm_callbacks_t *app_cbs,
			void *app_ctx);

/* mongoc_client_pool_pop() / _try_pop() that record a pool.checkout: the wait
 * as duration; outcome 0 (got a client), 1 (pop timed out after
 * waitQueueTimeoutMS: NULL), 2 (try_pop found none: NULL); clients in use
 * after. Work on any pool, instrumented or not. Blocks as libmongoc's does.
 * Returns the client (owned by the pool: give it back with
 * ringmon_mongoc_pool_push()), or NULL as libmongoc's. */
mongoc_client_t *ringmon_mongoc_pool_pop(mongoc_client_pool_t *pool);
mongoc_client_t *ringmon_mongoc_pool_try_pop(mongoc_client_pool_t *pool);

/* mongoc_client_pool_push() that records a pool.checkin (clients in use
 * after). The in-use count is right when every pop and push of the pool goes
 * through these wrappers (or the preload). */
void ringmon_mongoc_pool_push(mongoc_client_pool_t *pool, mongoc_client_t *client);

/* Call INSTEAD of mongoc_client_destroy / mongoc_client_pool_destroy (never both:
 * that destroys the object twice): libmongoc's destroy, then releases ringmon's
 * record of the client or pool.
 * NULL is a no-op. */
void ringmon_mongoc_client_destroy(mongoc_client_t *client);
void ringmon_mongoc_pool_destroy(mongoc_client_pool_t *pool);

/* What a negative return of the functions above means and what to do, as a
 * static string. Never NULL. */
const char *ringmon_mongoc_strerror(int err);

#ifdef __cplusplus
}
#endif
#endif
