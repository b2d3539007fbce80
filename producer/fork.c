/* fork.c - fork and exit: a forked child never writes its parent's segment;
 * exit marks the segment exited and removes it. */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <unistd.h>

#include <urcu-bp.h>

#include <ringmon/ringmon.h>
#include "producer.h"

void producer_at_exit(void)
{
	pthread_mutex_lock(&producer.lock);
	if (producer.open && producer.pid == getpid())
		producer_finish_locked();
	pthread_mutex_unlock(&producer.lock);
}

void producer_before_fork(void)
{
	pthread_mutex_lock(&producer.lock);
	urcu_bp_before_fork();
}

void producer_after_fork_parent(void)
{
	urcu_bp_after_fork_parent();
	pthread_mutex_unlock(&producer.lock);
}

/* The child must never write its parent's segment: make it read-only here,
 * keep emitting into nothing until the child's first emit or registration
 * opens a segment of its own (so fork+exec leaves no segment behind). */
void producer_after_fork_child(void)
{
	urcu_bp_after_fork_child();
	if (producer.open || producer.forked) {
		producer.mask_after_fork = __atomic_load_n(ringmon__enabled, __ATOMIC_RELAXED);
		if (producer.open)
			mprotect(producer.seg->base, producer.seg->g.segment_size, PROT_READ);
		__atomic_store_n(&producer.open, 0, __ATOMIC_RELEASE);
		__atomic_store_n(&producer.forked, 1, __ATOMIC_RELEASE);
		__atomic_store_n(&ringmon__enabled, &producer.mask_after_fork, __ATOMIC_RELEASE);
		__atomic_add_fetch(&producer.gen, 1, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&producer.lock);
}
