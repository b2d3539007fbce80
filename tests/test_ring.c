/* test_ring.c - the ring across processes: whole records, per-thread order,
 * written = read + lost exactly, exact statistics under concurrent writers,
 * and a writer that dies mid-record. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "cursor.h"
#include "helper_common.h"
#include "hist.h"
#include "ring.h"
#include <ringmon/ringmon.h>
#include "segment.h"

#define THREADS 4

static uint64_t per_thread(void)
{
	/* a million-plus records in all; fewer under the sanitizers */
	const char *b = getenv("BUILD");
	return b && (strstr(b, "tsan") || strstr(b, "asan")) ? 60000 : 400000;
}

static int t_stress, k_even, k_odd;

static int64_t check_of(int64_t thread, int64_t seq)
{
	return (int64_t)(((uint64_t)thread * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)seq * 0x632be59bd9b4e019ull));
}

static void *writer(void *arg)
{
	int64_t me = (int64_t)(intptr_t)arg;
	uint64_t n = per_thread();
	for (uint64_t s = 0; s < n; s++)
		ringmon_emit(t_stress, (s & 1) ? k_odd : k_even, s % 5000, me, (int64_t)s,
			     check_of(me, (int64_t)s), ~(int64_t)s);
	return NULL;
}

/* the reader tells the writer it has attached: one byte on this pipe */
static int attached_pipe[2];

static int writer_process(void *arg)
{
	(void)arg;
	setenv("RINGMON_RECORDS", "256", 1);
	setenv("RINGMON_SHARDS", "3", 1); /* 2 owned + 1 shared: both write paths */
	setenv("RINGMON_KEEP", "1", 1);
	static const char *f[] = {"thread", "seq", "check", "inv"};
	t_stress = ringmon_type_register("stress", f, 4);
	k_even = ringmon_key(t_stress, "even");
	k_odd = ringmon_key(t_stress, "odd");
	/* the reader attaches before the first record, so that it can account
	 * for every one (read + lost = written); it waits 60 s at most */
	close(attached_pipe[1]);
	struct pollfd pf = {.fd = attached_pipe[0], .events = POLLIN};
	char go;
	if (poll(&pf, 1, 60000) != 1 || read(attached_pipe[0], &go, 1) != 1) {
		fprintf(stderr, "writer: the reader did not attach within 60 s\n");
		return 1;
	}
	pthread_t th[THREADS];
	for (intptr_t i = 0; i < THREADS; i++)
		pthread_create(&th[i], NULL, writer, (void *)i);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	return 0;
}

struct attach {
	pid_t pid;
	struct rb_view *v;
};
static int attach_pid(void *arg)
{
	struct attach *a = arg;
	char err[RB_ERR_MAX];
	return rb_attach_pid(a->v, a->pid, 0, err, sizeof(err)) == 0;
}

static void readers_in_another_process_get_whole_records_or_exact_loss(void **state)
{
	(void)state;
	assert_int_equal(pipe(attached_pipe), 0);
	pid_t pid = th_spawn(writer_process, NULL);
	close(attached_pipe[0]);
	struct rb_view v;
	struct attach a = {.pid = pid, .v = &v};
	assert_int_equal(th_wait_until(attach_pid, &a, 30000, "the writer's segment can be attached"), 0);
	uint32_t ns = v.g.nshards;
	assert_int_equal(ns, 3);
	struct rb_cursor c[3];
	for (uint32_t s = 0; s < ns; s++)
		rb_cursor_init(&c[s], &v, s, 1);
	assert_int_equal(write(attached_pipe[1], "g", 1), 1);
	close(attached_pipe[1]);
	int64_t last[THREADS];
	for (int i = 0; i < THREADS; i++)
		last[i] = -1;
	uint64_t read = 0, lost = 0, torn = 0, disorder = 0;
	int exited = 0;
	uint64_t deadline = th_now_ms() + 120000;
	for (;;) {
		int progress = 0;
		for (uint32_t s = 0; s < ns; s++) {
			struct rb_record r;
			uint64_t l;
			for (int burst = 0; burst < 64; burst++) {
				enum rb_next x = rb_cursor_next(&c[s], &r, &l, th_now_ms() * 1000000);
				if (x == RB_NEXT_NONE)
					break;
				progress = 1;
				if (x == RB_NEXT_LOST) {
					lost += l;
					continue;
				}
				read++;
				int64_t t = r.field[0];
				if (t < 0 || t >= THREADS || r.field[2] != check_of(t, r.field[1]) ||
				    r.field[3] != ~r.field[1] || r.dur_ns != (uint64_t)r.field[1] % 5000) {
					torn++;
					continue;
				}
				if (r.field[1] <= last[t])
					disorder++;
				last[t] = r.field[1];
			}
		}
		if (!progress) {
			if (exited)
				break;
			int st = th_try_wait(pid);
			if (st >= 0) {
				assert_int_equal(st, 0);
				exited = 1; /* one more pass drains the rest */
			}
		}
		assert_true(th_now_ms() < deadline);
	}
	uint64_t written = rb_view_written(&v);
	uint64_t total = per_thread() * THREADS;
	print_message("written %llu read %llu lost %llu\n", (unsigned long long)written,
		      (unsigned long long)read, (unsigned long long)lost);
	assert_int_equal(torn, 0);
	assert_int_equal(disorder, 0);
	assert_int_equal(written, total);
	assert_int_equal(read + lost, written);
	assert_true(lost > 0); /* the small ring was lapped */
	assert_true(read > 0);

	/* statistics are exact however much the ring lost */
	struct rb_summary *sum = malloc(sizeof(*sum));
	rb_view_summary(&v, 0, 0, sum);
	assert_int_equal(sum->count, total);
	assert_int_equal(sum->timed, total);
	uint64_t per = per_thread(), want_sum = 0;
	for (uint64_t s = 0; s < per; s++)
		want_sum += s % 5000;
	assert_int_equal(sum->sum, want_sum * THREADS);
	assert_int_equal(sum->min, 0);
	assert_int_equal(sum->max, 4999);
	uint64_t in_buckets = 0;
	for (uint32_t i = 0; i < RB_HIST_BUCKETS; i++)
		in_buckets += sum->bucket[i];
	assert_int_equal(in_buckets, total);
	assert_int_equal(sum->bucket[rb_hist_index(7)], (per / 5000) * THREADS);
	struct rb_summary *even = malloc(sizeof(*even)), *odd = malloc(sizeof(*odd));
	/* the keys' ids, by name (the writer registered them in its process) */
	uint32_t id_even = 0, id_odd = 0;
	for (uint32_t id = 1; id < rb_view_nkeys(&v); id++) {
		struct rb_key_info ki;
		if (rb_view_key(&v, id, &ki) == 0 && strcmp(ki.name, "even") == 0)
			id_even = id;
		else if (rb_view_key(&v, id, &ki) == 0 && strcmp(ki.name, "odd") == 0)
			id_odd = id;
	}
	rb_view_summary(&v, 1, id_even, even);
	rb_view_summary(&v, 1, id_odd, odd);
	assert_int_equal(even->count + odd->count, total);
	assert_int_equal(even->count, (per + 1) / 2 * THREADS);
	free(sum);
	free(even);
	free(odd);
	rb_detach(&v);
}

/* Writes one record by the protocol of ringmon__emit, optionally stopping
 * after the claim (a writer killed mid-record). */
static void write_record(struct rb_shard_head *sh, uint64_t mask, int64_t val, int complete)
{
	uint64_t pos;
	struct rb_record *r = rb_slot_claim(sh, rb_shard_records(sh), mask, 0, &pos);
	r->field[0] = val;
	if (complete)
		rb_slot_publish(r, pos);
}

static void a_record_left_half_written_is_skipped_and_counted(void **state)
{
	(void)state;
	struct rb_segment s;
	char err[RB_ERR_MAX];
	assert_int_equal(rb_segment_create(&s, 1, 16, 2, rb_pool_size_min(), err, sizeof(err)), 0);
	rb_segment_publish(&s);
	struct rb_view v;
	assert_int_equal(rb_attach_path(&v, s.path, err, sizeof(err)), 0);
	struct rb_cursor c;
	rb_cursor_init(&c, &v, 0, 0);
	struct rb_shard_head *sh = rb_seg_shard(&s, 0);
	write_record(sh, 15, 1, 1);
	write_record(sh, 15, 2, 0); /* the writer dies here */
	write_record(sh, 15, 3, 1);
	struct rb_record r;
	uint64_t lost = 0, t = 1000;
	assert_int_equal(rb_cursor_next(&c, &r, &lost, t), RB_NEXT_RECORD);
	assert_int_equal(r.field[0], 1);
	/* the reader neither hangs nor returns the half record: it waits a bounded time */
	assert_int_equal(rb_cursor_next(&c, &r, &lost, t), RB_NEXT_NONE);
	assert_int_equal(rb_cursor_next(&c, &r, &lost, t + RB_STALL_NS / 2), RB_NEXT_NONE);
	assert_int_equal(rb_cursor_next(&c, &r, &lost, t + RB_STALL_NS), RB_NEXT_LOST);
	assert_int_equal(lost, 1);
	assert_int_equal(c.skipped, 1);
	assert_int_equal(rb_cursor_next(&c, &r, &lost, t + RB_STALL_NS), RB_NEXT_RECORD);
	assert_int_equal(r.field[0], 3);
	assert_int_equal(rb_cursor_next(&c, &r, &lost, t + RB_STALL_NS), RB_NEXT_NONE);
	rb_detach(&v);
	rb_segment_finish(&s, 0);
	munmap(s.base, s.g.segment_size);
}

static void a_lapped_reader_counts_exactly_what_it_missed(void **state)
{
	(void)state;
	struct rb_segment s;
	char err[RB_ERR_MAX];
	assert_int_equal(rb_segment_create(&s, 1, 16, 2, rb_pool_size_min(), err, sizeof(err)), 0);
	rb_segment_publish(&s);
	struct rb_view v;
	assert_int_equal(rb_attach_path(&v, s.path, err, sizeof(err)), 0);
	struct rb_cursor c;
	rb_cursor_init(&c, &v, 0, 0);
	struct rb_shard_head *sh = rb_seg_shard(&s, 0);
	for (int i = 0; i < 100; i++)
		write_record(sh, 15, i, 1);
	struct rb_record r;
	uint64_t lost = 0, total_lost = 0;
	int64_t first = -1;
	int n = 0;
	enum rb_next x;
	while ((x = rb_cursor_next(&c, &r, &lost, 0)) != RB_NEXT_NONE) {
		if (x == RB_NEXT_LOST) {
			total_lost += lost;
			continue;
		}
		if (first < 0)
			first = r.field[0];
		n++;
	}
	assert_int_equal(total_lost, 84);
	assert_int_equal(n, 16);
	assert_int_equal(first, 84);
	rb_detach(&v);
	rb_segment_finish(&s, 0);
	munmap(s.base, s.g.segment_size);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_lapped_reader_counts_exactly_what_it_missed),
		cmocka_unit_test(a_record_left_half_written_is_skipped_and_counted),
		cmocka_unit_test(readers_in_another_process_get_whole_records_or_exact_loss),
	};
	return cmocka_run_group_tests(tests, th_dir_setup, th_dir_teardown);
}
