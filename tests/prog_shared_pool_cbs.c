/* prog_shared_pool_cbs.c - an application written for the linked adapter: it
 * instruments its pools with ringmon_mongoc_pool() and its own callbacks right
 * after mongoc_client_pool_new(), as <ringmon/ringmon_mongoc.h> says, and pops
 * through the wrappers. Linked with the shared libraries; its output must be
 * the same when it is also started under LD_PRELOAD=libringmon-preload.so
 * (test_mongo_preload.c), where the preload has instrumented every pool first.
 *
 * usage: prog_shared_pool_cbs URI
 * Prints each call's return value and what its callback saw, with which
 * context. */
#include <stdio.h>
#include <string.h>

#include <ringmon/ringmon_mongoc.h>

static int mine, seen, foreign;

static void on_started(const mongoc_apm_command_started_t *e)
{
	if (strcmp(mongoc_apm_command_started_get_command_name(e), "ping") != 0)
		return;
	if (mongoc_apm_command_started_get_context(e) == &mine)
		seen++;
	else
		foreign++;
}

static int ping(mongoc_client_t *c)
{
	bson_t *cmd = BCON_NEW("ping", BCON_INT32(1));
	bool ok = mongoc_client_command_simple(c, "admin", cmd, NULL, NULL, NULL);
	bson_destroy(cmd);
	return ok;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: prog_shared_pool_cbs URI\n");
		return 2;
	}
	mongoc_init();
	mongoc_uri_t *uri = mongoc_uri_new(argv[1]);
	mongoc_apm_callbacks_t *cb = mongoc_apm_callbacks_new();
	mongoc_apm_set_command_started_cb(cb, on_started);

	/* instrumented with the application's callbacks, 5 pings */
	mongoc_client_pool_t *p = mongoc_client_pool_new(uri);
	int r1 = ringmon_mongoc_pool(p, cb, &mine);
	int ok = 0;
	for (int i = 0; i < 5; i++) {
		mongoc_client_t *c = ringmon_mongoc_pool_pop(p);
		ok += ping(c);
		ringmon_mongoc_pool_push(p, c);
	}
	int r2 = ringmon_mongoc_pool(p, cb, &mine); /* after a pop */
	ringmon_mongoc_pool_destroy(p);
	printf("pool with callbacks: %d, after pops %d; pings ok %d, the callback saw %d with "
	       "its context, %d with another\n", r1, r2, ok, seen, foreign);

	/* instrumented twice before the first pop */
	seen = foreign = 0;
	p = mongoc_client_pool_new(uri);
	r1 = ringmon_mongoc_pool(p, NULL, NULL);
	r2 = ringmon_mongoc_pool(p, cb, &mine);
	mongoc_client_t *c = ringmon_mongoc_pool_pop(p);
	ok = ping(c);
	ringmon_mongoc_pool_push(p, c);
	ringmon_mongoc_pool_destroy(p);
	printf("pool instrumented twice: %d %d; pings ok %d, the callback saw %d\n", r1, r2, ok,
	       seen + foreign);

	/* instrumented without callbacks, then the application's own set */
	seen = foreign = 0;
	p = mongoc_client_pool_new(uri);
	r1 = ringmon_mongoc_pool(p, NULL, NULL);
	bool set = mongoc_client_pool_set_apm_callbacks(p, cb, &mine);
	c = ringmon_mongoc_pool_pop(p);
	ok = ping(c);
	ringmon_mongoc_pool_push(p, c);
	ringmon_mongoc_pool_destroy(p);
	printf("pool instrumented, then set: %d %s; pings ok %d, the callback saw %d\n", r1,
	       set ? "true" : "false", ok, seen + foreign);

	mongoc_apm_callbacks_destroy(cb);
	mongoc_uri_destroy(uri);
	mongoc_cleanup();
	return 0;
}
