/* test_mongo_sdam.c - server, topology and heartbeat events of an instrumented
 * pool while the mock fails over, goes down and comes back, drops a member. */
#include "test_mongo_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static struct mock M;
static struct seg S;

static int stop_all(void **state)
{
	(void)state;
	mock_stop(&M);
	seg_detach(&S);
	return 0;
}

static mongoc_client_pool_t *pool_up(void)
{
	mongoc_uri_t *uri = mongoc_uri_new(M.uri);
	assert_non_null(uri);
	mongoc_client_pool_t *p = mongoc_client_pool_new(uri);
	mongoc_uri_destroy(uri);
	assert_int_equal(ringmon_mongoc_pool(p, NULL, NULL), 0);
	mongoc_client_t *c = ringmon_mongoc_pool_pop(p); /* starts monitoring */
	bson_t *b = BCON_NEW("ping", BCON_INT32(1));
	assert_true(mongoc_client_command_simple(c, "admin", b, NULL, NULL, NULL));
	bson_destroy(b);
	ringmon_mongoc_pool_push(p, c);
	return p;
}

/* server.changed records of one host since a time */
struct changes {
	uint64_t since;
	int key;              /* key id of the host, -1: any */
	int64_t want_prev, want_new; /* -1: any */
	int n;
};
static void see_change(const struct rb_record *r, void *arg)
{
	struct changes *c = arg;
	if (r->ts_ns >= c->since && (c->key < 0 || r->key == c->key) &&
	    (c->want_prev < 0 || r->field[0] == c->want_prev) &&
	    (c->want_new < 0 || r->field[1] == c->want_new))
		c->n++;
}

static int changes(const char *type, int port, uint64_t since, int64_t prev, int64_t now)
{
	char host[64];
	snprintf(host, sizeof(host), "127.0.0.1:%d", port);
	struct changes c = {since, port ? seg_key(&S, type, host) : -1, prev, now, 0};
	if (port && c.key < 0)
		return 0; /* host never seen */
	seg_records(&S, type, see_change, &c);
	return c.n;
}

struct change {
	const char *type;
	int port;
	uint64_t since;
	int64_t prev, now;
};
static int changed(void *arg)
{
	struct change *c = arg;
	return changes(c->type, c->port, c->since, c->prev, c->now) > 0;
}
/* waits up to ms for changes(...) >= 1; 1 if it came */
static int wait_change(const char *type, int port, uint64_t since, int64_t prev, int64_t now,
		       int ms)
{
	struct change c = {type, port, since, prev, now};
	char what[160];
	snprintf(what, sizeof(what), "a %s record for port %d (%lld -> %lld)", type, port,
		 (long long)prev, (long long)now);
	return th_wait_until(changed, &c, ms, what) == 0;
}
static uint64_t hb_want;
static int heartbeats_came(void *arg)
{
	(void)arg;
	return seg_count(&S, "heartbeat.succeeded", NULL) >= hb_want;
}

enum { SRV_UNKNOWN = 0, SRV_STANDALONE = 1, SRV_PRIMARY = 4, SRV_SECONDARY = 5 };
enum { TOP_WITH_PRIMARY = 3 };

static void failover_shows_as_server_and_topology_changes(void **state)
{
	(void)state;
	assert_int_equal(mock_start(&M, 3, 1, "--topology", "rs", NULL), 0);
	seg_self(&S);
	uint64_t t_start = ringmon_now_ns();
	mongoc_client_pool_t *p = pool_up();
	assert_true(wait_change("topology.changed", 0, t_start, -1, TOP_WITH_PRIMARY, 30000));
	assert_true(wait_change("server.changed", M.port, t_start, -1, SRV_PRIMARY, 30000));
	uint64_t t0 = ringmon_now_ns();
	assert_int_equal(mock_cmd(&M, "failover"), 0); /* member 2 becomes primary */
	assert_true(wait_change("server.changed", M.port + 2, t0, SRV_SECONDARY, SRV_PRIMARY, 30000));
	/* the old primary: straight to secondary, or through Unknown when the
	 * driver learns of the new primary first (SDAM invalidates the stale one) */
	assert_true(wait_change("server.changed", M.port, t0, -1, SRV_SECONDARY, 30000));
	assert_true(changes("topology.changed", 0, t0, -1, -1) >= 1);
	assert_true(seg_count(&S, "topology.changed", "ReplicaSetWithPrimary") >= 1);
	/* member 1 leaves the replica set: the driver closes it */
	uint64_t t1 = ringmon_now_ns();
	assert_int_equal(mock_cmd(&M, "remove 1"), 0);
	assert_true(wait_change("server.closed", M.port + 1, t1, -1, -1, 30000));
	ringmon_mongoc_pool_destroy(p);
	assert_true(seg_count(&S, "topology.closed", NULL) >= 1);
}

struct hb {
	uint64_t since;
	int awaited, polled, awaited_timed;
};
static void see_hb(const struct rb_record *r, void *arg)
{
	struct hb *h = arg;
	if (r->ts_ns < h->since)
		return;
	if (r->field[0]) {
		h->awaited++;
		h->awaited_timed += r->dur_ns != RB_NO_DURATION;
	} else {
		h->polled++;
	}
}

static void down_and_up_show_heartbeat_failures_and_recovery(void **state)
{
	(void)state;
	assert_int_equal(mock_start(&M, 1, 1, NULL), 0);
	seg_self(&S);
	uint64_t t_start = ringmon_now_ns();
	struct rb_summary *hb0 = seg_sum(&S, "heartbeat.succeeded", NULL);
	uint64_t f0 = seg_count(&S, "heartbeat.failed", NULL);
	mongoc_client_pool_t *p = pool_up();
	assert_true(wait_change("server.changed", M.port, t_start, -1, SRV_STANDALONE, 30000));
	/* a few heartbeats; the streaming (awaited) ones carry no duration */
	hb_want = hb0->count + 3;
	assert_int_equal(th_wait_until(heartbeats_came, NULL, 30000, "3 heartbeats succeed"), 0);
	uint64_t t0 = ringmon_now_ns();
	assert_int_equal(mock_cmd(&M, "down 0"), 0);
	assert_true(wait_change("server.changed", M.port, t0, SRV_STANDALONE, SRV_UNKNOWN, 30000));
	assert_true(wait_change("heartbeat.failed", M.port, t0, -1, -1, 30000));
	assert_true(seg_count(&S, "heartbeat.failed", NULL) > f0);
	uint64_t t1 = ringmon_now_ns();
	assert_int_equal(mock_cmd(&M, "up 0"), 0);
	assert_true(wait_change("server.changed", M.port, t1, SRV_UNKNOWN, SRV_STANDALONE, 30000));
	ringmon_mongoc_pool_destroy(p);

	struct hb h = {.since = t_start};
	seg_records(&S, "heartbeat.succeeded", see_hb, &h);
	struct rb_summary *hb1 = seg_sum(&S, "heartbeat.succeeded", NULL);
	rb_summary_sub(hb1, hb0);
	assert_true(h.polled >= 1);
	assert_int_equal(h.awaited_timed, 0);
	/* only polled heartbeats enter the RTT histogram */
	assert_int_equal(hb1->timed, (uint64_t)h.polled);
	assert_int_equal(hb1->count, (uint64_t)(h.polled + h.awaited));
	printf("heartbeats: %d polled, %d awaited\n", h.polled, h.awaited);
	free(hb0);
	free(hb1);
}

/* heartbeat.failed records of host:port since a time: how many, and the
 * longest duration among them */
struct hb_failed {
	uint64_t since;
	int key, n;
	uint64_t longest_ns;
	int64_t raw_us; /* duration_us as libmongoc gave it, the longest */
	int untimed, untimed_raw; /* records without a duration; those with duration_us > 0 */
};
static void see_hb_failed(const struct rb_record *r, void *arg)
{
	struct hb_failed *h = arg;
	if (r->ts_ns < h->since || (int)r->key != h->key)
		return;
	h->n++;
	if (r->dur_ns != RB_NO_DURATION && r->dur_ns > h->longest_ns)
		h->longest_ns = r->dur_ns;
	if (r->field[1] > h->raw_us)
		h->raw_us = r->field[1];
	if (r->dur_ns == RB_NO_DURATION) {
		h->untimed++;
		h->untimed_raw += r->field[1] > 0;
	}
}

/* A single-threaded client whose server refuses connections: libmongoc 1.23
 * reports its failed heartbeat with a duration from 0, i.e. the time since
 * the machine booted (hours); ringmon records no duration for a heartbeat that
 * would have begun before ringmon's MongoDB types were registered, and keeps
 * libmongoc's figure in duration_us. */
static void a_heartbeat_that_began_before_the_process_has_no_duration(void **state)
{
	(void)state;
	int port = tm_free_ports(1);
	assert_true(port > 0);
	char uri[160], hp[64];
	snprintf(uri, sizeof(uri),
		 "mongodb://127.0.0.1:%d/?serverSelectionTimeoutMS=300&connectTimeoutMS=100", port);
	snprintf(hp, sizeof(hp), "127.0.0.1:%d", port);
	mongoc_client_t *c = mongoc_client_new(uri);
	assert_non_null(c);
	assert_int_equal(ringmon_mongoc_client(c, NULL, NULL), 0);
	seg_self(&S);
	uint64_t t0 = ringmon_now_ns();
	bson_t *b = BCON_NEW("ping", BCON_INT32(1));
	assert_false(mongoc_client_command_simple(c, "admin", b, NULL, NULL, NULL));
	bson_destroy(b);
	uint64_t took = ringmon_now_ns() - t0;
	mongoc_client_destroy(c);
	struct hb_failed h = {.since = t0, .key = seg_key(&S, "heartbeat.failed", hp)};
	assert_true(h.key > 0);
	seg_records(&S, "heartbeat.failed", see_hb_failed, &h);
	assert_true(h.n >= 1);
	/* a heartbeat left without a duration keeps libmongoc's figure in duration_us */
	assert_int_equal(h.untimed_raw, h.untimed);
	if (h.longest_ns > took)
		fail_msg("a heartbeat of %llu ns recorded within a ping of %llu ns (libmongoc said %lld us)",
			 (unsigned long long)h.longest_ns, (unsigned long long)took,
			 (long long)h.raw_us);
}

int main(void)
{
	mongoc_init();
	mongoc_log_set_handler(NULL, NULL); /* the driver complains of the outage */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(failover_shows_as_server_and_topology_changes, stop_all),
		cmocka_unit_test_teardown(down_and_up_show_heartbeat_failures_and_recovery, stop_all),
		cmocka_unit_test_teardown(a_heartbeat_that_began_before_the_process_has_no_duration,
					  stop_all),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	mongoc_cleanup();
	return rc;
}
