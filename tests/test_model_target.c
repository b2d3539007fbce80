/* test_model_target.c - command.target keys (docs/mongodb.md) in the readers:
 * shown by the names their ids stand for in the model (stats, top), in
 * decoded records (tail) and in the exposition (export), summed across
 * processes by those names; and every key that does not resolve (garbage, ids
 * out of range, of another type, of a keyless slot, a key naming itself)
 * shown as stored, counted under "other" by the exporter, never a crash. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "helper_common.h"
#include "helper_segment.h"
#include "model.h"
#include "mongo_schema.h"
#include "openmetrics.h"
#include "totals.h"

#define SEC 1000000000ull

enum { T_STARTED, T_NS, T_SERVER, T_TARGET, T_SUCCEEDED, T_FAILED };
static const char *const types[] = {"command.started", "command.ns", "server.opening",
				    "command.target", "command.succeeded", "command.failed", NULL};
static const char *const fields[] = {"ok", "code", "origin", "request_id", NULL};

/* a segment with the four types, every one enabled */
static void make(struct th_seg *z)
{
	assert_int_equal(th_seg_make(z, 1, 64, types, fields, 1), 0);
	rb_seg_control(&z->s)->enabled = (1ull << 6) - 1;
}

/* key of command.target naming ok, cmd, ns, server */
static uint32_t tuple(struct th_seg *z, uint32_t ok, uint32_t cmd, uint32_t ns, uint32_t server)
{
	char k[MS_TARGET_KEY_LEN];
	struct ms_target t = {cmd, ns, server, ok};
	return th_seg_key(z, T_TARGET, ms_target_key(&t, k, sizeof(k)));
}

/* the model's view of z, as stats and top read it */
static void attach(struct vm_proc *p, const struct th_seg *z)
{
	char err[RB_ERR_MAX + 64];
	if (vm_attach(p, z->pid, err, sizeof(err)) != 0)
		fail_msg("attach %d: %s", z->pid, err);
}

/* p's exposition in format f with config c, as stats --format prints it (malloc'd) */
static char *expose(struct vm_proc *p, const struct vm_totals_config *c, enum om_format f)
{
	static struct vm_totals t;
	assert_int_equal(vm_totals_read(&t, p, c, NULL), 0);
	const struct vm_totals *list[] = {&t};
	struct om_buf b = {0};
	assert_int_equal(om_write(&b, f, list, 1, c, NULL), 0);
	vm_totals_free(&t);
	return b.p;
}

static const struct vm_key *key_named(const struct vm_proc *p, const char *name)
{
	for (uint32_t k = 1; k < p->nkeys; k++)
		if (p->keys[k].used && (int)p->keys[k].type == T_TARGET && strcmp(p->keys[k].name, name) == 0)
			return &p->keys[k];
	return NULL;
}

static void keys_read_as_the_names_their_ids_stand_for(void **state)
{
	(void)state;
	struct th_seg z;
	make(&z);
	uint32_t find = th_seg_key(&z, T_STARTED, "find");
	uint32_t ping = th_seg_key(&z, T_STARTED, "ping");
	uint32_t orders = th_seg_key(&z, T_NS, "shop.orders");
	uint32_t host = th_seg_key(&z, T_SERVER, "db1.example:27017");
	/* the longest names a key holds: the text has room for all three */
	char l1[RB_KEY_LEN], l2[RB_KEY_LEN], l3[RB_KEY_LEN], want[VM_KEY_TEXT];
	memset(l1, 'c', sizeof(l1) - 1), l1[RB_KEY_LEN - 1] = 0;
	memset(l2, 'n', sizeof(l2) - 1), l2[RB_KEY_LEN - 1] = 0;
	memset(l3, 'h', sizeof(l3) - 1), l3[RB_KEY_LEN - 1] = 0;
	uint32_t lc = th_seg_key(&z, T_STARTED, l1), ln = th_seg_key(&z, T_NS, l2),
		 lh = th_seg_key(&z, T_SERVER, l3);
	uint32_t a = tuple(&z, 1, find, orders, host), b = tuple(&z, 0, find, orders, host),
		 c = tuple(&z, 1, ping, 0, host), d = tuple(&z, 0, ping, 0, 0),
		 e = tuple(&z, 0, lc, ln, lh);
	th_seg_stat(&z, 1, a, 7, 1000);
	th_seg_stat(&z, 1, b, 2, 1000);
	th_seg_stat(&z, 1, c, 3, 1000);
	th_seg_stat(&z, 1, e, 1, 1000);
	static struct vm_proc p; /* large: not on the stack */
	attach(&p, &z);
	const struct vm_key *k = key_named(&p, "find shop.orders db1.example:27017 ok");
	assert_non_null(k);
	assert_true(k->resolved);
	assert_int_equal(k->sum.count, 7);
	assert_int_equal(k->target.ok, 1);
	assert_string_equal(k->target.command, "find");
	assert_string_equal(k->target.ns, "shop.orders");
	assert_string_equal(k->target.server, "db1.example:27017");
	assert_non_null(key_named(&p, "find shop.orders db1.example:27017 failed"));
	assert_non_null(key_named(&p, "ping - db1.example:27017 ok"));
	assert_non_null(key_named(&p, "ping - - failed"));
	snprintf(want, sizeof(want), "%s %s %s failed", l1, l2, l3);
	assert_non_null(key_named(&p, want));
	(void)d;
	/* a record (tail, top's Events view) shows the same */
	struct rb_record r = {0};
	r.type = T_TARGET;
	r.key = (uint16_t)a;
	r.dur_ns = 1500;
	struct vm_event ev;
	vm_decode(&p.v, &r, &ev);
	assert_string_equal(ev.key, "find shop.orders db1.example:27017 ok");
	char line[1024];
	vm_event_format(&ev, 1, line, sizeof(line));
	assert_non_null(strstr(line, "\"key\":\"find shop.orders db1.example:27017 ok\""));
	vm_detach(&p);
	th_seg_close(&z);
}

/* the keys a buggy or hostile writer could leave: each shown as stored */
static void keys_that_do_not_resolve_are_shown_as_stored(void **state)
{
	(void)state;
	struct th_seg z;
	make(&z);
	uint32_t find = th_seg_key(&z, T_STARTED, "find");
	uint32_t orders = th_seg_key(&z, T_NS, "shop.orders");
	uint32_t host = th_seg_key(&z, T_SERVER, "h:1");
	uint32_t none = th_seg_key(&z, T_NS, "");
	rb_seg_keys(&z.s)[none].flags = RB_KEY_NONE;
	uint32_t self = rb_seg_header(&z.s)->nkeys + 6; /* the id raw[6] gets */
	char raw[16][RB_KEY_LEN];
	int n = 0;
	snprintf(raw[n++], RB_KEY_LEN, "x");
	snprintf(raw[n++], RB_KEY_LEN, "1.999.0.0");                      /* beyond the table */
	snprintf(raw[n++], RB_KEY_LEN, "1.4294967295.0.0");               /* far beyond */
	snprintf(raw[n++], RB_KEY_LEN, "1.%u.0.0", orders);               /* a key of command.ns */
	snprintf(raw[n++], RB_KEY_LEN, "1.%u.%u.%u", find, host, orders); /* ns and server swapped */
	snprintf(raw[n++], RB_KEY_LEN, "1.%u.%u.0", find, none);          /* a keyless slot */
	snprintf(raw[n++], RB_KEY_LEN, "0.%u.0.0", self);                 /* names itself */
	snprintf(raw[n++], RB_KEY_LEN, "2.%u.0.0", find);
	snprintf(raw[n++], RB_KEY_LEN, "1.%u.0.0.0", find);
	snprintf(raw[n++], RB_KEY_LEN, "1.0%u.0.0", find);
	snprintf(raw[n++], RB_KEY_LEN, "1.0.%u.%u", orders, host);        /* no command */
	snprintf(raw[n++], RB_KEY_LEN, "1.%u.0.0\xff", find);
	snprintf(raw[n++], RB_KEY_LEN, "%s", "");
	uint32_t id[16];
	for (int i = 0; i < n; i++) {
		id[i] = th_seg_key(&z, T_TARGET, raw[i]);
		th_seg_stat(&z, 1, id[i], (uint64_t)i + 1, 1000);
	}
	assert_int_equal(id[6], self);
	uint32_t good = tuple(&z, 1, find, orders, host);
	th_seg_stat(&z, 1, good, 100, 1000);
	th_seg_stat(&z, 0, T_TARGET, 100 + (uint64_t)n * (n + 1) / 2, 1000);

	static struct vm_proc p; /* large: not on the stack */
	attach(&p, &z);
	for (int i = 0; i < n; i++) {
		const struct vm_key *k = &p.keys[id[i]];
		if (!k->used)
			fail_msg("key '%s' not read", raw[i]);
		assert_false(k->resolved);
		assert_string_equal(k->name, raw[i]);
		/* the status is known when the key reads as a tuple */
		assert_int_equal(k->target.ok, i >= 1 && i <= 5 ? 1 : i == 6 ? 0 : -1);
		assert_string_equal(k->target.command, "");
	}
	assert_true(p.keys[good].resolved);
	/* records of them, and of ids no key has */
	struct rb_record r = {0};
	struct vm_event ev;
	r.type = T_TARGET;
	for (int i = 0; i < n; i++) {
		r.key = (uint16_t)id[i];
		vm_decode(&p.v, &r, &ev);
		assert_string_equal(ev.key, raw[i]);
	}
	r.key = 60000;
	vm_decode(&p.v, &r, &ev);
	assert_string_equal(ev.key, "key#60000");

	/* the exporter: the resolved key by its labels, the others under "other"
	 * (by status when they say it), summing to the type's total */
	struct vm_totals_config cfg;
	vm_totals_config_init(&cfg);
	char *out = expose(&p, &cfg, OM_PROMETHEUS);
	char want[512];
	snprintf(want, sizeof(want),
		 "\nmongodb_driver_commands_seconds_count{pid=\"%d\",process=\"%s\",command=\"find\","
		 "database=\"shop\",collection=\"orders\",server_address=\"h:1\",status=\"SUCCESS\"} 100\n",
		 z.pid, p.v.name);
	if (!strstr(out, want))
		fail_msg("missing %s in\n%s", want, out);
	/* ok 1: keys 1 to 5 (2 + ... + 6 events); ok 0: key 6 (7); unknown: the rest */
	uint64_t other_ok = 2 + 3 + 4 + 5 + 6, other_failed = 7, other = 0;
	for (int i = 0; i < n; i++)
		if (i < 1 || i > 6)
			other += (uint64_t)i + 1;
	const char *const tails[] = {",status=\"SUCCESS\"}", ",status=\"FAILED\"}", "}"};
	uint64_t counts[] = {other_ok, other_failed, other};
	for (int i = 0; i < 3; i++) {
		snprintf(want, sizeof(want),
			 "\nmongodb_driver_commands_seconds_count{pid=\"%d\",process=\"%s\",command=\"other\","
			 "collection=\"other\",server_address=\"other\"%s %llu\n",
			 z.pid, p.v.name, tails[i], (unsigned long long)counts[i]);
		if (!strstr(out, want))
			fail_msg("missing %s in\n%s", want, out);
	}
	/* unresolved keys are not --max-keys folding */
	assert_null(strstr(out, "ringmon_export_folded_keys{"));
	free(out);
	vm_detach(&p);
	th_seg_close(&z);
}

/* processes are summed by the names, not the ids: the same tuple under other
 * ids is one key, the same ids naming other tuples are two */
static void processes_are_summed_by_names_not_ids(void **state)
{
	(void)state;
	struct th_seg a, b;
	make(&a);
	make(&b);
	uint32_t a_find = th_seg_key(&a, T_STARTED, "find"), a_ns = th_seg_key(&a, T_NS, "shop.orders"),
		 a_h = th_seg_key(&a, T_SERVER, "h:1");
	uint32_t b_ins = th_seg_key(&b, T_STARTED, "insert"), b_ns = th_seg_key(&b, T_NS, "shop.orders"),
		 b_h = th_seg_key(&b, T_SERVER, "h:1"), b_find = th_seg_key(&b, T_STARTED, "find");
	uint32_t a1 = tuple(&a, 1, a_find, a_ns, a_h);
	uint32_t b1 = tuple(&b, 1, b_find, b_ns, b_h); /* the same tuple, other ids */
	uint32_t b2 = tuple(&b, 1, b_ins, b_ns, b_h);
	/* b's "insert" has a's "find" id: b2's key is a1's, another tuple */
	assert_string_equal(rb_seg_keys(&a.s)[a1].name, rb_seg_keys(&b.s)[b2].name);
	th_seg_stat(&a, 1, a1, 5, 1000);
	th_seg_stat(&b, 1, b1, 7, 1000);
	th_seg_stat(&b, 1, b2, 2, 1000);
	struct vm_set *s = vm_set_new();
	assert_non_null(s);
	char err[RB_ERR_MAX];
	assert_int_equal(vm_set_attach(s, a.pid, err, sizeof(err)), 0);
	assert_int_equal(vm_set_attach(s, b.pid, err, sizeof(err)), 0);
	vm_set_refresh(s, SEC);
	int t = vm_set_type_find(s, "command.target");
	int f = vm_set_key_find(s, t, "find shop.orders h:1 ok");
	int i = vm_set_key_find(s, t, "insert shop.orders h:1 ok");
	assert_true(f >= 0 && i >= 0);
	assert_int_equal(s->keys[f]->sum->count, 12);
	assert_int_equal(s->keys[i]->sum->count, 2);
	vm_set_free(s);
	th_seg_close(&a);
	th_seg_close(&b);
}

/* --max-keys folds command.target's keys past the limit by status */
static void keys_past_the_limit_fold_by_status(void **state)
{
	(void)state;
	struct th_seg z;
	make(&z);
	uint32_t h = th_seg_key(&z, T_SERVER, "h:1");
	uint32_t cmd[4];
	for (int i = 0; i < 4; i++) {
		char name[8];
		snprintf(name, sizeof(name), "c%d", i);
		cmd[i] = th_seg_key(&z, T_STARTED, name);
	}
	for (int i = 0; i < 4; i++) {
		th_seg_stat(&z, 1, tuple(&z, 1, cmd[i], 0, h), 10 + (uint64_t)i, 1000);
		th_seg_stat(&z, 1, tuple(&z, 0, cmd[i], 0, h), 1, 1000);
	}
	static struct vm_proc p; /* large: not on the stack */
	attach(&p, &z);
	struct vm_totals_config cfg;
	vm_totals_config_init(&cfg);
	cfg.max_keys = 2; /* c0 ok, c0 failed; the rest fold */
	char *out = expose(&p, &cfg, OM_OPENMETRICS);
	char want[512];
	const struct {
		const char *labels;
		unsigned n;
	} lines[] = {
		{"command=\"c0\",collection=\"unknown\",server_address=\"h:1\",status=\"SUCCESS\"", 10},
		{"command=\"c0\",collection=\"unknown\",server_address=\"h:1\",status=\"FAILED\"", 1},
		{"command=\"other\",collection=\"other\",server_address=\"other\",status=\"SUCCESS\"", 11 + 12 + 13},
		{"command=\"other\",collection=\"other\",server_address=\"other\",status=\"FAILED\"", 3},
	};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		snprintf(want, sizeof(want), "\nmongodb_driver_commands_seconds_count{pid=\"%d\",process=\"%s\",%s} %u\n",
			 z.pid, p.v.name, lines[i].labels, lines[i].n);
		if (!strstr(out, want))
			fail_msg("missing %s in\n%s", want, out);
	}
	snprintf(want, sizeof(want), "\nringmon_export_folded_keys{pid=\"%d\",process=\"%s\",type=\"command.target\"} 6\n",
		 z.pid, p.v.name);
	assert_non_null(strstr(out, want));
	/* and in the generic family, by the folded names */
	snprintf(want, sizeof(want), "\nringmon_events_total{pid=\"%d\",process=\"%s\",type=\"command.target\",key=\"other ok\"} 36\n",
		 z.pid, p.v.name);
	assert_non_null(strstr(out, want));
	free(out);
	/* turned off: the family is per command name again (none here) */
	rb_seg_control(&z.s)->enabled &= ~(1ull << T_TARGET);
	vm_refresh(&p);
	out = expose(&p, &cfg, OM_PROMETHEUS);
	assert_null(strstr(out, "server_address=\"other\""));
	free(out);
	vm_detach(&p);
	th_seg_close(&z);
}

/* types whose keys --keys leaves out still count in the MongoDB families:
 * their totals, without the key's label (status stays), so an error rate by
 * status reads the same */
static void families_keep_totals_of_types_whose_keys_are_not_exported(void **state)
{
	(void)state;
	struct th_seg z;
	make(&z);
	th_seg_stat(&z, 1, th_seg_key(&z, T_SUCCEEDED, "find"), 5, 1000);
	th_seg_stat(&z, 0, T_SUCCEEDED, 5, 1000);
	th_seg_stat(&z, 1, th_seg_key(&z, T_FAILED, "distinct"), 2, 1000);
	th_seg_stat(&z, 0, T_FAILED, 2, 1000);
	static struct vm_proc p;
	attach(&p, &z);
	const char *keys[] = {"none", "command.succeeded"};
	for (int i = 0; i < 2; i++) {
		struct vm_totals_config cfg;
		vm_totals_config_init(&cfg);
		char err[128];
		assert_int_equal(vm_totals_set_keys(&cfg, keys[i], err, sizeof(err)), 0);
		char *out = expose(&p, &cfg, OM_PROMETHEUS);
		char want[512];
		snprintf(want, sizeof(want), "\nmongodb_driver_commands_seconds_count{pid=\"%d\",process=\"%s\",%s} 5\n",
			 z.pid, p.v.name, i ? "command=\"find\",status=\"SUCCESS\"" : "status=\"SUCCESS\"");
		if (!strstr(out, want))
			fail_msg("--keys %s: missing %s in\n%s", keys[i], want, out);
		snprintf(want, sizeof(want), "\nmongodb_driver_commands_seconds_count{pid=\"%d\",process=\"%s\",status=\"FAILED\"} 2\n",
			 z.pid, p.v.name);
		if (!strstr(out, want))
			fail_msg("--keys %s: missing %s in\n%s", keys[i], want, out);
		free(out);
	}
	vm_detach(&p);
	th_seg_close(&z);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(keys_read_as_the_names_their_ids_stand_for),
		cmocka_unit_test(keys_that_do_not_resolve_are_shown_as_stored),
		cmocka_unit_test(processes_are_summed_by_names_not_ids),
		cmocka_unit_test(keys_past_the_limit_fold_by_status),
		cmocka_unit_test(families_keep_totals_of_types_whose_keys_are_not_exported),
	};
	return cmocka_run_group_tests(tests, th_dir_setup, th_dir_teardown);
}
