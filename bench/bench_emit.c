/* bench_emit.c - cost of an emit against the floor of the same loop.
 * Prints `name value` lines; bench/run.sh collects them into docs/benchmarks.md. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ringmon.h"

#define N 4000000
#define REPS 5

static uint64_t now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct rec {
	uint64_t w[8];
} __attribute__((aligned(64)));
static struct rec floor_ring[8192];

/* The floor: read the same clock, store 64 bytes to private memory. */
static void *floor_loop(void *arg)
{
	struct rec *ring = arg;
	for (uint64_t i = 0; i < N; i++) {
		struct rec *r = &ring[i & 8191];
		uint64_t t = now();
		r->w[0] = i + 1;
		r->w[1] = t;
		r->w[2] = 7;
		r->w[3] = 1000;
		r->w[4] = i;
		r->w[5] = 0;
		r->w[6] = 0;
		r->w[7] = 0;
		__asm__ volatile("" ::: "memory");
	}
	return NULL;
}

static int type, key;

static void *emit_loop(void *arg)
{
	(void)arg;
	for (uint64_t i = 0; i < N; i++)
		ringmon_emit(type, key, 1000 + (i & 1023), (int64_t)i, 0, 0, 0);
	return NULL;
}

static double run(void *(*fn)(void *), int threads)
{
	pthread_t th[2];
	static struct rec rings[2][8192];
	uint64_t t0 = now();
	for (int i = 0; i < threads; i++)
		pthread_create(&th[i], NULL, fn, fn == floor_loop ? (void *)rings[i] : NULL);
	for (int i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	return (double)(now() - t0) / N; /* ns per event, per thread */
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(void *(*fn)(void *), int threads)
{
	double v[REPS];
	for (int i = 0; i < REPS; i++)
		v[i] = run(fn, threads);
	qsort(v, REPS, sizeof(v[0]), cmp);
	return v[REPS / 2];
}

int main(void)
{
	static const char *f[] = {"i"};
	(void)floor_ring;
	type = ringmon_type_register("bench.emit", f, 1);
	key = ringmon_key(type, "k");
	median(emit_loop, 1); /* warm up: page in the ring */
	double fl1 = median(floor_loop, 1);
	double e1 = median(emit_loop, 1);
	double fl2 = median(floor_loop, 2);
	double e2 = median(emit_loop, 2);
	ringmon_set_events(0);
	double d = median(emit_loop, 1);
	printf("emit.floor_1t_ns %.2f\n", fl1);
	printf("emit.enabled_1t_ns %.2f\n", e1);
	printf("emit.enabled_1t_vs_floor %.2fx (goal <= 1.5x)\n", e1 / fl1);
	printf("emit.floor_2t_ns_per_thread %.2f\n", fl2);
	printf("emit.enabled_2t_ns_per_thread %.2f\n", e2);
	printf("emit.enabled_2t_vs_1t %.2fx (goal <= 1.5x)\n", e2 / e1);
	printf("emit.disabled_ns %.2f (goal <= 2 ns)\n", d);
	return 0;
}
