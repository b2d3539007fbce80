/* model.h - the reader model: everything `ringmon ls`, `gc`, `stats`, `tail`,
 * `events` and `top` (and the exporter) know about segments, without curses.
 * Not installed.
 *
 * One concept per file:
 *   model_discover.c  finding segments, liveness, the end of a dead process
 *   model_proc.c      attaching to one process and taking its snapshot
 *   model_set.c       the processes a reader follows, summed by type and key
 *                     name, with a baseline (reset)
 *   model_rates.c     the sample history: rates, interval percentiles, series
 *   model_merge.c     the time-ordered merge of every shard's records
 *   model_event.c     a record decoded and printed (text, JSON)
 *   model_sdam.c      the MongoDB servers and topologies seen in the records
 *   model_format.c    numbers, durations and latencies as text
 *   model_target.c    keys that name other keys (MongoDB's command.target)
 *
 * The typical reader (stats, top, the exporter):
 *     struct vm_set *s = vm_set_new();
 *     vm_set_attach(s, pid, err, len)   or   vm_set_attach_live(s, NULL)
 *     every interval: (vm_set_forget_ended(s); vm_set_attach_live(s, NULL);
 *                      to follow the live processes)
 *                     vm_set_refresh(s, vm_now_ns());
 *         s->types[i].sum, s->keys[k]->sum   totals and histograms since the
 *                                           baseline, over every process
 *         s->src[p]->p.types[...].sum        one process's own totals
 *         vm_set_type_rate / vm_set_key_rate / vm_set_key_interval
 *     vm_set_free(s);
 * Nothing here is thread-safe: one thread owns a set. */
#ifndef RINGMON_MODEL_H
#define RINGMON_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "cursor.h"
#include "hist.h"
#include "layout.h"
#include "segment.h"
#include "stat.h"

/* ---- discovery and liveness (model_discover.c) ---- */

enum vm_liveness {
	VM_LIVE = 0,   /* process runs, segment valid */
	VM_EXITED = 1, /* producer closed it (kept with RINGMON_KEEP) */
	VM_DEAD = 2,   /* process gone (or pid reused) without closing, whatever
			* state it left the segment in */
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
	uint64_t end_realtime_ns; /* exited: the exit time; dead: vm_end_realtime */
	uint64_t written;  /* records written over all shards */
	uint64_t capacity; /* records the rings hold */
	uint64_t size;     /* bytes */
	struct rb_pool_info pool; /* its statistics pool (stat.h), when attached */
	char err[RB_ERR_MAX]; /* VM_BAD: why; VM_DEAD: a note, or "" */
};

/* Seconds from creation to the exit or death (end_realtime_ns), or to
 * wall_now (vm_wall_ns) while live or when the end is unknown. */
double vm_seginfo_uptime(const struct vm_seginfo *s, uint64_t wall_now);

/* Lists the segments in rb_dir(), sorted by pid. *out is malloc'd (free it).
 * Returns the count, or a negative errno with err filled. */
int vm_list(struct vm_seginfo **out, char *err, size_t errlen);

/* Removes the segment files of processes that are gone (VM_DEAD, and VM_EXITED
 * or VM_BAD whose process is gone). Never a live one. Returns the number
 * removed; *failed counts removals that failed. cb (may be NULL) is told each. */
int vm_gc(void (*cb)(const struct vm_seginfo *s, int rc, void *arg), void *arg, int *failed);
/* 1 when vm_gc would remove s (this user's regular file, its process gone);
 * reads /proc and the file's metadata. `ls` counts what gc removes by it. */
int vm_gc_removes(const struct vm_seginfo *s);

/* Liveness of an attached segment: exited (closed by its producer), live,
 * or dead (its pid is gone or belongs to a later process). */
enum vm_liveness vm_liveness_of(const struct rb_view *v);

/* When a process that did not close its segment ended, by the wall clock
 * (ns): the time of its newest record still in the rings (its last sign of
 * life), clamped to [creation, now]; 0 when the rings hold no record. A
 * reader that finds 0 uses the time it first saw the process dead. */
uint64_t vm_end_realtime(const struct rb_view *v);

/* Monotonic clock of the viewer (the records' clock too), and the wall clock, ns. */
uint64_t vm_now_ns(void);
uint64_t vm_wall_ns(void);

/* ---- keys as readers show them (model_target.c) ---- */

/* A key as readers show it: its name as stored, or for a key of
 * command.target the names its ids stand for, up to three names and a
 * status: "find shop.orders localhost:27017 ok". */
#define VM_KEY_TEXT (3 * RB_KEY_LEN + 16)

/* A command.target key resolved (docs/mongodb.md). */
struct vm_target {
	int ok;                   /* 1 succeeded, 0 failed, -1 unknown (not such a key) */
	char command[RB_KEY_LEN]; /* the command name, "" unknown */
	char ns[RB_KEY_LEN];      /* "db.collection", "" when the command names none */
	char server[RB_KEY_LEN];  /* "host:port", "" unknown */
};

/* The text of key k of v (text: VM_KEY_TEXT bytes): for a key of
 * command.target whose ids name keys of command.started, command.ns and
 * server.opening of v, "COMMAND NS SERVER ok|failed" (NS and SERVER "-" when
 * none), and 1; else k's name as stored, and 0. Nothing of v is trusted: an id
 * out of range, of a key not ready, of another type or of a type's keyless
 * slot, or a key that does not read as "S.C.N.H", gives the name as stored.
 * t (may be NULL) gets the names when resolved, else t->ok is the status a key
 * that reads as a tuple says (-1 for any other). */
int vm_key_text(const struct rb_view *v, const struct rb_key_info *k, char *text, size_t len,
		struct vm_target *t);

/* ---- one attached process (model_proc.c) ---- */

struct vm_type {
	int used;       /* slot registered */
	char name[RB_NAME_LEN];
	char field[RB_NFIELDS][RB_FIELD_NAME_LEN];
	uint32_t nfields;
	uint32_t other_key;
	uint32_t none_key; /* the key slot of its events without a key; 0: not counted apart */
	int enabled;
	struct rb_summary sum; /* totals since the process started */
};

struct vm_key {
	int used;
	char name[VM_KEY_TEXT]; /* as shown (vm_key_text) */
	uint32_t type;
	int other;
	int none; /* not a key: its type's events without a key (layout 2.2) */
	int resolved; /* a command.target key resolved: name is its names, target them */
	struct vm_target target; /* target.ok: its status when it reads as one, else -1 */
	struct rb_summary sum;
};

struct vm_proc {
	struct rb_view v;
	int attached;
	int pid;
	enum vm_liveness state;
	uint64_t end_realtime_ns; /* exited or dead: when it ended (fixed once known) */
	uint64_t written;
	uint64_t enabled_mask;
	uint32_t ntypes, nkeys;
	/* RB_MAX_TYPES entries, calloc'd at attach: only the types in use touch
	 * their pages (a whole array in the struct was 0.7 MB zeroed per attach,
	 * the bulk of an exporter's first scrape of many producers) */
	struct vm_type *types;
	struct vm_key *keys; /* v.g.max_keys entries */
	uint64_t dropped_keys, bad_calls;
};

/* Attaches to pid's segment (waiting up to 1 s while a live process
 * initialises it) and reads a first snapshot. Returns 0 or a negative errno
 * with err filled (-ESRCH: the process died before its segment was ready). */
int vm_attach(struct vm_proc *p, int pid, char *err, size_t errlen);
/* The same, waiting at most wait_ms (0: not at all; -EAGAIN while the segment
 * is initialising): for a reader that will look again (the exporter). */
int vm_attach_wait(struct vm_proc *p, int pid, int wait_ms, char *err, size_t errlen);
void vm_detach(struct vm_proc *p);
/* Re-reads statistics, liveness and the enabled set. */
void vm_refresh(struct vm_proc *p);
/* Seconds from the segment's creation to now, or to the process's end when
 * it exited or died (then it no longer grows). */
double vm_uptime(const struct vm_proc *p);
/* Looks up a type by name: id, or -1. */
int vm_type_find(const struct vm_proc *p, const char *name);
/* 1 when a process is named name: its kernel name (comm: the first 15 bytes of
 * its program's file name) or its program's file name (the last part of
 * cmdline's first word, whole: "orders_service_worker" where comm is
 * "orders_service_"). glob: name is a shell pattern (fnmatch), else exact. */
int vm_proc_named(const char *comm, const char *cmdline, const char *name, int glob);
/* Turns types on or off in the producer (through the control area; owner
 * only). Returns 0 or a negative errno with err filled: -ESRCH once the
 * process has exited or died (its set no longer changes anything). */
int vm_set_enabled(struct vm_proc *p, uint64_t mask, int on, char *err, size_t errlen);
/* Records the writers overwrote before anyone could read them (all shards). */
uint64_t vm_overwritten(const struct vm_proc *p);

/* ---- the followed processes, summed by name (model_set.c) ---- */

#define VM_MAXPROC 256 /* processes followed at once (top --all, the exporter) */
#define VM_MAXKEYS 4096
#define VM_HIST 1024   /* samples kept (at 100 ms, 102 s) */

/* One followed process. */
struct vm_src {
	struct vm_proc p;
	int type_map[RB_MAX_TYPES]; /* producer type id -> set type index, -1 */
	int *key_map;               /* producer key id -> set key index, -1 */
};

/* A type summed over the processes, since the baseline. */
struct vm_agg_type {
	char name[RB_NAME_LEN];
	int enabled;            /* in any process */
	struct rb_summary sum;  /* since the baseline */
	struct rb_summary base; /* the baseline (zero until a reset) */
	struct rb_summary prev; /* sum at the previous sample: interval percentiles */
	uint64_t count[VM_HIST]; /* sum.count at each sample */
};

/* A key (type index + name) summed over the processes, since the baseline. */
struct vm_agg_key {
	int type; /* set type index */
	char name[VM_KEY_TEXT];
	int other;
	struct rb_summary *sum;  /* since the baseline */
	struct rb_summary *base; /* NULL until a reset */
	struct rb_summary *prev; /* sum at the previous sample: interval percentiles */
	uint64_t count[VM_HIST];
	uint64_t p99[VM_HIST];   /* p99 of the interval ending at each sample, ns (0: none) */
	uint64_t last_change_ns; /* viewer clock when count last rose */
};

struct vm_set {
	struct vm_src *src[VM_MAXPROC];
	int nsrc;
	struct vm_agg_type types[RB_MAX_TYPES];
	int ntypes;
	struct vm_agg_key *keys[VM_MAXKEYS];
	int nkeys;
	/* history: sample i at hist_t[i % VM_HIST] */
	uint64_t nhist;
	uint64_t hist_t[VM_HIST];       /* viewer clock, ns */
	uint64_t hist_written[VM_HIST]; /* records written since the baseline */
	uint64_t base_written;
};

/* Allocates an empty set (NULL when out of memory). */
struct vm_set *vm_set_new(void);
/* Detaches every process and frees the set. */
void vm_set_free(struct vm_set *s);
/* Attaches to pid and adds it. 0 or a negative errno with err filled. */
int vm_set_attach(struct vm_set *s, int pid, char *err, size_t errlen);
/* Adds an attached process (takes ownership of its contents). Its index, or
 * -1 when the set is full or out of memory. */
int vm_set_add(struct vm_set *s, const struct vm_proc *p);
/* Attaches to every live process not in the set yet. Returns how many were
 * added; *left_out (may be NULL) counts those beyond VM_MAXPROC. */
int vm_set_attach_live(struct vm_set *s, int *left_out);
/* Detaches the processes that exited or died (an exporter following the
 * live ones); their counts leave the sums. Indexes of later processes move
 * down. Returns how many were removed. */
int vm_set_forget_ended(struct vm_set *s);
/* 1 when pid is in the set. */
int vm_set_has(const struct vm_set *s, int pid);
/* Detaches every process and forgets tables and history. */
void vm_set_clear(struct vm_set *s);
/* Re-reads every process and appends a sample at now_ns (viewer clock). */
void vm_set_refresh(struct vm_set *s, uint64_t now_ns);
/* Sets the baseline to now (top's r): totals, histograms, rates restart. */
void vm_set_reset(struct vm_set *s);
/* Index of a type by name, or -1; of key name under type index, or -1. */
int vm_set_type_find(const struct vm_set *s, const char *name);
int vm_set_key_find(const struct vm_set *s, int type, const char *name);
/* Totals over every process (not since the baseline). */
uint64_t vm_set_written(const struct vm_set *s);
uint64_t vm_set_capacity(const struct vm_set *s);
uint64_t vm_set_overwritten(const struct vm_set *s);
/* Processes of the set that run now (as of the last refresh). */
int vm_set_live(const struct vm_set *s);
/* Turns type index on or off in every live process. */
int vm_set_enable_type(struct vm_set *s, int type, int on, char *err, size_t errlen);

/* ---- rates and percentiles over the history (model_rates.c) ---- */

/* Events per second of type index (-1: all records written) or of key index,
 * over the newest window_s seconds of samples. Returns -1 while the samples
 * do not cover the window yet (shown as "-"), 0 with no change. */
double vm_set_type_rate(const struct vm_set *s, int type, double window_s);
double vm_set_key_rate(const struct vm_set *s, int key, double window_s);
/* Per-second rates of type (-1: all) averaged into n buckets over the last
 * span_s seconds, for sparklines; buckets before the first sample are 0. */
void vm_set_type_series(const struct vm_set *s, int type, double span_s, double *out, int n);
/* The sample index i back from the newest, or -1 when not kept. */
long vm_set_hist_back(const struct vm_set *s, uint64_t i);
/* The events of key index k (or type index) between the previous sample and the newest (count,
 * timed, sum, histogram, and min/max narrowed to the buckets that hold them). */
void vm_set_key_interval(const struct vm_set *s, int key, struct rb_summary *out);
void vm_set_type_interval(const struct vm_set *s, int type, struct rb_summary *out);
/* Quantile of the events between two snapshots of one histogram (newer
 * later): 0 when none. */
uint64_t vm_interval_quantile(const struct rb_summary *newer, const struct rb_summary *older,
			      double q);
/* s minus base, with min and max narrowed to the buckets that still hold
 * events (min/max of the whole life cannot be subtracted). */
void vm_summary_since(struct rb_summary *s, const struct rb_summary *base);

/* ---- the records, merged by time (model_merge.c) ---- */

/* A record that was not yet in the rings when a reader saw a shard empty
 * was stamped shortly before (its writer takes the time, then claims its
 * slot): a live merge holds records back this long so that such a record
 * comes out in its place. A writer preempted longer than this between the
 * two steps can still come out late. Short, because a held record stays in
 * the ring, where a fast writer may overwrite it. */
#define VM_MERGE_HOLD_NS (2ull * 1000 * 1000)

struct vm_tail {
	const struct rb_view *v;
	uint32_t nshards; /* rings: the shards', then the state ring (rb_view_nrings) */
	struct rb_cursor cur[RB_MAX_SHARDS + 1];
	struct rb_record next[RB_MAX_SHARDS + 1]; /* each ring's oldest unreturned record */
	uint8_t has_next[RB_MAX_SHARDS + 1];
	uint64_t read, lost; /* totals */
};

/* from_start: begin at the oldest records still in the rings, else at the newest. */
void vm_tail_init(struct vm_tail *t, const struct rb_view *v, int from_start);
/* As from_start, less the oldest sixteenth of each ring that has wrapped: a
 * live writer overwrites those next, so a reader starting on them would count
 * them lost though nobody was watching them yet (top's Events view on entry). */
void vm_tail_init_held(struct vm_tail *t, const struct rb_view *v);
/* Returns up to max records of every shard, merged in time order across
 * shards and across calls: a record comes out once every shard either has
 * a later one waiting or is empty and the record is hold_ns old (pass
 * VM_MERGE_HOLD_NS while the process lives, 0 once it has ended: then no
 * record is on its way).
 * *lost is set to the records lost since the last call (lapped or skipped).
 * now_ns: the viewer's clock. Never blocks. */
size_t vm_tail_poll_ex(struct vm_tail *t, struct rb_record *out, size_t max, uint64_t *lost,
		       uint64_t now_ns, uint64_t hold_ns);
size_t vm_tail_poll(struct vm_tail *t, struct rb_record *out, size_t max, uint64_t *lost,
		    uint64_t now_ns);
/* 1 when every shard is read up to its head and nothing is held back. */
int vm_tail_drained(const struct vm_tail *t);
/* Records read from the rings and not returned yet (held for the merge). */
uint32_t vm_tail_held(const struct vm_tail *t);

/* ---- one record for people (model_event.c) ---- */

struct vm_event {
	uint64_t ts_ns;         /* record clock */
	int64_t wall_ns;        /* ns since the epoch, exact: every printed time comes from it */
	double wall;            /* the same in seconds (for arithmetic, not printing) */
	uint32_t tid;
	char type[RB_NAME_LEN]; /* "type#N" when the id is unknown */
	char key[VM_KEY_TEXT];  /* "" when none; as vm_key_text shows it */
	int has_dur;
	uint64_t dur_ns;
	uint32_t nfields;
	char field_name[RB_NFIELDS][RB_FIELD_NAME_LEN];
	int64_t field[RB_NFIELDS];
};
void vm_decode(const struct rb_view *v, const struct rb_record *r, struct vm_event *e);
/* wall_ns as whole seconds (rounded down, also before 1970) and the
 * nanoseconds past them (0..999999999): text, JSON and the views print one
 * time from these, cut (never rounded) to what they show */
void vm_wall_split(int64_t wall_ns, time_t *sec, uint32_t *ns);
/* One line of text, or of JSON (json = 1; "time" with microseconds). */
void vm_event_format(const struct vm_event *e, int json, char *buf, size_t len);
/* The text line with the type and key columns padded to type_w and key_w
 * display columns (longer names widen their column; nothing is cut). */
void vm_event_text(const struct vm_event *e, int type_w, int key_w, char *buf, size_t len);
/* Index of the field named name, or -1. */
int vm_event_field(const struct vm_event *e, const char *name);

/* Field i of e as text: the name of its value where the MongoDB schema names
 * it ("RSPrimary", "timeout", "DuplicateKey(11000)", "-" for an unknown rtt),
 * else the number. The one place a field value becomes a name. */
const char *vm_field_text(const struct vm_event *e, uint32_t i, char *buf, size_t len);
/* e's fields as " name=value" each (an unnamed one "fieldN", as in JSON;
 * values by vm_field_text) into buf: in the schema's order (tail), or
 * (ids_last) what the event says first and its ids last (fields named *_id
 * and port), each group in the schema's order, so that a narrow view cut at
 * 80 columns keeps a failure's code and loses its request id. Returns buf. */
const char *vm_event_fields(const struct vm_event *e, int ids_last, char *buf, size_t len);
/* The name JSON adds beside field i's number ("RSPrimary"), NULL if none. */
const char *vm_field_json_name(const struct vm_event *e, uint32_t i, char *buf, size_t len);

/* ---- the MongoDB deployment seen in the records (model_sdam.c) ---- */

#define VM_SDAM_CHANGES 256 /* timeline entries kept */
#define VM_SDAM_SERVERS 128
#define VM_SDAM_TOPOLOGIES 16 /* a closed one gives way to a new one when full */
#define VM_SDAM_FORGOTTEN 64  /* ids of closed topologies given way, remembered */
#define VM_SDAM_HOSTS 256     /* hosts whose newest heartbeat time is kept */

/* A server.* or topology.* record, kept for the timeline. */
struct vm_sdam_change {
	uint64_t ts_ns; /* record clock: the timeline's order */
	int64_t wall_ns; /* vm_event's */
	char type[RB_NAME_LEN]; /* as stored (escape to print) */
	char key[RB_KEY_LEN];   /* as stored (escape to print) */
	char text[160]; /* "RSSecondary -> RSPrimary  rtt 3ms", or the fields
			 * (names already escaped) */
	int topology;  /* its topology's number (1 = first seen), 0 when none */
};

struct vm_sdam_server {
	char host[RB_KEY_LEN]; /* as stored */
	int64_t topology_id;
	int64_t type; /* server type (docs/mongodb.md), -1 unknown */
	uint64_t type_ts; /* ts of the record type came from */
	int closed;       /* server.closed is its newest record */
};

struct vm_sdam_topology {
	int64_t id;
	int number; /* 1 = first seen; kept while other topologies come and go */
	int64_t type; /* topology type, -1 unknown */
	uint64_t type_ts; /* ts of its newest record */
	double type_wall; /* when its type last changed */
	int closed;       /* topology.closed is its newest record */
	double closed_wall;
};

/* The newest heartbeat (succeeded or failed) read for one host. */
struct vm_sdam_beat {
	char host[RB_KEY_LEN];
	uint64_t ts_ns; /* record clock */
};

struct vm_sdam_reader; /* per process: cursors over its rings (model_sdam.c) */

struct vm_sdam {
	struct vm_sdam_change changes[VM_SDAM_CHANGES]; /* newest first, by ts_ns */
	int nchanges;
	uint64_t noop; /* changes to the same type left out of the timeline */
	struct vm_sdam_server servers[VM_SDAM_SERVERS];
	int nservers;
	struct vm_sdam_topology topologies[VM_SDAM_TOPOLOGIES];
	int ntopologies;
	int numbered;       /* topologies numbered so far */
	uint64_t forgotten; /* closed topologies that gave way to newer ones */
	int topologies_full; /* a topology was not kept: the table was full of open ones */
	int servers_full;    /* a server was not kept: the table was full of open ones */
	struct {
		int64_t id;
		int number;
	} gone[VM_SDAM_FORGOTTEN]; /* the newest forgotten, a ring */
	struct vm_sdam_beat beats[VM_SDAM_HOSTS];
	int nbeats;
	struct vm_sdam_reader *reader[VM_MAXPROC]; /* heartbeat cursors, per set process */
	uint64_t seen_ts[VM_MAXPROC]; /* newest record taken, per set process */
	uint64_t seen_changes;        /* change events counted at the last scan */
};

/* 1 for the types the deployment picture is made of (server.*, topology.*). */
int vm_sdam_type(const char *name);
/* Takes one decoded record (in any order): updates the servers and
 * topologies from the newest record by time, and puts changes into the
 * timeline in time order (no-op changes left out, counted in noop). A new
 * topology finds room by forgetting the closed one that closed first (with
 * its servers; counted in forgotten); records of a forgotten topology change
 * the picture no more. */
void vm_sdam_add(struct vm_sdam *d, const struct vm_event *e);
/* Reads the rings of every process in s for server and topology records
 * newer than the last scan, when their counts moved. */
void vm_sdam_scan(struct vm_sdam *d, struct vm_set *s);
/* Reads the heartbeat records (heartbeat.succeeded, heartbeat.failed) each
 * process of s wrote since the last call, while its heartbeat counts move
 * (and once more after), keeping each host's newest time. Costs one pass
 * over the records written meanwhile (at most the rings' size); allocates a
 * reader per process (freed by vm_sdam_clear). now_ns: the viewer's clock. */
void vm_sdam_beats(struct vm_sdam *d, struct vm_set *s, uint64_t now_ns);
/* Takes one heartbeat record of host at ts_ns (record clock). */
void vm_sdam_beat(struct vm_sdam *d, const char *host, uint64_t ts_ns);
/* The record clock time of host's newest heartbeat read, 0 when none (the
 * rings held none of them when read). */
uint64_t vm_sdam_last_beat(const struct vm_sdam *d, const char *host);
/* 1 when server s is closed: server.closed is its newest record, or its
 * topology was closed (libmongoc 1.23 closes a client's or pool's topology
 * without closing its servers). */
int vm_sdam_server_closed(const struct vm_sdam *d, const struct vm_sdam_server *s);
/* The topology of id, NULL when not kept. */
const struct vm_sdam_topology *vm_sdam_topology(const struct vm_sdam *d, int64_t id);
/* Forgets everything and frees the readers (d must be zeroed or cleared
 * before its first use). */
void vm_sdam_clear(struct vm_sdam *d);
/* Names of server and topology types, "?" when out of range, "-" for -1. */
const char *vm_server_type_name(int64_t v);
const char *vm_topology_type_name(int64_t v);

/* ---- names and numbers as text (model_format.c) ---- */
/* A name (of a type, field or key: the bytes as stored) as text output shows
 * it: escaped for the locale's charset (escape.h: UTF-8 text in a UTF-8
 * locale, \xNN for bytes that are not printable). */
const char *vm_name(const char *raw, char *buf, size_t len);
/* Display width of text as printed: one column per UTF-8 character, or
 * wcwidth's where the locale knows it (a CJK character takes two). */
int vm_width(const char *s);
/* Display width of a name as vm_name prints it. */
int vm_name_width(const char *raw);
/* A duration or latency, the same everywhere (stats, tail, top): 3
 * significant digits, at most 6 columns: "123ns" "4.56us" "78.9ms" "1.23s". */
const char *vm_fmt_lat(double ns, char *buf, size_t len);
/* "1.23M" style counts and rates (a negative value counts as 0). */
const char *vm_fmt_count(double v, char *buf, size_t len);
/* A rate as vm_fmt_count, or "-" when unknown (negative: vm_set_type_rate). */
const char *vm_fmt_rate(double v, char *buf, size_t len);
/* "1h02m", "3m05s", "12.3s" */
const char *vm_fmt_dur_s(double s, char *buf, size_t len);

#endif
