/* bench_util.h - what every benchmark shares: the clock, medians, and the
 * output lines bench/run.sh gathers into the one table of `make bench`:
 *   | measure | ringmon | compared with (same run) | ratio | goal |   a table row
 *   note: text                                                       a table note
 * Anything else a bench prints also ends up in the notes. */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <ringmon/ringmon.h>

/* CLOCK_MONOTONIC in ns: the clock ringmon's records carry. */
static inline uint64_t bu_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* CPU time of the calling thread in ns. */
static inline uint64_t bu_thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline int bu_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Median of v[0..n) (sorts v). */
static inline double bu_median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(v[0]), bu_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Registers an event type, or exits if ringmon is off (then every emit would
 * be a disabled one and the figures would mean nothing). */
static inline int bu_type(const char *name, const char *const *fields, unsigned nfields)
{
	int t = ringmon_type_register(name, fields, nfields);
	if (t == RINGMON_TYPE_NONE) {
		fprintf(stderr, "%s: ringmon could not open its segment (see the line above), so "
				"there is nothing to measure; fix that and run again\n",
			name);
		exit(1);
	}
	if (!ringmon_enabled(t)) /* RINGMON_EVENTS may have left it off */
		ringmon_set_events(ringmon_get_events() | 1ull << t);
	return t;
}

/* ns per ringmon_emit over n emits of one type and key, the fields varying. */
static inline double bu_emit_ns(int type, int key, uint64_t n)
{
	uint64_t t0 = bu_now_ns();
	for (uint64_t i = 0; i < n; i++)
		ringmon_emit(type, key, 1000 + (i & 1023), (int64_t)i, 0, 0, 0);
	return (double)(bu_now_ns() - t0) / (double)n;
}

/* The same with every type disabled (a disabled emit: one load, one branch). */
static inline double bu_emit_off_ns(int type, int key, uint64_t n)
{
	uint64_t mask = ringmon_get_events();
	ringmon_set_events(0);
	double r = bu_emit_ns(type, key, n);
	ringmon_set_events(mask);
	return r;
}

/* A measured variant: fn runs it once and returns its figure (ns/event). */
#define BU_MAX_ROUNDS 15
struct bu_variant {
	double (*fn)(void);
	double v[BU_MAX_ROUNDS];
	double best; /* the lowest over the rounds: load from elsewhere only adds time */
};

/* `rounds` rounds (<= BU_MAX_ROUNDS) of each of vs[0..n), the order rotated
 * every round so that none always runs first and slow drift of the machine
 * hits all alike; then each variant's best round. */
static inline void bu_rounds(struct bu_variant *vs, int n, int rounds)
{
	for (int r = 0; r < rounds; r++)
		for (int k = 0; k < n; k++) {
			struct bu_variant *v = &vs[(k + r) % n];
			v->v[r] = v->fn();
		}
	for (int k = 0; k < n; k++) {
		vs[k].best = vs[k].v[0];
		for (int r = 1; r < rounds; r++)
			if (vs[k].v[r] < vs[k].best)
				vs[k].best = vs[k].v[r];
	}
}

/* "met" or "NOT met", for the goal column. */
static inline const char *bu_met(int met)
{
	return met ? "met" : "NOT met";
}

/* One row of the table; each argument is a printf format with its values
 * already formatted by the caller (use "-" for an empty cell). */
static inline void bu_row(const char *measure, const char *ringmon, const char *against,
			  const char *ratio, const char *goal)
{
	printf("| %s | %s | %s | %s | %s |\n", measure, ringmon, against, ratio, goal);
	fflush(stdout);
}

/* snprintf into a caller's cell buffer, returning it: bu_row(..., bu_fmt(c, sizeof(c), ...)). */
__attribute__((format(printf, 3, 4))) static inline const char *bu_fmt(char *buf, size_t n,
									const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, n, fmt, ap);
	va_end(ap);
	return buf;
}

/* One note under the table: how a figure was measured, or why one is missing. */
__attribute__((format(printf, 1, 2))) static inline void bu_note(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("note: ", stdout);
	vprintf(fmt, ap);
	putchar('\n');
	va_end(ap);
	fflush(stdout);
}

#endif
