/* test_model_sdam.c - the MongoDB deployment as the Servers view shows it,
 * from records given in any order: topologies apart by id, each server's type
 * from its newest record, closed servers marked, the timeline in time order
 * without no-op changes, unknown values as "-". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "model.h"

enum { UNKNOWN = 0, STANDALONE = 1, PRIMARY = 4, SECONDARY = 5 };
enum { T_SINGLE = 1, T_NOPRIMARY = 2, T_WITHPRIMARY = 3 };

static struct vm_event ev(uint64_t ts, const char *type, const char *key, const char *const *names,
			  int64_t f0, int64_t f1, int64_t f2, int64_t f3)
{
	struct vm_event e;
	memset(&e, 0, sizeof(e));
	e.ts_ns = ts;
	e.wall = 1700000000.0 + (double)ts / 1e9;
	snprintf(e.type, sizeof(e.type), "%s", type);
	snprintf(e.key, sizeof(e.key), "%s", key);
	int64_t f[4] = {f0, f1, f2, f3};
	for (uint32_t i = 0; i < 4 && names[i]; i++) {
		snprintf(e.field_name[i], sizeof(e.field_name[i]), "%s", names[i]);
		e.field[i] = f[i];
		e.nfields = i + 1;
	}
	return e;
}

/* the adapter's fields (docs/mongodb.md) */
static const char *const srv_changed[] = {"prev_type", "new_type", "rtt_ms", "topology_id"};
static const char *const srv_closed[] = {"topology_id", "port", NULL};
static const char *const top_changed[] = {"prev_type", "new_type", "servers", "topology_id"};

static struct vm_event changed(uint64_t ts, const char *host, int prev, int now, int rtt, int64_t topo)
{
	return ev(ts, "server.changed", host, srv_changed, prev, now, rtt, topo);
}

static const struct vm_sdam_server *find(const struct vm_sdam *d, int64_t topo, const char *host)
{
	for (int i = 0; i < d->nservers; i++)
		if (d->servers[i].topology_id == topo && strcmp(d->servers[i].host, host) == 0)
			return &d->servers[i];
	return NULL;
}

static void timeline_is_newest_first_whatever_the_reading_order(void **state)
{
	(void)state;
	static struct vm_sdam d;
	vm_sdam_clear(&d);
	/* read as a scan finds them: one shard after another */
	struct vm_event in[] = {
		changed(300, "h:1", SECONDARY, PRIMARY, 2, 7),
		changed(100, "h:1", UNKNOWN, SECONDARY, 2, 7),
		changed(200, "h:2", UNKNOWN, SECONDARY, 3, 7),
		ev(250, "topology.changed", "", top_changed, T_NOPRIMARY, T_WITHPRIMARY, 2, 7),
		ev(50, "topology.changed", "", top_changed, 0, T_NOPRIMARY, 0, 7),
	};
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++)
		vm_sdam_add(&d, &in[i]);
	assert_int_equal(d.nchanges, 5);
	for (int i = 1; i < d.nchanges; i++)
		if (d.changes[i].ts_ns > d.changes[i - 1].ts_ns)
			fail_msg("timeline entry %d (ts %llu) is newer than the one above it", i,
				 (unsigned long long)d.changes[i].ts_ns);
	assert_int_equal(d.changes[0].ts_ns, 300);
	/* the header and the types from the newest record by time */
	assert_int_equal(d.ntopologies, 1);
	assert_int_equal(d.topologies[0].type, T_WITHPRIMARY);
	assert_int_equal(find(&d, 7, "h:1")->type, PRIMARY);
	/* an older record read later changes nothing */
	struct vm_event late = changed(150, "h:1", SECONDARY, UNKNOWN, -1, 7);
	vm_sdam_add(&d, &late);
	assert_int_equal(find(&d, 7, "h:1")->type, PRIMARY);
	struct vm_event old_topo = ev(60, "topology.changed", "", top_changed, T_NOPRIMARY, 0, 0, 7);
	vm_sdam_add(&d, &old_topo);
	assert_int_equal(d.topologies[0].type, T_WITHPRIMARY);
}

static void topologies_are_kept_apart_by_id(void **state)
{
	(void)state;
	static struct vm_sdam d;
	vm_sdam_clear(&d);
	struct vm_event in[] = {
		ev(10, "topology.changed", "", top_changed, T_NOPRIMARY, T_WITHPRIMARY, 3, 111),
		changed(11, "rs:1", UNKNOWN, PRIMARY, 1, 111),
		changed(12, "rs:2", UNKNOWN, SECONDARY, 1, 111),
		ev(20, "topology.changed", "", top_changed, 0, T_SINGLE, 1, 222),
		changed(21, "sa:1", UNKNOWN, STANDALONE, 1, 222),
	};
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++)
		vm_sdam_add(&d, &in[i]);
	assert_int_equal(d.ntopologies, 2);
	assert_int_equal(d.topologies[0].type, T_WITHPRIMARY);
	assert_int_equal(d.topologies[1].type, T_SINGLE);
	assert_non_null(find(&d, 111, "rs:2"));
	assert_non_null(find(&d, 222, "sa:1"));
	assert_null(find(&d, 111, "sa:1"));
	assert_string_equal(vm_topology_type_name(d.topologies[1].type), "Single");
}

static void closed_servers_are_marked_until_they_open_again(void **state)
{
	(void)state;
	static struct vm_sdam d;
	vm_sdam_clear(&d);
	struct vm_event a = changed(10, "h:3", UNKNOWN, SECONDARY, 1, 7);
	struct vm_event b = ev(20, "server.closed", "h:3", srv_closed, 7, 3, 0, 0);
	vm_sdam_add(&d, &b); /* in any order */
	vm_sdam_add(&d, &a);
	assert_true(find(&d, 7, "h:3")->closed);
	struct vm_event c = ev(30, "server.opening", "h:3", srv_closed, 7, 3, 0, 0);
	vm_sdam_add(&d, &c);
	assert_false(find(&d, 7, "h:3")->closed);
}

static void noop_changes_are_left_out_and_unknown_rtt_is_a_dash(void **state)
{
	(void)state;
	static struct vm_sdam d;
	vm_sdam_clear(&d);
	struct vm_event a = changed(10, "h:1", SECONDARY, SECONDARY, 3, 7);
	struct vm_event b = changed(20, "h:1", SECONDARY, UNKNOWN, 0, 7);
	struct vm_event c = changed(30, "h:1", UNKNOWN, SECONDARY, -1, 7);
	struct vm_event e = changed(40, "h:1", SECONDARY, PRIMARY, 0, 7);
	vm_sdam_add(&d, &a);
	vm_sdam_add(&d, &b);
	vm_sdam_add(&d, &c);
	vm_sdam_add(&d, &e);
	assert_int_equal(d.noop, 1);
	assert_int_equal(d.nchanges, 3);
	for (int i = 0; i < d.nchanges; i++) {
		assert_null(strstr(d.changes[i].text, "RSSecondary -> RSSecondary"));
		assert_null(strstr(d.changes[i].text, "0ns"));
	}
	assert_non_null(strstr(d.changes[0].text, "RSSecondary -> RSPrimary  rtt <1ms"));
	assert_non_null(strstr(d.changes[1].text, "Unknown -> RSSecondary  rtt -"));
	assert_non_null(strstr(d.changes[2].text, "RSSecondary -> Unknown  rtt -"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(timeline_is_newest_first_whatever_the_reading_order),
		cmocka_unit_test(topologies_are_kept_apart_by_id),
		cmocka_unit_test(closed_servers_are_marked_until_they_open_again),
		cmocka_unit_test(noop_changes_are_left_out_and_unknown_rtt_is_a_dash),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
