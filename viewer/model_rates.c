/* model_rates.c - what the sample history of a set says: rates over a window,
 * sparkline series, and percentiles of the events of the last interval. */
#include "model.h"

long vm_set_hist_back(const struct vm_set *s, uint64_t i)
{
	if (i >= s->nhist || i >= VM_HIST)
		return -1;
	return (long)((s->nhist - 1 - i) % VM_HIST);
}

/* A window counts as covered when the samples span 95% of it: refreshes
 * come a little late or early, never exactly on time. */
#define COVERED 0.95

/* rate of a series between the newest sample and the one window_s before */
static double series_rate(const struct vm_set *s, const uint64_t *v, double window_s)
{
	long now = vm_set_hist_back(s, 0), then = -1;
	if (now < 0)
		return -1;
	for (uint64_t i = 1;; i++) {
		long j = vm_set_hist_back(s, i);
		if (j < 0)
			break;
		then = j;
		if ((double)(s->hist_t[now] - s->hist_t[j]) >= window_s * 1e9 * COVERED)
			break;
	}
	if (then < 0 || (double)(s->hist_t[now] - s->hist_t[then]) < window_s * 1e9 * COVERED)
		return -1;
	if (v[now] < v[then])
		return 0;
	return (double)(v[now] - v[then]) * 1e9 / (double)(s->hist_t[now] - s->hist_t[then]);
}

double vm_set_type_rate(const struct vm_set *s, int type, double window_s)
{
	if (type >= s->ntypes)
		return 0;
	return series_rate(s, type < 0 ? s->hist_written : s->types[type].count, window_s);
}

double vm_set_key_rate(const struct vm_set *s, int key, double window_s)
{
	if (key < 0 || key >= s->nkeys)
		return 0;
	return series_rate(s, s->keys[key]->count, window_s);
}

/* the newest sample taken at or before when; -1: none */
static long sample_at(const struct vm_set *s, uint64_t when)
{
	for (uint64_t i = 0;; i++) {
		long j = vm_set_hist_back(s, i);
		if (j < 0)
			return -1;
		if (s->hist_t[j] <= when)
			return j;
	}
}

void vm_set_type_series(const struct vm_set *s, int type, double span_s, double *out, int n)
{
	const uint64_t *v = type < 0 ? s->hist_written : s->types[type].count;
	long now = vm_set_hist_back(s, 0);
	for (int c = 0; c < n; c++)
		out[c] = 0;
	if (now < 0 || n <= 0)
		return;
	double step = span_s * 1e9 / n;
	uint64_t end = s->hist_t[now];
	for (int c = n - 1; c >= 0; c--) {
		double back = (double)(n - 1 - c) * step;
		if (back + step > (double)end)
			break;
		long b = sample_at(s, end - (uint64_t)back);
		long a = sample_at(s, end - (uint64_t)(back + step));
		if (a < 0 || b < 0)
			break;
		if (a == b || s->hist_t[b] <= s->hist_t[a]) {
			out[c] = c < n - 1 ? out[c + 1] : 0; /* samples sparser than columns */
			continue;
		}
		out[c] = v[b] >= v[a] ? (double)(v[b] - v[a]) * 1e9 / (double)(s->hist_t[b] - s->hist_t[a]) : 0;
	}
}

uint64_t vm_interval_quantile(const struct rb_summary *newer, const struct rb_summary *older,
			      double q)
{
	if (newer->timed <= older->timed)
		return 0;
	uint64_t n = newer->timed - older->timed;
	uint64_t want = (uint64_t)(q * (double)n + 0.999999);
	if (want < 1)
		want = 1;
	uint64_t acc = 0;
	for (uint32_t i = 0; i < RB_HIST_BUCKETS; i++) {
		uint64_t a = newer->bucket[i], b = older->bucket[i];
		acc += a > b ? a - b : 0;
		if (acc >= want) {
			uint64_t v = rb_hist_value(i);
			return v > newer->max ? newer->max : v;
		}
	}
	return newer->max;
}

void vm_set_key_interval(const struct vm_set *s, int key, struct rb_summary *out)
{
	rb_summary_clear(out);
	if (key < 0 || key >= s->nkeys || s->nhist < 2)
		return;
	*out = *s->keys[key]->sum;
	vm_summary_since(out, s->keys[key]->prev);
}

void vm_set_type_interval(const struct vm_set *s, int type, struct rb_summary *out)
{
	rb_summary_clear(out);
	if (type < 0 || type >= s->ntypes || s->nhist < 2)
		return;
	*out = s->types[type].sum;
	vm_summary_since(out, &s->types[type].prev);
}
