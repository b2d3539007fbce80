/* test_mongo_pool.c - instrumented pools: exact counts from many threads while
 * monitor threads run heartbeats, checkout waits and timeouts, and the rule
 * that a pool is instrumented before its first pop. */
#include "test_mongo_util.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static struct mock M;

static int stop_mock(void **state)
{
	(void)state;
	mock_stop(&M);
	return 0;
}

static mongoc_client_pool_t *pool_for(const char *extra)
{
	char buf[768];
	tm_uri(buf, sizeof(buf), &M, extra);
	mongoc_uri_t *uri = mongoc_uri_new(buf);
	assert_non_null(uri);
	mongoc_client_pool_t *p = mongoc_client_pool_new(uri);
	mongoc_uri_destroy(uri);
	assert_non_null(p);
	return p;
}

static int ping(mongoc_client_t *c, const char *cmd)
{
	bson_t *b = BCON_NEW(cmd, BCON_INT32(1));
	bson_t reply;
	bool ok = mongoc_client_command_simple(c, "admin", b, NULL, &reply, NULL);
	bson_destroy(&reply);
	bson_destroy(b);
	return ok;
}

/* application callbacks, shared by threads: atomics */
struct app {
	int started, hb, wrong;
	int hb_cancelled, hb_failed; /* heartbeat failures with no error (a cancelled check), and others */
};
static void app_started(const mongoc_apm_command_started_t *e)
{
	struct app *a = mongoc_apm_command_started_get_context(e);
	__atomic_add_fetch(&a->started, 1, __ATOMIC_RELAXED);
}
static void app_hb(const mongoc_apm_server_heartbeat_succeeded_t *e)
{
	struct app *a = mongoc_apm_server_heartbeat_succeeded_get_context(e);
	__atomic_add_fetch(&a->hb, 1, __ATOMIC_RELAXED);
}
static void app_hb_failed(const mongoc_apm_server_heartbeat_failed_t *e)
{
	struct app *a = mongoc_apm_server_heartbeat_failed_get_context(e);
	bson_error_t err = {0};
	mongoc_apm_server_heartbeat_failed_get_error(e, &err);
	__atomic_add_fetch(err.domain == 0 && err.code == 0 ? &a->hb_cancelled : &a->hb_failed, 1,
			   __ATOMIC_RELAXED);
}

struct count_wait {
	struct seg *s;
	const char *type;
	uint64_t want;
};
static int count_reached(void *arg)
{
	struct count_wait *w = arg;
	return seg_count(w->s, w->type, NULL) >= w->want;
}

struct worker {
	pthread_t th;
	mongoc_client_pool_t *pool;
	int n, ok;
};
static void *work(void *arg)
{
	struct worker *w = arg;
	for (int i = 0; i < w->n; i++) {
		mongoc_client_t *c = ringmon_mongoc_pool_pop(w->pool);
		if (!c)
			continue;
		w->ok += ping(c, i % 2 ? "ping" : "buildInfo");
		ringmon_mongoc_pool_push(w->pool, c);
		if (i % 16 == 0)
			usleep(20 * 1000); /* let heartbeats interleave */
	}
	return NULL;
}

static void threads_and_heartbeats_are_counted_exactly(void **state)
{
	(void)state;
	assert_int_equal(mock_start(&M, 1, 0, NULL), 0);
	mongoc_client_pool_t *p = pool_for("maxPoolSize=3");
	struct app a = {0};
	mongoc_apm_callbacks_t *cb = mongoc_apm_callbacks_new();
	mongoc_apm_set_command_started_cb(cb, app_started);
	mongoc_apm_set_server_heartbeat_succeeded_cb(cb, app_hb);
	mongoc_apm_set_server_heartbeat_failed_cb(cb, app_hb_failed);
	assert_int_equal(ringmon_mongoc_pool(p, cb, &a), 0);
	mongoc_apm_callbacks_destroy(cb);
	struct seg s;
	seg_self(&s);
	uint64_t hbf0 = seg_count(&s, "heartbeat.failed", NULL);
	uint64_t ping0 = seg_count(&s, "command.succeeded", "ping");
	uint64_t bi0 = seg_count(&s, "command.succeeded", "buildInfo");
	uint64_t co0 = seg_count(&s, "pool.checkout", "ok");
	uint64_t ci0 = seg_count(&s, "pool.checkin", NULL);
	uint64_t hb0 = seg_count(&s, "heartbeat.succeeded", NULL);
	struct worker w[4];
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){.pool = p, .n = 60};
		assert_int_equal(pthread_create(&w[i].th, NULL, work, &w[i]), 0);
	}
	int ok = 0;
	for (int i = 0; i < 4; i++) {
		pthread_join(w[i].th, NULL);
		ok += w[i].ok;
	}
	assert_int_equal(ok, 240);
	/* run on until a few heartbeats (every 500 ms) have happened too */
	struct count_wait hw = {&s, "heartbeat.succeeded", hb0 + 2};
	th_wait_until(count_reached, &hw, 30000, "2 heartbeats succeed");
	assert_int_equal(seg_count(&s, "command.succeeded", "ping") - ping0, 120);
	assert_int_equal(seg_count(&s, "command.succeeded", "buildInfo") - bi0, 120);
	assert_int_equal(seg_count(&s, "pool.checkout", "ok") - co0, 240);
	assert_int_equal(seg_count(&s, "pool.checkin", NULL) - ci0, 240);
	assert_true(seg_count(&s, "heartbeat.succeeded", NULL) - hb0 >= 2);
	assert_int_equal(__atomic_load_n(&a.started, __ATOMIC_RELAXED), 240);
	assert_true(__atomic_load_n(&a.hb, __ATOMIC_RELAXED) >= 2);
	seg_detach(&s);
	/* destroyed, the pool's monitor cancels the check it has in flight
	 * (an awaitable hello here) and libmongoc publishes it as a failure with
	 * no error: the server did not fail, and ringmon records no failure */
	ringmon_mongoc_pool_destroy(p);
	seg_self(&s);
	assert_int_equal(a.hb_failed, 0); /* the mock never failed one */
	assert_int_equal(seg_count(&s, "heartbeat.failed", NULL) - hbf0, 0);
	if (a.hb_cancelled == 0) /* no check was in flight: nothing was shown */
		print_message("note: no heartbeat was in flight at the pool's end\n");
	seg_detach(&s);
}

struct holder {
	pthread_t th;
	mongoc_client_pool_t *pool;
	mongoc_client_t *c;
	int hold_ms;
	int got;
	uint64_t got_ns; /* when it had the client */
};
static void *hold(void *arg)
{
	struct holder *h = arg;
	h->c = ringmon_mongoc_pool_pop(h->pool);
	h->got_ns = ringmon_now_ns();
	__atomic_store_n(&h->got, 1, __ATOMIC_RELEASE);
	usleep((useconds_t)h->hold_ms * 1000); /* the workload: the client is out that long */
	ringmon_mongoc_pool_push(h->pool, h->c);
	return NULL;
}
static int holder_got(void *arg)
{
	return __atomic_load_n(&((struct holder *)arg)->got, __ATOMIC_ACQUIRE);
}

struct waits {
	uint64_t since; /* records from then on */
	uint64_t max_ok_ns, max_ok_ts, timeout_ns;
	int timeouts;
	int64_t in_use_max;
};
static void see_checkout(const struct rb_record *r, void *arg)
{
	struct waits *w = arg;
	if (r->ts_ns < w->since)
		return;
	if (r->field[0] == 0 && r->dur_ns > w->max_ok_ns) {
		w->max_ok_ns = r->dur_ns;
		w->max_ok_ts = r->ts_ns;
	}
	if (r->field[0] == 1) {
		w->timeouts++;
		w->timeout_ns = r->dur_ns;
	}
	if (r->field[1] > w->in_use_max)
		w->in_use_max = r->field[1];
}

static void checkout_waits_while_the_only_client_is_out(void **state)
{
	(void)state;
	assert_int_equal(mock_start(&M, 1, 0, NULL), 0);
	mongoc_client_pool_t *p = pool_for("maxPoolSize=1");
	assert_int_equal(ringmon_mongoc_pool(p, NULL, NULL), 0);
	struct seg s;
	seg_self(&s);
	/* Another thread holds the only client for 300 ms; this one's checkout
	 * meanwhile waits for it. On a busy machine this thread may start its pop
	 * late: the record says when it started (ts - dur), and only a pop that
	 * started within 100 ms of the other's checkout has waited 200 ms for
	 * sure. Such a run is tried for up to 5 times. */
	struct waits after;
	int tries = 0, conclusive = 0;
	while (!conclusive && tries++ < 5) {
		struct holder h = {.pool = p, .hold_ms = 300};
		assert_int_equal(pthread_create(&h.th, NULL, hold, &h), 0);
		assert_int_equal(th_wait_until(holder_got, &h, 30000, "the other thread checks out the only client"), 0);
		mongoc_client_t *c = ringmon_mongoc_pool_pop(p); /* waits for the push */
		assert_non_null(c);
		assert_true(ping(c, "ping"));
		ringmon_mongoc_pool_push(p, c);
		pthread_join(h.th, NULL);
		/* the records of checkouts that ended after the other's: this one's */
		after = (struct waits){.since = h.got_ns};
		seg_records(&s, "pool.checkout", see_checkout, &after);
		assert_true(after.max_ok_ts > 0);
		conclusive = after.max_ok_ts - after.max_ok_ns <= h.got_ns + 100000000ull;
	}
	printf("# a checkout that started in time: after %d tries\n", tries);
	assert_true(conclusive);
	assert_true(after.max_ok_ns >= 200000000ull);  /* waited most of the 300 ms */
	assert_true(after.max_ok_ns < 30000000000ull);
	assert_int_equal(after.in_use_max, 1);
	assert_int_equal(after.timeouts, 0);
	seg_detach(&s);
	ringmon_mongoc_pool_destroy(p);
}

static void checkout_times_out_after_wait_queue_timeout(void **state)
{
	(void)state;
	assert_int_equal(mock_start(&M, 1, 0, NULL), 0);
	mongoc_client_pool_t *p = pool_for("maxPoolSize=1&waitQueueTimeoutMS=250");
	assert_int_equal(ringmon_mongoc_pool(p, NULL, NULL), 0);
	struct seg s;
	seg_self(&s);
	uint64_t t0 = ringmon_now_ns();
	uint64_t to0 = seg_count(&s, "pool.checkout", "timeout");
	uint64_t empty0 = seg_count(&s, "pool.checkout", "empty");
	mongoc_client_t *c = ringmon_mongoc_pool_pop(p);
	assert_non_null(c);
	assert_null(ringmon_mongoc_pool_pop(p)); /* times out */
	assert_null(ringmon_mongoc_pool_try_pop(p)); /* none free */
	ringmon_mongoc_pool_push(p, c);
	assert_int_equal(seg_count(&s, "pool.checkout", "timeout") - to0, 1);
	assert_int_equal(seg_count(&s, "pool.checkout", "empty") - empty0, 1);
	struct waits w = {.since = t0};
	seg_records(&s, "pool.checkout", see_checkout, &w);
	assert_int_equal(w.timeouts, 1);
	assert_true(w.timeout_ns >= 200000000ull);
	assert_true(w.timeout_ns < 30000000000ull); /* bounded (a busy machine adds seconds) */
	seg_detach(&s);
	ringmon_mongoc_pool_destroy(p);
}

static void pool_is_instrumented_before_its_first_pop_or_never(void **state)
{
	(void)state;
	assert_int_equal(mock_start(&M, 1, 0, NULL), 0);
	mongoc_client_pool_t *p = pool_for(NULL);
	mongoc_client_t *c = ringmon_mongoc_pool_pop(p);
	assert_non_null(c);
	ringmon_mongoc_pool_push(p, c);
	int err = ringmon_mongoc_pool(p, NULL, NULL);
	assert_int_equal(err, -EBUSY);
	assert_non_null(strstr(ringmon_mongoc_strerror(err), "first pop"));
	ringmon_mongoc_pool_destroy(p);

	/* twice: the second is refused, the first keeps working */
	p = pool_for(NULL);
	assert_int_equal(ringmon_mongoc_pool(p, NULL, NULL), 0);
	assert_int_equal(ringmon_mongoc_pool(p, NULL, NULL), -EALREADY);
	ringmon_mongoc_pool_destroy(p);

	/* the application set its own first: libmongoc refuses a second set */
	p = pool_for(NULL);
	mongoc_apm_callbacks_t *cb = mongoc_apm_callbacks_new();
	assert_true(mongoc_client_pool_set_apm_callbacks(p, cb, NULL));
	assert_int_equal(ringmon_mongoc_pool(p, NULL, NULL), -EALREADY);
	mongoc_apm_callbacks_destroy(cb);
	ringmon_mongoc_pool_destroy(p);

	/* a pooled client cannot be instrumented alone */
	p = pool_for(NULL);
	c = mongoc_client_pool_pop(p);
	assert_int_equal(ringmon_mongoc_client(c, NULL, NULL), -EPERM);
	mongoc_client_pool_push(p, c);
	ringmon_mongoc_pool_destroy(p);
}

int main(void)
{
	mongoc_init();
	/* libmongoc logs the refusals this test provokes: keep the output clean */
	mongoc_log_set_handler(NULL, NULL);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(threads_and_heartbeats_are_counted_exactly, stop_mock),
		cmocka_unit_test_teardown(checkout_waits_while_the_only_client_is_out, stop_mock),
		cmocka_unit_test_teardown(checkout_times_out_after_wait_queue_timeout, stop_mock),
		cmocka_unit_test_teardown(pool_is_instrumented_before_its_first_pop_or_never, stop_mock),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	mongoc_cleanup();
	return rc;
}
