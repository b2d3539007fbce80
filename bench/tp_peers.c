/* tp_peers.c - the tracepoint provider of tp_peers.h, built as a shared
 * object (libtp_peers.so, linked with liblttng-ust) that bench_peers loads
 * with dlopen once LTTNG_HOME names its private directory: lttng-ust(3),
 * "Dynamically loading the tracepoint provider". */
#define LTTNG_UST_TRACEPOINT_CREATE_PROBES
#include "tp_peers.h"
