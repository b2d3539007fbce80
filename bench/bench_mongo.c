/* bench_mongo.c - what ringmon's MongoDB adapter costs per command.
 *
 * Clients run the same ping loop against bench/mongo_responder.c, interleaved
 * round by round (the order rotated) so that drift hits all alike:
 *   none     no APM callbacks (unmonitored)
 *   null     APM callbacks that do nothing: libmongoc's own cost of events
 *   ringmon  instrumented with ringmon_mongoc_client()
 *   timed    ringmon's own callbacks, called from thin wrappers that read the
 *            clock around each (this links the adapter's internal
 *            mongo_apm_callbacks(), which static linking allows)
 * The figures that count are measured through the responder's in-process
 * stream (mongoc_client_set_stream_initiator): the reply is made inside the
 * client's own writev, so a ping costs no syscall and no wait, and the client
 * thread's CPU time per ping is libmongoc's and the callbacks' work alone.
 *   callbacks_ns  the time measured inside ringmon's started + succeeded
 *                 callbacks per command (write-error detection included: it
 *                 searches every succeeded reply), minus the cost of the clock
 *                 reads themselves; the median of the rounds' means
 *   apm_ns        libmongoc's own APM cost: the median paired per-round
 *                 difference in CPU time per ping, do-nothing callbacks minus
 *                 none (what libmongoc spends building, dispatching and freeing
 *                 the events)
 * and their ratio. On loopback (a real round trip, ~20-50 us on a VM, varying
 * by more than the few hundred ns looked for) only the share of a round trip
 * is reported. Output: bench_util.h rows and notes.
 *
 * BENCH_MONGO_ONLY=none|null|ring runs that one client alone through the
 * in-process stream, 100 warm-up pings then BENCH_MONGO_PINGS pings, and
 * prints nothing: bench/run.sh counts its instructions under callgrind at two
 * ping counts, so that the difference per ping holds no start-up cost. Built
 * three times: bench_mongo links libringmon statically (the timed client needs
 * its internals), bench_mongo_shared (-DBENCH_MONGO_SHARED: no timed client,
 * only BENCH_MONGO_ONLY) links the shared libraries as users do, whose
 * thread-local data costs calls the static link does not have, and
 * bench_mongo_plain (also -DBENCH_MONGO_PLAIN) links no ringmon at all: the
 * none and null clients as programs without ringmon, whose libmongoc calls
 * libbson's own clock (ringmon's adapter interposes it: mongo_clock.c).
 *
 * In bench_mongo every client's libmongoc calls ringmon's clock, so the time
 * figure adds what that costs the ringmon client: libmongoc's clock reads per
 * command (counted) times what each costs more than libbson's (timed). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mongoc/mongoc.h>

#include "bench_util.h"
#include "mongo_responder.h"
#include <ringmon/ringmon.h>
#include <ringmon/ringmon_mongoc.h>
#ifndef BENCH_MONGO_SHARED
#include "mongo_internal.h"
/* libmongoc's reads of ringmon's clock on this thread so far (mongo_clock.c) */
#define CLOCK_READS() mongo_clock.reads
#else
#define CLOCK_READS() 0
#endif

static void null_started(const mongoc_apm_command_started_t *e)
{
	(void)e;
}
static void null_succeeded(const mongoc_apm_command_succeeded_t *e)
{
	(void)e;
}

/* ringmon's callbacks, called through timing wrappers */
static uint64_t cb_ns, cb_calls;

#ifndef BENCH_MONGO_SHARED
static struct mongo_app_cbs ring_cbs;
static struct mongo_ctx *timed_ctx;

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
#endif

static double cpu_per_ping; /* of the last round_ns */

/* Mean ns per ping over n pings (wall clock); the thread's CPU time per
 * ping into cpu_per_ping. */
static double round_ns(mongoc_client_t *c, const bson_t *cmd, int n)
{
	uint64_t c0 = bu_thread_cpu_ns();
	uint64_t t0 = bu_now_ns();
	for (int i = 0; i < n; i++) {
		bson_t reply;
		bson_error_t err;
		if (!mongoc_client_command_simple(c, "admin", cmd, NULL, &reply, &err)) {
			fprintf(stderr, "bench_mongo: ping failed: %s\n", err.message);
			exit(1);
		}
		bson_destroy(&reply);
	}
	double wall = (double)(bu_now_ns() - t0) / n;
	cpu_per_ping = (double)(bu_thread_cpu_ns() - c0) / n;
	return wall;
}

enum { NONE, NUL, RING, TIMED, NCLIENTS };
static const char *const client_names[NCLIENTS] = {"none", "null", "ring", "timed"};

/* A client of the given kind, through the in-process stream or to port. */
static mongoc_client_t *make_client(int kind, int port)
{
	char uri[128];
	snprintf(uri, sizeof(uri), "mongodb://127.0.0.1:%d/?serverSelectionTimeoutMS=2000",
		 port ? port : 27017);
	mongoc_client_t *c = mongoc_client_new(uri);
	if (!c) {
		fprintf(stderr, "bench_mongo: mongoc_client_new(%s) failed\n", uri);
		exit(1);
	}
	if (!port)
		mongoc_client_set_stream_initiator(c, mr_stream_initiator, NULL);
	mongoc_apm_callbacks_t *cb;
	switch (kind) {
	case NUL:
		cb = mongoc_apm_callbacks_new();
		mongoc_apm_set_command_started_cb(cb, null_started);
		mongoc_apm_set_command_succeeded_cb(cb, null_succeeded);
		mongoc_client_set_apm_callbacks(c, cb, NULL);
		mongoc_apm_callbacks_destroy(cb);
		break;
	case RING: {
#ifdef BENCH_MONGO_PLAIN
		abort(); /* main() refuses it */
#else
		int err = ringmon_mongoc_client(c, NULL, NULL);
		if (err) {
			fprintf(stderr, "bench_mongo: %s\n", ringmon_mongoc_strerror(err));
			exit(1);
		}
		break;
#endif
	}
	case TIMED: { /* ringmon's context, our wrappers around its callbacks */
#ifdef BENCH_MONGO_SHARED
		abort(); /* main() never asks for it */
#else
		struct mongo_ctx *ctx = timed_ctx = mongo_ctx_new(c, MONGO_CLIENT);
		mongoc_apm_callbacks_t *rc = mongo_apm_callbacks();
		mongo_app_cbs_copy(&ring_cbs, rc);
		mongoc_apm_callbacks_destroy(rc);
		cb = mongoc_apm_callbacks_new();
		mongoc_apm_set_command_started_cb(cb, timed_started);
		mongoc_apm_set_command_succeeded_cb(cb, timed_succeeded);
		mongoc_client_set_apm_callbacks(c, cb, ctx);
		mongoc_apm_callbacks_destroy(cb);
		break;
#endif
	}
	}
	return c;
}

static void destroy_client(int kind, mongoc_client_t *c)
{
	(void)kind;
#ifndef BENCH_MONGO_PLAIN
	if (kind == RING)
		ringmon_mongoc_client_destroy(c);
	else
#endif
		mongoc_client_destroy(c);
#ifndef BENCH_MONGO_SHARED
	if (kind == TIMED)
		mongo_ctx_release(timed_ctx);
#endif
}

#define ROUNDS 31
#define LOOPBACK_ROUNDS 11
static int PER_ROUND = 3000;

/* libmongoc's log, less its DEBUG lines (it says "Using custom stream
 * initiator" for each client): warnings and errors still reach stderr */
static void log_quiet(mongoc_log_level_t level, const char *domain, const char *msg, void *u)
{
	if (level <= MONGOC_LOG_LEVEL_WARNING)
		mongoc_log_default_handler(level, domain, msg, u);
}

int main(void)
{
	const char *only = getenv("BENCH_MONGO_ONLY"), *pings = getenv("BENCH_MONGO_PINGS");
	if (pings)
		PER_ROUND = atoi(pings) > 0 ? atoi(pings) : 1;
	mongoc_init();
	mongoc_log_set_handler(log_quiet, NULL);
	bson_t *ping = BCON_NEW("ping", BCON_INT32(1));
	if (only) { /* one client alone, for callgrind */
		int kind = -1;
		for (int k = 0; k < TIMED; k++)
			if (strcmp(only, client_names[k]) == 0)
				kind = k;
		if (kind < 0) {
			fprintf(stderr, "bench_mongo: BENCH_MONGO_ONLY=%s: use none, null or ring\n", only);
			return 2;
		}
#ifdef BENCH_MONGO_PLAIN
		if (kind == RING) {
			fprintf(stderr, "bench_mongo_plain: has no ringmon: BENCH_MONGO_ONLY=ring "
					"is bench_mongo_shared's\n");
			return 2;
		}
#endif
		mongoc_client_t *c = make_client(kind, 0);
		round_ns(c, ping, 100);
		round_ns(c, ping, PER_ROUND);
		destroy_client(kind, c);
		bson_destroy(ping);
		mongoc_cleanup();
		return 0;
	}
#ifdef BENCH_MONGO_SHARED
	fprintf(stderr, "bench_mongo_shared: runs one client alone for callgrind: set "
			"BENCH_MONGO_ONLY=none, null or ring (bench/run.sh does)\n");
	return 2;
#endif
	int port = mr_listen();
	if (port < 0) {
		perror("bench_mongo: listen on loopback");
		return 1;
	}
	mongoc_client_t *mem[NCLIENTS], *net[2];
	for (int k = 0; k < NCLIENTS; k++)
		mem[k] = make_client(k, 0);
	net[0] = make_client(NONE, port);
	net[1] = make_client(RING, port);
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
	/* warm up: connections, key registration, caches */
	for (int k = 0; k < NCLIENTS; k++)
		round_ns(mem[k], ping, 500);
	round_ns(net[0], ping, 500);
	round_ns(net[1], ping, 500);
	/* libmongoc's clock: ringmon's interposed one (mongo_clock.c) against
	 * libbson's own, the least of 20 batches each, alternated */
	int64_t (*libbson_clock)(void) = (int64_t(*)(void))dlsym(RTLD_NEXT, "bson_get_monotonic_time");
	double ours_ns = 1e9, libbson_ns = 1e9;
	for (int b = 0; libbson_clock && b < 20; b++) {
		for (int which = 0; which < 2; which++) {
			int64_t (*f)(void) = which ? libbson_clock : bson_get_monotonic_time;
			uint64_t c0 = bu_now_ns();
			for (int i = 0; i < 5000; i++)
				(void)f();
			double d = (double)(bu_now_ns() - c0) / 5000;
			double *best = which ? &libbson_ns : &ours_ns;
			if (d < *best)
				*best = d;
		}
	}
	double clock_added = libbson_clock && ours_ns > libbson_ns ? ours_ns - libbson_ns : 0;
	double cpu[NCLIENTS][ROUNDS], apm_diff[ROUNDS], ring_diff[ROUNDS], cb_round[ROUNDS];
	uint64_t calls = 0, clock_reads = 0;
	for (int r = 0; r < ROUNDS; r++) {
		for (int k = 0; k < NCLIENTS; k++) {
			int i = (k + r) % NCLIENTS; /* no client always runs first */
			if (i == TIMED)
				cb_ns = cb_calls = 0;
			uint64_t reads0 = CLOCK_READS();
			round_ns(mem[i], ping, PER_ROUND);
			cpu[i][r] = cpu_per_ping;
			if (i == TIMED) {
				cb_round[r] = cb_calls ? (double)cb_ns / (double)cb_calls : 0;
				calls += cb_calls;
				clock_reads += CLOCK_READS() - reads0;
			}
		}
		/* paired: each round's runs saw the same conditions */
		apm_diff[r] = cpu[NUL][r] - cpu[NONE][r];
		ring_diff[r] = cpu[RING][r] - cpu[NUL][r];
	}
	/* loopback: the share of a real round trip */
	double rtt[2][LOOPBACK_ROUNDS];
	int per_net = PER_ROUND / 3 > 0 ? PER_ROUND / 3 : 1;
	for (int r = 0; r < LOOPBACK_ROUNDS; r++)
		for (int k = 0; k < 2; k++) {
			int i = (k + r) % 2;
			rtt[i][r] = round_ns(net[i], ping, per_net);
		}
	/* the median round: a preemption inside a callback moves one round only */
	double per_cmd = bu_median(cb_round, ROUNDS);
	/* two callbacks per command, each with two clock reads around it; plus
	 * what libmongoc's reads of ringmon's clock cost more than of libbson's */
	double reads_per_cmd = calls ? (double)clock_reads / (double)calls : 0;
	double callbacks = (per_cmd > 2.0 * clock_ns ? per_cmd - 2.0 * clock_ns : 0) +
			   reads_per_cmd * clock_added;
	double apm = bu_median(apm_diff, ROUNDS);
	double ratio = apm > 0 ? callbacks / apm : 0;
	double m_cpu[NCLIENTS];
	for (int k = 0; k < NCLIENTS; k++)
		m_cpu[k] = bu_median(cpu[k], ROUNDS);
	double m_none = bu_median(rtt[0], LOOPBACK_ROUNDS), m_ring = bu_median(rtt[1], LOOPBACK_ROUNDS);
	char c1[32], c2[160], c3[32], c4[80];
	bu_row("MongoDB: ringmon's APM callbacks per command (ns)",
	       bu_fmt(c1, sizeof(c1), "%.0f", callbacks),
	       bu_fmt(c2, sizeof(c2), "libmongoc's own APM cost %.0f (do-nothing callbacks, same run)",
		      apm),
	       bu_fmt(c3, sizeof(c3), "%.2fx", ratio),
	       bu_fmt(c4, sizeof(c4), "<= 250 ns and <= 0.6x libmongoc's APM: %s",
		      bu_met(callbacks <= 250 && apm > 0 && ratio <= 0.6)));
	bu_note("mongo: client thread CPU per ping through the in-process stream (medians): "
		"unmonitored %.0f ns, do-nothing APM %.0f, ringmon %.0f; median paired differences: "
		"do-nothing APM - unmonitored %.0f ns (libmongoc's APM cost), ringmon - do-nothing "
		"APM %.0f ns (ringmon's callbacks, a cross-check of the figure timed inside)",
		m_cpu[NONE], m_cpu[NUL], m_cpu[RING], apm, bu_median(ring_diff, ROUNDS));
	bu_note("mongo: %d rounds x %d pings per client, the 4 clients in rotated order; callbacks "
		"timed inside over %llu commands (the median of the rounds' means), minus 2 clock "
		"reads of %.0f ns each, plus libmongoc's %.2f reads of its clock per command times "
		"%.1f ns, what ringmon's interposed clock costs more than libbson's (%.1f ns "
		"against %.1f)",
		ROUNDS, PER_ROUND, (unsigned long long)calls, clock_ns, reads_per_cmd, clock_added,
		ours_ns, libbson_ns);
	if (!libbson_clock)
		bu_note("mongo: libbson's bson_get_monotonic_time not found (dlsym): the cost of "
			"ringmon's interposed clock is not counted");
	bu_note("mongo: on loopback (the responder in a thread of this process; %d rounds x %d "
		"pings) the unmonitored round trip is %.0f ns, the ringmon client's %.0f (round "
		"trips vary by more than ringmon's cost): ringmon's callbacks are %.2f%% of one",
		LOOPBACK_ROUNDS, per_net, m_none, m_ring, 100.0 * callbacks / m_none);
	bson_destroy(ping);
	destroy_client(NONE, net[0]);
	destroy_client(RING, net[1]);
	for (int k = 0; k < NCLIENTS; k++)
		destroy_client(k, mem[k]);
	mongoc_cleanup();
	return 0;
}
