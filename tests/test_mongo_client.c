/* test_mongo_client.c - an instrumented single-threaded client against the mock
 * server: exact counts, failures with codes, latency, collections, the
 * application's own callbacks, redaction, fork. */
#define _GNU_SOURCE
#include <dlfcn.h>

#include "test_mongo_util.h"
#include "mongo_internal.h"
#include "model.h"

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

static mongoc_client_t *client_for(const char *extra)
{
	char uri[768];
	tm_uri(uri, sizeof(uri), &M, extra);
	mongoc_client_t *c = mongoc_client_new(uri);
	assert_non_null(c);
	return c;
}

/* A mock standalone server and an instrumented client of it. */
static mongoc_client_t *instrumented_client(void)
{
	assert_int_equal(mock_start(&M, 1, 0, NULL), 0);
	mongoc_client_t *c = client_for(NULL);
	assert_int_equal(ringmon_mongoc_client(c, NULL, NULL), 0);
	return c;
}

/* Runs {json} on db; returns 1 on success. */
static int run(mongoc_client_t *c, const char *db, const char *json, bson_error_t *err)
{
	bson_error_t e;
	bson_t *cmd = bson_new_from_json((const uint8_t *)json, -1, &e);
	assert_non_null(cmd);
	bson_t reply;
	bool ok = mongoc_client_command_simple(c, db, cmd, NULL, &reply, err ? err : &e);
	bson_destroy(&reply);
	bson_destroy(cmd);
	return ok;
}


/* The search of a reply for write errors on every succeeded command: only a
 * top-level key counts (not the names nested or as a string's bytes, which
 * make it walk the elements), past every BSON type, never past the
 * document's end. */
static void write_errors_are_found_past_every_bson_type(void **state)
{
	(void)state;
	bson_t *b = BCON_NEW("nested", "{", "writeErrors", "[", "]", "}", "says", "writeConcernError",
			     "d", BCON_DOUBLE(1.5), "s", "str", "doc", "{", "a", BCON_INT32(1), "}",
			     "arr", "[", BCON_INT32(1), "]", "bin", BCON_BIN(0, (const uint8_t *)"xy", 2),
			     "u", BCON_UNDEFINED, "oid", BCON_OID(&(bson_oid_t){{1}}), "b", BCON_BOOL(true),
			     "dt", BCON_DATE_TIME(1), "nul", BCON_NULL, "re", BCON_REGEX("a.*", "i"),
			     "code", BCON_CODE("x"), "sym", BCON_SYMBOL("y"), "i32", BCON_INT32(2),
			     "ts", BCON_TIMESTAMP(1, 2), "i64", BCON_INT64(3),
			     "dec", BCON_DECIMAL128(&(bson_decimal128_t){0}), "min", BCON_MINKEY,
			     "max", BCON_MAXKEY, "cws", BCON_CODEWSCOPE("z", &(bson_t)BSON_INITIALIZER),
			     "writtenBy", "not it", "ok", BCON_DOUBLE(1));
	assert_non_null(b);
	assert_int_equal(mongo_reply_has_write_errors(bson_get_data(b), b->len), 0);
	const char *keys[] = {"writeErrors", "writeConcernError"};
	for (int k = 0; k < 2; k++) {
		bson_t *c = bson_copy(b);
		bson_t sub;
		if (k == 0) {
			BSON_APPEND_ARRAY_BEGIN(c, keys[k], &sub);
			bson_append_array_end(c, &sub);
		} else {
			BSON_APPEND_DOCUMENT_BEGIN(c, keys[k], &sub);
			bson_append_document_end(c, &sub);
		}
		assert_int_equal(mongo_reply_has_write_errors(bson_get_data(c), c->len), 1);
		/* cut anywhere before the key: never found, never read past the end */
		for (size_t cut = 0; cut < b->len; cut++) {
			uint8_t *copy = malloc(cut ? cut : 1);
			memcpy(copy, bson_get_data(c), cut);
			assert_int_equal(mongo_reply_has_write_errors(copy, cut), 0);
			free(copy);
		}
		bson_destroy(c);
	}
	bson_destroy(b);
	/* a lying length inside: refused, not followed */
	uint8_t bad[] = {20, 0, 0, 0, 0x02, 's', 0, 0xff, 0xff, 0xff, 0x7f, 'x', 0, 0x04, 'w', 0, 5, 0, 0, 0, 0};
	assert_int_equal(mongo_reply_has_write_errors(bad, sizeof(bad)), 0);
}

static void commands_are_counted_exactly_per_name(void **state)
{
	(void)state;
	mongoc_client_t *c = instrumented_client();
	struct seg s;
	seg_self(&s);
	uint64_t ins0 = seg_count(&s, "command.succeeded", "insert");
	uint64_t find0 = seg_count(&s, "command.succeeded", "find");
	uint64_t ping0 = seg_count(&s, "command.started", "ping");
	uint64_t ns0 = seg_count(&s, "command.ns", "shop.orders");
	for (int i = 0; i < 7; i++)
		assert_true(run(c, "shop", "{\"insert\": \"orders\", \"documents\": [{\"_id\": 1}]}", NULL));
	for (int i = 0; i < 5; i++)
		assert_true(run(c, "shop", "{\"find\": \"orders\", \"filter\": {}}", NULL));
	for (int i = 0; i < 3; i++)
		assert_true(run(c, "admin", "{\"ping\": 1}", NULL));
	assert_int_equal(seg_count(&s, "command.succeeded", "insert") - ins0, 7);
	assert_int_equal(seg_count(&s, "command.succeeded", "find") - find0, 5);
	assert_int_equal(seg_count(&s, "command.started", "ping") - ping0, 3);
	/* a ping names no collection: only inserts and finds count under shop.orders */
	assert_int_equal(seg_count(&s, "command.ns", "shop.orders") - ns0, 12);
	seg_detach(&s);
	ringmon_mongoc_client_destroy(c);
}

/* MongoDB allows 63-byte database names and 255-byte namespaces; a key holds
 * 55 bytes: a longer "db.collection" is kept apart from every other by the
 * hash of its whole self (two collections of one long database were one row),
 * cut never inside a UTF-8 character, never dropped */
static void long_namespaces_stay_apart_and_are_never_dropped(void **state)
{
	(void)state;
	mongoc_client_t *c = instrumented_client();
	struct seg s;
	seg_self(&s);
	char db60[61], db45u[48], db48[49], full[128];
	memset(db60, 'd', 60), db60[60] = 0;
	memset(db45u, 'f', 45), memcpy(db45u + 45, "\xc3\xa9", 3); /* 45 bytes, then é */
	memset(db48, 'g', 48), db48[48] = 0;
	char k_orders[56], k_orderz[56], k_u[56], k55[56];
	snprintf(full, sizeof(full), "%s.orders", db60), th_key_of(k_orders, full);
	snprintf(full, sizeof(full), "%s.orderz", db60), th_key_of(k_orderz, full);
	snprintf(full, sizeof(full), "%s.orders_archive", db45u), th_key_of(k_u, full);
	snprintf(k55, sizeof(k55), "%s.orders", db48); /* 55 bytes: kept whole */
	assert_int_equal(strlen(k55), 55);
	assert_int_equal(strlen(k_u), 45 + 9); /* é does not fit before the mark */
	assert_string_not_equal(k_orders, k_orderz);
	uint64_t a0 = seg_count(&s, "command.ns", k_orders), b0 = seg_count(&s, "command.ns", k_orderz),
		 c0 = seg_count(&s, "command.ns", k_u), d0 = seg_count(&s, "command.ns", k55);
	for (int i = 0; i < 3; i++)
		assert_true(run(c, db60, "{\"insert\": \"orders\", \"documents\": [{\"_id\": 1}]}", NULL));
	for (int i = 0; i < 2; i++)
		assert_true(run(c, db60, "{\"find\": \"orderz\", \"filter\": {}}", NULL));
	assert_true(run(c, db45u, "{\"find\": \"orders_archive\", \"filter\": {}}", NULL));
	for (int i = 0; i < 4; i++)
		assert_true(run(c, db48, "{\"find\": \"orders\", \"filter\": {}}", NULL));
	assert_int_equal(seg_count(&s, "command.ns", k_orders) - a0, 3);
	assert_int_equal(seg_count(&s, "command.ns", k_orderz) - b0, 2);
	assert_int_equal(seg_count(&s, "command.ns", k_u) - c0, 1);
	assert_int_equal(seg_count(&s, "command.ns", k55) - d0, 4);
	seg_detach(&s);
	ringmon_mongoc_client_destroy(c);
}

struct failed_seen {
	int n, bad;
};
static void check_failed(const struct rb_record *r, void *arg)
{
	struct failed_seen *f = arg;
	f->n++;
	if (r->field[2] != 50 || r->field[3] != MONGOC_ERROR_QUERY || r->dur_ns == RB_NO_DURATION)
		f->bad++;
}

static void failed_commands_carry_their_server_code(void **state)
{
	(void)state;
	assert_int_equal(mock_start(&M, 1, 0, "--fail-code-for", "distinct=50", NULL), 0);
	mongoc_client_t *c = client_for(NULL);
	assert_int_equal(ringmon_mongoc_client(c, NULL, NULL), 0);
	struct seg s;
	seg_self(&s);
	uint64_t f0 = seg_count(&s, "command.failed", "distinct");
	uint64_t e0 = seg_count(&s, "command.error", "MaxTimeMSExpired(50)");
	uint64_t ok0 = seg_count(&s, "command.succeeded", "distinct");
	struct failed_seen before = {0};
	seg_records(&s, "command.failed", check_failed, &before);
	for (int i = 0; i < 4; i++) {
		bson_error_t err;
		assert_false(run(c, "shop", "{\"distinct\": \"orders\", \"key\": \"x\"}", &err));
		assert_int_equal(err.code, 50);
	}
	assert_int_equal(seg_count(&s, "command.failed", "distinct") - f0, 4);
	assert_int_equal(seg_count(&s, "command.error", "MaxTimeMSExpired(50)") - e0, 4);
	assert_int_equal(seg_count(&s, "command.succeeded", "distinct") - ok0, 0);
	struct failed_seen after = {0};
	seg_records(&s, "command.failed", check_failed, &after);
	assert_int_equal(after.n - before.n, 4);
	assert_int_equal(after.bad, 0);
	seg_detach(&s);
	ringmon_mongoc_client_destroy(c);
}

/* command.write_error records of bulkWrite: their field 1 (n) each */
static void sum_write_error_n(const struct rb_record *r, void *arg)
{
	*(int64_t *)arg += r->field[1];
}

/* MongoDB 8.0's client-level bulkWrite answers ok: 1 and counts its write
 * errors in nErrors, giving them in its cursor (not in writeErrors): counted
 * and named as an insert's, never success alone */
static void bulk_write_errors_are_write_errors(void **state)
{
	(void)state;
	mongoc_client_t *c = instrumented_client();
	struct seg s;
	seg_self(&s);
	uint64_t ok0 = seg_count(&s, "command.succeeded", "bulkWrite");
	uint64_t we0 = seg_count(&s, "command.write_error", "bulkWrite");
	uint64_t dup0 = seg_count(&s, "command.error", "DuplicateKey(11000)");
	int64_t n0 = 0, n1 = 0;
	seg_records(&s, "command.write_error", sum_write_error_n, &n0);
	/* _ids bw1 and bw2 twice each, unordered: 2 errors, in the first batch */
	const char *bw = "{\"bulkWrite\": 1, \"ordered\": false, \"errorsOnly\": true, "
			 "\"nsInfo\": [{\"ns\": \"shop.bw\"}], \"ops\": ["
			 "{\"insert\": 0, \"document\": {\"_id\": \"bw1\"}},"
			 "{\"insert\": 0, \"document\": {\"_id\": \"bw2\"}},"
			 "{\"insert\": 0, \"document\": {\"_id\": \"bw1\"}},"
			 "{\"insert\": 0, \"document\": {\"_id\": \"bw2\"}}]}";
	assert_true(run(c, "admin", bw, NULL)); /* ok: 1: APM says succeeded */
	assert_true(run(c, "admin", "{\"bulkWrite\": 1, \"nsInfo\": [{\"ns\": \"shop.bw\"}], "
				    "\"ops\": [{\"insert\": 0, \"document\": {\"_id\": \"bw3\"}}]}",
			NULL)); /* no error */
	assert_int_equal(seg_count(&s, "command.succeeded", "bulkWrite") - ok0, 2);
	assert_int_equal(seg_count(&s, "command.write_error", "bulkWrite") - we0, 1);
	assert_int_equal(seg_count(&s, "command.error", "DuplicateKey(11000)") - dup0, 1);
	seg_records(&s, "command.write_error", sum_write_error_n, &n1);
	assert_int_equal(n1 - n0, 2); /* nErrors */
	seg_detach(&s);
	ringmon_mongoc_client_destroy(c);
}

static void durations_follow_injected_latency(void **state)
{
	(void)state;
	assert_int_equal(mock_start(&M, 1, 0, "--latency-ms", "20", "--latency-dist", "fixed", NULL), 0);
	mongoc_client_t *c = client_for(NULL);
	assert_int_equal(ringmon_mongoc_client(c, NULL, NULL), 0);
	struct seg s;
	seg_self(&s);
	struct rb_summary *a = seg_sum(&s, "command.succeeded", "count");
	for (int i = 0; i < 10; i++)
		assert_true(run(c, "shop", "{\"count\": \"orders\"}", NULL));
	struct rb_summary *b = seg_sum(&s, "command.succeeded", "count");
	rb_summary_sub(b, a);
	assert_int_equal(b->timed, 10);
	uint64_t p50 = rb_summary_quantile(b, 0.5);
	assert_true(p50 >= 20000000ull);
	assert_true(p50 < 2000000000ull); /* 20 ms, not 20 s (a busy machine adds 100s of ms) */
	free(a);
	free(b);
	seg_detach(&s);
	ringmon_mongoc_client_destroy(c);
}

static void getmore_counts_under_its_collection(void **state)
{
	(void)state;
	assert_int_equal(mock_start(&M, 1, 0, "--docs", "5", NULL), 0);
	mongoc_client_t *c = client_for(NULL);
	assert_int_equal(ringmon_mongoc_client(c, NULL, NULL), 0);
	struct seg s;
	seg_self(&s);
	uint64_t gm0 = seg_count(&s, "command.succeeded", "getMore");
	uint64_t ns0 = seg_count(&s, "command.ns", "inv.parts");
	mongoc_collection_t *coll = mongoc_client_get_collection(c, "inv", "parts");
	bson_t *filter = bson_new();
	bson_t *opts = BCON_NEW("batchSize", BCON_INT32(2));
	mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, filter, opts, NULL);
	const bson_t *doc;
	int n = 0;
	while (mongoc_cursor_next(cur, &doc))
		n++;
	assert_false(mongoc_cursor_error(cur, NULL));
	assert_int_equal(n, 5);
	mongoc_cursor_destroy(cur);
	/* find (2 docs), getMore (2), getMore (1): the last closes the cursor */
	assert_int_equal(seg_count(&s, "command.succeeded", "getMore") - gm0, 2);
	assert_int_equal(seg_count(&s, "command.ns", "inv.parts") - ns0, 3);
	bson_destroy(filter);
	bson_destroy(opts);
	mongoc_collection_destroy(coll);
	seg_detach(&s);
	ringmon_mongoc_client_destroy(c);
}

/* ---- command.target: per command, collection, server and status (opt-in) ---- */

static struct mock M2;

static int stop_mocks(void **state)
{
	mock_stop(&M2);
	return stop_mock(state);
}

/* count of command.target's key shown as name (-1: no such key), and in
 * *total the type's count; from this process's segment, through the reader
 * model that resolves the key's ids */
static int64_t target_count(const char *name, uint64_t *total)
{
	static struct vm_proc p;
	char err[RB_ERR_MAX + 64];
	if (vm_attach(&p, getpid(), err, sizeof(err)) != 0)
		fail_msg("attach: %s", err);
	int t = vm_type_find(&p, "command.target");
	assert_true(t >= 0);
	int64_t n = -1;
	for (uint32_t k = 1; name && k < p.nkeys; k++)
		if (p.keys[k].used && (int)p.keys[k].type == t && strcmp(p.keys[k].name, name) == 0) {
			assert_true(p.keys[k].resolved);
			n = (int64_t)p.keys[k].sum.count;
		}
	if (total)
		*total = p.types[t].sum.count;
	vm_detach(&p);
	return n;
}

/* shop.orders: 7 inserts, 5 finds, 2 distincts refused (code 50); inv.parts: 4
 * finds; admin: 3 pings (no collection) */
static void target_workload(mongoc_client_t *c)
{
	for (int i = 0; i < 7; i++)
		assert_true(run(c, "shop", "{\"insert\": \"orders\", \"documents\": [{\"x\": 1}]}", NULL));
	for (int i = 0; i < 5; i++)
		assert_true(run(c, "shop", "{\"find\": \"orders\", \"filter\": {}}", NULL));
	for (int i = 0; i < 2; i++)
		assert_false(run(c, "shop", "{\"distinct\": \"orders\", \"key\": \"x\"}", NULL));
	for (int i = 0; i < 4; i++)
		assert_true(run(c, "inv", "{\"find\": \"parts\", \"filter\": {}}", NULL));
	for (int i = 0; i < 3; i++)
		assert_true(run(c, "admin", "{\"ping\": 1}", NULL));
}

/* Off by default (RINGMON_EVENTS unset: main unsets it): registered, records
 * nothing, and no key of it is made. */
static void command_target_is_off_unless_asked(void **state)
{
	(void)state;
	mongoc_client_t *c = instrumented_client();
	uint64_t before, after;
	target_count(NULL, &before);
	assert_false((ringmon_get_events() >> mongo_type.cmd_target) & 1);
	uint64_t ok0 = 0;
	struct seg s;
	seg_self(&s);
	ok0 = seg_count(&s, "command.succeeded", "ping");
	for (int i = 0; i < 5; i++)
		assert_true(run(c, "admin", "{\"ping\": 1}", NULL));
	assert_int_equal(seg_count(&s, "command.succeeded", "ping") - ok0, 5);
	target_count(NULL, &after);
	assert_int_equal(after, before);
	assert_int_equal(seg_records(&s, "command.target", NULL, NULL), 0);
	seg_detach(&s);
	ringmon_mongoc_client_destroy(c);
}

static void count_record(const struct rb_record *r, void *arg)
{
	(void)r;
	(*(int *)arg)++;
}

/* Turned on at run time: every finished command counted once under its tuple,
 * exactly, on two servers, two collections, a command that names none, and a
 * refused one; with command.ns off (the collection is read for the tuple). */
static void commands_are_counted_exactly_per_target(void **state)
{
	(void)state;
	assert_int_equal(mock_start(&M, 1, 0, "--fail-code-for", "distinct=50", NULL), 0);
	assert_int_equal(mock_start(&M2, 1, 0, "--fail-code-for", "distinct=50", NULL), 0);
	mongoc_client_t *c = client_for(NULL);
	char uri2[768];
	tm_uri(uri2, sizeof(uri2), &M2, NULL);
	mongoc_client_t *c2 = mongoc_client_new(uri2);
	assert_non_null(c2);
	assert_int_equal(ringmon_mongoc_client(c, NULL, NULL), 0);
	assert_int_equal(ringmon_mongoc_client(c2, NULL, NULL), 0);
	uint64_t was = ringmon_get_events();
	ringmon_set_events((was | 1ull << mongo_type.cmd_target) & ~(1ull << mongo_type.cmd_ns));
	struct seg s;
	seg_self(&s);
	uint64_t ok0 = seg_count(&s, "command.succeeded", NULL);
	uint64_t fail0 = seg_count(&s, "command.failed", NULL);
	uint64_t t0;
	target_count(NULL, &t0);
	int recs0 = 0;
	seg_records(&s, "command.target", count_record, &recs0);

	target_workload(c);
	target_workload(c2);
	for (int i = 0; i < 2; i++) /* one more on the second server */
		assert_true(run(c2, "inv", "{\"find\": \"parts\", \"filter\": {}}", NULL));

	static const struct {
		const char *what;
		int64_t n1, n2; /* on the first server, the second */
	} want[] = {
		{"insert shop.orders %s ok", 7, 7},  {"find shop.orders %s ok", 5, 5},
		{"distinct shop.orders %s failed", 2, 2}, {"find inv.parts %s ok", 4, 6},
		{"ping - %s ok", 3, 3},
	};
	int64_t sum = 0;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		for (int srv = 0; srv < 2; srv++) {
			char host[32], name[128];
			snprintf(host, sizeof(host), "127.0.0.1:%d", srv ? M2.port : M.port);
			snprintf(name, sizeof(name), want[i].what, host);
			int64_t n = target_count(name, NULL), w = srv ? want[i].n2 : want[i].n1;
			if (n != w)
				fail_msg("%s: %lld, want %lld", name, (long long)n, (long long)w);
			sum += n;
		}
	}
	uint64_t t1;
	target_count(NULL, &t1);
	uint64_t done = seg_count(&s, "command.succeeded", NULL) - ok0 +
			seg_count(&s, "command.failed", NULL) - fail0;
	/* every finished command, once: the tuples above and nothing else (no
	 * handshake or endSessions in between on these clients) */
	assert_int_equal(t1 - t0, done);
	assert_int_equal((int64_t)(t1 - t0), sum);
	int recs = 0;
	seg_records(&s, "command.target", count_record, &recs);
	assert_int_equal(recs - recs0, sum);
	ringmon_set_events(was);
	seg_detach(&s);
	ringmon_mongoc_client_destroy(c2);
	ringmon_mongoc_client_destroy(c);
}

/* ---- the application's own callbacks ---- */

struct app {
	int started, succeeded, failed, wrong_ctx;
};
static void app_started(const mongoc_apm_command_started_t *e)
{
	struct app *a = mongoc_apm_command_started_get_context(e);
	if (!a || a->started < 0)
		return;
	a->started++;
}
static void app_succeeded(const mongoc_apm_command_succeeded_t *e)
{
	struct app *a = mongoc_apm_command_succeeded_get_context(e);
	a->succeeded++;
}
static void app_failed(const mongoc_apm_command_failed_t *e)
{
	struct app *a = mongoc_apm_command_failed_get_context(e);
	a->failed++;
}

/* A client of a mock that fails distinct, instrumented with the application's
 * command callbacks (NULL: none) and context. */
static mongoc_client_t *client_with_app_callbacks(mongoc_apm_command_started_cb_t started,
						  mongoc_apm_command_succeeded_cb_t succeeded,
						  mongoc_apm_command_failed_cb_t failed, void *ctx)
{
	assert_int_equal(mock_start(&M, 1, 0, "--error-commands", "distinct", NULL), 0);
	mongoc_client_t *c = client_for(NULL);
	mongoc_apm_callbacks_t *cbs = mongoc_apm_callbacks_new();
	mongoc_apm_set_command_started_cb(cbs, started);
	mongoc_apm_set_command_succeeded_cb(cbs, succeeded);
	mongoc_apm_set_command_failed_cb(cbs, failed);
	assert_int_equal(ringmon_mongoc_client(c, cbs, ctx), 0);
	mongoc_apm_callbacks_destroy(cbs); /* copied */
	return c;
}

static void application_callbacks_get_every_event_with_their_own_context(void **state)
{
	(void)state;
	struct app a = {0};
	mongoc_client_t *c = client_with_app_callbacks(app_started, app_succeeded, app_failed, &a);
	struct seg s;
	seg_self(&s);
	uint64_t p0 = seg_count(&s, "command.succeeded", "ping");
	for (int i = 0; i < 6; i++)
		assert_true(run(c, "admin", "{\"ping\": 1}", NULL));
	for (int i = 0; i < 2; i++)
		assert_false(run(c, "shop", "{\"distinct\": \"orders\", \"key\": \"x\"}", NULL));
	assert_int_equal(a.started, 8);
	assert_int_equal(a.succeeded, 6);
	assert_int_equal(a.failed, 2);
	assert_int_equal(seg_count(&s, "command.succeeded", "ping") - p0, 6);
	/* replacing the application's callbacks with none keeps ringmon's */
	assert_int_equal(ringmon_mongoc_client(c, NULL, NULL), 0);
	assert_true(run(c, "admin", "{\"ping\": 1}", NULL));
	assert_int_equal(a.started, 8);
	assert_int_equal(seg_count(&s, "command.succeeded", "ping") - p0, 7);
	seg_detach(&s);
	ringmon_mongoc_client_destroy(c);
}

/* ---- the times of command records: libmongoc's own clock reads ---- */

/* What the application's callbacks saw: libmongoc's duration (us) of each
 * finished command, by request id. */
struct seen_durations {
	int n;
	int64_t rid[64], dur_us[64];
};

static void note_duration(struct seen_durations *d, int64_t rid, int64_t dur_us)
{
	if (d->n < 64) {
		d->rid[d->n] = rid;
		d->dur_us[d->n++] = dur_us;
	}
}

static void dur_succeeded(const mongoc_apm_command_succeeded_t *e)
{
	note_duration(mongoc_apm_command_succeeded_get_context(e),
		      mongoc_apm_command_succeeded_get_request_id(e),
		      mongoc_apm_command_succeeded_get_duration(e));
}

static void dur_failed(const mongoc_apm_command_failed_t *e)
{
	note_duration(mongoc_apm_command_failed_get_context(e),
		      mongoc_apm_command_failed_get_request_id(e),
		      mongoc_apm_command_failed_get_duration(e));
}

/* A command's record times are libmongoc's own reads of its clock, kept to
 * the nanosecond: the started record at libmongoc's start of the command, the
 * finished one at the read its duration ends with, so that the duration
 * agrees with the one the application is told to the microsecond, for every
 * command (before, ringmon read the clock again in each callback: its
 * durations began and ended later than libmongoc's). And libbson's clock,
 * interposed, still returns what libbson's returns. */
static void command_times_are_libmongocs_own_clock_reads(void **state)
{
	(void)state;
	int64_t (*libbson)(void) = (int64_t(*)(void))dlsym(RTLD_NEXT, "bson_get_monotonic_time");
	assert_non_null(libbson);
	assert_ptr_not_equal(libbson, bson_get_monotonic_time);
	for (int i = 0; i < 1000; i++) {
		int64_t a = libbson(), ours = bson_get_monotonic_time(), b = libbson();
		assert_true(a <= ours && ours <= b);
	}
	struct seen_durations seen = {0};
	mongoc_client_t *c = client_with_app_callbacks(NULL, dur_succeeded, dur_failed, &seen);
	for (int i = 0; i < 24; i++)
		assert_true(run(c, "admin", "{\"ping\": 1}", NULL));
	for (int i = 0; i < 8; i++)
		assert_false(run(c, "shop", "{\"distinct\": \"orders\", \"key\": \"x\"}", NULL));
	assert_int_equal(seen.n, 32);
	struct seg s;
	seg_self(&s);
	assert_int_equal(seg_command_times_differ(&s, seen.n, seen.rid, seen.dur_us), 0);
	seg_detach(&s);
	ringmon_mongoc_client_destroy(c);
}

/* ---- redaction ---- */

static int file_contains(const char *path, const char *needle)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	size_t cap = 1 << 20, len = 0, nl = strlen(needle);
	char *buf = malloc(cap);
	int found = 0;
	size_t r;
	while ((r = fread(buf + len, 1, cap - len, f)) > 0) {
		len += r;
		if (memmem(buf, len, needle, nl)) {
			found = 1;
			break;
		}
		/* keep the tail that could start a match */
		size_t keep = len < nl ? len : nl - 1;
		memmove(buf, buf + len - keep, keep);
		len = keep;
	}
	fclose(f);
	free(buf);
	return found;
}

static void sensitive_commands_leave_no_argument_in_the_segment(void **state)
{
	(void)state;
	mongoc_client_t *c = instrumented_client();
	struct seg s;
	seg_self(&s);
	uint64_t cu0 = seg_count(&s, "command.succeeded", "createUser");
	assert_true(run(c, "SECRETDB4242",
			"{\"createUser\": \"SECRETUSER1234\", \"pwd\": \"SECRETPWD5678\", "
			"\"roles\": [], \"insert\": \"SECRETCOLL9012\"}", NULL));
	assert_true(run(c, "SECRETDB4242",
			"{\"saslStart\": 1, \"mechanism\": \"SCRAM-SHA-256\", "
			"\"payload\": \"SECRETPAYLOAD3456\", \"collection\": \"SECRETCOLL9012\"}", NULL));
	assert_true(run(c, "SECRETDB4242",
			"{\"updateUser\": \"SECRETUSER1234\", \"pwd\": \"SECRETPWD5678\"}", NULL));
	/* positive control: an ordinary command's collection does land there */
	assert_true(run(c, "plaindb", "{\"insert\": \"VISIBLECOLL77\", \"documents\": [{\"a\": 1}]}", NULL));
	assert_int_equal(seg_count(&s, "command.succeeded", "createUser") - cu0, 1);
	char path[RB_PATH_MAX];
	rb_path(path, sizeof(path), getpid());
	assert_true(file_contains(path, "plaindb.VISIBLECOLL77"));
	const char *secrets[] = {"SECRETUSER1234", "SECRETPWD5678", "SECRETCOLL9012",
				 "SECRETDB4242", "SECRETPAYLOAD3456", "SECRET"};
	for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
		if (file_contains(path, secrets[i]))
			fail_msg("%s found in %s", secrets[i], path);
	}
	seg_detach(&s);
	ringmon_mongoc_client_destroy(c);
}

/* ---- fork ---- */

static void forked_child_records_into_its_own_segment_only(void **state)
{
	(void)state;
	mongoc_client_t *c = instrumented_client();
	assert_true(run(c, "admin", "{\"ping\": 1}", NULL));
	struct seg s;
	seg_self(&s);
	uint64_t parent0 = seg_count(&s, "command.succeeded", "buildInfo");
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		setenv("RINGMON_KEEP", "1", 1);
		/* a libmongoc client must not cross fork: a new one, instrumented */
		mongoc_client_t *cc = client_for(NULL);
		int ok = ringmon_mongoc_client(cc, NULL, NULL) == 0;
		for (int i = 0; i < 9 && ok; i++)
			ok = run(cc, "admin", "{\"buildInfo\": 1}", NULL);
		_exit(ok ? 0 : 3);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	struct seg cs;
	char path[RB_PATH_MAX];
	rb_path(path, sizeof(path), pid);
	assert_int_equal(seg_attach_path(&cs, path), 0);
	uint64_t child = seg_count(&cs, "command.succeeded", "buildInfo");
	seg_detach(&cs);
	unlink(path);
	assert_int_equal(child, 9);
	assert_int_equal(seg_count(&s, "command.succeeded", "buildInfo") - parent0, 0);
	/* the parent still records after the fork */
	assert_true(run(c, "admin", "{\"buildInfo\": 1}", NULL));
	assert_int_equal(seg_count(&s, "command.succeeded", "buildInfo") - parent0, 1);
	seg_detach(&s);
	ringmon_mongoc_client_destroy(c);
}

static void bad_arguments_are_refused_with_a_reason(void **state)
{
	(void)state;
	assert_int_equal(ringmon_mongoc_client(NULL, NULL, NULL), -EINVAL);
	assert_int_equal(ringmon_mongoc_pool(NULL, NULL, NULL), -EINVAL);
	assert_non_null(strstr(ringmon_mongoc_strerror(-EBUSY), "before the first pop"));
	assert_non_null(ringmon_mongoc_strerror(-12345));
}

int main(void)
{
	unsetenv("RINGMON_EVENTS"); /* the default: command.target off */
	mongoc_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bad_arguments_are_refused_with_a_reason),
		cmocka_unit_test(write_errors_are_found_past_every_bson_type),
		cmocka_unit_test(bulk_write_errors_are_write_errors),
		cmocka_unit_test_teardown(commands_are_counted_exactly_per_name, stop_mock),
		cmocka_unit_test_teardown(long_namespaces_stay_apart_and_are_never_dropped, stop_mock),
		cmocka_unit_test_teardown(failed_commands_carry_their_server_code, stop_mock),
		cmocka_unit_test_teardown(durations_follow_injected_latency, stop_mock),
		cmocka_unit_test_teardown(getmore_counts_under_its_collection, stop_mock),
		cmocka_unit_test_teardown(command_target_is_off_unless_asked, stop_mock),
		cmocka_unit_test_teardown(commands_are_counted_exactly_per_target, stop_mocks),
		cmocka_unit_test_teardown(application_callbacks_get_every_event_with_their_own_context,
					  stop_mock),
		cmocka_unit_test_teardown(command_times_are_libmongocs_own_clock_reads, stop_mock),
		cmocka_unit_test_teardown(sensitive_commands_leave_no_argument_in_the_segment, stop_mock),
		cmocka_unit_test_teardown(forked_child_records_into_its_own_segment_only, stop_mock),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	mongoc_cleanup();
	return rc;
}
