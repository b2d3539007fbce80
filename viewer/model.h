/* model.h - the viewer's model: find segments, attach, read statistics, rates,
 * percentiles, and a merged tail of the rings. No curses here: `ringmon stats`,
 * `ls`, `tail` and the `top` views all use it. Not installed. */
#ifndef RINGMON_MODEL_H
#define RINGMON_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "cursor.h"
#include "hist.h"
#include "layout.h"
#include "segment.h"

/* ---- discovery ---- */

enum vm_liveness {
	VM_LIVE = 0,   /* process runs, segment valid */
	VM_EXITED = 1, /* producer closed it (kept with RINGMON_KEEP) */
	VM_DEAD = 2,   /* process gone (or pid reused) without closing */
	VM_BAD = 3,    /* segment unreadable: see err */
};
const char *vm_liveness_name(enum vm_liveness l);

struct vm_seginfo {
	int pid;
	enum vm_liveness state;
	char name[RB_PROC_NAME_LEN];
	char cmdline[RB_CMDLINE_LEN];
	char path[RB_PATH_MAX];
	uint64_t created_realtime_ns;
	uint64_t exit_realtime_ns;
	uint64_t written;  /* records written over all shards */
	uint64_t capacity; /* records the rings hold */
	uint64_t size;     /* bytes */
	char err[RB_ERR_MAX];
};

/* Lists the segments in rb_dir(), sorted by pid. *out is malloc'd (free it).
 * Returns the count, or a negative errno with err filled. */
int vm_list(struct vm_seginfo **out, char *err, size_t errlen);

/* Removes the segment files of processes that are gone (VM_DEAD, and VM_EXITED
 * or VM_BAD whose process is gone). Never a live one. Returns the number
 * removed; *failed counts removals that failed. cb (may be NULL) is told each. */
int vm_gc(void (*cb)(const struct vm_seginfo *s, int rc, void *arg), void *arg, int *failed);

/* ---- one attached process ---- */

#define VM_HISTORY 1024 /* samples kept for rates and sparklines */

struct vm_type {
	int used;       /* slot registered */
	char name[RB_NAME_LEN];
	char field[RB_NFIELDS][RB_FIELD_NAME_LEN];
	uint32_t nfields;
	uint32_t other_key;
	int enabled;
	struct rb_summary sum; /* totals since the process started */
};

struct vm_key {
	int used;
	char name[RB_KEY_LEN];
	uint32_t type;
	int other;
	struct rb_summary sum;
};

/* One refresh: time, records written, per-type counts. */
struct vm_sample {
	uint64_t t_ns; /* viewer's monotonic clock */
	uint64_t written;
	uint64_t count[RB_MAX_TYPES];
};

struct vm_proc {
	struct rb_view v;
	int attached;
	int pid;
	enum vm_liveness state;
	uint64_t written;
	uint64_t enabled_mask;
	uint32_t ntypes, nkeys;
	struct vm_type types[RB_MAX_TYPES];
	struct vm_key *keys; /* v.g.max_keys entries */
	struct vm_sample *hist; /* VM_HISTORY, ring */
	uint64_t nhist;         /* samples taken */
	uint64_t dropped_keys, bad_calls;
};

/* Attaches to pid's segment (waiting up to 1 s while it initialises) and
 * takes a first sample. Returns 0 or a negative errno with err filled. */
int vm_attach(struct vm_proc *p, int pid, char *err, size_t errlen);
void vm_detach(struct vm_proc *p);
/* Re-reads statistics, liveness and the enabled set; records a sample at now_ns. */
void vm_refresh(struct vm_proc *p, uint64_t now_ns);
/* Events per second of type (-1: all records written) over the last window_s
 * seconds of samples (or as much as there is); 0 before two samples. */
double vm_rate(const struct vm_proc *p, int type, double window_s);
/* Sample i back from the newest (0 = newest), NULL if not kept. */
const struct vm_sample *vm_sample_back(const struct vm_proc *p, uint64_t i);
/* Seconds since the segment was created, by the wall clock. */
double vm_uptime(const struct vm_proc *p);
/* Looks up a type by name: id, or -1. */
int vm_type_find(const struct vm_proc *p, const char *name);
/* Turns types on or off in the producer (through the control area; owner
 * only). Returns 0 or a negative errno with err filled. */
int vm_set_enabled(struct vm_proc *p, uint64_t mask, int on, char *err, size_t errlen);

/* ---- reading records ---- */

struct vm_tail {
	const struct rb_view *v;
	uint32_t nshards;
	struct rb_cursor cur[RB_MAX_SHARDS];
	uint64_t read, lost; /* totals */
};

/* from_start: begin at the oldest records still in the rings, else at the newest. */
void vm_tail_init(struct vm_tail *t, const struct rb_view *v, int from_start);
/* Reads what is new in every shard, up to max records, sorted by time.
 * *lost is set to the records lost since the last call (lapped or skipped).
 * Returns the number of records stored in out. Never blocks. */
size_t vm_tail_poll(struct vm_tail *t, struct rb_record *out, size_t max, uint64_t *lost,
		    uint64_t now_ns);

/* A record decoded for display, with names looked up and checked. */
struct vm_event {
	uint64_t ts_ns;         /* record clock */
	double wall;            /* seconds since the epoch */
	uint32_t tid;
	char type[RB_NAME_LEN]; /* "type#N" when the id is unknown */
	char key[RB_KEY_LEN];   /* "" when none */
	int has_dur;
	uint64_t dur_ns;
	uint32_t nfields;
	char field_name[RB_NFIELDS][RB_FIELD_NAME_LEN];
	int64_t field[RB_NFIELDS];
};
void vm_decode(const struct rb_view *v, const struct rb_record *r, struct vm_event *e);
/* One line of text, or of JSON (json = 1). */
void vm_event_format(const struct vm_event *e, int json, char *buf, size_t len);
/* The text line with the type and key columns padded to type_w and key_w
 * display columns (longer names widen their column; nothing is cut). */
void vm_event_text(const struct vm_event *e, int type_w, int key_w, char *buf, size_t len);

/* Field i of e as text: the name of its value where the MongoDB schema names
 * it ("RSPrimary", "timeout", "DuplicateKey(11000)", "-" for an unknown rtt),
 * else the number. JSON keeps the number and adds "<field>_name". */
const char *vm_field_text(const struct vm_event *e, uint32_t i, char *buf, size_t len);
/* The name JSON adds beside field i's number ("RSPrimary"), NULL if none. */
const char *vm_field_json_name(const struct vm_event *e, uint32_t i, char *buf, size_t len);

/* ---- formatting helpers shared by stats and top ---- */
/* A name (of a type, field or key: the bytes as stored) as text output shows
 * it: escaped for the locale's charset (escape.h: UTF-8 text in a UTF-8
 * locale, \xNN for bytes that are not printable). */
const char *vm_name(const char *raw, char *buf, size_t len);
/* Display width of text as printed (wcwidth per character in a UTF-8 locale). */
int vm_width(const char *s);
/* Display width of a name as vm_name prints it. */
int vm_name_width(const char *raw);
/* "123ns", "4.56us", "7.89ms", "1.23s" into buf. */
const char *vm_fmt_ns(double ns, char *buf, size_t len);
/* Monotonic clock of the viewer, ns. */
uint64_t vm_now_ns(void);

#endif
