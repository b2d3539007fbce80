/* loadgen_mongo.c - the MongoDB workload of ringmon-loadgen: a realistic command
 * mix through a ringmon-instrumented libmongoc client or pool.
 *
 * Each thread runs insert, find (now and then with batchSize 2, so a getMore
 * follows), update, delete, aggregate, count, findAndModify, and a share that
 * the server rejects (a duplicate-key insert, and whatever the server fails on
 * purpose, e.g. the mock's --error-commands). At the end: one line per
 * command and outcome ("insert ok 123"), then "issued N". */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mongoc/mongoc.h>

#include "loadgen.h"
#include <ringmon/ringmon.h>
#include <ringmon/ringmon_mongoc.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

enum op { OP_INSERT, OP_FIND, OP_GETMORE, OP_UPDATE, OP_DELETE, OP_AGGREGATE, OP_COUNT,
	  OP_FAM, OP_DUPKEY, OP_COUNT_ALL };
static const char *const op_name[OP_COUNT_ALL] = {
	/* operations, not commands: "find+getMore" is one find with batchSize 2 and
	 * the getMores its cursor needs (`stats` counts the commands apart) */
	"insert", "find", "find+getMore", "update", "delete", "aggregate", "count",
	"findAndModify", "insert(dup)",
};

struct worker {
	pthread_t th;
	int index;
	mongoc_client_pool_t *pool;
	mongoc_client_t *client; /* single-threaded mode */
	double seconds;
	uint64_t ok[OP_COUNT_ALL], failed[OP_COUNT_ALL];
	int fatal;
	char err[256];
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ringmon-loadgen --uri URI [--threads T] [--pool] [--seconds S]\n"
		"\n"
		"Runs a MongoDB command mix (insert, find + getMore, update, delete, aggregate,\n"
		"count, findAndModify, and some that fail: duplicate-key inserts) through a\n"
		"ringmon-instrumented libmongoc, so that `ringmon top` has commands to show.\n"
		"At the end it prints each operation's ok and failed counts (operations, not\n"
		"commands: find+getMore is a find and the getMores of its cursor).\n"
		"  --uri URI      server or replica set (e.g. the URI tests/mongo/mockserver.py prints)\n"
		"  --threads T    threads, each with its own client (default 1, at most 64)\n"
		"  --pool         threads share one mongoc_client_pool_t (timed checkouts)\n"
		"  --seconds S    run time (default 10; 0 runs until SIGINT/SIGTERM)\n"
		"Prints `COMMAND ok|failed N` per command and outcome, then `issued N`.\n"
		"Exit status: 0 done, 1 runtime error (cannot connect...), 2 usage error.\n");
}

/* One operation; returns 1 if the server accepted it. */
static int do_op(mongoc_collection_t *coll, enum op op, uint64_t r, bson_error_t *err)
{
	bson_t *doc = NULL, *filter = NULL, *opts = NULL, *upd = NULL;
	bson_t reply;
	int ok = 0;
	int64_t id = (int64_t)(r % 100000);
	bson_init(&reply);
	switch (op) {
	case OP_INSERT:
		doc = BCON_NEW("x", BCON_INT64(id), "tag", "loadgen");
		ok = mongoc_collection_insert_one(coll, doc, NULL, &reply, err);
		break;
	case OP_DUPKEY:
		/* against a real server the second of these fails with E11000 */
		doc = BCON_NEW("_id", BCON_INT32(1));
		ok = mongoc_collection_insert_one(coll, doc, NULL, &reply, err);
		if (ok)
			ok = mongoc_collection_insert_one(coll, doc, NULL, &reply, err);
		break;
	case OP_FIND:
	case OP_GETMORE: {
		filter = BCON_NEW("x", "{", "$gte", BCON_INT64(0), "}");
		if (op == OP_GETMORE)
			opts = BCON_NEW("batchSize", BCON_INT32(2));
		else
			opts = BCON_NEW("limit", BCON_INT32(10));
		mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, filter, opts, NULL);
		const bson_t *d;
		while (mongoc_cursor_next(cur, &d))
			;
		ok = !mongoc_cursor_error(cur, err);
		mongoc_cursor_destroy(cur);
		break;
	}
	case OP_UPDATE:
		filter = BCON_NEW("x", BCON_INT64(id));
		upd = BCON_NEW("$inc", "{", "n", BCON_INT32(1), "}");
		ok = mongoc_collection_update_one(coll, filter, upd, NULL, &reply, err);
		break;
	case OP_DELETE:
		filter = BCON_NEW("x", BCON_INT64(id));
		ok = mongoc_collection_delete_one(coll, filter, NULL, &reply, err);
		break;
	case OP_AGGREGATE: {
		bson_t *pipe = BCON_NEW("pipeline", "[", "{", "$match", "{", "tag", "loadgen", "}",
					"}", "{", "$group", "{", "_id", BCON_NULL, "n", "{",
					"$sum", BCON_INT32(1), "}", "}", "}", "]");
		mongoc_cursor_t *cur =
			mongoc_collection_aggregate(coll, MONGOC_QUERY_NONE, pipe, NULL, NULL);
		const bson_t *d;
		while (mongoc_cursor_next(cur, &d))
			;
		ok = !mongoc_cursor_error(cur, err);
		mongoc_cursor_destroy(cur);
		bson_destroy(pipe);
		break;
	}
	case OP_COUNT:
		/* the plain "count" command */
		ok = mongoc_collection_estimated_document_count(coll, NULL, NULL, &reply, err) >= 0;
		break;
	case OP_FAM:
		filter = BCON_NEW("x", BCON_INT64(id));
		upd = BCON_NEW("$set", "{", "seen", BCON_BOOL(true), "}");
		ok = mongoc_collection_find_and_modify(coll, filter, NULL, upd, NULL, false, false,
						       true, &reply, err);
		break;
	default:
		break;
	}
	bson_destroy(&reply);
	if (doc)
		bson_destroy(doc);
	if (filter)
		bson_destroy(filter);
	if (opts)
		bson_destroy(opts);
	if (upd)
		bson_destroy(upd);
	return ok;
}

/* The mix, in eighths of a hundred: mostly reads and inserts, 3% duplicates. */
static enum op pick(uint64_t r)
{
	unsigned p = (unsigned)(r % 100);
	if (p < 22)
		return OP_INSERT;
	if (p < 44)
		return OP_FIND;
	if (p < 49)
		return OP_GETMORE;
	if (p < 62)
		return OP_UPDATE;
	if (p < 70)
		return OP_DELETE;
	if (p < 80)
		return OP_AGGREGATE;
	if (p < 89)
		return OP_COUNT;
	if (p < 97)
		return OP_FAM;
	return OP_DUPKEY;
}

static void *run_worker(void *arg)
{
	struct worker *w = arg;
	uint64_t seed = 0x9e3779b97f4a7c15ull * (uint64_t)(w->index + 1);
	uint64_t end = w->seconds > 0 ? ringmon_now_ns() + (uint64_t)(w->seconds * 1e9) : UINT64_MAX;
	int net_errors = 0;
	while (!stop && ringmon_now_ns() < end) {
		mongoc_client_t *c = w->pool ? ringmon_mongoc_pool_pop(w->pool) : w->client;
		if (!c) {
			snprintf(w->err, sizeof(w->err), "no client from the pool (waitQueueTimeoutMS?)");
			continue;
		}
		mongoc_collection_t *coll = mongoc_client_get_collection(c, "loadgen", "items");
		uint64_t r = loadgen_rnd(&seed);
		enum op op = pick(r);
		bson_error_t err = {0};
		if (do_op(coll, op, loadgen_rnd(&seed), &err)) {
			w->ok[op]++;
			net_errors = 0;
		} else {
			w->failed[op]++;
			/* server selection failures in a row: nobody answers there */
			if (err.domain == MONGOC_ERROR_SERVER_SELECTION && ++net_errors >= 3) {
				snprintf(w->err, sizeof(w->err), "%s", err.message);
				w->fatal = 1;
			}
		}
		mongoc_collection_destroy(coll);
		if (w->pool)
			ringmon_mongoc_pool_push(w->pool, c);
		if (w->fatal)
			break;
	}
	return NULL;
}

int loadgen_mongo_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"uri", required_argument, NULL, 'u'}, {"threads", required_argument, NULL, 't'},
		{"pool", no_argument, NULL, 'p'},      {"seconds", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},      {NULL, 0, NULL, 0},
	};
	const char *uri_s = NULL;
	long threads = 1;
	int use_pool = 0;
	double seconds = 10;
	int ch;
	char *end;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'u':
			uri_s = optarg;
			break;
		case 't':
			threads = strtol(optarg, &end, 10);
			if (*end || threads < 1 || threads > 64) {
				fprintf(stderr, "ringmon-loadgen: --threads wants 1..64, got '%s'\n", optarg);
				return 2;
			}
			break;
		case 'p':
			use_pool = 1;
			break;
		case 's':
			seconds = strtod(optarg, &end);
			if (*end || seconds < 0) {
				fprintf(stderr, "ringmon-loadgen: --seconds wants a number >= 0, got '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ringmon-loadgen: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (!uri_s || !*uri_s) {
		fprintf(stderr, "ringmon-loadgen: --uri wants a MongoDB URI (mongodb://host:port/)\n");
		return 2;
	}
	if (threads > 1 && !use_pool)
		fprintf(stderr, "ringmon-loadgen: %ld threads, each with its own client "
			"(--pool to share one pool)\n", threads);

	mongoc_init();
	mongoc_log_set_handler(NULL, NULL); /* outcomes are counted, not logged */
	bson_error_t err;
	mongoc_uri_t *uri = mongoc_uri_new_with_error(uri_s, &err);
	if (!uri) {
		fprintf(stderr, "ringmon-loadgen: bad --uri '%s': %s\n", uri_s, err.message);
		mongoc_cleanup();
		return 2;
	}
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	int rc = 0;
	mongoc_client_pool_t *pool = NULL;
	struct worker *w = calloc((size_t)threads, sizeof(*w));
	if (!w) {
		fprintf(stderr, "ringmon-loadgen: out of memory\n");
		rc = 1;
		goto out;
	}
	if (use_pool) {
		pool = mongoc_client_pool_new_with_error(uri, &err);
		if (!pool) {
			fprintf(stderr, "ringmon-loadgen: cannot make a pool: %s\n", err.message);
			rc = 1;
			goto out;
		}
		int e = ringmon_mongoc_pool(pool, NULL, NULL);
		if (e)
			fprintf(stderr, "ringmon-loadgen: not monitored: %s\n", ringmon_mongoc_strerror(e));
	}
	for (long i = 0; i < threads; i++) {
		w[i].index = (int)i;
		w[i].seconds = seconds;
		w[i].pool = pool;
		if (!pool) {
			w[i].client = mongoc_client_new_from_uri_with_error(uri, &err);
			if (!w[i].client) {
				fprintf(stderr, "ringmon-loadgen: cannot make a client: %s\n", err.message);
				rc = 1;
				threads = i;
				goto join;
			}
			int e = ringmon_mongoc_client(w[i].client, NULL, NULL);
			if (e)
				fprintf(stderr, "ringmon-loadgen: not monitored: %s\n",
					ringmon_mongoc_strerror(e));
		}
	}
	for (long i = 0; i < threads; i++) {
		if (pthread_create(&w[i].th, NULL, run_worker, &w[i]) != 0) {
			fprintf(stderr, "ringmon-loadgen: cannot start thread %ld\n", i);
			stop = 1;
			threads = i;
			rc = 1;
			break;
		}
	}
join:
	for (long i = 0; i < threads; i++)
		if (w[i].th)
			pthread_join(w[i].th, NULL);
	uint64_t issued = 0;
	for (int op = 0; op < OP_COUNT_ALL; op++) {
		uint64_t ok = 0, failed = 0;
		for (long i = 0; i < threads; i++) {
			ok += w[i].ok[op];
			failed += w[i].failed[op];
		}
		printf("%s ok %llu\n%s failed %llu\n", op_name[op], (unsigned long long)ok,
		       op_name[op], (unsigned long long)failed);
		issued += ok + failed;
	}
	for (long i = 0; i < threads; i++) {
		if (w[i].fatal) {
			fprintf(stderr, "ringmon-loadgen: no server answers at %s: %s; start one "
				"(e.g. /usr/bin/python3 tests/mongo/mockserver.py --port 27017) or fix --uri\n",
				uri_s, w[i].err);
			rc = 1;
			break;
		}
	}
	printf("issued %llu\n", (unsigned long long)issued);
	for (long i = 0; i < threads; i++)
		if (w[i].client)
			ringmon_mongoc_client_destroy(w[i].client);
out:
	if (pool)
		ringmon_mongoc_pool_destroy(pool);
	free(w);
	mongoc_uri_destroy(uri);
	mongoc_cleanup();
	return rc;
}
