/* open.c - creating this process's segment (at the first registration or
 * ringmon_open), carrying earlier tables over, and closing it. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <urcu-bp.h>
#include <urcu/rculfhash.h>

#include <ringmon/ringmon.h>
#include "producer.h"

struct producer producer = {.lock = PTHREAD_MUTEX_INITIALIZER};

void producer_say_once(const char *why)
{
	if (producer.told)
		return;
	producer.told = 1;
	char line[640];
	int n = snprintf(line, sizeof(line), "ringmon: monitoring is off for this process: %s\n", why);
	if (n > 0)
		(void)!write(2, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

static int install_hooks(void)
{
	if (producer.hooks)
		return 0;
	if (pthread_key_create(&producer.thread_key, producer_release_shard) != 0)
		return -EAGAIN;
	producer.keys = cds_lfht_new(1024, 1024, 1024, 0, NULL);
	if (!producer.keys)
		return -ENOMEM;
	atexit(producer_at_exit);
	pthread_atfork(producer_before_fork, producer_after_fork_parent, producer_after_fork_child);
	producer.hooks = 1;
	return 0;
}

/* Creates a new segment; if an earlier one is mapped (after close, or the
 * parent's after fork), carries its type and key tables and event set over so
 * that ids stay valid. Called with producer.lock held. */
int producer_open_locked(uint64_t records)
{
	if (producer.open)
		return -EALREADY;
	if (producer_env_flag("RINGMON_DISABLE")) {
		producer.off = 1;
		return -ECANCELED;
	}
	/* read again at close (the program may set it while running); a bad
	 * value is said now, at the start, once */
	(void)producer_env_flag("RINGMON_KEEP");
	int rc = install_hooks();
	if (rc) {
		producer_say_once("cannot set up thread and fork hooks (out of memory?)");
		producer.off = 1;
		return rc;
	}
	long cpus = sysconf(_SC_NPROCESSORS_CONF);
	uint64_t shards = (uint64_t)(cpus > 0 ? cpus : 1) + 1;
	shards = producer_env_u64("RINGMON_SHARDS", shards < RB_MAX_SHARDS ? shards : RB_MAX_SHARDS,
				  1, RB_MAX_SHARDS);
	if (!records)
		records = producer.records ? producer.records : producer_env_records((uint32_t)shards);
	records = producer_pow2_at_least(records);
	uint64_t keys = producer_env_u64("RINGMON_KEYS", DEFAULT_KEYS, 2, RB_MAX_KEYS - EXTRA_KEY_SLOTS);
	/* the pool is sized for the keys asked for, as before types had slots of
	 * their own (a pool that runs out still loses no count) */
	uint64_t pool = producer_pool_size((uint32_t)shards, (uint32_t)keys);
	keys += EXTRA_KEY_SLOTS;

	struct rb_segment *old = producer.seg;
	if (old && keys < rb_seg_header(old)->nkeys)
		keys = rb_seg_header(old)->nkeys;
	/* segments of our processes that are gone, beyond the newest few kept for
	 * post-mortem reading, would pile up in /dev/shm (and may be what fills it) */
	uint64_t freed;
	(void)rb_reap(rb_dir(), producer_keep_dead(), &freed);
	char err[RB_ERR_MAX + 128];
	struct rb_segment *seg = malloc(sizeof(*seg));
	if (!seg) {
		producer_say_once("out of memory");
		producer.off = 1;
		return -ENOMEM;
	}
	struct retired *r = old ? malloc(sizeof(*r)) : NULL;
	if (old && !r) {
		free(seg);
		producer_say_once("out of memory");
		producer.off = 1;
		return -ENOMEM;
	}
	rc = rb_segment_create(seg, (uint32_t)shards, records, (uint32_t)keys, pool, err,
			       sizeof(err));
	if (rc) {
		free(r);
		free(seg);
		producer_say_once(err);
		producer.off = 1;
		return rc;
	}
	struct rb_header *h = rb_seg_header(seg);
	uint64_t enabled = 0;
	if (old) {
		struct rb_header *oh = rb_seg_header(old);
		memcpy(rb_seg_types(seg), rb_seg_types(old), RB_MAX_TYPES * sizeof(struct rb_type));
		memcpy(rb_seg_keys(seg), rb_seg_keys(old), oh->nkeys * sizeof(struct rb_key));
		h->ntypes = oh->ntypes;
		h->nkeys = oh->nkeys;
		enabled = producer.forked ? producer.mask_after_fork : rb_seg_control(old)->enabled;
	}
	rb_seg_control(seg)->enabled = enabled & ~(1ull << RB_TYPE_NONE);
	/* the last shard is shared by threads that find no free one */
	rb_seg_shard(seg, (uint32_t)shards - 1)->flags = RB_SHARD_SHARED;
	rb_segment_publish(seg);

	if (r) {
		r->seg = old;
		r->prev = producer.retired;
		producer.retired = r;
	}
	/* pairs with the acquire load in thread_attach */
	__atomic_store_n(&producer.seg, seg, __ATOMIC_RELEASE);
	producer.records = records;
	producer.pid = getpid();
	__atomic_store_n(&producer.open, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&producer.forked, 0, __ATOMIC_RELEASE);
	__atomic_add_fetch(&producer.gen, 1, __ATOMIC_RELEASE);
	/* pairs with the acquire load in ringmon_enabled */
	__atomic_store_n(&ringmon__enabled, &rb_seg_control(seg)->enabled, __ATOMIC_RELEASE);
	return 0;
}

EXPORT int ringmon_open(uint64_t records)
{
	pthread_mutex_lock(&producer.lock);
	int rc = producer_open_locked(records);
	pthread_mutex_unlock(&producer.lock);
	return rc;
}

int producer_ensure_open(void)
{
	if (producer.open)
		return 0;
	if (producer.off)
		return -ECANCELED;
	return producer_open_locked(0);
}

void producer_finish_locked(void)
{
	producer_events_report();
	/* emits from now on see the off mask and never touch the segment */
	__atomic_store_n(&ringmon__enabled, &producer_off_mask, __ATOMIC_RELEASE);
	rb_segment_finish(producer.seg, producer_env_flag("RINGMON_KEEP"));
	__atomic_store_n(&producer.open, 0, __ATOMIC_RELEASE);
	__atomic_add_fetch(&producer.gen, 1, __ATOMIC_RELEASE);
}

EXPORT void ringmon_close(void)
{
	pthread_mutex_lock(&producer.lock);
	if (producer.open)
		producer_finish_locked();
	pthread_mutex_unlock(&producer.lock);
}
