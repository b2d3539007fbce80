/* hist.h - log-linear latency histograms: bucket index (emit path) and
 * percentiles (read side). Not installed. Layout constants in layout.h. */
#ifndef RINGMON_HIST_H
#define RINGMON_HIST_H

#include <stdint.h>
#include "layout.h"

/* Bucket of a value in ns. Branch-light; used on the emit path. */
static inline uint32_t rb_hist_index(uint64_t v)
{
	if (v < 2 * RB_HIST_SUB)
		return (uint32_t)v;
	uint32_t e = 63u - (uint32_t)__builtin_clzll(v); /* >= 7 */
	if (e > RB_HIST_MAX_EXP)
		return RB_HIST_BUCKETS - 1;
	return 2 * RB_HIST_SUB + (e - RB_HIST_SUB_BITS - 1) * RB_HIST_SUB +
	       (uint32_t)((v >> (e - RB_HIST_SUB_BITS)) & (RB_HIST_SUB - 1));
}

/* Lowest value of bucket i, and its width. */
uint64_t rb_hist_low(uint32_t i);
uint64_t rb_hist_width(uint32_t i);
/* The value a bucket stands for: its midpoint (within 1/128 of any value in it). */
uint64_t rb_hist_value(uint32_t i);

/* A summed statistic, as readers see it (see struct rb_stat). coarse counts
 * the values whose octave had no histogram chunk (the statistics pool was
 * full): they are in bucket[] at their octave's middle bucket, so a percentile
 * that falls on them is within 50% instead of 1%. */
struct rb_summary {
	uint64_t count, timed, sum, min, max;
	uint64_t coarse;
	uint64_t bucket[RB_HIST_BUCKETS];
};

void rb_summary_clear(struct rb_summary *s);
/* Adds b to a (used to sum shards, processes, or keys). */
void rb_summary_add(struct rb_summary *a, const struct rb_summary *b);
/* a -= b for counts and buckets (b an earlier snapshot of the same counters);
 * min/max become the bounds of the lowest and highest non-empty buckets left. */
void rb_summary_sub(struct rb_summary *a, const struct rb_summary *b);
/* Value at quantile q (0..1] of the timed events, 0 if none. Clamped to
 * [min, max]; q = 1 returns max exactly. */
uint64_t rb_summary_quantile(const struct rb_summary *s, double q);
/* Mean duration in ns, 0 if none. */
double rb_summary_mean(const struct rb_summary *s);

#endif
