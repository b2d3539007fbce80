/* loadgen.h - the workloads of ringmon-loadgen. Not installed. */
#ifndef RINGMON_LOADGEN_H
#define RINGMON_LOADGEN_H

#include <stdint.h>

/* The MongoDB workload (loadgen_mongo.c): parses its own options from argv,
 * runs, prints what it issued. Returns the exit status. */
int loadgen_mongo_main(int argc, char **argv);

/* xorshift64: a cheap pseudo-random sequence, one state per thread */
static inline uint64_t loadgen_rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

#endif
