/* loadgen.h - the workloads of ringmon-loadgen. Not installed. */
#ifndef RINGMON_LOADGEN_H
#define RINGMON_LOADGEN_H

/* The MongoDB workload (loadgen_mongo.c): parses its own options from argv,
 * runs, prints what it issued. Returns the exit status. */
int loadgen_mongo_main(int argc, char **argv);

#endif
