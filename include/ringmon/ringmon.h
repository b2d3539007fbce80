/* ringmon.h - libringmon, the producer side of ringmon.
 *
 * libringmon turns events of your program into fixed-size records in a
 * lock-free shared-memory ring (/dev/shm/ringmon.<pid>), and keeps exact
 * counters and latency histograms per event type and per key beside it.
 * `ringmon top`, `ringmon tail` and `ringmon stats` read them from another
 * process while yours runs. Emitting never locks, never makes a system call,
 * never allocates and never waits for a reader; when the ring is full the
 * oldest records are overwritten (readers count what they lost; the
 * statistics lose nothing).
 *
 * Example:
 *
 *     #include <ringmon/ringmon.h>
 *
 *     static const char *fields[] = {"rows", "bytes"};
 *     int query = ringmon_type_register("db.query", fields, 2);
 *     int by_table = ringmon_key(query, "users");
 *
 *     ringmon_span span = ringmon_span_begin(query, by_table);
 *     run_query();
 *     ringmon_span_end(&span, rows, bytes, 0, 0);
 *
 *     ringmon_emit(query, by_table, duration_ns, rows, bytes, 0, 0);
 *
 * The first call opens the segment with settings from the environment:
 *   RINGMON_RECORDS  records per ring shard (power of two, default 8192)
 *   RINGMON_EVENTS   types enabled at start: "all" (default), "none", or a
 *                    comma-separated list of names, prefixes ("command.*") and
 *                    "all"; a type flagged RINGMON_TYPE_OPT_IN only when the
 *                    list names it exactly ("all,command.target")
 *   RINGMON_KEEP=1   keep the segment after exit for post-mortem reading
 *   RINGMON_DISABLE=1  do nothing at all: every emit is a disabled emit
 *   RINGMON_SHARDS   ring shards (default: CPUs + 1, at most 64)
 *   RINGMON_KEYS     key slots (default 256; each type takes two for its
 *                    "other" key and its events without a key)
 *   RINGMON_DIR      directory of segments (default /dev/shm)
 * A value that is not a positive number, or lies outside its range, is named
 * once on stderr with the value used instead ("ringmon: RINGMON_KEYS=abc is
 * not a positive whole number: using 256"); entries of RINGMON_EVENTS that
 * matched no type are named once at close or exit, when the types are known.
 * If the segment cannot be created (e.g. /dev/shm is full), the program runs
 * on unmonitored: one line on stderr says why, and every emit is disabled.
 *
 * What may be called concurrently:
 *   call                        any thread   signal handler   child after fork
 *   ringmon_emit / span / enabled   yes          yes (*)          yes (**)
 *   ringmon_type_register, ringmon_key, ringmon_emit_str,
 *   ringmon_set_events, ringmon_get_events
 *                                   yes          no               yes (**)
 *   ringmon_open / ringmon_close    yes          no               yes
 * (*) an emit from a signal handler that interrupts an emit of the same thread
 *     may lose that thread's interrupted record (counted lost by readers).
 * (**) a child gets a segment of its own on its first call; it never writes
 *     into its parent's. Type and key ids stay valid across fork.
 *
 * Symbols named ringmon__* are internal, used by the inline functions below.
 */
#ifndef RINGMON_H
#define RINGMON_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RINGMON_VERSION_STRING "0.1.0"
#define RINGMON_MAX_TYPES 63   /* type ids 0..62 */
#define RINGMON_MAX_FIELDS 4
#define RINGMON_NO_DURATION UINT64_MAX
/* The id returned when a type cannot be registered; emits of it cost one
 * load and one branch and record nothing. */
#define RINGMON_TYPE_NONE 63

/* Opens the segment explicitly (else the first register does, with defaults
 * from the environment). records: per shard ring capacity, 0 for the default.
 * Returns 0, -EALREADY if open, -ECANCELED if RINGMON_DISABLE is set, or a
 * negative errno from creating the segment (then ringmon stays off). Allocates;
 * makes system calls. */
int ringmon_open(uint64_t records);

/* Marks the segment exited and unlinks it (unless RINGMON_KEEP=1); every emit
 * becomes a disabled emit. Also runs at exit. The mapping stays until the
 * process ends, so threads still emitting are safe. A later open or register
 * makes a new segment in which earlier type and key ids stay valid. */
void ringmon_close(void);

/* Registers an event type and returns its id (0..62), or the id of the
 * existing type of that name. field_names: up to 4 names of the integer
 * fields (NULL if nfields is 0); longer names are cut to 15 bytes, type names
 * to 47. On failure (table full, ringmon off) returns RINGMON_TYPE_NONE, whose
 * emits record nothing. A full type table, fields beyond 4 and a cut type
 * name are said on stderr (the full table once). May allocate and lock; not
 * for the hot path. */
int ringmon_type_register(const char *name, const char *const *field_names, unsigned nfields);

/* Copies the name of type id `type` of this process into buf (cut to len - 1
 * bytes, always NUL-terminated when len > 0) and returns 0; returns -ENOENT
 * if no type has that id (or ringmon is off). For listing this process's
 * types with ringmon_get_events (ids are 0 to the first -ENOENT). Locks; not
 * for the hot path. */
int ringmon_type_name(int type, char *buf, unsigned len);

/* Flags of a type (ringmon_type_flags). */
#define RINGMON_TYPE_STATE 1u
#define RINGMON_TYPE_OPT_IN 2u
/* Sets flags of a registered type (both may be given; a later call replaces
 * them). RINGMON_TYPE_STATE: the type records rare state changes (MongoDB's
 * SDAM events are): its records go to a small ring of their own (1024
 * records) that frequent types never overwrite, so that a reader attached at
 * any time finds the newest state, however busy the process is. Counters and
 * histograms are the same as for any type.
 * RINGMON_TYPE_OPT_IN: a type that costs more than its callers want to pay
 * unless asked (MongoDB's command.target: one more key lookup and record per
 * command) starts off unless RINGMON_EVENTS names it exactly: "all" (the
 * default), prefixes ("command.*") and an unset RINGMON_EVENTS leave it off;
 * "all,command.target" or "command.target" turn it on. Set it right after
 * registering, before the type's first emit: the first call that sets it turns
 * the type off unless so named; later calls change nothing of what is enabled.
 * At run time it is turned on and off as any type (ringmon_set_events,
 * `ringmon events PID --enable NAME`, top's e panel; there "all" means every
 * type).
 * Returns 0, or -EINVAL for an unknown type or flag. Flags stay for the
 * process's life (and in a forked child). May lock; not for the hot path. */
int ringmon_type_flags(int type, unsigned flags);

/* Returns the key id (>= 1) of string key under type (e.g. the command name of
 * a command.succeeded), registering it on first use. A key holds 55 bytes: a
 * longer one is stored as its first bytes (at most 46, never cut inside a
 * UTF-8 character), '~' and 8 hex digits of the 32-bit FNV-1a hash of the
 * whole key ("orders.an_extremely_long_collection_name_for~1f3a9c0e"), so long
 * keys that differ only past the cut stay apart.
 * When the key table is full, returns the type's "other" key, so counts are
 * never lost (said once on stderr: raise RINGMON_KEYS). Returns 0 (no key)
 * for a NULL key or an unknown type. Lock-free lookup once registered (about
 * 50 ns); cache the id on hot paths. */
int ringmon_key(int type, const char *key);
/* As ringmon_key, but where the key table is full returns -ENOSPC instead of
 * the type's "other" key (counted in dropped keys and said once, as there):
 * for a caller that counts what it cannot key under an overflow key of its
 * own, registered early (MongoDB's command.target keeps the status of its
 * overflow: "1.0.0.0" and "0.0.0.0", docs/mongodb.md). May lock; cache the id. */
int ringmon_key_or_full(int type, const char *key);

/* Enabled types, bit N for type N. Takes effect at once in this process;
 * readers (`ringmon top`) may change it too. Types registered later start as
 * RINGMON_EVENTS says. */
void ringmon_set_events(uint64_t mask);
uint64_t ringmon_get_events(void);

/* Current value of the record clock (CLOCK_MONOTONIC), in ns. */
uint64_t ringmon_now_ns(void);

/* internal */
extern const uint64_t *ringmon__enabled;
void ringmon__emit(unsigned type, unsigned key, uint64_t dur_ns, int64_t f0, int64_t f1,
		   int64_t f2, int64_t f3);
/* ringmon__emit with the duration = the record's timestamp - start_ns (a
 * ringmon_now_ns() value): one clock read for both. Check ringmon_enabled
 * first. (Used by ringmon's Python tool.) */
void ringmon__emit_since(unsigned type, unsigned key, uint64_t start_ns, int64_t f0, int64_t f1,
			 int64_t f2, int64_t f3);
/* ringmon__emit with the record's timestamp at_ns, a ringmon_now_ns() value
 * the caller read anyway (no clock read). Check ringmon_enabled first. (Used
 * by ringmon's MongoDB adapter: one clock read per APM event.) */
void ringmon__emit_at(unsigned type, unsigned key, uint64_t at_ns, uint64_t dur_ns, int64_t f0,
		      int64_t f1, int64_t f2, int64_t f3);

/* 1 if events of type are recorded now: one load of the mask (through a
 * pointer that stays in cache) and one branch. */
static inline int ringmon_enabled(int type)
{
	const uint64_t *mask = __atomic_load_n(&ringmon__enabled, __ATOMIC_ACQUIRE);
	return (int)((__atomic_load_n(mask, __ATOMIC_RELAXED) >> (type & 63)) & 1);
}

/* Records one event: type, key id (0 for none), duration in ns
 * (RINGMON_NO_DURATION if it has none) and up to 4 integer fields. Never
 * blocks, allocates or makes a system call. A disabled type costs one load
 * and one branch. */
static inline void ringmon_emit(int type, int key, uint64_t dur_ns, int64_t f0, int64_t f1,
				int64_t f2, int64_t f3)
{
	if (__builtin_expect(ringmon_enabled(type), 1))
		ringmon__emit((unsigned)type, (unsigned)key, dur_ns, f0, f1, f2, f3);
}

/* Same with the key given as a string (looked up, registered on first use). */
void ringmon_emit_str(int type, const char *key, uint64_t dur_ns, int64_t f0, int64_t f1,
		      int64_t f2, int64_t f3);

/* A span measures its own duration: begin reads the clock (only if the type is
 * enabled), end emits with the time elapsed. */
typedef struct ringmon_span {
	uint64_t start_ns; /* 0 when the type was disabled at begin */
	int type;
	int key;
} ringmon_span;

static inline ringmon_span ringmon_span_begin(int type, int key)
{
	ringmon_span s = {0, type, key};
	if (ringmon_enabled(type))
		s.start_ns = ringmon_now_ns();
	return s;
}

static inline void ringmon_span_end(const ringmon_span *s, int64_t f0, int64_t f1, int64_t f2,
				    int64_t f3)
{
	if (s->start_ns && ringmon_enabled(s->type))
		ringmon__emit((unsigned)s->type, (unsigned)s->key, ringmon_now_ns() - s->start_ns,
			      f0, f1, f2, f3);
}

#ifdef __cplusplus
}
#endif
#endif
