/* tp_peers.h - the LTTng-UST tracepoint provider bench_peers compares ringmon
 * with: one event, ringmon_bench:record, carrying what a ringmon record
 * carries (LTTng adds the timestamp itself): tid, type, key, duration and
 * four 64-bit fields. See lttng-ust(3), "Creating a tracepoint provider". */
#undef LTTNG_UST_TRACEPOINT_PROVIDER
#define LTTNG_UST_TRACEPOINT_PROVIDER ringmon_bench

#undef LTTNG_UST_TRACEPOINT_INCLUDE
#define LTTNG_UST_TRACEPOINT_INCLUDE "./tp_peers.h"

#if !defined(TP_PEERS_H) || defined(LTTNG_UST_TRACEPOINT_HEADER_MULTI_READ)
#define TP_PEERS_H

#include <stdint.h>
#include <lttng/tracepoint.h>

LTTNG_UST_TRACEPOINT_EVENT(
	ringmon_bench, record,
	LTTNG_UST_TP_ARGS(uint32_t, tid, uint16_t, type, uint16_t, key, uint64_t, dur, int64_t, f0,
			  int64_t, f1, int64_t, f2, int64_t, f3),
	LTTNG_UST_TP_FIELDS(lttng_ust_field_integer(uint32_t, tid, tid)
			    lttng_ust_field_integer(uint16_t, type, type)
			    lttng_ust_field_integer(uint16_t, key, key)
			    lttng_ust_field_integer(uint64_t, dur, dur)
			    lttng_ust_field_integer(int64_t, f0, f0)
			    lttng_ust_field_integer(int64_t, f1, f1)
			    lttng_ust_field_integer(int64_t, f2, f2)
			    lttng_ust_field_integer(int64_t, f3, f3)))

#endif /* TP_PEERS_H */

#include <lttng/tracepoint-event.h>
