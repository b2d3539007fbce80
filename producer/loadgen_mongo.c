/* loadgen_mongo.c - the MongoDB workload of ringmon-loadgen (issue 3). */
#include <stdio.h>

#include "loadgen.h"

int loadgen_mongo_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "ringmon-loadgen: the MongoDB workload (--uri) is not built yet; "
		"use --synthetic\n");
	return 2;
}
