/* layout.h - the ringmon shared-memory segment, byte by byte. Not installed.
 *
 * This is the only header that describes shared memory. The producer (producer/)
 * writes it, readers (viewer/, tests) map it read-only and check every field
 * before use. docs/format.md describes the same bytes in prose; change both in
 * the same commit and bump RB_VERSION_MINOR (compatible additions) or
 * RB_VERSION_MAJOR (anything a reader of the old layout would misread).
 *
 * Only fixed-width integers and char arrays; every struct is padded explicitly
 * and its size is checked by _Static_assert at the bottom.
 *
 *   offset 0            +----------------------------+
 *                       | struct rb_header  (4096 B) |  written once at creation,
 *                       |                            |  version published last
 *   sec[RB_SEC_CONTROL] +----------------------------+
 *                       | struct rb_control (4096 B) |  the only bytes a reader
 *                       |                            |  (the owner) may write
 *   sec[RB_SEC_TYPES]   +----------------------------+
 *                       | struct rb_type[max_types]  |  type names, field names
 *   sec[RB_SEC_KEYS]    +----------------------------+
 *                       | struct rb_key[max_keys]    |  key strings (id 0 = none)
 *   sec[RB_SEC_SHARDS]  +----------------------------+
 *                       | shard 0: rb_shard_head     |  ring head, owner
 *                       |          rb_record[cap]    |  the ring
 *                       |          u32 index[max_types + max_keys]
 *                       |                            |  where each type's and key's
 *                       |                            |  statistics are, 0 = none yet
 *                       | shard 1 ...                |  (each shard_size bytes)
 *   pool_offset         +----------------------------+
 *                       | struct rb_pool_head (64 B) |  allocation counters
 *                       | struct rb_stat spill[128]  |  fallbacks when the pool is full
 *                       | the state ring (optional): |  rb_shard_head + records of the
 *                       | state_offset               |  types flagged RB_TYPE_STATE
 *                       | stat blocks and histogram  |  handed out on first use by
 *                       | chunks ...                 |  fetch-add, never freed
 *                       +----------------------------+
 *
 * Every section starts on a 4096-byte boundary; every shard is a multiple of
 * 4096 bytes long. Statistics take memory only for the types, keys and value
 * ranges a shard actually sees (docs/format.md, "Statistics").
 */
#ifndef RINGMON_LAYOUT_H
#define RINGMON_LAYOUT_H

#include <stdint.h>

#define RB_MAGIC 0x314e4f4d474e4952ull /* "RINGMON1" read as little-endian bytes */
#define RB_VERSION_MAJOR 2u
#define RB_VERSION_MINOR 2u /* 2.1: the state ring; 2.2: keyless counts */
#define RB_VERSION ((RB_VERSION_MAJOR << 16) | RB_VERSION_MINOR)
#define RB_VERSION_MAJOR_OF(v) ((uint32_t)(v) >> 16)
#define RB_VERSION_MINOR_OF(v) ((uint32_t)(v) & 0xffffu)

#define RB_PAGE 4096u
#define RB_RECORD_SIZE 64u
#define RB_MAX_TYPES 64u   /* type ids 0..62; id 63 is RB_TYPE_NONE, never enabled */
#define RB_TYPE_NONE 63u
#define RB_NAME_LEN 48u    /* type names, NUL-terminated */
#define RB_KEY_LEN 56u     /* key strings, NUL-terminated */
/* a key longer than RB_KEY_LEN - 1 is stored cut and ends in '~' and 8 hex
 * digits of its whole name's FNV-1a (format.md, "Keys"): this many bytes */
#define RB_KEY_MARK_LEN 9u
#define RB_NFIELDS 4u      /* integer fields per record */
#define RB_FIELD_NAME_LEN 16u
#define RB_PROC_NAME_LEN 32u
#define RB_CMDLINE_LEN 256u

/* Histogram: values below 64 ns have a bucket each; above, each power of two
 * (octave) [2^e, 2^(e+1)), e = 6..38, is cut into 40 buckets of equal ratio
 * (2^(1/40), 1.75%), placed by the top 11 bits of the value's mantissa
 * (hist.c's table), so a bucket's middle is within 0.9% of any value in it. The
 * last octave ends at 2^39 ns (549 s); larger values land in the last bucket
 * (max keeps the exact value). Buckets come in chunks of 40: chunks 0 and 1
 * hold the values 0..63 (buckets 64..79 are never used), chunk e - 4 octave e;
 * bucket i is entry i % 40 of chunk i / 40. */
#define RB_HIST_LINEAR 64u      /* values below: a bucket each */
#define RB_HIST_LOG_SUB 40u     /* buckets per octave above */
#define RB_HIST_MIN_EXP 6u      /* first octave: [64, 128) */
#define RB_HIST_MAX_EXP 38u     /* last octave: [2^38, 2^39) */
#define RB_HIST_CELL_BITS 11u   /* mantissa bits that place a value in its octave */
#define RB_HIST_CELLS (1u << RB_HIST_CELL_BITS)
#define RB_HIST_SUB RB_HIST_LOG_SUB /* buckets per chunk */
#define RB_HIST_LOG_FIRST 80u   /* first bucket of octave RB_HIST_MIN_EXP */
#define RB_HIST_CHUNKS (RB_HIST_LOG_FIRST / RB_HIST_SUB + RB_HIST_MAX_EXP - RB_HIST_MIN_EXP + 1)
#define RB_HIST_BUCKETS (RB_HIST_CHUNKS * RB_HIST_SUB)

enum rb_state {
	RB_STATE_RUNNING = 1, /* producer alive as far as it knows */
	RB_STATE_EXITED = 2,  /* ringmon_close() or exit ran; segment kept */
};

enum rb_section_id {
	RB_SEC_CONTROL = 0,
	RB_SEC_TYPES = 1,
	RB_SEC_KEYS = 2,
	RB_SEC_SHARDS = 3,
	RB_SEC_COUNT = 4,
};

struct rb_section {
	uint64_t offset; /* from the start of the segment, multiple of RB_PAGE */
	uint64_t size;   /* bytes */
};

/* The header, at offset 0. Written by the producer before `version`, which is
 * stored last with release order (pairs with the acquire load in
 * rb_segment_attach); readers treat version 0 as "still initialising".
 * Only `state`, `exit_realtime_ns`, `ntypes`, `nkeys` and `dropped_*` change
 * afterwards. */
struct rb_header {
	uint64_t magic;               /*   0 RB_MAGIC */
	uint32_t version;             /*   8 major << 16 | minor; 0 while initialising */
	uint32_t header_size;         /*  12 sizeof(struct rb_header) */
	uint32_t pid;                 /*  16 producer's pid */
	uint32_t uid;                 /*  20 producer's effective uid */
	uint64_t start_time;          /*  24 field 22 of /proc/PID/stat (ticks since boot) */
	uint64_t created_realtime_ns; /*  32 CLOCK_REALTIME at creation */
	uint64_t created_clock_ns;    /*  40 record clock at creation, same instant */
	uint32_t clock_id;            /*  48 clockid_t of the record clock (CLOCK_MONOTONIC) */
	uint32_t clock_mult;          /*  52 ns = (ticks * clock_mult) >> clock_shift */
	uint32_t clock_shift;         /*  56 */
	uint32_t state;               /*  60 enum rb_state */
	uint64_t segment_size;        /*  64 bytes, equals the file's size */
	uint32_t record_size;         /*  72 RB_RECORD_SIZE */
	uint32_t nshards;             /*  76 rings, 1..RB_MAX_SHARDS */
	uint64_t shard_records;       /*  80 records per shard ring, power of two */
	uint32_t max_types;           /*  88 RB_MAX_TYPES */
	uint32_t max_keys;            /*  92 key slots, including id 0 (none) */
	uint32_t hist_buckets;        /*  96 RB_HIST_BUCKETS */
	uint32_t hist_sub;            /* 100 RB_HIST_LOG_SUB: buckets per octave */
	uint64_t shard_size;          /* 104 bytes per shard */
	struct rb_section sec[RB_SEC_COUNT]; /* 112 */
	uint64_t exit_realtime_ns;    /* 176 set with state EXITED */
	uint32_t ntypes;              /* 184 type slots used (release store after the slot) */
	uint32_t nkeys;               /* 188 key slots used, including id 0 */
	uint64_t dropped_keys;        /* 192 key registrations sent to "other" (table full) */
	uint64_t bad_calls;           /* 200 emits with an invalid type or key id */
	char name[RB_PROC_NAME_LEN];  /* 208 process name (comm), NUL-terminated */
	char cmdline[RB_CMDLINE_LEN]; /* 240 argv joined by spaces, NUL-terminated */
	uint64_t pool_offset;         /* 496 statistics pool: multiple of RB_PAGE, after the shards */
	uint64_t pool_size;           /* 504 bytes, multiple of RB_PAGE; the segment's last section */
	uint32_t stat_size;           /* 512 sizeof(struct rb_stat) */
	uint32_t chunk_size;          /* 516 sizeof(struct rb_chunk) */
	uint64_t index_offset;        /* 520 of the statistics index within each shard */
	/* 2.1: the state ring, a ring of its own for the types flagged
	 * RB_TYPE_STATE (rare state changes, e.g. MongoDB's SDAM events), so
	 * that frequent types never overwrite the newest state. It lies in the
	 * pool, taken at creation (a 2.0 reader sees it as pool space in use):
	 * an rb_shard_head (flags SHARED | STATE) and state_records records.
	 * Both 0: none (a 2.0 segment, or a pool too small for it). */
	uint64_t state_offset;        /* 528 from the segment's start, a multiple of 64 */
	uint64_t state_records;       /* 536 power of two, RB_MIN_RECORDS..RB_MAX_RECORDS */
	uint8_t reserved[RB_PAGE - 544]; /* 544 zero */
};

#define RB_MAX_SHARDS 64u
#define RB_MIN_RECORDS 16u
#define RB_MAX_RECORDS (1u << 24)
#define RB_MAX_KEYS 65535u

/* The control area: the only part of the segment a reader may write, and only
 * the segment's owner can (the file is 0600; readers map this page alone
 * read-write). Changes are atomic read-modify-writes. The producer reads
 * `enabled` on every emit (relaxed: a change takes effect within moments, no
 * ordering with other data is needed). */
struct rb_control {
	uint64_t enabled;    /*   0 bit N set: type N is recorded. Bit 63 is never set. */
	uint64_t changes;    /*   8 incremented by every writer of `enabled` */
	uint8_t reserved[RB_PAGE - 16];
};

enum rb_type_state { RB_SLOT_FREE = 0, RB_SLOT_READY = 1 };
/* RB_TYPE_STATE: its records go to the state ring (when the segment has one).
 * Informational for readers: they find the records wherever they are. */
enum rb_type_flags { RB_TYPE_STATE = 1 };

/* One event type. The producer fills the slot, then stores `state` READY with
 * release order, then raises header.ntypes. */
struct rb_type {
	uint32_t state;                            /*   0 enum rb_type_state */
	uint16_t nfields;                          /*   4 0..RB_NFIELDS named fields */
	uint16_t flags;                            /*   6 enum rb_type_flags (2.1; 0 before) */
	uint32_t other_key;                        /*   8 key id of this type's "other" key */
	uint32_t none_key;                         /*  12 2.2: key id of its RB_KEY_NONE key, 0 none */
	char name[RB_NAME_LEN];                    /*  16 NUL-terminated */
	char field[RB_NFIELDS][RB_FIELD_NAME_LEN]; /*  64 NUL-terminated field names */
};

/* RB_KEY_OTHER: the type's overflow key. RB_KEY_NONE (2.2): not a key but the
 * statistics of the type's events that had no key (exact: counted apart, never
 * derived as the type's total minus its keys', which races the writer). */
enum rb_key_flags { RB_KEY_OTHER = 1, RB_KEY_NONE = 2 };

/* One key of one type (e.g. "find" of command.succeeded). Id 0 means "no key"
 * and is never READY. Filled like rb_type. */
struct rb_key {
	uint32_t state;          /*   0 enum rb_type_state */
	uint16_t type;           /*   4 type id this key belongs to */
	uint16_t flags;          /*   6 enum rb_key_flags */
	char name[RB_KEY_LEN];   /*   8 NUL-terminated */
};

/* Start of each shard: the ring's head on a cache line of its own.
 * `head` is the next position to claim; positions are 64-bit and never wrap in
 * practice (2^64 records). A shard is owned by one thread at a time
 * (owner_tid != 0), except shards flagged SHARED, which any thread may use
 * with atomic read-modify-writes. */
enum rb_shard_flags {
	RB_SHARD_SHARED = 1, /* any thread writes it, with atomic read-modify-writes */
	RB_SHARD_STATE = 2,  /* the state ring (header.state_offset): no statistics index */
};
/* Records of the state ring a producer makes (64 KiB) when the pool has room. */
#define RB_STATE_RECORDS 1024u
struct rb_shard_head {
	uint64_t head;          /*   0 next position */
	uint32_t owner_tid;     /*   8 thread that owns the shard, 0 = free */
	uint32_t flags;         /*  12 enum rb_shard_flags */
	uint8_t reserved[112];  /*  16 */
};

/* A record. `seq` is pos + 1 once the record at ring position pos is complete,
 * and (pos + 1) | RB_SEQ_BUSY while a writer fills it. Writer: seq = busy
 * (a CAS in a shared shard); release fence; payload;
 * store seq = pos + 1 with release. Reader: load seq (acquire), copy payload,
 * acquire fence, load seq again: the copy is whole iff both loads return
 * pos + 1 (see docs/format.md for the argument). */
struct rb_record {
	uint64_t seq;              /*   0 pos + 1 when complete, | RB_SEQ_BUSY while written */
	uint64_t ts_ns;            /*   8 record clock, ns */
	uint32_t tid;              /*  16 writer's thread id */
	uint16_t type;             /*  20 type id */
	uint16_t key;              /*  22 key id, 0 = none */
	uint64_t dur_ns;           /*  24 duration, RB_NO_DURATION if none */
	int64_t field[RB_NFIELDS]; /*  32 */
};
#define RB_NO_DURATION UINT64_MAX
/* seq while a writer fills the slot: (pos + 1) | RB_SEQ_BUSY */
#define RB_SEQ_BUSY (1ull << 63)

/* ---- Statistics (docs/format.md, "Statistics") ----
 *
 * Each shard has an index of u32 entries, one per type id (0..63) and then one
 * per key id: the position of that type's or key's rb_stat block in the pool,
 * in RB_POOL_UNIT units from the pool's start; 0 = not used in this shard yet.
 * A block is handed out from the pool at the first event of its type or key in
 * the shard, and a histogram chunk at the first value in its octave, by a
 * fetch-add on rb_pool_head.used: no lock, no system call, no allocation, and
 * the pool was reserved and mapped with the segment, so no fault either. When
 * the pool is full, a type's events go to its spill block, a key's to its
 * type's key spill block (readers add that to the type's "other" key), and a
 * value whose chunk cannot be had is counted in its octave only (a coarse
 * count in the chunk entry itself): every event stays counted exactly. */
#define RB_POOL_UNIT 64u        /* allocation granule and index unit, bytes */
#define RB_SPILL_BLOCKS (2u * RB_MAX_TYPES) /* per type: the type's, its keys' */
/* chunk[] entries: 0 = no value in this octave yet; RB_CHUNK_AT | unit = the
 * chunk of 40 bucket counts at that pool unit; else (bit 63 clear, nonzero) a
 * coarse count of values of this octave that found no room for a chunk. */
#define RB_CHUNK_AT (1ull << 63)

/* Allocation counters, the first RB_POOL_UNIT bytes of the pool (a cache line
 * of their own: every shard's first uses fetch-add `used`). */
struct rb_pool_head {
	uint64_t used;          /*   0 bytes handed out, from the pool's start; may pass the
	                                size by the requests that failed */
	uint64_t failed_blocks; /*   8 type/key blocks refused: events went to a spill block */
	uint64_t failed_chunks; /*  16 histogram chunks refused: values counted by octave */
	uint64_t wasted;        /*  24 bytes lost to two threads of the shared shard allocating
	                                the same block or chunk at once (one of them is kept) */
	uint64_t reserved[4];   /*  32 */
};

/* Exact statistics of one type or key within one shard (or a spill block).
 * count counts events; timed those that carried a duration (the histogram's
 * total, coarse counts included); sum/min/max are over durations in ns. min is
 * UINT64_MAX while timed == 0 (written before the block is published). */
struct rb_stat {
	uint64_t count;                  /*   0 */
	uint64_t timed;                  /*   8 */
	uint64_t sum;                    /*  16 */
	uint64_t min;                    /*  24 */
	uint64_t max;                    /*  32 */
	uint64_t chunk[RB_HIST_CHUNKS];  /*  40 see RB_CHUNK_AT */
};

/* 40 bucket counts of one octave (chunk c holds buckets 40c .. 40c + 39). */
struct rb_chunk {
	uint64_t bucket[RB_HIST_SUB];
};

_Static_assert(sizeof(struct rb_header) == RB_PAGE, "header is one page");
_Static_assert(__builtin_offsetof(struct rb_header, sec) == 112, "sec offset");
_Static_assert(__builtin_offsetof(struct rb_header, name) == 208, "name offset");
_Static_assert(__builtin_offsetof(struct rb_header, cmdline) == 240, "cmdline offset");
_Static_assert(sizeof(struct rb_control) == RB_PAGE, "control is one page");
_Static_assert(sizeof(struct rb_type) == 128, "type slot size");
_Static_assert(sizeof(struct rb_key) == 64, "key slot size");
_Static_assert(sizeof(struct rb_shard_head) == 128, "shard head size");
_Static_assert(sizeof(struct rb_record) == RB_RECORD_SIZE, "record size");
_Static_assert(__builtin_offsetof(struct rb_header, pool_offset) == 496, "pool offset");
_Static_assert(__builtin_offsetof(struct rb_header, index_offset) == 520, "index offset");
_Static_assert(sizeof(struct rb_pool_head) == RB_POOL_UNIT, "pool head size");
_Static_assert(sizeof(struct rb_stat) == 320 && sizeof(struct rb_stat) % RB_POOL_UNIT == 0,
	       "stat size");
_Static_assert(sizeof(struct rb_chunk) == 320 && sizeof(struct rb_chunk) % RB_POOL_UNIT == 0,
	       "chunk size");
_Static_assert(RB_HIST_BUCKETS == 1400 && RB_HIST_CHUNKS == 35, "histogram size");

#endif
