/* prog_mongo_churn.c - an ordinary libmongoc program that knows nothing of
 * ringmon and makes many short-lived topologies before its lasting one, for
 * the Servers view tests under LD_PRELOAD (e2e_top_servers.sh): a service
 * that opens a client per request, then settles on a pool.
 *
 * usage: prog_mongo_churn SECONDS CLIENTS URI
 * Creates, pings and destroys CLIENTS single-threaded clients one after
 * another, then one pool (popped, pinged, pushed, destroyed: libmongoc 1.23
 * then sends topology.closed and no server.closed), prints "churned" on
 * stdout, then pings through a lasting pool every 100 ms for SECONDS and
 * exits 0. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <mongoc/mongoc.h>

static void ping(mongoc_client_t *c, const bson_t *cmd)
{
	bson_error_t err;
	mongoc_client_command_simple(c, "admin", cmd, NULL, NULL, &err);
}

static void ping_pool(mongoc_client_pool_t *pool, const bson_t *cmd)
{
	mongoc_client_t *c = mongoc_client_pool_pop(pool);
	ping(c, cmd);
	mongoc_client_pool_push(pool, c);
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: %s SECONDS CLIENTS URI\n", argv[0]);
		return 2;
	}
	double seconds = atof(argv[1]);
	int clients = atoi(argv[2]);
	mongoc_init();
	mongoc_uri_t *uri = mongoc_uri_new(argv[3]);
	if (!uri) {
		fprintf(stderr, "bad URI %s\n", argv[3]);
		return 2;
	}
	bson_t *cmd = BCON_NEW("ping", BCON_INT32(1));
	for (int i = 0; i < clients; i++) {
		mongoc_client_t *c = mongoc_client_new_from_uri(uri);
		ping(c, cmd);
		mongoc_client_destroy(c);
	}
	mongoc_client_pool_t *pool = mongoc_client_pool_new(uri);
	ping_pool(pool, cmd);
	mongoc_client_pool_destroy(pool);
	printf("churned\n");
	fflush(stdout);
	pool = mongoc_client_pool_new(uri);
	struct timespec start, now, nap = {0, 100 * 1000 * 1000};
	clock_gettime(CLOCK_MONOTONIC, &start);
	do {
		ping_pool(pool, cmd);
		nanosleep(&nap, NULL);
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while ((double)(now.tv_sec - start.tv_sec) + (double)(now.tv_nsec - start.tv_nsec) / 1e9 < seconds);
	mongoc_client_pool_destroy(pool);
	bson_destroy(cmd);
	mongoc_uri_destroy(uri);
	mongoc_cleanup();
	return 0;
}
