/* ring.h - the writer's half of the record protocol (docs/format.md), shared by
 * libringmon's emit and the tests that must write exactly as it does. Not
 * installed. Inline, no call, no syscall: it runs on the emit path. */
#ifndef RINGMON_RING_H
#define RINGMON_RING_H

#include <stddef.h>
#include <stdint.h>

#include "layout.h"

/* Claims the slot of the shard's next position for one record, marks it busy
 * with that position and orders the mark before the payload stores that
 * follow. shared: other threads write this shard too, so the head is taken by
 * fetch-add and the slot by CAS; else the caller alone writes it (plain head
 * update, head first: a writer that dies after it leaves a claimed slot that
 * readers skip and count). Returns the slot, or NULL when a shared slot is held
 * by another writer or already by a later lap: the record is given up (readers
 * count it lost) rather than waited for. *pos gets the position. */
static inline struct rb_record *rb_slot_claim(struct rb_shard_head *sh, struct rb_record *ring,
					      uint64_t mask, int shared, uint64_t *pos)
{
	uint64_t p;
	struct rb_record *r;
	if (shared) {
		p = __atomic_fetch_add(&sh->head, 1, __ATOMIC_RELAXED);
		r = &ring[p & mask];
		uint64_t cur = __atomic_load_n(&r->seq, __ATOMIC_RELAXED);
		do {
			if ((cur & RB_SEQ_BUSY) || (int64_t)(cur - (p + 1)) > 0)
				return NULL;
		} while (!__atomic_compare_exchange_n(&r->seq, &cur, (p + 1) | RB_SEQ_BUSY, 1,
						      __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	} else {
		p = __atomic_load_n(&sh->head, __ATOMIC_RELAXED);
		__atomic_store_n(&sh->head, p + 1, __ATOMIC_RELEASE);
		r = &ring[p & mask];
		__atomic_store_n(&r->seq, (p + 1) | RB_SEQ_BUSY, __ATOMIC_RELAXED);
	}
	/* pairs with the acquire fence in rb_cursor_next: a reader that sees any
	 * payload byte also sees the busy mark */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	*pos = p;
	return r;
}

/* Publishes a claimed slot once its payload is written; pairs with the
 * acquire load of seq in rb_cursor_next. */
static inline void rb_slot_publish(struct rb_record *r, uint64_t pos)
{
	__atomic_store_n(&r->seq, pos + 1, __ATOMIC_RELEASE);
}

#endif
