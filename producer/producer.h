/* producer.h - libringmon's process-wide state, shared by its files. Not installed.
 *
 *   settings.c  environment variables (RINGMON_RECORDS, _SHARDS, _KEYS, _EVENTS, ...)
 *   open.c      creating the segment (first registration or ringmon_open), closing it
 *   registry.c  type and key registration, event sets
 *   emit.c      the emit path: a shard per thread, records, counters
 *   fork.c      fork (the child gets its own segment) and exit handling
 */
#ifndef RINGMON_PRODUCER_H
#define RINGMON_PRODUCER_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include <urcu/rculfhash.h>

#include "../ringbuf/segment.h"

#define EXPORT __attribute__((visibility("default")))
#define DEFAULT_KEYS 256u
/* Key slots beyond RINGMON_KEYS (names): id 0 (no key), and each type's two
 * own keys ("other", and its events without a key) for every type a segment
 * may hold (ids 0..62), so that names filling the table never leave a later
 * type without them. */
#define TYPE_KEY_SLOTS (2u * (RB_MAX_TYPES - 1u))
#define EXTRA_KEY_SLOTS (1u + TYPE_KEY_SLOTS)
/* Records of all rings together by default: nshards rings share them. */
#define DEFAULT_RING_RECORDS 24576u
#define DEFAULT_MIN_RECORDS 1024u
#define DEFAULT_MAX_RECORDS 8192u

/* A registered key, for the in-process string -> id lookup. Never freed. */
struct key_node {
	struct cds_lfht_node node;
	uint32_t type;
	uint32_t id;
	char name[RB_KEY_LEN];
};

/* Process-wide state; changed only under producer.lock. Emitters read
 * seg->base, gen and the shard pointers, all stable while gen is unchanged. */
struct producer {
	pthread_mutex_t lock;
	int open;            /* seg is this process's live segment */
	int off;             /* tried and failed, or disabled: stay off */
	int told;            /* the one stderr line was written */
	int forked;          /* we are a child; seg is the parent's (read-only) */
	int hooks;           /* atexit/atfork/pthread key installed */
	uint32_t gen;        /* bumped when seg changes: threads re-attach */
	pid_t pid;           /* owner of seg */
	struct rb_segment *seg; /* immutable once published; never freed */
	struct retired *retired; /* earlier segments, still mapped for late emitters */
	uint64_t records;    /* per-shard capacity asked for */
	uint64_t mask_after_fork; /* the child's enabled set until it reopens */
	struct cds_lfht *keys;
	pthread_key_t thread_key;
};
extern struct producer producer;

/* A segment replaced by close+open or fork stays mapped (a thread may still
 * be writing into it) and listed here. */
struct retired {
	struct rb_segment *seg;
	struct retired *prev;
};

/* Types flagged RINGMON_TYPE_STATE (bit N for type N): the emit path sends
 * their records to the segment's state ring. Read relaxed on every emit. */
extern uint64_t producer_state_types;
/* Types flagged RINGMON_TYPE_OPT_IN (bit N for type N); changed under
 * producer.lock, never read on the emit path. */
extern uint64_t producer_opt_in_types;

/* The enabled set before open, after close, and when ringmon is off: empty. */
extern const uint64_t producer_off_mask;

static inline struct rb_header *producer_header(void)
{
	return rb_seg_header(producer.seg);
}

/* ---- settings.c ---- */
/* Writes "ringmon: MESSAGE" and a newline to stderr in one write. */
void producer_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The environment variable name as a whole number in [min, max]: def if unset
 * or empty. A value that is not a positive decimal number (def is used) or
 * lies outside [min, max] (the nearest bound is used) is said once per
 * variable on stderr, with the value used instead. */
uint64_t producer_env_u64(const char *name, uint64_t def, uint64_t min, uint64_t max);
/* 1 if the variable is set, non-empty and not "0". */
int producer_env_flag(const char *name);
/* The power of two >= v within [RB_MIN_RECORDS, RB_MAX_RECORDS]. */
uint64_t producer_pow2_at_least(uint64_t v);
/* Records per shard unless RINGMON_RECORDS says: DEFAULT_RING_RECORDS shared by
 * the shards, a power of two from DEFAULT_MIN_RECORDS to DEFAULT_MAX_RECORDS
 * (8192 with 3 shards, 1024 with 65). */
uint64_t producer_default_records(uint32_t nshards);
/* RINGMON_RECORDS for nshards shards: the default when unset, a bad value
 * named once on stderr, a value that is not a power of two rounded up and
 * said once. */
uint64_t producer_env_records(uint32_t nshards);
/* How many segments of this user's processes that are gone a starting
 * producer keeps (the newest): RINGMON_KEEP_DEAD, 0 or more, default 3. */
#define DEFAULT_KEEP_DEAD 3u
unsigned producer_keep_dead(void);
/* Bytes of the statistics pool: RINGMON_STATS_KB (KiB) rounded up to a page
 * and kept within what a segment allows, else rb_pool_size_default(). */
uint64_t producer_pool_size(uint32_t nshards, uint32_t max_keys);
/* Whether RINGMON_EVENTS enables a type of this name at registration (its
 * name, a prefix of it, "all"; unset: every type); notes which entries of it
 * matched. */
int producer_initially_enabled(const char *name);
/* Whether RINGMON_EVENTS names the type exactly (what turns on a type flagged
 * RINGMON_TYPE_OPT_IN). */
int producer_events_name(const char *name);
/* Says once on stderr which entries of RINGMON_EVENTS matched no type
 * registered so far (called at close and exit, when the types are known). */
void producer_events_report(void);

/* ---- open.c (all called with producer.lock held) ---- */
/* Writes "ringmon: monitoring is off for this process: WHY" to stderr, once. */
void producer_say_once(const char *why);
/* Creates a new segment (records per shard, 0 = as before or from the
 * environment), carrying an earlier one's tables over. 0 or -errno. */
int producer_open_locked(uint64_t records);
/* Opens on first use unless ringmon is off. 0 or -errno. */
int producer_ensure_open(void);

/* ---- emit.c ---- */
/* pthread key destructor: gives the exiting thread's shard back. */
void producer_release_shard(void *arg);

/* ---- fork.c ---- */
void producer_at_exit(void);
/* Closes this process's segment: reports RINGMON_EVENTS entries that matched
 * nothing, turns every emit off, marks the segment exited (and removes it
 * unless RINGMON_KEEP). Called with producer.lock held and producer.open set
 * (open.c). */
void producer_finish_locked(void);
void producer_before_fork(void);
void producer_after_fork_parent(void);
void producer_after_fork_child(void);

#endif
