/* prog_mongo_plain.c - an ordinary libmongoc program that knows nothing of
 * ringmon, for the LD_PRELOAD tests (test_mongo_preload.c).
 *
 * usage: prog_mongo_plain URI client|client-apm|pool|pool-apm
 * Runs 5 pings, 3 inserts, 2 finds and 2 distincts (the mock fails those when
 * started with --error-commands distinct). The -apm modes set their own APM
 * callbacks and print what they saw; output must not depend on a preload.
 * With PROG_DURATIONS=FILE, the -apm modes also write each finished command's
 * request id and libmongoc's duration in us to FILE, a line each. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mongoc/mongoc.h>

struct seen {
	int magic;
	int started, succeeded, failed, topology_opening, server_opening, wrong_ctx;
};
#define SEEN_MAGIC 0x5eed

#define CHECK(e, getter)                                                           \
	struct seen *s = getter(e);                                                \
	if (!s || s->magic != SEEN_MAGIC) {                                        \
		wrong_ctx++;                                                       \
		return;                                                            \
	}
static int wrong_ctx;
static FILE *durations; /* PROG_DURATIONS, or NULL */

static void on_started(const mongoc_apm_command_started_t *e)
{
	CHECK(e, mongoc_apm_command_started_get_context);
	__atomic_add_fetch(&s->started, 1, __ATOMIC_RELAXED);
}
static void on_succeeded(const mongoc_apm_command_succeeded_t *e)
{
	CHECK(e, mongoc_apm_command_succeeded_get_context);
	__atomic_add_fetch(&s->succeeded, 1, __ATOMIC_RELAXED);
	if (durations)
		fprintf(durations, "%lld %lld\n",
			(long long)mongoc_apm_command_succeeded_get_request_id(e),
			(long long)mongoc_apm_command_succeeded_get_duration(e));
}
static void on_failed(const mongoc_apm_command_failed_t *e)
{
	CHECK(e, mongoc_apm_command_failed_get_context);
	__atomic_add_fetch(&s->failed, 1, __ATOMIC_RELAXED);
	if (durations)
		fprintf(durations, "%lld %lld\n",
			(long long)mongoc_apm_command_failed_get_request_id(e),
			(long long)mongoc_apm_command_failed_get_duration(e));
}
static void on_top_opening(const mongoc_apm_topology_opening_t *e)
{
	CHECK(e, mongoc_apm_topology_opening_get_context);
	__atomic_add_fetch(&s->topology_opening, 1, __ATOMIC_RELAXED);
}
static void on_srv_opening(const mongoc_apm_server_opening_t *e)
{
	CHECK(e, mongoc_apm_server_opening_get_context);
	__atomic_add_fetch(&s->server_opening, 1, __ATOMIC_RELAXED);
}

static mongoc_apm_callbacks_t *callbacks(void)
{
	mongoc_apm_callbacks_t *cb = mongoc_apm_callbacks_new();
	mongoc_apm_set_command_started_cb(cb, on_started);
	mongoc_apm_set_command_succeeded_cb(cb, on_succeeded);
	mongoc_apm_set_command_failed_cb(cb, on_failed);
	mongoc_apm_set_topology_opening_cb(cb, on_top_opening);
	mongoc_apm_set_server_opening_cb(cb, on_srv_opening);
	return cb;
}

static int run(mongoc_client_t *c, const char *json)
{
	bson_error_t err;
	bson_t *cmd = bson_new_from_json((const uint8_t *)json, -1, &err);
	bson_t reply;
	int ok = cmd && mongoc_client_command_simple(c, "app", cmd, NULL, &reply, &err);
	if (cmd)
		bson_destroy(&reply);
	bson_destroy(cmd);
	return ok;
}

static void workload(mongoc_client_t *c, int *ok, int *failed)
{
	const char *cmds[] = {
		"{\"ping\": 1}", "{\"ping\": 1}", "{\"ping\": 1}", "{\"ping\": 1}", "{\"ping\": 1}",
		"{\"insert\": \"items\", \"documents\": [{\"_id\": 1}]}",
		"{\"insert\": \"items\", \"documents\": [{\"_id\": 2}]}",
		"{\"insert\": \"items\", \"documents\": [{\"_id\": 3}]}",
		"{\"find\": \"items\", \"filter\": {}}", "{\"find\": \"items\", \"filter\": {}}",
		"{\"distinct\": \"items\", \"key\": \"x\"}", "{\"distinct\": \"items\", \"key\": \"x\"}",
	};
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		run(c, cmds[i]) ? (*ok)++ : (*failed)++;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s URI client|client-apm|pool|pool-apm\n", argv[0]);
		return 2;
	}
	int apm = strstr(argv[2], "-apm") != NULL;
	int pooled = strncmp(argv[2], "pool", 4) == 0;
	struct seen seen = {.magic = SEEN_MAGIC};
	int ok = 0, failed = 0;
	const char *dpath = getenv("PROG_DURATIONS");
	if (apm && dpath && !(durations = fopen(dpath, "w"))) {
		perror(dpath);
		return 1;
	}
	mongoc_init();
	mongoc_apm_callbacks_t *cb = apm ? callbacks() : NULL;
	if (pooled) {
		mongoc_uri_t *uri = mongoc_uri_new(argv[1]);
		mongoc_client_pool_t *pool = mongoc_client_pool_new(uri);
		if (apm) {
			printf("set %d\n", mongoc_client_pool_set_apm_callbacks(pool, cb, &seen));
			/* libmongoc allows one call: the second must fail, as always */
			printf("set again %d\n", mongoc_client_pool_set_apm_callbacks(pool, cb, &seen));
		}
		for (int round = 0; round < 2; round++) {
			mongoc_client_t *c = mongoc_client_pool_pop(pool);
			workload(c, &ok, &failed);
			mongoc_client_t *c2 = mongoc_client_pool_try_pop(pool);
			if (c2)
				mongoc_client_pool_push(pool, c2);
			mongoc_client_pool_push(pool, c);
		}
		mongoc_client_pool_destroy(pool);
		mongoc_uri_destroy(uri);
	} else {
		mongoc_client_t *c = mongoc_client_new(argv[1]);
		if (apm)
			printf("set %d\n", mongoc_client_set_apm_callbacks(c, cb, &seen));
		workload(c, &ok, &failed);
		if (apm) /* clearing them: no more events for us */
			printf("clear %d\n", mongoc_client_set_apm_callbacks(c, NULL, NULL));
		run(c, "{\"ping\": 1}") ? ok++ : failed++;
		mongoc_client_destroy(c);
	}
	if (cb)
		mongoc_apm_callbacks_destroy(cb);
	printf("commands ok %d failed %d\n", ok, failed);
	if (apm)
		printf("events started %d succeeded %d failed %d topology_opening %d "
		       "server_opening %d wrong_ctx %d\n",
		       seen.started, seen.succeeded, seen.failed, seen.topology_opening,
		       seen.server_opening, wrong_ctx);
	mongoc_cleanup();
	if (durations && fclose(durations) != 0)
		return 1;
	return failed == (pooled ? 4 : 2) ? 0 : 1;
}
