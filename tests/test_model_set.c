/* test_model_set.c - the reader model's figures, without a terminal: what
 * `top` and `stats` show. Sums over processes by name, rates over a window,
 * percentiles of the last interval, the reset baseline, the uptime of a dead
 * process. */
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

#include "cli.h"
#include "helper_common.h"
#include "helper_segment.h"
#include "model.h"

#define SEC 1000000000ull

/* Two processes that registered the same names in another order. */
struct two {
	struct th_seg a, b;
	uint32_t a_get, b_get; /* key "get" of type "cmd" */
	struct vm_set *set;
};

static void two_make(struct two *w)
{
	static const char *const ta[] = {"cmd", "tick", NULL}, *const tb[] = {"tick", "cmd", NULL};
	assert_int_equal(th_seg_make(&w->a, 1, 16, ta, NULL, 1), 0);
	assert_int_equal(th_seg_make(&w->b, 1, 16, tb, NULL, 1), 0);
	w->a_get = th_seg_key(&w->a, 0, "get");
	w->b_get = th_seg_key(&w->b, 1, "get");
	w->set = vm_set_new();
	assert_non_null(w->set);
	char err[RB_ERR_MAX];
	assert_int_equal(vm_set_attach(w->set, w->a.pid, err, sizeof(err)), 0);
	assert_int_equal(vm_set_attach(w->set, w->b.pid, err, sizeof(err)), 0);
}

static void two_free(struct two *w)
{
	vm_set_free(w->set);
	th_seg_close(&w->a);
	th_seg_close(&w->b);
}

static void processes_are_summed_by_type_and_key_name(void **state)
{
	(void)state;
	struct two w;
	two_make(&w);
	th_seg_stat(&w.a, 0, 0, 30, 1000); /* cmd */
	th_seg_stat(&w.b, 0, 1, 12, 1000); /* cmd, id 1 there */
	th_seg_stat(&w.b, 0, 0, 5, RB_NO_DURATION); /* tick */
	th_seg_stat(&w.a, 1, w.a_get, 30, 1000);
	th_seg_stat(&w.b, 1, w.b_get, 12, 1000);
	vm_set_refresh(w.set, 1 * SEC);
	int cmd = vm_set_type_find(w.set, "cmd"), tick = vm_set_type_find(w.set, "tick");
	assert_true(cmd >= 0 && tick >= 0);
	assert_int_equal(w.set->ntypes, 2);
	assert_int_equal(w.set->types[cmd].sum.count, 42);
	assert_int_equal(w.set->types[cmd].sum.timed, 42);
	assert_int_equal(w.set->types[tick].sum.count, 5);
	int get = vm_set_key_find(w.set, cmd, "get");
	assert_true(get >= 0);
	assert_int_equal(w.set->keys[get]->sum->count, 42);
	/* one process's own figures stay apart */
	assert_int_equal(w.set->src[0]->p.types[0].sum.count, 30);
	/* both are dead (their makers exited): an exporter of live ones drops them */
	assert_int_equal(vm_set_forget_ended(w.set), 2);
	assert_int_equal(w.set->nsrc, 0);
	vm_set_refresh(w.set, 2 * SEC);
	assert_int_equal(w.set->types[cmd].sum.count, 0);
	two_free(&w);
}

static void rates_are_exact_over_their_window_and_unknown_before(void **state)
{
	(void)state;
	struct two w;
	two_make(&w);
	vm_set_refresh(w.set, 10 * SEC);
	int cmd = vm_set_type_find(w.set, "cmd");
	assert_true(vm_set_type_rate(w.set, cmd, 1.0) < 0); /* one sample: no rate yet */
	th_seg_stat(&w.a, 0, 0, 100, 1000);
	th_seg_stat(&w.b, 0, 1, 50, 1000);
	th_seg_stat(&w.a, 1, w.a_get, 100, 1000);
	vm_set_refresh(w.set, 11 * SEC);
	int get = vm_set_key_find(w.set, cmd, "get");
	assert_true(vm_set_type_rate(w.set, cmd, 1.0) == 150.0);
	assert_true(vm_set_key_rate(w.set, get, 1.0) == 100.0);
	/* 1 s of samples does not cover 10 s: top --once shows "-" */
	assert_true(vm_set_type_rate(w.set, cmd, 10.0) < 0);
	char buf[16];
	assert_string_equal(vm_fmt_rate(vm_set_type_rate(w.set, cmd, 10.0), buf, sizeof(buf)), "-");
	for (int i = 2; i <= 10; i++) {
		th_seg_stat(&w.a, 0, 0, 10, 1000);
		vm_set_refresh(w.set, (10 + (uint64_t)i) * SEC);
	}
	assert_true(vm_set_type_rate(w.set, cmd, 10.0) == 24.0); /* (150 + 9 * 10) / 10 s */
	assert_true(vm_set_type_rate(w.set, cmd, 1.0) == 10.0);
	two_free(&w);
}

static void interval_percentiles_see_only_the_last_interval(void **state)
{
	(void)state;
	struct two w;
	two_make(&w);
	th_seg_stat(&w.a, 0, 0, 1000, 1000); /* 1000 fast ones: 1 us */
	th_seg_stat(&w.a, 1, w.a_get, 1000, 1000);
	vm_set_refresh(w.set, 1 * SEC);
	th_seg_stat(&w.b, 0, 1, 100, 5000000); /* then 100 slow ones in the other process: 5 ms */
	th_seg_stat(&w.b, 1, w.b_get, 100, 5000000);
	vm_set_refresh(w.set, 2 * SEC);
	int cmd = vm_set_type_find(w.set, "cmd"), get = vm_set_key_find(w.set, cmd, "get");
	struct rb_summary iv;
	vm_set_key_interval(w.set, get, &iv);
	assert_int_equal(iv.timed, 100);
	uint64_t p50 = rb_summary_quantile(&iv, 0.5);
	assert_true(p50 > 4900000 && p50 <= 5000000);
	vm_set_type_interval(w.set, cmd, &iv);
	assert_int_equal(iv.count, 100);
	assert_true(rb_summary_quantile(&iv, 0.5) > 4900000);
	/* cumulative: the fast ones still dominate */
	assert_true(rb_summary_quantile(w.set->keys[get]->sum, 0.5) < 2000);
	/* the key's p99 history holds the interval's p99 */
	long h = vm_set_hist_back(w.set, 0);
	assert_true(h >= 0 && w.set->keys[get]->p99[h] > 4900000);
	/* an interval with no events: nothing */
	vm_set_refresh(w.set, 3 * SEC);
	vm_set_key_interval(w.set, get, &iv);
	assert_int_equal(iv.timed, 0);
	assert_int_equal(vm_interval_quantile(w.set->keys[get]->sum, w.set->keys[get]->prev, 0.99), 0);
	two_free(&w);
}

static void reset_counts_from_the_baseline(void **state)
{
	(void)state;
	struct two w;
	two_make(&w);
	th_seg_stat(&w.a, 0, 0, 500, 5000000);
	th_seg_stat(&w.a, 1, w.a_get, 500, 5000000);
	vm_set_refresh(w.set, 1 * SEC);
	/* counted after that refresh, before the reset: before "now" too */
	th_seg_stat(&w.a, 0, 0, 40, 5000000);
	th_seg_stat(&w.a, 1, w.a_get, 40, 5000000);
	vm_set_reset(w.set);
	vm_set_refresh(w.set, 2 * SEC);
	int cmd = vm_set_type_find(w.set, "cmd"), get = vm_set_key_find(w.set, cmd, "get");
	assert_int_equal(w.set->types[cmd].sum.count, 0);
	assert_int_equal(w.set->keys[get]->sum->count, 0);
	assert_true(vm_set_type_rate(w.set, cmd, 1.0) < 0); /* the history restarted */
	th_seg_stat(&w.b, 0, 1, 7, 1000);
	th_seg_stat(&w.b, 1, w.b_get, 7, 1000);
	vm_set_refresh(w.set, 3 * SEC);
	assert_int_equal(w.set->types[cmd].sum.count, 7);
	assert_int_equal(w.set->keys[get]->sum->count, 7);
	assert_true(vm_set_type_rate(w.set, cmd, 1.0) == 7.0);
	/* since the baseline: only the fast ones, max narrowed to their bucket */
	assert_true(rb_summary_quantile(w.set->keys[get]->sum, 0.99) < 2000);
	assert_true(w.set->keys[get]->sum->max < 2000);
	/* the producer's own totals are untouched */
	assert_int_equal(w.set->src[0]->p.types[0].sum.count, 540);
	two_free(&w);
}

static void a_dead_process_uptime_stops_at_its_newest_record(void **state)
{
	(void)state;
	static const char *const types[] = {"op", NULL};
	struct th_seg z;
	assert_int_equal(th_seg_make(&z, 2, 16, types, NULL, 1), 0);
	uint64_t born = rb_seg_header(&z.s)->created_clock_ns;
	th_seg_record(&z, 0, born + 3 * SEC / 2, 0, 0, RB_NO_DURATION, NULL);
	th_seg_record(&z, 1, born + 1 * SEC, 0, 0, RB_NO_DURATION, NULL);
	struct vm_proc p;
	char err[RB_ERR_MAX];
	assert_int_equal(vm_attach(&p, z.pid, err, sizeof(err)), 0);
	assert_int_equal(p.state, VM_DEAD);
	/* created 10 s ago: its records are from 9 and 8.5 s ago, then it died */
	rb_seg_header(&z.s)->created_realtime_ns -= 10 * SEC;
	vm_detach(&p);
	assert_int_equal(vm_attach(&p, z.pid, err, sizeof(err)), 0);
	double up = vm_uptime(&p);
	assert_true(up > 1.49 && up < 1.51);
	vm_refresh(&p);
	assert_true(vm_uptime(&p) == up); /* fixed: it no longer grows */
	struct vm_seginfo *list;
	int n = vm_list(&list, err, sizeof(err));
	assert_true(n >= 1);
	for (int i = 0; i < n; i++)
		if (list[i].pid == z.pid) {
			double u = vm_seginfo_uptime(&list[i], vm_wall_ns());
			assert_true(u > 1.49 && u < 1.51);
		}
	free(list);
	vm_detach(&p);
	th_seg_close(&z);
}

/* A producer that died while creating its segment (version still 0): dead,
 * never "try again"; stats and tail exit 1 at once, ls lists it dead. */
static void a_segment_its_process_never_finished_is_dead(void **state)
{
	(void)state;
	static const char *const types[] = {"op", NULL};
	struct th_seg z;
	assert_int_equal(th_seg_make(&z, 1, 16, types, NULL, 0), 0);
	struct vm_proc p;
	char err[RB_ERR_MAX];
	assert_int_equal(vm_attach(&p, z.pid, err, sizeof(err)), -ESRCH);
	assert_non_null(strstr(err, "died"));
	assert_null(strstr(err, "try again"));
	struct vm_seginfo *list;
	int n = vm_list(&list, err, sizeof(err)), found = 0;
	for (int i = 0; i < n; i++)
		if (list[i].pid == z.pid) {
			found = 1;
			assert_int_equal(list[i].state, VM_DEAD);
			assert_non_null(strstr(list[i].err, "died"));
		}
	free(list);
	assert_true(found);
	char spid[16], out[4096];
	snprintf(spid, sizeof(spid), "%d", z.pid);
	char *stats[] = {"stats", spid, NULL}, *tail[] = {"tail", spid, "--from-start", NULL};
	char *ls[] = {"ls", NULL};
	assert_int_equal(th_run_cmd(cmd_stats, stats, out, sizeof(out)), 1);
	assert_non_null(strstr(out, "died"));
	assert_null(strstr(out, "try again"));
	assert_int_equal(th_run_cmd(cmd_tail, tail, out, sizeof(out)), 1);
	assert_non_null(strstr(out, "died"));
	assert_null(strstr(out, "try again"));
	assert_int_equal(th_run_cmd(cmd_ls, ls, out, sizeof(out)), 0);
	char *line = strstr(out, spid);
	assert_non_null(line);
	assert_non_null(strstr(line, "dead"));
	assert_null(strstr(out, "try again"));
	th_seg_close(&z);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(processes_are_summed_by_type_and_key_name),
		cmocka_unit_test(rates_are_exact_over_their_window_and_unknown_before),
		cmocka_unit_test(interval_percentiles_see_only_the_last_interval),
		cmocka_unit_test(reset_counts_from_the_baseline),
		cmocka_unit_test(a_dead_process_uptime_stops_at_its_newest_record),
		cmocka_unit_test(a_segment_its_process_never_finished_is_dead),
	};
	return cmocka_run_group_tests(tests, th_dir_setup, th_dir_teardown);
}
