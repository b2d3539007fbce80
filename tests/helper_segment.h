/* helper_segment.h - segments made by hand for the reader model's tests: real
 * files made by a child process (so each has a pid of its own, like a real
 * producer), mapped read-write by the test, which then writes records into
 * any shard in any order and statistics blocks, as a producer would. Not
 * installed. */
#ifndef RINGMON_TEST_HELPER_SEGMENT_H
#define RINGMON_TEST_HELPER_SEGMENT_H

#include <stdint.h>

#include "segment.h"

struct th_seg {
	struct rb_segment s; /* base mapped read-write by the test */
	int pid;             /* the child that made it (it has exited: the segment is dead) */
};

/* Makes a segment in $RINGMON_DIR (th_private_dir first) with nshards rings of
 * records each, and registers the types named in types (NULL-terminated, each
 * with fields "a".."d" named by fields, may be NULL) in that order. publish = 0
 * leaves it as a producer that died while creating it. Returns 0 or -1. */
int th_seg_make(struct th_seg *z, uint32_t nshards, uint64_t records, const char *const *types,
		const char *const *fields, int publish);
/* Registers key name of type id; returns the key id. */
uint32_t th_seg_key(struct th_seg *z, uint32_t type, const char *name);
/* Writes a whole record into shard at its next position. */
void th_seg_record(struct th_seg *z, uint32_t shard, uint64_t ts_ns, uint32_t type, uint32_t key,
		   uint64_t dur_ns, const int64_t *fields);
/* Adds n events of duration dur_ns (RB_NO_DURATION: none) to the statistics of
 * a type (is_key 0) or key in shard 0. */
void th_seg_stat(struct th_seg *z, int is_key, uint32_t id, uint64_t n, uint64_t dur_ns);
/* Unmaps (the file stays in $RINGMON_DIR). */
void th_seg_close(struct th_seg *z);

#endif
