/* test_model_merge.c - the reader model's merge of every shard's records by
 * time: what `ringmon tail` (also --from-start) and top's Events view print. */
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

static const char *const types[] = {"op", NULL};

/* shard 2 holds the oldest records, shards 0 and 1 interleave: as a thread
 * that wrote a burst and stopped, beside two that keep writing */
static void write_out_of_order(struct th_seg *z)
{
	static const uint64_t ts[3][4] = {{500, 700, 900, 1100}, {600, 800, 1000, 1200}, {10, 20, 30, 40}};
	for (uint32_t s = 0; s < 3; s++)
		for (int i = 0; i < 4; i++) {
			int64_t f[RB_NFIELDS] = {(int64_t)ts[s][i]};
			th_seg_record(z, s, ts[s][i], 0, 0, RB_NO_DURATION, f);
		}
}

static void from_start_merges_every_shard_in_time_order_across_polls(void **state)
{
	(void)state;
	struct th_seg z;
	assert_int_equal(th_seg_make(&z, 3, 16, types, NULL, 1), 0);
	write_out_of_order(&z);
	struct rb_view v;
	char err[RB_ERR_MAX];
	assert_int_equal(rb_attach_pid(&v, z.pid, 0, err, sizeof(err)), 0);
	static struct vm_tail t;
	vm_tail_init(&t, &v, 1);
	struct rb_record out[2];
	uint64_t lost, last = 0, n = 0;
	size_t got;
	/* two at a time: the order holds across calls, not only within one */
	while ((got = vm_tail_poll_ex(&t, out, 2, &lost, vm_now_ns(), 0)) > 0) {
		assert_int_equal(lost, 0);
		for (size_t i = 0; i < got; i++, n++) {
			if (out[i].ts_ns < last)
				fail_msg("record %llu (ts %llu) came after ts %llu", (unsigned long long)n,
					 (unsigned long long)out[i].ts_ns, (unsigned long long)last);
			last = out[i].ts_ns;
		}
	}
	assert_int_equal(n, 12);
	assert_true(vm_tail_drained(&t));
	rb_detach(&v);
	th_seg_close(&z);
}

/* top's Events view starts on what the rings hold: a writer lapping the
 * oldest records before the first read must not count as lost (it showed
 * "lost 1" on entering the view at 5k events/s) */
static void reading_what_the_rings_hold_loses_nothing_to_a_writer_on_the_oldest(void **state)
{
	(void)state;
	struct th_seg z;
	assert_int_equal(th_seg_make(&z, 1, 64, types, NULL, 1), 0);
	for (uint64_t i = 1; i <= 100; i++) /* wrapped: positions 36..99 held */
		th_seg_record(&z, 0, i * 1000, 0, 0, RB_NO_DURATION, NULL);
	struct rb_view v;
	char err[RB_ERR_MAX];
	assert_int_equal(rb_attach_pid(&v, z.pid, 0, err, sizeof(err)), 0);
	static struct vm_tail t;
	vm_tail_init_held(&t, &v);
	for (uint64_t i = 101; i <= 103; i++) /* the writer laps the 3 oldest */
		th_seg_record(&z, 0, i * 1000, 0, 0, RB_NO_DURATION, NULL);
	struct rb_record out[128];
	uint64_t lost, n = 0, total_lost = 0;
	size_t got;
	while ((got = vm_tail_poll_ex(&t, out, 128, &lost, vm_now_ns(), 0)) > 0) {
		total_lost += lost;
		n += got;
	}
	assert_int_equal(total_lost, 0);
	assert_int_equal(n, 64 - 4 + 3); /* the held, less the oldest sixteenth, and the new */
	rb_detach(&v);
	th_seg_close(&z);
}

static void a_live_merge_holds_records_an_empty_shard_could_still_precede(void **state)
{
	(void)state;
	struct th_seg z;
	assert_int_equal(th_seg_make(&z, 3, 16, types, NULL, 1), 0);
	uint64_t now = vm_now_ns();
	th_seg_record(&z, 0, now - 50 * 1000 * 1000, 0, 0, RB_NO_DURATION, NULL); /* 50 ms old */
	th_seg_record(&z, 1, now - 100 * 1000, 0, 0, RB_NO_DURATION, NULL);      /* 0.1 ms old */
	struct rb_view v;
	char err[RB_ERR_MAX];
	assert_int_equal(rb_attach_pid(&v, z.pid, 0, err, sizeof(err)), 0);
	static struct vm_tail t;
	vm_tail_init(&t, &v, 1);
	struct rb_record out[8];
	uint64_t lost;
	/* shard 2 is empty: a record stamped just now may still arrive there */
	assert_int_equal(vm_tail_poll_ex(&t, out, 8, &lost, now, VM_MERGE_HOLD_NS), 1);
	assert_true(out[0].ts_ns == now - 50 * 1000 * 1000);
	assert_int_equal(vm_tail_held(&t), 1);
	assert_false(vm_tail_drained(&t));
	/* a newer record in every shard: the held one is the oldest, it goes */
	th_seg_record(&z, 0, now + 1000, 0, 0, RB_NO_DURATION, NULL);
	th_seg_record(&z, 2, now + 2000, 0, 0, RB_NO_DURATION, NULL);
	assert_int_equal(vm_tail_poll_ex(&t, out, 1, &lost, now, VM_MERGE_HOLD_NS), 1);
	assert_true(out[0].ts_ns == now - 100 * 1000);
	/* the process has ended (hold 0): everything comes out, in order */
	assert_int_equal(vm_tail_poll_ex(&t, out, 8, &lost, now, 0), 2);
	assert_true(out[0].ts_ns == now + 1000 && out[1].ts_ns == now + 2000);
	assert_true(vm_tail_drained(&t));
	rb_detach(&v);
	th_seg_close(&z);
}

/* `ringmon tail PID --from-start` on a dead process: its text lines, in order */
static void tail_from_start_prints_every_shard_in_time_order(void **state)
{
	(void)state;
	struct th_seg z;
	static const char *const fields[] = {"n", NULL};
	assert_int_equal(th_seg_make(&z, 3, 16, types, fields, 1), 0);
	write_out_of_order(&z);
	char spid[16];
	snprintf(spid, sizeof(spid), "%d", z.pid);
	char *argv[] = {"tail", spid, "--from-start", NULL};
	static char out[8192];
	assert_int_equal(th_run_cmd(cmd_tail, argv, out, sizeof(out)), 0);
	char *line, *save = NULL;
	long last = -1, n = 0;
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strstr(line, "has died")) /* on stderr: the end */
			continue;
		char *p = strstr(line, " n=");
		assert_non_null(p);
		long ts = atol(p + 3);
		if (ts < last)
			fail_msg("line %ld (n=%ld) printed after n=%ld: %s", n, ts, last, line);
		last = ts;
		n++;
	}
	assert_int_equal(n, 12);
	th_seg_close(&z);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(from_start_merges_every_shard_in_time_order_across_polls),
		cmocka_unit_test(reading_what_the_rings_hold_loses_nothing_to_a_writer_on_the_oldest),
		cmocka_unit_test(a_live_merge_holds_records_an_empty_shard_could_still_precede),
		cmocka_unit_test(tail_from_start_prints_every_shard_in_time_order),
	};
	return cmocka_run_group_tests(tests, th_dir_setup, th_dir_teardown);
}
