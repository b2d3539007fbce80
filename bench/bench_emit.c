/* bench_emit.c - cost of an emit against the floor of the same loop: the
 * floor reads the same clock and stores 64 bytes to private memory, which is
 * what any recording of an event with a timestamp must do. 1 and 2 threads;
 * a disabled type. Output: bench_util.h rows and notes. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#include "bench_util.h"
#include <ringmon/ringmon.h>

#define N 4000000
#define N_OFF 40000000 /* a disabled emit is ~100 times cheaper */
#define ROUNDS 11
#define RING 8192

struct rec {
	uint64_t w[8];
} __attribute__((aligned(64)));
static struct rec floor_rings[2][RING];

/* The floor: read the same clock, store 64 bytes to private memory. */
static void floor_loop(struct rec *ring)
{
	for (uint64_t i = 0; i < N; i++) {
		struct rec *r = &ring[i & (RING - 1)];
		uint64_t t = bu_now_ns();
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
}

static int type, key;

static void emit_loop(struct rec *ring)
{
	(void)ring;
	bu_emit_ns(type, key, N);
}

struct worker {
	void (*loop)(struct rec *ring);
	struct rec *ring;
	uint64_t cpu_ns;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	uint64_t c0 = bu_thread_cpu_ns();
	w->loop(w->ring);
	w->cpu_ns = bu_thread_cpu_ns() - c0;
	return NULL;
}

/* CPU ns per event per thread, `threads` threads running loop at once: the
 * thread's CPU time, so that time the machine gives to other processes is
 * not counted (it is the same as wall time on a quiet machine) */
static double run(void (*loop)(struct rec *), int threads)
{
	pthread_t th[2];
	struct worker w[2];
	for (int i = 0; i < threads; i++) {
		w[i] = (struct worker){loop, floor_rings[i], 0};
		pthread_create(&th[i], NULL, work, &w[i]);
	}
	uint64_t sum = 0;
	for (int i = 0; i < threads; i++) {
		pthread_join(th[i], NULL);
		sum += w[i].cpu_ns;
	}
	return (double)sum / threads / N;
}

static double floor_1t(void)
{
	return run(floor_loop, 1);
}
static double emit_1t(void)
{
	return run(emit_loop, 1);
}
static double floor_2t(void)
{
	return run(floor_loop, 2);
}
static double emit_2t(void)
{
	return run(emit_loop, 2);
}
static double emit_off(void)
{
	return bu_emit_off_ns(type, key, N_OFF);
}

int main(void)
{
	static const char *f[] = {"i"};
	type = bu_type("bench.emit", f, 1);
	key = ringmon_key(type, "k");
	run(emit_loop, 2); /* warm up: page in the rings */
	struct bu_variant v[] = {{floor_1t}, {emit_1t}, {floor_2t}, {emit_2t}, {emit_off}};
	bu_rounds(v, 5, ROUNDS);
	double fl1 = v[0].best, e1 = v[1].best, fl2 = v[2].best, e2 = v[3].best, d = v[4].best;
	char c1[32], c2[96], c3[32], c4[48];
	bu_row("emit, 1 thread (ns/event)", bu_fmt(c1, sizeof(c1), "%.1f", e1),
	       bu_fmt(c2, sizeof(c2), "floor %.1f (clock read + 64-byte store)", fl1),
	       bu_fmt(c3, sizeof(c3), "%.2fx", e1 / fl1),
	       bu_fmt(c4, sizeof(c4), "<= 1.5x: %s", bu_met(e1 <= 1.5 * fl1)));
	bu_row("emit, 2 threads at once (ns/event per thread)", bu_fmt(c1, sizeof(c1), "%.1f", e2),
	       bu_fmt(c2, sizeof(c2), "floor, 2 threads %.1f", fl2),
	       bu_fmt(c3, sizeof(c3), "%.2fx", e2 / fl2),
	       bu_fmt(c4, sizeof(c4), "<= 1.5x: %s", bu_met(e2 <= 1.5 * fl2)));
	bu_row("emit, 2 threads vs 1 thread (ns/event per thread)", bu_fmt(c1, sizeof(c1), "%.1f", e2),
	       bu_fmt(c2, sizeof(c2), "emit, 1 thread %.1f", e1),
	       bu_fmt(c3, sizeof(c3), "%.2fx", e2 / e1),
	       bu_fmt(c4, sizeof(c4), "~1x (<= 1.25x): %s", bu_met(e2 <= 1.25 * e1)));
	bu_row("emit of a disabled type (ns/event)", bu_fmt(c1, sizeof(c1), "%.2f", d), "-", "-",
	       bu_fmt(c4, sizeof(c4), "<= 2 ns: %s", bu_met(d <= 2)));
	bu_note("emit: %d rounds of %d events per thread (disabled: %d), the 5 variants once per "
		"round in rotated order, best round of each; ns of the emitting thread's CPU time "
		"(CLOCK_THREAD_CPUTIME_ID; disabled: wall time); 2 threads: both emit at once, each "
		"into a shard of its own",
		ROUNDS, N, N_OFF);
	return 0;
}
