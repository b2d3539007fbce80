/* cursor.h - read-only cursors over one ring (a shard's, or the state ring). Not installed.
 *
 * A cursor never writes shared memory and never waits for the writer. Each call
 * returns a whole record exactly as written, or a count of records lost (lapped
 * by the writer, or left half-written by a writer that stopped or died), or
 * nothing new. Over a cursor's life, records returned + lost counted equals the
 * positions it passed, exactly. */
#ifndef RINGMON_CURSOR_H
#define RINGMON_CURSOR_H

#include <stdint.h>

#include "layout.h"
#include "segment.h"

/* How long a claimed but unpublished record may block a cursor before it is
 * skipped and counted lost (a writer preempted longer than this loses it). */
#define RB_STALL_NS (200ull * 1000 * 1000)

enum rb_next {
	RB_NEXT_NONE = 0,   /* nothing new yet */
	RB_NEXT_RECORD = 1, /* *rec holds a whole record */
	RB_NEXT_LOST = 2,   /* *lost records are gone; the cursor moved past them */
};

struct rb_cursor {
	const struct rb_view *v;
	const struct rb_shard_head *head;
	const struct rb_record *ring;
	uint64_t mask;
	uint64_t pos;         /* next position to read */
	uint64_t stall_pos;   /* position we saw unpublished, and since when */
	uint64_t stall_since;
	uint64_t skipped;     /* of the lost ones, left unpublished by a writer */
};

/* A cursor over ring `ring` (0 .. rb_view_nrings(v) - 1: the shards, then
 * the state ring), starting at the newest position (from_start = 0) or the
 * oldest still in the ring (from_start = 1). */
void rb_cursor_init(struct rb_cursor *c, const struct rb_view *v, uint32_t ring, int from_start);
/* now_ns: the caller's monotonic clock, for stall detection. */
enum rb_next rb_cursor_next(struct rb_cursor *c, struct rb_record *rec, uint64_t *lost,
			    uint64_t now_ns);
/* The shard's head (records claimed so far), acquire. */
uint64_t rb_cursor_head(const struct rb_cursor *c);

#endif
