/* segment.h - create (producer) and attach (reader) ringmon segments. Not installed.
 *
 * The producer creates /dev/shm/ringmon.<pid> (or $RINGMON_DIR/ringmon.<pid>)
 * and maps it read-write; readers open it read-only, check every header field
 * against the file and against each other, and keep validated copies of the
 * parameters so that later changes by a buggy or hostile writer cannot move
 * them out of bounds.
 *
 * geometry.c (sizes), process.c (paths, process identity), create.c (producer
 * side), attach.c (open and validate), view.c (accessors), control.c (event
 * set changes by the owner), reap.c (removing segments of processes that are
 * gone); stat.h and stat.c the statistics within.
 *
 * Functions return 0 or a negative errno. Readers also fill a message buffer
 * with what went wrong and what to do. */
#ifndef RINGMON_SEGMENT_H
#define RINGMON_SEGMENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "layout.h"

#define RB_PATH_MAX 512
#define RB_ERR_MAX 256

/* Where segments live: $RINGMON_DIR if set, else /dev/shm. */
const char *rb_dir(void);
/* Fills buf with the segment path of pid. */
void rb_path(char *buf, size_t len, int pid);
/* The pid a segment's file name says (".../ringmon.<pid>" or a bare
 * "ringmon.<pid>"), or -1 when it is not a segment's name. */
int rb_path_pid(const char *path);
/* Start time of a process (field 22 of /proc/PID/stat), 0 if it is gone. */
uint64_t rb_proc_start_time(int pid);
/* 1 if the process that made a segment with (pid, start_time) still runs: 0
 * once it ended, also while a zombie not yet reaped by its parent. */
int rb_proc_alive(int pid, uint64_t start_time);
/* 1 if the process that made a segment still runs, from the header's pid and
 * start time once both are written (non-zero), else from the pid of its file
 * name (name_pid): a segment whose maker died before writing its header is
 * dead once no process with that pid holds the file (file: its fstat; open or
 * mapped, read from /proc/PID/fd and maps; NULL, or /proc not readable: any
 * process with that pid counts). Safe on a header being written. Readers
 * and the reaper use the same rule. */
struct stat;
int rb_segment_maker_alive(uint32_t hpid, uint64_t hstart, int name_pid, const struct stat *file);

/* Sizes derived from the configuration; the reader recomputes them to check
 * the header. */
struct rb_geometry {
	uint32_t nshards;
	uint64_t shard_records;
	uint32_t max_keys;
	uint64_t sec_off[RB_SEC_COUNT];
	uint64_t sec_size[RB_SEC_COUNT];
	uint64_t shard_size;
	uint64_t index_off; /* of the statistics index, within a shard */
	uint64_t pool_off;  /* the statistics pool, after the shards */
	uint64_t pool_size;
	uint64_t segment_size;
};
/* pool_size: bytes of the statistics pool, a multiple of RB_PAGE from
 * rb_pool_size_min() to RB_POOL_MAX (stat.h). Returns 0, or -EINVAL when a
 * parameter is out of range. */
int rb_geometry(uint32_t nshards, uint64_t shard_records, uint32_t max_keys, uint64_t pool_size,
		struct rb_geometry *g);
/* The smallest pool: its head and spill blocks, rounded up to a page. */
uint64_t rb_pool_size_min(void);
/* The pool size a producer uses unless told otherwise: 128 KiB, 32 KiB per
 * shard and 512 bytes per key slot (docs/format.md, "Sizing"). */
uint64_t rb_pool_size_default(uint32_t nshards, uint32_t max_keys);

/* ---- segments whose process is gone (reap.c) ---- */

/* A segment file of this user whose process is gone (dead, or exited with the
 * segment kept), judged by the same liveness check as readers use; any layout
 * version (the header's first fields never move). */
struct rb_gone {
	char name[64];               /* file name in the directory */
	uint64_t created_realtime_ns;
	uint64_t bytes;              /* space it holds */
	uint64_t ino, dev;
};
/* 1 when file fd (size bytes) is a segment still to be made: empty, or zeros
 * where the header's first 64 bytes go (its maker has not written the magic;
 * a maker killed then leaves it so). Whether it is being made or dead is the
 * liveness of the process of its name (rb_segment_maker_alive(0, 0, pid, st)). */
int rb_fd_unstarted(int fd, uint64_t size);
/* 1 and *out filled if dir fd dfd's entry name is such a segment, else 0. */
int rb_segment_gone(int dfd, const char *name, struct rb_gone *out);
/* Removes this user's gone segments in dir beyond the newest `keep` (by
 * creation time); never a live process's segment nor another user's file.
 * Returns how many it removed (*freed: their bytes) or -errno if dir cannot be
 * read. Reads the directory and each segment's header: not for the emit path. */
int rb_reap(const char *dir, unsigned keep, uint64_t *freed);

/* ---- producer side ---- */

struct rb_segment {
	uint8_t *base; /* read-write mapping */
	struct rb_geometry g;
	char path[RB_PATH_MAX];
	int pid;
	/* the state ring (layout.h), NULL when the pool had no room for it */
	struct rb_shard_head *state;
	uint64_t state_records;
};

/* Creates and maps the segment of the calling process with mode 0600,
 * preallocating every byte (a full /dev/shm fails here, never later). A stale
 * segment left by an earlier process with the same pid is replaced, and so is
 * one this process closed and kept (RINGMON_KEEP) before reopening; anything
 * else at the name (a symlink, a non-regular file, someone else's file) is
 * refused, and so is a directory another user could change (not owned by us
 * or root, or group/world-writable without the sticky bit). Fills the header
 * but leaves version 0: call rb_segment_publish once the tables are ready. The
 * file is named only once its header is written (O_TMPFILE, then linkat; a
 * file system without O_TMPFILE: named first, as O_EXCL makes it). On
 * error, errbuf says why. Allocates; not for the emit path. */
int rb_segment_create(struct rb_segment *s, uint32_t nshards, uint64_t shard_records,
		      uint32_t max_keys, uint64_t pool_size, char *errbuf, size_t errlen);
/* Stores the version with release order: readers may now use the segment. */
void rb_segment_publish(struct rb_segment *s);
/* Marks the segment exited, and unlinks it unless keep. The mapping stays. */
void rb_segment_finish(struct rb_segment *s, int keep);

static inline struct rb_header *rb_seg_header(const struct rb_segment *s)
{
	return (struct rb_header *)s->base;
}
static inline struct rb_control *rb_seg_control(const struct rb_segment *s)
{
	return (struct rb_control *)(s->base + s->g.sec_off[RB_SEC_CONTROL]);
}
static inline struct rb_type *rb_seg_types(const struct rb_segment *s)
{
	return (struct rb_type *)(s->base + s->g.sec_off[RB_SEC_TYPES]);
}
static inline struct rb_key *rb_seg_keys(const struct rb_segment *s)
{
	return (struct rb_key *)(s->base + s->g.sec_off[RB_SEC_KEYS]);
}
static inline struct rb_shard_head *rb_seg_shard(const struct rb_segment *s, uint32_t i)
{
	return (struct rb_shard_head *)(s->base + s->g.sec_off[RB_SEC_SHARDS] +
					i * s->g.shard_size);
}
static inline struct rb_record *rb_shard_records(struct rb_shard_head *h)
{
	return (struct rb_record *)(h + 1);
}
/* A shard's statistics index: RB_MAX_TYPES + max_keys pool units (stat.h). */
static inline uint32_t *rb_shard_index(const struct rb_segment *s, struct rb_shard_head *h)
{
	return (uint32_t *)((uint8_t *)h + s->g.index_off);
}
static inline uint8_t *rb_seg_pool(const struct rb_segment *s)
{
	return s->base + s->g.pool_off;
}

/* ---- reader side ---- */

struct rb_view {
	const uint8_t *base; /* read-only mapping of size bytes */
	uint64_t size;
	struct rb_geometry g; /* validated */
	uint64_t state_off, state_records; /* validated; 0, 0: no state ring */
	uint32_t version, pid, uid;
	uint64_t start_time, created_realtime_ns, created_clock_ns;
	uint64_t dev, ino;
	char name[RB_PROC_NAME_LEN];
	char cmdline[RB_CMDLINE_LEN];
	char path[RB_PATH_MAX];
};

/* Attaches to the segment at path: open read-only without following symlinks,
 * refuse non-regular files, files of another user, sizes and versions it does
 * not understand, and any header field that disagrees with the file. Returns 0,
 * -ENOENT (no such segment), -EAGAIN (still initialising: retry shortly),
 * -ESRCH (never finished: its process died while creating it),
 * -EACCES/-EPERM (not yours), -EPROTO (another major version), -EINVAL
 * (corrupt, truncated or not a segment), or another -errno. */
int rb_attach_path(struct rb_view *v, const char *path, char *errbuf, size_t errlen);
/* Same, by pid, waiting up to wait_ms while the segment initialises; a
 * segment whose header names another pid (a copy, or a file put at that
 * name) is refused: -EINVAL, "claims pid N, not PID: not trusted". */
int rb_attach_pid(struct rb_view *v, int pid, int wait_ms, char *errbuf, size_t errlen);
void rb_detach(struct rb_view *v);

/* Live fields, read with bounds checks. */
uint32_t rb_view_state(const struct rb_view *v);
uint64_t rb_view_exit_realtime(const struct rb_view *v);
uint32_t rb_view_ntypes(const struct rb_view *v); /* clamped to RB_MAX_TYPES */
uint32_t rb_view_nkeys(const struct rb_view *v);  /* clamped to max_keys */
uint64_t rb_view_header_u64(const struct rb_view *v, size_t offset);
const struct rb_control *rb_view_control(const struct rb_view *v);
/* Shard i (0..nshards-1): a ring and its statistics index. */
const struct rb_shard_head *rb_view_shard(const struct rb_view *v, uint32_t i);
/* The rings records are read from: the shards' (0..nshards-1), then the state
 * ring (index nshards) when the segment has one. Readers of records iterate
 * over these; statistics live in the shards only. */
uint32_t rb_view_nrings(const struct rb_view *v);
const struct rb_shard_head *rb_view_ring_head(const struct rb_view *v, uint32_t ring);
const struct rb_record *rb_view_ring(const struct rb_view *v, uint32_t ring);
/* Records ring `ring` holds (a power of two; 0 for no such ring). */
uint64_t rb_view_ring_records(const struct rb_view *v, uint32_t ring);
/* The statistics block of a type or key in one shard, checked to lie in the
 * pool; NULL when out of range or when the shard has none (yet). */
const struct rb_stat *rb_view_stat(const struct rb_view *v, uint32_t shard, int is_key,
				   uint32_t id);

/* Type and key descriptions, copied out of shared memory and checked:
 * returns 0 when the slot is ready, -ENOENT when not (yet) used, -EINVAL when
 * the id is out of range. Names are NUL-terminated, the bytes as stored
 * (rb_copy_name): escape them before printing. */
struct rb_type_info {
	char name[RB_NAME_LEN];
	char field[RB_NFIELDS][RB_FIELD_NAME_LEN];
	uint32_t nfields;
	uint32_t other_key;
};
struct rb_key_info {
	char name[RB_KEY_LEN];
	uint32_t type;
	int other;
	int none; /* RB_KEY_NONE: the type's events without a key, not a key */
};
int rb_view_type(const struct rb_view *v, uint32_t id, struct rb_type_info *out);
int rb_view_key(const struct rb_view *v, uint32_t id, struct rb_key_info *out);

/* Sums one type's (is_key = 0) or key's statistics over all shards; a type's
 * "other" key also gets the events of its keys that found the statistics pool
 * full (stat.h). */
struct rb_summary;
void rb_view_summary(const struct rb_view *v, int is_key, uint32_t id, struct rb_summary *out);
/* The statistics pool's use and what did not fit (struct rb_pool_info, stat.h). */
struct rb_pool_info;
void rb_view_pool(const struct rb_view *v, struct rb_pool_info *out);
/* Records written (claimed) over all rings. */
uint64_t rb_view_written(const struct rb_view *v);

/* Maps the control page read-write (owner only) to turn types on and off. */
int rb_control_map(const struct rb_view *v, struct rb_control **ctl, char *errbuf, size_t errlen);
void rb_control_unmap(struct rb_control *ctl);
/* Sets (on) or clears (off) the bits of mask; returns the new enabled mask. */
uint64_t rb_control_update(struct rb_control *ctl, uint64_t mask, int on);

/* Copies a NUL-terminated string of at most cap bytes out of shared memory,
 * replacing non-printable bytes with '?' (the process name and command line). */
void rb_copy_str(char *dst, const char *src, size_t cap);
/* Replaces the userinfo (user:password) of every URI in s with "***", in
 * place; s holds at most cap bytes with its NUL and stays NUL-terminated (a
 * line that grows is cut). Used on the command line stored at creation
 * (redact.c). */
void rb_redact_cmdline(char *s, size_t cap);
/* Copies a name (of a type, field or key) of at most cap - 1 bytes out of
 * shared memory as the bytes it is (any byte but NUL, so UTF-8 names stay
 * distinct); readers escape it for output (viewer/escape.h). */
void rb_copy_name(char *dst, const char *src, size_t cap);

#endif
