/* bench_drain.c - how fast the viewer's model drains a ring: a producer thread
 * emits as fast as it can while vm_tail_poll reads; reports records read per
 * second beside records written per second in the same run. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "model.h"
#include "ringmon.h"

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
	type = ringmon_type_register("bench.drain", NULL, 0);
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
	uint64_t t0 = vm_now_ns(), w0 = rb_view_written(&v);
	uint64_t lost;
	while (vm_now_ns() - t0 < 2000000000ull)
		vm_tail_poll(&t, recs, 4096, &lost, vm_now_ns());
	done = 1;
	pthread_join(th, NULL);
	double secs = (double)(vm_now_ns() - t0) / 1e9;
	double wr = (double)(rb_view_written(&v) - w0) / secs, rd = (double)t.read / secs;
	printf("viewer.drain_records_per_s %.0f (goal >= 1000000)\n", rd);
	printf("viewer.producer_records_per_s %.0f (same run; read %.0f%%, rest counted lost)\n", wr,
	       100.0 * rd / wr);
	rb_detach(&v);
	return 0;
}
