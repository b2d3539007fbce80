/* bench_mongo.c - what ringmon's MongoDB adapter costs per command.
 *
 * A tiny responder thread on loopback answers hello/isMaster with what
 * libmongoc needs and every other command as a replica set member answers a
 * ping ({ok: 1, $clusterTime, operationTime}), at once. Clients run
 * the same ping loop, interleaved round by round so that drift hits all alike:
 *   none     no APM callbacks (unmonitored)
 *   null     APM callbacks that do nothing: libmongoc's own cost of events
 *   ringmon  instrumented with ringmon_mongoc_client()
 *   timed    ringmon's own callbacks, called from thin wrappers that read the
 *            clock around each (this links the adapter's internal
 *            mongo_apm_callbacks(), which static linking allows)
 * On loopback a round trip is ~20-30 us and varies by more than the few
 * hundred ns we look for, so the round-trip differences (rtt_delta_ns,
 * reported, medians of paired per-round differences) are a noisy
 * cross-check. The figure that counts, overhead_ns = callbacks_ns, is the
 * time measured inside ringmon's started + succeeded callbacks per command
 * (write-error detection included: it searches every succeeded reply), minus
 * the cost of the two clock reads themselves. Beside it, libmongoc's own APM
 * cost in the same run: the median paired per-round difference, in the client
 * thread's CPU time per ping, between the client with do-nothing callbacks and
 * the unmonitored one (what libmongoc spends building the events), and the
 * ratio of the two. Output:
 * bench_util.h rows and notes. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <mongoc/mongoc.h>

#include "bench_util.h"
#include <ringmon/ringmon.h>
#include <ringmon/ringmon_mongoc.h>
#include "mongo_internal.h"

#define OP_REPLY 1
#define OP_QUERY 2004
#define OP_MSG 2013

static int read_full(int fd, void *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, (char *)buf + got, n - got);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

static int write_full(int fd, const void *buf, size_t n)
{
	size_t put = 0;
	while (put < n) {
		ssize_t r = write(fd, (const char *)buf + put, n - put);
		if (r <= 0)
			return -1;
		put += (size_t)r;
	}
	return 0;
}

static void put32(uint8_t *p, int32_t v)
{
	memcpy(p, &v, 4); /* the wire is little-endian, as is x86 */
}

/* Answers one connection until it closes. */
static void *serve_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	bson_t *hello = BCON_NEW("helloOk", BCON_BOOL(true), "ismaster", BCON_BOOL(true),
				 "isWritablePrimary", BCON_BOOL(true), "maxBsonObjectSize",
				 BCON_INT32(16777216), "maxMessageSizeBytes", BCON_INT32(48000000),
				 "maxWriteBatchSize", BCON_INT32(100000), "minWireVersion",
				 BCON_INT32(0), "maxWireVersion", BCON_INT32(13), "connectionId",
				 BCON_INT32(1), "ok", BCON_DOUBLE(1));
	/* what a replica set member answers a ping: ok and the cluster time */
	bson_t *ok = BCON_NEW("ok", BCON_DOUBLE(1), "$clusterTime", "{", "clusterTime",
			      BCON_TIMESTAMP(1700000000, 1), "signature", "{", "hash",
			      BCON_BIN(BSON_SUBTYPE_BINARY, (const uint8_t *)"01234567890123456789", 20),
			      "keyId", BCON_INT64(7300000000000000001), "}", "}", "operationTime",
			      BCON_TIMESTAMP(1700000000, 1));
	static uint8_t in[1 << 20];
	uint8_t out[4096];
	int32_t rid = 1;
	for (;;) {
		uint8_t h[16];
		if (read_full(fd, h, 16))
			break;
		int32_t len, req, op;
		memcpy(&len, h, 4);
		memcpy(&req, h + 4, 4);
		memcpy(&op, h + 12, 4);
		if (len < 16 || len > (int32_t)sizeof(in) || read_full(fd, in, (size_t)len - 16))
			break;
		const uint8_t *doc = NULL;
		size_t body = (size_t)len - 16;
		if (op == OP_MSG && body > 5 && in[4] == 0) {
			doc = in + 5;
		} else if (op == OP_QUERY && body > 4) {
			const uint8_t *p = memchr(in + 4, 0, body - 4);
			if (p && (size_t)(p + 9 - in) < body)
				doc = p + 9;
		}
		const bson_t *reply = ok;
		if (doc) {
			int32_t dl;
			memcpy(&dl, doc, 4);
			bson_t b;
			bson_iter_t it;
			if (dl >= 5 && doc + dl <= in + body && bson_init_static(&b, doc, (size_t)dl) &&
			    bson_iter_init(&it, &b) && bson_iter_next(&it) &&
			    (strcasecmp(bson_iter_key(&it), "hello") == 0 ||
			     strcasecmp(bson_iter_key(&it), "isMaster") == 0))
				reply = hello;
		}
		size_t n;
		if (op == OP_QUERY) { /* OP_REPLY: flags, cursor id, start, count, doc */
			n = 16 + 20 + reply->len;
			memset(out, 0, 36);
			put32(out + 12, OP_REPLY);
			put32(out + 32, 1);
			memcpy(out + 36, bson_get_data(reply), reply->len);
		} else { /* OP_MSG: flags, section kind 0, doc */
			n = 16 + 5 + reply->len;
			memset(out, 0, 21);
			put32(out + 12, OP_MSG);
			memcpy(out + 21, bson_get_data(reply), reply->len);
		}
		put32(out, (int32_t)n);
		put32(out + 4, rid++);
		put32(out + 8, req);
		if (write_full(fd, out, n))
			break;
	}
	bson_destroy(hello);
	bson_destroy(ok);
	close(fd);
	return NULL;
}

static void *serve(void *arg)
{
	int ls = (int)(intptr_t)arg;
	for (;;) {
		int fd = accept(ls, NULL, NULL);
		if (fd < 0)
			return NULL;
		pthread_t th;
		pthread_create(&th, NULL, serve_conn, (void *)(intptr_t)fd);
		pthread_detach(th);
	}
}

static void null_started(const mongoc_apm_command_started_t *e)
{
	(void)e;
}
static void null_succeeded(const mongoc_apm_command_succeeded_t *e)
{
	(void)e;
}

/* ringmon's callbacks, called through timing wrappers */
static struct mongo_app_cbs ring_cbs;
static uint64_t cb_ns, cb_calls;

static void timed_started(const mongoc_apm_command_started_t *e)
{
	uint64_t t0 = bu_now_ns();
	ring_cbs.fn[CB_CMD_STARTED](e);
	cb_ns += bu_now_ns() - t0;
	cb_calls++;
}
static void timed_succeeded(const mongoc_apm_command_succeeded_t *e)
{
	uint64_t t0 = bu_now_ns();
	ring_cbs.fn[CB_CMD_SUCCEEDED](e);
	cb_ns += bu_now_ns() - t0;
}

/* CPU time of the calling thread, ns: what the client spends itself, not
 * the time it waits for the responder (far less noisy than the round trip
 * on a busy machine) */
static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
static double cpu_per_ping; /* of the last round_ns */

/* Mean ns per ping over n pings (wall clock); the thread's CPU time per
 * ping into cpu_per_ping. */
static double round_ns(mongoc_client_t *c, const bson_t *cmd, int n)
{
	uint64_t c0 = thread_cpu_ns();
	uint64_t t0 = bu_now_ns();
	for (int i = 0; i < n; i++) {
		bson_t reply;
		if (!mongoc_client_command_simple(c, "admin", cmd, NULL, &reply, NULL)) {
			fprintf(stderr, "bench_mongo: ping failed\n");
			exit(1);
		}
		bson_destroy(&reply);
	}
	double wall = (double)(bu_now_ns() - t0) / n;
	cpu_per_ping = (double)(thread_cpu_ns() - c0) / n;
	return wall;
}

#define ROUNDS 31
static int PER_ROUND = 1500; /* BENCH_MONGO_PINGS: fewer, e.g. under valgrind */

int main(void)
{
	if (getenv("BENCH_MONGO_PINGS"))
		PER_ROUND = atoi(getenv("BENCH_MONGO_PINGS")) > 0 ? atoi(getenv("BENCH_MONGO_PINGS")) : 1;
	int ls = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 16) ||
	    getsockname(ls, (struct sockaddr *)&a, &al)) {
		perror("bench_mongo: listen");
		return 1;
	}
	pthread_t th;
	pthread_create(&th, NULL, serve, (void *)(intptr_t)ls);
	pthread_detach(th);

	mongoc_init();
	char uri[128];
	snprintf(uri, sizeof(uri), "mongodb://127.0.0.1:%d/?serverSelectionTimeoutMS=2000",
		 ntohs(a.sin_port));
	mongoc_client_t *none = mongoc_client_new(uri), *null = mongoc_client_new(uri),
			*ring = mongoc_client_new(uri);
	mongoc_apm_callbacks_t *cb = mongoc_apm_callbacks_new();
	mongoc_apm_set_command_started_cb(cb, null_started);
	mongoc_apm_set_command_succeeded_cb(cb, null_succeeded);
	mongoc_client_set_apm_callbacks(null, cb, NULL);
	mongoc_apm_callbacks_destroy(cb);
	int err = ringmon_mongoc_client(ring, NULL, NULL);
	if (err) {
		fprintf(stderr, "bench_mongo: %s\n", ringmon_mongoc_strerror(err));
		return 1;
	}
	/* the timed client: ringmon's context, our wrappers around its callbacks */
	mongoc_client_t *timed = mongoc_client_new(uri);
	struct mongo_ctx *ctx = mongo_ctx_new(timed, MONGO_CLIENT);
	mongoc_apm_callbacks_t *rc = mongo_apm_callbacks();
	mongo_app_cbs_copy(&ring_cbs, rc);
	mongoc_apm_callbacks_destroy(rc);
	cb = mongoc_apm_callbacks_new();
	mongoc_apm_set_command_started_cb(cb, timed_started);
	mongoc_apm_set_command_succeeded_cb(cb, timed_succeeded);
	mongoc_client_set_apm_callbacks(timed, cb, ctx);
	mongoc_apm_callbacks_destroy(cb);
	/* what two clock reads cost, to take out of each callback's time */
	/* the least of 20 batches: a busy machine only ever adds to it */
	double clock_ns = 1e9;
	for (int b = 0; b < 20; b++) {
		uint64_t c0 = bu_now_ns();
		for (int i = 0; i < 5000; i++)
			(void)bu_now_ns();
		double d = (double)(bu_now_ns() - c0) / 5000;
		if (d < clock_ns)
			clock_ns = d;
	}
	bson_t *ping = BCON_NEW("ping", BCON_INT32(1));
	/* warm up: connections, key registration, caches */
	round_ns(none, ping, 500);
	round_ns(null, ping, 500);
	round_ns(ring, ping, 500);
	round_ns(timed, ping, 500);
	cb_ns = cb_calls = 0;
	double t_none[ROUNDS], t_null[ROUNDS], t_ring[ROUNDS], diff[ROUNDS], cbk[ROUNDS];
	double apm_diff[ROUNDS], ring_cpu_diff[ROUNDS], cb_round[ROUNDS];
	uint64_t calls = 0;
	for (int r = 0; r < ROUNDS; r++) {
		/* rotate the order so that no variant always runs first */
		mongoc_client_t *order[4] = {none, null, ring, timed};
		double got[4], cpu[4];
		for (int k = 0; k < 4; k++) {
			int i = (k + r) % 4;
			if (i == 3)
				cb_ns = cb_calls = 0;
			got[i] = round_ns(order[i], ping, PER_ROUND);
			cpu[i] = cpu_per_ping;
			if (i == 3) {
				cb_round[r] = cb_calls ? (double)cb_ns / (double)cb_calls : 0;
				calls += cb_calls;
			}
		}
		t_none[r] = got[0];
		t_null[r] = got[1];
		t_ring[r] = got[2];
		diff[r] = got[2] - got[0];
		cbk[r] = got[2] - got[1];
		/* by the client thread's CPU time: the responder's and the
		 * scheduler's noise stay out */
		apm_diff[r] = cpu[1] - cpu[0];
		ring_cpu_diff[r] = cpu[2] - cpu[1];
	}
	double m_none = bu_median(t_none, ROUNDS), m_null = bu_median(t_null, ROUNDS),
	       m_ring = bu_median(t_ring, ROUNDS);
	/* paired differences: each round's runs saw the same conditions */
	double delta = bu_median(diff, ROUNDS), delta_null = bu_median(cbk, ROUNDS);
	/* the median round: a preemption inside a callback moves one round only */
	double per_cmd = bu_median(cb_round, ROUNDS);
	/* two callbacks per command, each with two clock reads around it */
	double callbacks = per_cmd > 2.0 * clock_ns ? per_cmd - 2.0 * clock_ns : 0;
	double share = 100.0 * callbacks / m_none;
	/* libmongoc's own APM cost: do-nothing callbacks against none, paired */
	double apm = bu_median(apm_diff, ROUNDS);
	double ratio = apm > 0 ? callbacks / apm : 0;
	char c1[32], c2[160], c3[32], c4[80];
	bu_row("MongoDB: ringmon's APM callbacks per command (ns)",
	       bu_fmt(c1, sizeof(c1), "%.0f", callbacks),
	       bu_fmt(c2, sizeof(c2), "libmongoc's own APM cost %.0f (do-nothing callbacks, same run)",
		      apm),
	       bu_fmt(c3, sizeof(c3), "%.2fx", ratio),
	       bu_fmt(c4, sizeof(c4), "<= 250 ns and <= 0.6x libmongoc's APM: %s",
		      bu_met(callbacks <= 250 && apm > 0 && ratio <= 0.6)));
	bu_note("mongo: the unmonitored round trip is %.0f ns on loopback (a local minimal "
		"responder): ringmon's callbacks are %.2f%% of it", m_none, share);
	bu_note("mongo: client thread CPU per ping, median paired differences: do-nothing APM - "
		"unmonitored %.0f ns (libmongoc's APM cost), ringmon - do-nothing APM %.0f ns (ringmon's "
		"callbacks, cross-check)", apm, bu_median(ring_cpu_diff, ROUNDS));
	bu_note("mongo: round trips (median ns): unmonitored %.0f, do-nothing APM callbacks %.0f, "
		"ringmon client %.0f; paired per-round differences: ringmon - unmonitored %.0f, "
		"ringmon - do-nothing APM %.0f (noisy cross-checks)",
		m_none, m_null, m_ring, delta, delta_null);
	bu_note("mongo: %d rounds x %d pings per client, the 4 clients in rotated order; callbacks "
		"timed inside over %llu commands (the median of the rounds' means), minus 2 clock "
		"reads of %.0f ns each",
		ROUNDS, PER_ROUND, (unsigned long long)calls, clock_ns);
	bson_destroy(ping);
	ringmon_mongoc_client_destroy(ring);
	mongoc_client_destroy(timed);
	mongo_ctx_release(ctx);
	mongoc_client_destroy(null);
	mongoc_client_destroy(none);
	mongoc_cleanup();
	return 0;
}
