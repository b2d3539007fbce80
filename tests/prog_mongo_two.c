/* prog_mongo_two.c - an ordinary libmongoc program that knows nothing of
 * ringmon, with a client pool to each of two deployments (a service with its
 * main cluster and a separate audit database), for the Servers view tests
 * under LD_PRELOAD (e2e_top_servers.sh).
 *
 * usage: prog_mongo_two SECONDS URI [URI2]
 * Pings every deployment every 100 ms for SECONDS, then exits 0. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <mongoc/mongoc.h>

int main(int argc, char **argv)
{
	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: %s SECONDS URI [URI2]\n", argv[0]);
		return 2;
	}
	double seconds = atof(argv[1]);
	int n = argc - 2;
	mongoc_init();
	mongoc_uri_t *uri[2];
	mongoc_client_pool_t *pool[2];
	for (int i = 0; i < n; i++) {
		uri[i] = mongoc_uri_new(argv[2 + i]);
		if (!uri[i]) {
			fprintf(stderr, "bad URI %s\n", argv[2 + i]);
			return 2;
		}
		pool[i] = mongoc_client_pool_new(uri[i]);
	}
	bson_t *ping = BCON_NEW("ping", BCON_INT32(1));
	struct timespec start, now, nap = {0, 100 * 1000 * 1000};
	clock_gettime(CLOCK_MONOTONIC, &start);
	do {
		for (int i = 0; i < n; i++) {
			mongoc_client_t *c = mongoc_client_pool_pop(pool[i]);
			bson_error_t err;
			mongoc_client_command_simple(c, "admin", ping, NULL, NULL, &err);
			mongoc_client_pool_push(pool[i], c);
		}
		nanosleep(&nap, NULL);
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while ((double)(now.tv_sec - start.tv_sec) + (double)(now.tv_nsec - start.tv_nsec) / 1e9 < seconds);
	bson_destroy(ping);
	for (int i = 0; i < n; i++) {
		mongoc_client_pool_destroy(pool[i]);
		mongoc_uri_destroy(uri[i]);
	}
	mongoc_cleanup();
	return 0;
}
