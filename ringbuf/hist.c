/* hist.c - histogram bucket bounds and percentiles from summed buckets. */
#include "hist.h"

#include <string.h>

uint64_t rb_hist_low(uint32_t i)
{
	if (i < 2 * RB_HIST_SUB)
		return i;
	uint32_t k = i - 2 * RB_HIST_SUB;
	uint32_t e = RB_HIST_SUB_BITS + 1 + k / RB_HIST_SUB;
	return (uint64_t)(RB_HIST_SUB + k % RB_HIST_SUB) << (e - RB_HIST_SUB_BITS);
}

uint64_t rb_hist_width(uint32_t i)
{
	if (i < 2 * RB_HIST_SUB)
		return 1;
	uint32_t e = RB_HIST_SUB_BITS + 1 + (i - 2 * RB_HIST_SUB) / RB_HIST_SUB;
	return 1ull << (e - RB_HIST_SUB_BITS);
}

uint64_t rb_hist_value(uint32_t i)
{
	return rb_hist_low(i) + rb_hist_width(i) / 2;
}

void rb_summary_clear(struct rb_summary *s)
{
	memset(s, 0, sizeof(*s));
	s->min = UINT64_MAX;
}

void rb_summary_add(struct rb_summary *a, const struct rb_summary *b)
{
	a->count += b->count;
	a->timed += b->timed;
	a->sum += b->sum;
	a->coarse += b->coarse;
	if (b->timed && b->min < a->min)
		a->min = b->min;
	if (b->timed && b->max > a->max)
		a->max = b->max;
	for (uint32_t i = 0; i < RB_HIST_BUCKETS; i++)
		a->bucket[i] += b->bucket[i];
}

void rb_summary_sub(struct rb_summary *a, const struct rb_summary *b)
{
	a->count -= b->count;
	a->timed -= b->timed;
	a->sum -= b->sum;
	a->coarse -= b->coarse;
	uint32_t lo = RB_HIST_BUCKETS, hi = 0;
	for (uint32_t i = 0; i < RB_HIST_BUCKETS; i++) {
		a->bucket[i] -= b->bucket[i];
		if (a->bucket[i]) {
			if (lo == RB_HIST_BUCKETS)
				lo = i;
			hi = i;
		}
	}
	/* the exact extremes of the difference are unknown: use its buckets' bounds */
	a->min = lo < RB_HIST_BUCKETS ? rb_hist_low(lo) : 0;
	a->max = lo < RB_HIST_BUCKETS ? rb_hist_low(hi) + rb_hist_width(hi) - 1 : 0;
}

uint64_t rb_summary_quantile(const struct rb_summary *s, double q)
{
	uint64_t total = 0;
	for (uint32_t i = 0; i < RB_HIST_BUCKETS; i++)
		total += s->bucket[i];
	if (total == 0)
		return 0;
	if (q >= 1.0)
		return s->max;
	/* rank of the wanted value, 1-based: the smallest value with at least
	 * q * total values at or below it */
	double want = q * (double)total;
	uint64_t rank = (uint64_t)want;
	if ((double)rank < want || rank == 0)
		rank++;
	uint64_t seen = 0;
	for (uint32_t i = 0; i < RB_HIST_BUCKETS; i++) {
		seen += s->bucket[i];
		if (seen >= rank) {
			uint64_t v = rb_hist_value(i);
			if (s->timed && v < s->min)
				v = s->min;
			if (s->timed && v > s->max)
				v = s->max;
			return v;
		}
	}
	return s->max;
}

double rb_summary_mean(const struct rb_summary *s)
{
	return s->timed ? (double)s->sum / (double)s->timed : 0.0;
}
