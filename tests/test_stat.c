/* test_stat.c - the statistics pool: blocks and histogram chunks handed out on
 * first use, exact counts when the pool runs out (spill to "other", coarse
 * octave counts), exact counts under concurrent writers in owned and shared
 * shards, and percentiles from sparse histograms. */
#define _GNU_SOURCE
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "helper_common.h"
#include "segment.h"
#include "stat.h"

#define NSHARDS 3 /* 2 owned + the shared one */
#define NKEYS 64  /* key ids 1..63; key 1 is type 0's "other" */

/* A segment with one type (id 0) whose "other" key is 1, and keys 2..NKEYS-1
 * of that type, as the producer's registration would leave them. */
static void make_segment(struct rb_segment *s, uint64_t pool_size)
{
	char err[RB_ERR_MAX], path[RB_PATH_MAX];
	rb_path(path, sizeof(path), getpid());
	unlink(path); /* the previous test's */
	if (rb_segment_create(s, NSHARDS, 64, NKEYS, pool_size, err, sizeof(err)) != 0)
		fail_msg("create: %s", err);
	struct rb_type *t = rb_seg_types(s);
	strcpy(t[0].name, "op");
	t[0].other_key = 1;
	t[0].state = RB_SLOT_READY;
	struct rb_key *k = rb_seg_keys(s);
	for (uint32_t i = 1; i < NKEYS; i++) {
		snprintf(k[i].name, sizeof(k[i].name), i == 1 ? "other" : "k%u", i);
		k[i].type = 0;
		k[i].flags = i == 1 ? RB_KEY_OTHER : 0;
		k[i].state = RB_SLOT_READY;
	}
	rb_seg_header(s)->ntypes = 1;
	rb_seg_header(s)->nkeys = NKEYS;
	rb_segment_publish(s);
}

static struct rb_stat_writer writer_of(struct rb_segment *s, uint32_t shard)
{
	struct rb_stat_writer w = {
		.pool = rb_seg_pool(s),
		.pool_size = s->g.pool_size,
		.index = rb_shard_index(s, rb_seg_shard(s, shard)),
		.shared = shard == NSHARDS - 1,
	};
	return w;
}

/* One event of key k (type 0), as the emit path records it. */
static void record(const struct rb_stat_writer *w, uint32_t k, uint64_t dur)
{
	rb_stat_record(w, 0, rb_spill_unit(0, 0), dur);
	rb_stat_record(w, rb_stat_slot(1, k), rb_spill_unit(1, 0), dur);
}

static void attach(struct rb_segment *s, struct rb_view *v)
{
	char err[RB_ERR_MAX];
	if (rb_attach_path(v, s->path, err, sizeof(err)) != 0)
		fail_msg("attach: %s", err);
}

static uint64_t rng(uint64_t *seed)
{
	*seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
	return *seed >> 11;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* Values from 1 us to 200 s, log-uniform: every percentile within 1% of the
 * exact one, and only the octaves hit take chunks. */
static void sparse_histograms_keep_percentiles_within_one_percent(void **state)
{
	(void)state;
	struct rb_segment s;
	make_segment(&s, 1 << 20);
	struct rb_stat_writer w = writer_of(&s, 0);
	enum { N = 100000 };
	uint64_t *vals = malloc(N * sizeof(*vals)), seed = 7;
	for (int i = 0; i < N; i++) {
		double x = 1000.0 * pow(2e8, (double)rng(&seed) / 9007199254740992.0);
		vals[i] = (uint64_t)x;
		record(&w, 2, vals[i]);
	}
	struct rb_view v;
	attach(&s, &v);
	struct rb_summary *sum = malloc(sizeof(*sum));
	rb_view_summary(&v, 1, 2, sum);
	assert_int_equal(sum->count, N);
	assert_int_equal(sum->timed, N);
	assert_int_equal(sum->coarse, 0);
	qsort(vals, N, sizeof(*vals), cmp_u64);
	assert_int_equal(sum->min, vals[0]);
	assert_int_equal(sum->max, vals[N - 1]);
	const double qs[] = {0.01, 0.1, 0.5, 0.9, 0.99, 0.999, 0.9999};
	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		uint64_t want = vals[(size_t)ceil(qs[i] * N) - 1];
		uint64_t got = rb_summary_quantile(sum, qs[i]);
		double err = fabs((double)got - (double)want) / (double)want;
		if (err > 0.01)
			fail_msg("p%g: %llu, exact %llu (%.2f%% off)", qs[i] * 100,
				 (unsigned long long)got, (unsigned long long)want, err * 100);
	}
	/* 1 us .. 200 s spans octaves 9..37: 29 chunks, not 34; and one block
	 * for the type, one for the key */
	struct rb_pool_info pi;
	rb_view_pool(&v, &pi);
	uint64_t state_ring = v.state_records ? sizeof(struct rb_shard_head) +
						      v.state_records * sizeof(struct rb_record) : 0;
	assert_int_equal(pi.used, RB_POOL_MIN + state_ring + 2 * sizeof(struct rb_stat) +
				       2 * 29 * sizeof(struct rb_chunk));
	assert_int_equal(pi.failed_blocks + pi.failed_chunks + pi.wasted + pi.spilled, 0);
	/* a key never used in a shard has no block there */
	assert_null(rb_view_stat(&v, 1, 1, 2));
	assert_null(rb_view_stat(&v, 0, 1, 3));
	assert_non_null(rb_view_stat(&v, 0, 1, 2));
	rb_detach(&v);
	free(sum);
	free(vals);
	munmap(s.base, s.g.segment_size);
}

/* A pool with room for a few blocks and chunks: keys beyond it are counted
 * under "other", values beyond it by octave; totals stay exact. */
static void a_full_pool_spills_to_other_and_counts_by_octave(void **state)
{
	(void)state;
	struct rb_segment s;
	uint64_t pool = rb_pool_size_min() + 4096; /* a page beyond the spill blocks */
	make_segment(&s, pool);
	struct rb_stat_writer w = writer_of(&s, 0);
	uint64_t count[NKEYS] = {0}, total = 0, total_sum = 0, seed = 3;
	for (int i = 0; i < 20000; i++) {
		uint32_t k = 2 + (uint32_t)(rng(&seed) % (NKEYS - 2));
		uint64_t d = 1000 + rng(&seed) % 100000000; /* 1 us .. 100 ms */
		record(&w, k, d);
		count[k]++;
		total++;
		total_sum += d;
	}
	struct rb_view v;
	attach(&s, &v);
	struct rb_summary *sum = malloc(sizeof(*sum));
	rb_view_summary(&v, 0, 0, sum);
	assert_int_equal(sum->count, total);
	assert_int_equal(sum->sum, total_sum);
	/* every key either has its exact count or went to "other" as a whole */
	uint64_t keys_total = 0, spilled_keys = 0;
	for (uint32_t k = 2; k < NKEYS; k++) {
		rb_view_summary(&v, 1, k, sum);
		if (sum->count == 0 && count[k]) {
			spilled_keys++;
			continue;
		}
		assert_int_equal(sum->count, count[k]);
		keys_total += sum->count;
	}
	rb_view_summary(&v, 1, 1, sum);
	assert_int_equal(keys_total + sum->count, total);
	assert_true(spilled_keys > 0);
	struct rb_pool_info pi;
	rb_view_pool(&v, &pi);
	assert_int_equal(pi.size, pool);
	assert_true(pi.used <= pi.size);
	assert_int_equal(pi.failed_blocks, spilled_keys);
	assert_int_equal(pi.spilled, sum->count);
	assert_true(pi.failed_chunks > 0);
	/* the coarse counts are in the histogram too: it still sums to timed */
	rb_view_summary(&v, 0, 0, sum);
	uint64_t in_buckets = 0;
	for (uint32_t i = 0; i < RB_HIST_BUCKETS; i++)
		in_buckets += sum->bucket[i];
	assert_int_equal(in_buckets, sum->timed);
	assert_true(sum->coarse > 0);
	rb_detach(&v);
	free(sum);
	munmap(s.base, s.g.segment_size);
}

struct job {
	struct rb_segment *s;
	uint32_t shard;
	uint64_t seed;
	uint64_t count[NKEYS], sum[NKEYS], min[NKEYS], max[NKEYS];
};

#define PER_THREAD 200000

static void *writer_thread(void *arg)
{
	struct job *j = arg;
	struct rb_stat_writer w = writer_of(j->s, j->shard);
	for (int i = 0; i < PER_THREAD; i++) {
		uint32_t k = 2 + (uint32_t)(rng(&j->seed) % (NKEYS - 2));
		uint64_t d = rng(&j->seed) % 4 == 0 ? RB_NO_DURATION
						     : 100 + rng(&j->seed) % 10000000000ull;
		record(&w, k, d);
		j->count[k]++;
		if (d != RB_NO_DURATION) {
			j->sum[k] += d;
			if (d < j->min[k])
				j->min[k] = d;
			if (d > j->max[k])
				j->max[k] = d;
		}
	}
	return NULL;
}

/* Two threads in owned shards and two sharing the shared one, with a pool that
 * runs out while they write: count, sum, min and max of the type and of every
 * key (with "other") are exact. */
static void concurrent_writers_keep_counts_exact_while_the_pool_runs_out(void **state)
{
	(void)state;
	for (int round = 0; round < 2; round++) {
		struct rb_segment s;
		/* round 0: room for everything; round 1: runs out mid-way */
		make_segment(&s, round == 0 ? 4u << 20 : rb_pool_size_min() + 32768);
		struct job jobs[4];
		pthread_t th[4];
		for (int i = 0; i < 4; i++) {
			memset(&jobs[i], 0, sizeof(jobs[i]));
			jobs[i].s = &s;
			jobs[i].shard = i < 2 ? (uint32_t)i : NSHARDS - 1;
			jobs[i].seed = 100 + (uint64_t)i;
			for (int k = 0; k < NKEYS; k++)
				jobs[i].min[k] = UINT64_MAX;
			assert_int_equal(pthread_create(&th[i], NULL, writer_thread, &jobs[i]), 0);
		}
		for (int i = 0; i < 4; i++)
			pthread_join(th[i], NULL);
		struct rb_view v;
		attach(&s, &v);
		struct rb_summary *got = malloc(sizeof(*got)), *other = malloc(sizeof(*other));
		rb_view_summary(&v, 1, 1, other);
		uint64_t all = 0, all_sum = 0, spilled_count = 0, spilled_sum = 0;
		for (uint32_t k = 2; k < NKEYS; k++) {
			uint64_t c = 0, sm = 0, mn = UINT64_MAX, mx = 0;
			for (int i = 0; i < 4; i++) {
				c += jobs[i].count[k];
				sm += jobs[i].sum[k];
				mn = jobs[i].min[k] < mn ? jobs[i].min[k] : mn;
				mx = jobs[i].max[k] > mx ? jobs[i].max[k] : mx;
			}
			all += c;
			all_sum += sm;
			rb_view_summary(&v, 1, k, got);
			if (got->count != c) {
				/* some shard's events of this key went to "other" */
				assert_int_equal(round, 1);
				assert_true(got->count < c);
				spilled_count += c - got->count;
				spilled_sum += sm - got->sum;
				continue;
			}
			assert_int_equal(got->sum, sm);
			assert_int_equal(got->min, mn);
			assert_int_equal(got->max, mx);
		}
		assert_int_equal(other->count, spilled_count);
		assert_int_equal(other->sum, spilled_sum);
		rb_view_summary(&v, 0, 0, got);
		assert_int_equal(got->count, 4 * PER_THREAD);
		assert_int_equal(got->count, all);
		assert_int_equal(got->sum, all_sum);
		uint64_t in_buckets = 0;
		for (uint32_t i = 0; i < RB_HIST_BUCKETS; i++)
			in_buckets += got->bucket[i];
		assert_int_equal(in_buckets, got->timed);
		struct rb_pool_info pi;
		rb_view_pool(&v, &pi);
		if (round == 1)
			assert_true(pi.failed_blocks > 0 && pi.failed_chunks > 0);
		else
			assert_int_equal(pi.failed_blocks + pi.failed_chunks, 0);
		rb_detach(&v);
		free(got);
		free(other);
		munmap(s.base, s.g.segment_size);
	}
}

/* Index and chunk entries that point anywhere: readers stay inside the pool
 * and count what they can place. */
static void hostile_index_and_chunk_entries_stay_in_bounds(void **state)
{
	(void)state;
	struct rb_segment s;
	make_segment(&s, rb_pool_size_min() + 8192);
	struct rb_stat_writer w = writer_of(&s, 0);
	record(&w, 2, 5000);
	uint32_t *index = rb_shard_index(&s, rb_seg_shard(&s, 1));
	uint32_t units = (uint32_t)(s.g.pool_size / RB_POOL_UNIT);
	index[rb_stat_slot(1, 3)] = UINT32_MAX;          /* far outside */
	index[rb_stat_slot(1, 4)] = units - 1;           /* a block across the end */
	index[rb_stat_slot(1, 5)] = RB_SPILL_UNIT;       /* a spill block: summed apart */
	index[rb_stat_slot(1, 6)] = w.index[rb_stat_slot(1, 2)]; /* key 2's block again */
	struct rb_stat *st = (struct rb_stat *)(w.pool + (uint64_t)w.index[rb_stat_slot(1, 2)] *
						      RB_POOL_UNIT);
	st->chunk[0] = RB_CHUNK_AT | 0xffffffffull;     /* outside */
	st->chunk[1] = RB_CHUNK_AT | (units - 1);       /* across the end */
	st->chunk[2] = RB_CHUNK_AT | (1ull << 40);       /* beyond 32 bits */
	st->chunk[3] = 5;                                /* coarse */
	struct rb_view v;
	attach(&s, &v);
	struct rb_summary *sum = malloc(sizeof(*sum));
	rb_view_summary(&v, 1, 2, sum);
	assert_int_equal(sum->count, 1);
	assert_int_equal(sum->coarse, 5);
	assert_int_equal(sum->bucket[3 * RB_HIST_SUB + RB_HIST_SUB / 2], 5);
	assert_int_equal(sum->bucket[rb_hist_index(5000)], 1);
	rb_view_summary(&v, 1, 3, sum);
	assert_int_equal(sum->count, 0);
	rb_view_summary(&v, 1, 4, sum);
	assert_int_equal(sum->count, 0);
	rb_view_summary(&v, 1, 5, sum);
	assert_int_equal(sum->count, 0);
	rb_view_summary(&v, 1, 6, sum);
	assert_int_equal(sum->count, 1);
	/* a used counter past the end reads as full */
	((struct rb_pool_head *)w.pool)->used = UINT64_MAX;
	struct rb_pool_info pi;
	rb_view_pool(&v, &pi);
	assert_int_equal(pi.used, pi.size);
	/* out-of-range ids */
	rb_view_summary(&v, 1, NKEYS, sum);
	assert_int_equal(sum->count, 0);
	rb_view_summary(&v, 0, RB_MAX_TYPES, sum);
	assert_int_equal(sum->count, 0);
	assert_null(rb_view_stat(&v, NSHARDS, 0, 0));
	rb_detach(&v);
	free(sum);
	munmap(s.base, s.g.segment_size);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sparse_histograms_keep_percentiles_within_one_percent),
		cmocka_unit_test(a_full_pool_spills_to_other_and_counts_by_octave),
		cmocka_unit_test(concurrent_writers_keep_counts_exact_while_the_pool_runs_out),
		cmocka_unit_test(hostile_index_and_chunk_entries_stay_in_bounds),
	};
	return cmocka_run_group_tests(tests, th_dir_setup, th_dir_teardown);
}
