/* mongo_clock.c - the times of command events: libmongoc's own clock reads,
 * kept at nanosecond precision, instead of two more reads per command.
 *
 * libmongoc reads its clock (libbson's bson_get_monotonic_time(), whole
 * microseconds of CLOCK_MONOTONIC) when it starts a command and again when
 * the reply or error is in, just before it builds the succeeded or failed
 * event, whose duration is the difference (mongoc-cluster.c,
 * mongoc_cluster_run_command_monitored, 1.23). This file interposes that
 * function: it returns exactly what libbson's returns (tv_sec * 1000000 +
 * tv_nsec / 1000 of a CLOCK_MONOTONIC read) and keeps the read's nanoseconds
 * for this thread's next command event (mongo_clock_event).
 *
 * Ours is the one libmongoc calls when the program links libringmon-mongoc
 * before libbson, or statically (the linker exports it, as libmongoc
 * references it), and under the preload, whose own bson_get_monotonic_time
 * calls ringmon_mongoc__monotonic_time once the adapter is loaded
 * (mongo_preload_load.c). Otherwise libbson's is called, nothing comes here,
 * and the events read the clock themselves. Per thread: no lock. */
#define _GNU_SOURCE
#include <time.h>

#include "mongo_internal.h"

__thread struct mongo_clock mongo_clock;

EXPORT int64_t bson_get_monotonic_time(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	struct mongo_clock *c = &mongo_clock;
	c->ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	c->reads++;
	return mongo_bson_us(&ts);
}

/* the same function, by a name the preload finds with dlsym */
EXPORT int64_t ringmon_mongoc__monotonic_time(void) __attribute__((alias("bson_get_monotonic_time")));
