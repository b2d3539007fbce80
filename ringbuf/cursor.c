/* cursor.c - the read protocol: check seq, copy, check seq again. */
#include "cursor.h"

#include <string.h>

void rb_cursor_init(struct rb_cursor *c, const struct rb_view *v, uint32_t ring, int from_start)
{
	memset(c, 0, sizeof(*c));
	c->v = v;
	c->head = rb_view_ring_head(v, ring);
	c->ring = rb_view_ring(v, ring);
	uint64_t cap = rb_view_ring_records(v, ring);
	c->mask = cap - 1;
	uint64_t head = rb_cursor_head(c);
	if (from_start)
		c->pos = head > cap ? head - cap : 0;
	else
		c->pos = head;
	c->stall_pos = UINT64_MAX;
}

uint64_t rb_cursor_head(const struct rb_cursor *c)
{
	/* pairs with the writer's store of head (release in the shared path; in an
	 * owned shard the record's own seq carries the ordering) */
	return __atomic_load_n(&c->head->head, __ATOMIC_ACQUIRE);
}

static enum rb_next lose(struct rb_cursor *c, uint64_t n, uint64_t *lost)
{
	c->pos += n;
	*lost = n;
	return RB_NEXT_LOST;
}

enum rb_next rb_cursor_next(struct rb_cursor *c, struct rb_record *rec, uint64_t *lost,
			    uint64_t now_ns)
{
	uint64_t cap = c->mask + 1;
	uint64_t head = rb_cursor_head(c);
	int64_t ahead = (int64_t)(head - c->pos);
	if (ahead <= 0) {
		/* nothing new; a head behind us means a broken writer: wait at head */
		if (ahead < 0)
			c->pos = head;
		return RB_NEXT_NONE;
	}
	if ((uint64_t)ahead > cap) /* lapped: these slots hold newer positions */
		return lose(c, (uint64_t)ahead - cap, lost);

	const struct rb_record *r = &c->ring[c->pos & c->mask];
	/* pairs with the writer's release store of seq (publication) */
	uint64_t s1 = __atomic_load_n(&r->seq, __ATOMIC_ACQUIRE);
	if (s1 == c->pos + 1) {
		const uint64_t *src = (const uint64_t *)r;
		uint64_t *dst = (uint64_t *)rec;
		for (unsigned i = 0; i < RB_RECORD_SIZE / 8; i++)
			dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
		/* pairs with the release fence in rb_slot_claim, after the writer
		 * marks seq busy with a newer position: if the copy saw any byte of
		 * a newer write, this load sees seq changed */
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		uint64_t s2 = __atomic_load_n(&r->seq, __ATOMIC_RELAXED);
		if (s2 != s1) /* overwritten while we copied */
			return lose(c, 1, lost);
		rec->seq = s1;
		c->pos++;
		return RB_NEXT_RECORD;
	}
	uint64_t owner = s1 & ~RB_SEQ_BUSY; /* position + 1 of the lap in the slot */
	if (owner != 0 && (int64_t)(owner - (c->pos + 1)) > 0) /* a later lap is here already */
		return lose(c, 1, lost);
	/* claimed but not yet published: wait a little, then skip it */
	if (c->stall_pos != c->pos) {
		c->stall_pos = c->pos;
		c->stall_since = now_ns;
		return RB_NEXT_NONE;
	}
	if (now_ns - c->stall_since < RB_STALL_NS)
		return RB_NEXT_NONE;
	c->skipped++;
	return lose(c, 1, lost);
}
