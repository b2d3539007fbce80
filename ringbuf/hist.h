/* hist.h - log-linear latency histograms: bucket index (emit path) and
 * percentiles (read side). Not installed. Layout constants in layout.h. */
#ifndef RINGMON_HIST_H
#define RINGMON_HIST_H

#include <stdint.h>
#include "layout.h"

/* Sub-bucket (0..39) of each of an octave's 2048 mantissa cells (hist.c,
 * made by scripts/hist_table.py). */
extern const uint8_t rb_hist_tab[RB_HIST_CELLS];

/* Bucket of a value in ns (layout.h). Branch-light, one table load; used on
 * the emit path. */
static inline uint32_t rb_hist_index(uint64_t v)
{
	if (v < RB_HIST_LINEAR)
		return (uint32_t)v;
	uint32_t e = 63u - (uint32_t)__builtin_clzll(v); /* >= 6 */
	if (e > RB_HIST_MAX_EXP)
		return RB_HIST_BUCKETS - 1;
	uint32_t m = e >= RB_HIST_CELL_BITS ? (uint32_t)(v >> (e - RB_HIST_CELL_BITS))
					    : (uint32_t)(v << (RB_HIST_CELL_BITS - e));
	return RB_HIST_LOG_FIRST + (e - RB_HIST_MIN_EXP) * RB_HIST_LOG_SUB +
	       rb_hist_tab[m & (RB_HIST_CELLS - 1)];
}

/* Lowest value of bucket i, and its width (0 for the unused buckets 64..79). */
uint64_t rb_hist_low(uint32_t i);
uint64_t rb_hist_width(uint32_t i);
/* The value a bucket stands for: the middle of the whole nanoseconds in it
 * (within 0.9% of any of them). */
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
