/* bench_drain.c - how fast the viewer's model drains a ring: a producer thread
 * emits as fast as it can while vm_tail_poll reads; reports records read per
 * second beside records written per second in the same run. Output:
 * bench_util.h rows and notes. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "bench_util.h"
#include "model.h"
#include <ringmon/ringmon.h>

#define ROUNDS 5
#define ROUND_NS 400000000ull

static volatile int done;
static int type;

static void *producer(void *arg)
{
	(void)arg;
	uint64_t i = 0;
	while (!done)
		ringmon_emit(type, 0, 1000, (int64_t)i++, 0, 0, 0);
	return NULL;
}

int main(void)
{
	setenv("RINGMON_RECORDS", "65536", 1);
	setenv("RINGMON_SHARDS", "2", 1);
	type = bu_type("bench.drain", NULL, 0);
	struct rb_view v;
	char err[RB_ERR_MAX];
	if (rb_attach_pid(&v, getpid(), 1000, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench_drain: %s\n", err);
		return 1;
	}
	static struct vm_tail t;
	vm_tail_init(&t, &v, 0);
	static struct rb_record recs[4096];
	pthread_t th;
	pthread_create(&th, NULL, producer, NULL);
	double rd[ROUNDS], wr[ROUNDS];
	for (int r = 0; r < ROUNDS; r++) {
		uint64_t t0 = bu_now_ns(), w0 = rb_view_written(&v), r0 = t.read, lost, now;
		while ((now = bu_now_ns()) - t0 < ROUND_NS)
			vm_tail_poll(&t, recs, 4096, &lost, now);
		double secs = (double)(bu_now_ns() - t0) / 1e9;
		rd[r] = (double)(t.read - r0) / secs;
		wr[r] = (double)(rb_view_written(&v) - w0) / secs;
	}
	done = 1;
	pthread_join(th, NULL);
	rb_detach(&v);
	double mr = bu_median(rd, ROUNDS), mw = bu_median(wr, ROUNDS);
	char c1[32], c2[128], c3[32], c4[48];
	bu_row("viewer drain: merged tail of a ring (records/s)", bu_fmt(c1, sizeof(c1), "%.0f", mr),
	       bu_fmt(c2, sizeof(c2), "producer flat out %.0f (the rest counted lost)", mw),
	       bu_fmt(c3, sizeof(c3), "%.2f", mr / mw),
	       bu_fmt(c4, sizeof(c4), ">= 1000000/s: %s", bu_met(mr >= 1e6)));
	bu_note("drain: one producer thread emits flat out on the other core while the model "
		"reads; %d rounds of %.1f s, median of each",
		ROUNDS, ROUND_NS / 1e9);
	return 0;
}
