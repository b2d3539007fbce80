/* test_model_sdam.c - the MongoDB deployment as the Servers view shows it,
 * from records given in any order: topologies apart by id, each server's type
 * from its newest record, closed servers marked (a closed topology's too),
 * closed topologies giving way to new ones under stable numbers, the
 * timeline in time order without no-op changes, unknown values as "-",
 * other producers' field names escaped; and each host's newest heartbeat
 * read from a segment's rings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "helper_common.h"
#include "helper_segment.h"
#include "model.h"

enum { UNKNOWN = 0, STANDALONE = 1, PRIMARY = 4, SECONDARY = 5 };
enum { T_SINGLE = 1, T_NOPRIMARY = 2, T_WITHPRIMARY = 3 };

static struct vm_event ev(uint64_t ts, const char *type, const char *key, const char *const *names,
			  int64_t f0, int64_t f1, int64_t f2, int64_t f3)
{
	struct vm_event e;
	memset(&e, 0, sizeof(e));
	e.ts_ns = ts;
	e.wall_ns = 1700000000000000000 + (int64_t)ts;
	e.wall = (double)e.wall_ns / 1e9;
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
static const char *const top_only[] = {"topology_id", NULL};

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

/* libmongoc 1.23 destroys a client or pool with topology.closed and no
 * server.closed: its servers are closed all the same, and its age stops */
static void a_closed_topology_closes_its_servers(void **state)
{
	(void)state;
	static struct vm_sdam d;
	vm_sdam_clear(&d);
	struct vm_event in[] = {
		ev(10, "topology.changed", "", top_changed, 0, T_SINGLE, 1, 5),
		changed(11, "sa:1", UNKNOWN, STANDALONE, 1, 5),
		ev(2000000000, "topology.closed", "", top_only, 5, 0, 0, 0),
	};
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++)
		vm_sdam_add(&d, &in[i]);
	const struct vm_sdam_server *s = find(&d, 5, "sa:1");
	assert_non_null(s);
	assert_false(s->closed); /* no server.closed came */
	assert_true(vm_sdam_server_closed(&d, s));
	const struct vm_sdam_topology *t = vm_sdam_topology(&d, 5);
	assert_true(t->closed);
	assert_true(t->closed_wall == in[2].wall);
	assert_true(t->closed_wall - t->type_wall > 1.9); /* "(for 2.0s)", then no more */
}

/* A process that made and destroyed 40 clients, then a lasting one: the
 * lasting topology is kept (number 41), the closed ones that closed first
 * gave way, and their late records bring none of them back. */
static void closed_topologies_give_way_to_new_ones(void **state)
{
	(void)state;
	static struct vm_sdam d;
	vm_sdam_clear(&d);
	uint64_t ts = 100;
	for (int64_t id = 1; id <= 41; id++) {
		struct vm_event a = ev(ts++, "topology.changed", "", top_changed, 0, T_SINGLE, 1, id);
		struct vm_event b = changed(ts++, "sa:1", UNKNOWN, STANDALONE, 1, id);
		struct vm_event c = ev(ts++, "topology.closed", "", top_only, id, 0, 0, 0);
		vm_sdam_add(&d, &a);
		vm_sdam_add(&d, &b);
		if (id < 41)
			vm_sdam_add(&d, &c);
	}
	assert_int_equal(d.ntopologies, VM_SDAM_TOPOLOGIES);
	assert_int_equal(d.forgotten, 41 - VM_SDAM_TOPOLOGIES);
	assert_false(d.topologies_full);
	const struct vm_sdam_topology *live = vm_sdam_topology(&d, 41);
	assert_non_null(live);
	assert_int_equal(live->number, 41);
	assert_false(live->closed);
	assert_false(vm_sdam_server_closed(&d, find(&d, 41, "sa:1")));
	/* the kept closed ones are the newest, each with its one server */
	for (int i = 0; i < d.ntopologies; i++)
		assert_int_equal(d.topologies[i].number, d.topologies[i].id);
	assert_null(vm_sdam_topology(&d, 1));
	assert_null(find(&d, 1, "sa:1"));
	assert_int_equal(d.nservers, d.ntopologies);
	/* a record of a forgotten topology read late: still forgotten, and the
	 * timeline still names it by its number */
	struct vm_event late = changed(1, "sa:1", STANDALONE, UNKNOWN, -1, 2);
	vm_sdam_add(&d, &late);
	assert_null(vm_sdam_topology(&d, 2));
	assert_null(find(&d, 2, "sa:1"));
	assert_int_equal(d.changes[d.nchanges - 1].ts_ns, 1);
	assert_int_equal(d.changes[d.nchanges - 1].topology, 2);
	assert_int_equal(d.changes[0].topology, 41);
}

/* open topologies are never forgotten: one more than the table holds is
 * said (topologies_full), not put in place of another */
static void open_topologies_are_never_forgotten(void **state)
{
	(void)state;
	static struct vm_sdam d;
	vm_sdam_clear(&d);
	for (int64_t id = 1; id <= VM_SDAM_TOPOLOGIES + 1; id++) {
		struct vm_event a = ev((uint64_t)id, "topology.changed", "", top_changed, 0, T_SINGLE, 1, id);
		vm_sdam_add(&d, &a);
	}
	assert_int_equal(d.ntopologies, VM_SDAM_TOPOLOGIES);
	assert_int_equal(d.forgotten, 0);
	assert_true(d.topologies_full);
	assert_non_null(vm_sdam_topology(&d, 1));
	assert_null(vm_sdam_topology(&d, VM_SDAM_TOPOLOGIES + 1));
}

/* the fields of a type the adapter does not make are named as stored: a
 * backslash in a name is escaped, as everywhere names are printed */
static void other_field_names_are_escaped(void **state)
{
	(void)state;
	static struct vm_sdam d;
	vm_sdam_clear(&d);
	static const char *const odd[] = {"a\\x41", "b", NULL};
	struct vm_event e = ev(10, "server.custom", "h:1", odd, 1, 2, 0, 0);
	vm_sdam_add(&d, &e);
	assert_int_equal(d.nchanges, 1);
	assert_string_equal(d.changes[0].text, "a\\\\x41=1 b=2");
}

/* Each host's newest heartbeat (succeeded or failed; not started) from a
 * segment's rings, whatever the shard; read again only while the counts
 * move, and once after. */
static void heartbeat_time_is_each_hosts_newest_record(void **state)
{
	(void)state;
	static const char *const types[] = {"heartbeat.started", "heartbeat.succeeded", "heartbeat.failed",
					   "command.started", NULL};
	enum { STARTED, SUCCEEDED, FAILED, COMMAND };
	struct th_seg z;
	assert_int_equal(th_seg_make(&z, 2, 64, types, NULL, 1), 0);
	uint32_t a_ok = th_seg_key(&z, SUCCEEDED, "a:1"), a_fail = th_seg_key(&z, FAILED, "a:1");
	uint32_t b_start = th_seg_key(&z, STARTED, "b:1"), cmd = th_seg_key(&z, COMMAND, "ping");
	int64_t f[RB_NFIELDS] = {0};
	th_seg_record(&z, 0, 1000, SUCCEEDED, a_ok, 500, f);
	th_seg_record(&z, 1, 3000, FAILED, a_fail, 500, f); /* the newest, in the other shard */
	th_seg_record(&z, 0, 4000, COMMAND, cmd, RB_NO_DURATION, f);
	th_seg_record(&z, 1, 5000, STARTED, b_start, RB_NO_DURATION, f); /* started: not a heartbeat */
	th_seg_stat(&z, 0, SUCCEEDED, 1, 500);
	th_seg_stat(&z, 0, FAILED, 1, 500);
	struct vm_set *set = vm_set_new();
	assert_non_null(set);
	char err[RB_ERR_MAX];
	assert_int_equal(vm_set_attach(set, z.pid, err, sizeof(err)), 0);
	vm_set_refresh(set, 1);
	static struct vm_sdam d;
	vm_sdam_clear(&d);
	vm_sdam_beats(&d, set, 10000);
	assert_int_equal(vm_sdam_last_beat(&d, "a:1"), 3000);
	assert_int_equal(vm_sdam_last_beat(&d, "b:1"), 0);
	/* a record published after its count was read: the read after the
	 * counts moved takes it */
	th_seg_record(&z, 0, 6000, SUCCEEDED, a_ok, 500, f);
	vm_sdam_beats(&d, set, 10000);
	assert_int_equal(vm_sdam_last_beat(&d, "a:1"), 6000);
	/* counts still: the rings are not read */
	th_seg_record(&z, 0, 7000, SUCCEEDED, a_ok, 500, f);
	vm_sdam_beats(&d, set, 10000);
	assert_int_equal(vm_sdam_last_beat(&d, "a:1"), 6000);
	/* they move: read */
	th_seg_stat(&z, 0, SUCCEEDED, 1, 500);
	vm_set_refresh(set, 2);
	vm_sdam_beats(&d, set, 10000);
	assert_int_equal(vm_sdam_last_beat(&d, "a:1"), 7000);
	vm_sdam_clear(&d);
	assert_int_equal(vm_sdam_last_beat(&d, "a:1"), 0);
	vm_set_free(set);
	th_seg_close(&z);
}

/* the table of hosts, full: the host heard from least recently gives way */
static void heartbeat_hosts_give_way_oldest_first(void **state)
{
	(void)state;
	static struct vm_sdam d;
	vm_sdam_clear(&d);
	char host[32];
	for (int i = 0; i < VM_SDAM_HOSTS; i++) {
		snprintf(host, sizeof(host), "h%d:1", i);
		vm_sdam_beat(&d, host, 100 + (uint64_t)i);
	}
	vm_sdam_beat(&d, "h0:1", 50); /* older: kept as it is */
	assert_int_equal(vm_sdam_last_beat(&d, "h0:1"), 100);
	vm_sdam_beat(&d, "new:1", 1000);
	assert_int_equal(vm_sdam_last_beat(&d, "new:1"), 1000);
	assert_int_equal(vm_sdam_last_beat(&d, "h0:1"), 0);
	assert_int_equal(vm_sdam_last_beat(&d, "h1:1"), 101);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(timeline_is_newest_first_whatever_the_reading_order),
		cmocka_unit_test(topologies_are_kept_apart_by_id),
		cmocka_unit_test(closed_servers_are_marked_until_they_open_again),
		cmocka_unit_test(noop_changes_are_left_out_and_unknown_rtt_is_a_dash),
		cmocka_unit_test(a_closed_topology_closes_its_servers),
		cmocka_unit_test(closed_topologies_give_way_to_new_ones),
		cmocka_unit_test(open_topologies_are_never_forgotten),
		cmocka_unit_test(other_field_names_are_escaped),
		cmocka_unit_test(heartbeat_time_is_each_hosts_newest_record),
		cmocka_unit_test(heartbeat_hosts_give_way_oldest_first),
	};
	return cmocka_run_group_tests(tests, th_dir_setup, th_dir_teardown);
}
