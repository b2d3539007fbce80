/* test_hist.c - histogram buckets and percentiles. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "hist.h"

static void buckets_are_contiguous_and_increasing(void **state)
{
	(void)state;
	for (uint32_t i = 0; i + 1 < RB_HIST_BUCKETS; i++)
		assert_int_equal(rb_hist_low(i) + rb_hist_width(i), rb_hist_low(i + 1));
	/* every value maps to the bucket that contains it */
	for (uint64_t v = 0; v < 100000; v += 7) {
		uint32_t b = rb_hist_index(v);
		assert_true(rb_hist_low(b) <= v && v < rb_hist_low(b) + rb_hist_width(b));
	}
}

static double rel_err(uint64_t v)
{
	uint64_t r = rb_hist_value(rb_hist_index(v));
	return r > v ? (double)(r - v) / (double)v : (double)(v - r) / (double)v;
}

static void relative_error_is_below_one_percent_from_192ns_to_500s(void **state)
{
	(void)state;
	uint64_t seed = 12345;
	for (int i = 0; i < 200000; i++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		/* log-uniform between 192 ns and 500 s */
		double x = 192.0 * __builtin_pow(2.6e9, (double)(seed >> 11) / 9007199254740992.0);
		assert_true(rel_err((uint64_t)x) <= 0.01);
	}
	/* below: exact under 64 ns, then whole-nanosecond buckets of 2 to 4 ns */
	for (uint64_t v = 0; v < 64; v++)
		assert_int_equal(rb_hist_value(rb_hist_index(v)), v);
	for (uint64_t v = 64; v < 192; v++)
		assert_true(rel_err(v) <= 0.016);
	/* every octave has its 40 buckets in order, one table cell apart at most */
	for (uint32_t m = 1; m < RB_HIST_CELLS; m++)
		assert_true(rb_hist_tab[m] == rb_hist_tab[m - 1] || rb_hist_tab[m] == rb_hist_tab[m - 1] + 1);
	assert_int_equal(rb_hist_tab[0], 0);
	assert_int_equal(rb_hist_tab[RB_HIST_CELLS - 1], RB_HIST_LOG_SUB - 1);
	/* 549 s is the top of the range; beyond it values share the last bucket */
	assert_int_equal(rb_hist_index(UINT64_MAX), RB_HIST_BUCKETS - 1);
	assert_true(rb_hist_index(300ull * 1000000000ull) < RB_HIST_BUCKETS - 1);
}

static void quantiles_of_a_known_distribution(void **state)
{
	(void)state;
	struct rb_summary *s = malloc(sizeof(*s));
	rb_summary_clear(s);
	/* 1..10000 us, one each */
	for (uint64_t us = 1; us <= 10000; us++) {
		uint64_t v = us * 1000;
		s->bucket[rb_hist_index(v)]++;
		s->count++;
		s->timed++;
		s->sum += v;
		if (v < s->min)
			s->min = v;
		if (v > s->max)
			s->max = v;
	}
	struct {
		double q;
		double want;
	} cases[] = {{0.5, 5000e3}, {0.9, 9000e3}, {0.99, 9900e3}, {0.999, 9990e3}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		double got = (double)rb_summary_quantile(s, cases[i].q);
		assert_true(got >= cases[i].want * 0.99 && got <= cases[i].want * 1.01);
	}
	assert_int_equal(rb_summary_quantile(s, 1.0), 10000000);
	assert_true(rb_summary_mean(s) > 5000499.0 && rb_summary_mean(s) < 5000501.0);
	/* sub of an earlier snapshot leaves only what came after */
	struct rb_summary *later = malloc(sizeof(*later));
	*later = *s;
	later->bucket[rb_hist_index(42)] += 3;
	later->count += 3;
	later->timed += 3;
	rb_summary_sub(later, s);
	assert_int_equal(later->count, 3);
	assert_int_equal(rb_summary_quantile(later, 0.5), 42);
	free(later);
	free(s);
}

static void empty_summary_has_zero_quantiles(void **state)
{
	(void)state;
	struct rb_summary *s = malloc(sizeof(*s));
	rb_summary_clear(s);
	assert_int_equal(rb_summary_quantile(s, 0.99), 0);
	assert_true(rb_summary_mean(s) == 0.0);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(buckets_are_contiguous_and_increasing),
		cmocka_unit_test(relative_error_is_below_one_percent_from_192ns_to_500s),
		cmocka_unit_test(quantiles_of_a_known_distribution),
		cmocka_unit_test(empty_summary_has_zero_quantiles),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
