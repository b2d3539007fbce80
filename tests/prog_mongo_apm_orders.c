/* prog_mongo_apm_orders.c - a plain libmongoc program that knows nothing of
 * ringmon: sets APM callbacks on clients and pools in every order libmongoc
 * accepts (before and after the first pop, twice, cleared with NULL, on a
 * pooled client) and prints what each call returned and what each of its
 * callbacks saw, with which context. Its output must be the same with and
 * without LD_PRELOAD=libringmon-preload.so (test_mongo_preload.c).
 *
 * usage: prog_mongo_apm_orders URI
 * Only what libmongoc makes deterministic is printed: command events of the
 * pings, and for pools whether SDAM events reached a callback set before the
 * first pop (they start with it). libmongoc logs to stderr where it refuses. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>

#include <mongoc/mongoc.h>

/* A callback context: counts what reached it. */
struct app {
	const char *name;
	int started, succeeded, topology;
};
static struct app A = {.name = "A"}, B = {.name = "B"};
static int foreign; /* events whose context was none of ours */

static struct app *ctx_of(void *p)
{
	if (p == &A || p == &B)
		return p;
	foreign++;
	return NULL;
}

static void on_started(const mongoc_apm_command_started_t *e)
{
	struct app *a = ctx_of(mongoc_apm_command_started_get_context(e));
	if (a && strcmp(mongoc_apm_command_started_get_command_name(e), "ping") == 0)
		a->started++;
}

static void on_succeeded(const mongoc_apm_command_succeeded_t *e)
{
	struct app *a = ctx_of(mongoc_apm_command_succeeded_get_context(e));
	if (a && strcmp(mongoc_apm_command_succeeded_get_command_name(e), "ping") == 0)
		a->succeeded++;
}

static void on_topology_opening(const mongoc_apm_topology_opening_t *e)
{
	struct app *a = ctx_of(mongoc_apm_topology_opening_get_context(e));
	if (a)
		__atomic_fetch_add(&a->topology, 1, __ATOMIC_RELAXED);
}

static mongoc_apm_callbacks_t *callbacks(void)
{
	mongoc_apm_callbacks_t *cb = mongoc_apm_callbacks_new();
	mongoc_apm_set_command_started_cb(cb, on_started);
	mongoc_apm_set_command_succeeded_cb(cb, on_succeeded);
	mongoc_apm_set_topology_opening_cb(cb, on_topology_opening);
	return cb;
}

static int ping(mongoc_client_t *c)
{
	bson_t *cmd = BCON_NEW("ping", BCON_INT32(1));
	bool ok = mongoc_client_command_simple(c, "admin", cmd, NULL, NULL, NULL);
	bson_destroy(cmd);
	return ok;
}

static void reset(void)
{
	A.started = A.succeeded = A.topology = 0;
	B.started = B.succeeded = B.topology = 0;
	foreign = 0;
}

static void report(const char *scenario, const char *returns, int pings_ok)
{
	printf("%-28s returned %-16s pings ok %d; A saw %d started %d succeeded%s; "
	       "B saw %d started %d succeeded; foreign contexts %d\n",
	       scenario, returns, pings_ok, A.started, A.succeeded,
	       A.topology ? " and topology-opening" : "", B.started, B.succeeded, foreign);
	fflush(stdout);
}

#define TF(b) ((b) ? 't' : 'f')

/* A new pool whose callbacks are set twice before the first pop, then a ping. */
static void pool_two_sets(const mongoc_uri_t *uri, const char *scenario,
			  mongoc_apm_callbacks_t *cb1, void *ctx1, mongoc_apm_callbacks_t *cb2,
			  void *ctx2)
{
	char r[8];
	reset();
	mongoc_client_pool_t *p = mongoc_client_pool_new(uri);
	bool r1 = mongoc_client_pool_set_apm_callbacks(p, cb1, ctx1);
	bool r2 = mongoc_client_pool_set_apm_callbacks(p, cb2, ctx2);
	mongoc_client_t *c = mongoc_client_pool_pop(p);
	int ok = ping(c);
	mongoc_client_pool_push(p, c);
	mongoc_client_pool_destroy(p);
	snprintf(r, sizeof(r), "%c%c", TF(r1), TF(r2));
	report(scenario, r, ok);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: prog_mongo_apm_orders URI\n");
		return 2;
	}
	mongoc_init();
	mongoc_uri_t *uri = mongoc_uri_new(argv[1]);
	mongoc_apm_callbacks_t *cb = callbacks();
	char r[32];
	int ok;

	/* a client: set, ping, replace, ping, clear, ping, set again, ping */
	reset();
	mongoc_client_t *c = mongoc_client_new_from_uri(uri);
	bool r1 = mongoc_client_set_apm_callbacks(c, cb, &A);
	ok = ping(c);
	bool r2 = mongoc_client_set_apm_callbacks(c, cb, &B);
	ok += ping(c);
	bool r3 = mongoc_client_set_apm_callbacks(c, NULL, NULL);
	ok += ping(c);
	bool r4 = mongoc_client_set_apm_callbacks(c, cb, &A);
	ok += ping(c);
	mongoc_client_destroy(c);
	snprintf(r, sizeof(r), "%c%c%c%c", TF(r1), TF(r2), TF(r3), TF(r4));
	report("client A,B,NULL,A", r, ok);

	/* a pool: set before the first pop */
	reset();
	mongoc_client_pool_t *p = mongoc_client_pool_new(uri);
	r1 = mongoc_client_pool_set_apm_callbacks(p, cb, &A);
	c = mongoc_client_pool_pop(p);
	ok = ping(c);
	mongoc_client_pool_push(p, c);
	mongoc_client_pool_destroy(p);
	snprintf(r, sizeof(r), "%c", TF(r1));
	report("pool set, pop", r, ok);

	/* a pool: pop, then set (libmongoc 1.23 accepts it): the client popped
	 * before keeps no callbacks, one made after gets them; pushed back and
	 * popped again, the first is still without */
	reset();
	p = mongoc_client_pool_new(uri);
	mongoc_client_t *c1 = mongoc_client_pool_pop(p);
	r1 = mongoc_client_pool_set_apm_callbacks(p, cb, &A);
	ok = ping(c1);
	mongoc_client_t *c2 = mongoc_client_pool_pop(p);
	ok += ping(c2);
	mongoc_client_pool_push(p, c1);
	mongoc_client_t *c3 = mongoc_client_pool_pop(p); /* c1 again */
	ok += ping(c3);
	mongoc_client_pool_push(p, c3);
	mongoc_client_pool_push(p, c2);
	mongoc_client_pool_destroy(p);
	snprintf(r, sizeof(r), "%c", TF(r1));
	report("pool pop, set", r, ok);

	/* a pool: set twice (the second is refused), then pop */
	pool_two_sets(uri, "pool set A, set B, pop", cb, &A, cb, &B);
	/* a pool: cleared with NULL first, then set */
	pool_two_sets(uri, "pool set NULL, set A, pop", NULL, NULL, cb, &A);

	/* a pooled client's own callbacks: refused */
	reset();
	p = mongoc_client_pool_new(uri);
	c = mongoc_client_pool_pop(p);
	r1 = mongoc_client_set_apm_callbacks(c, cb, &A);
	ok = ping(c);
	mongoc_client_pool_push(p, c);
	mongoc_client_pool_destroy(p);
	snprintf(r, sizeof(r), "%c", TF(r1));
	report("pooled client set A", r, ok);

	mongoc_apm_callbacks_destroy(cb);
	mongoc_uri_destroy(uri);
	mongoc_cleanup();
	return 0;
}
