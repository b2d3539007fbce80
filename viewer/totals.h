/* totals.h - one producer's exact totals, with histograms folded into a few
 * bounds: what `ringmon export` and `stats --format openmetrics` publish.
 * Part of the reader model (no curses, no HTTP). Not installed.
 *
 * A struct vm_totals is a compact copy of a segment's statistics: per type its
 * count and folded histogram, per exported key the same; keys past a limit are
 * folded into one series named "other" (with the producer's own overflow key).
 * Folded histograms are exact: every bound is a bucket edge of ringmon's
 * histogram (layout.h), so the count below it is a sum of whole buckets. */
#ifndef RINGMON_TOTALS_H
#define RINGMON_TOTALS_H

#include <stddef.h>
#include <stdint.h>

#include "layout.h"
#include "model.h"
#include "segment.h"

#define VM_MAX_BOUNDS 32 /* le bounds of a folded histogram, +Inf not counted */
#define VM_MAX_KEY_PATTERNS 32

/* What to fold and export; fill with vm_totals_config_init, then change. */
struct vm_totals_config {
	uint32_t nbounds;
	uint64_t bound_ns[VM_MAX_BOUNDS];  /* increasing bucket edges (ns) */
	uint32_t bound_idx[VM_MAX_BOUNDS]; /* the bucket that starts at each edge */
	uint32_t max_keys;                 /* key series per type and process; more fold into "other" */
	uint32_t npatterns;                /* types whose keys are exported: names, "prefix.*", "all" */
	char pattern[VM_MAX_KEY_PATTERNS][RB_NAME_LEN];
};

/* The default bounds (seconds), before snapping to bucket edges. */
extern const double vm_default_bounds_s[];
extern const uint32_t vm_default_nbounds;

/* Defaults: the bounds above, 50 keys per type, keys of every type exported. */
void vm_totals_config_init(struct vm_totals_config *c);
/* Sets the bounds from a comma-separated list of seconds ("0.001,0.01,0.1"),
 * each moved to the nearest bucket edge (under 1% away). Returns 0, or
 * -EINVAL with err saying what is wrong (not increasing, out of range, too many,
 * two bounds on one edge). */
int vm_totals_set_bounds(struct vm_totals_config *c, const char *list, char *err, size_t errlen);
/* Sets which types' keys are exported: comma-separated names, "prefix.*",
 * "all" or "none". Returns 0 or -EINVAL with err filled. */
int vm_totals_set_keys(struct vm_totals_config *c, const char *list, char *err, size_t errlen);
/* 1 if pattern pat (a name, "prefix.*" or "all") matches type name. */
int vm_totals_pattern_matches(const char *pat, const char *name);
/* 1 if the keys of type name are exported. */
int vm_totals_keys_wanted(const struct vm_totals_config *c, const char *name);
/* Nearest bucket edge to ns (ns >= 1), and its bucket index in *idx. */
uint64_t vm_bucket_edge(uint64_t ns, uint32_t *idx);

/* One series: counts, and the timed events folded into the config's bounds. */
struct vm_series {
	char key[VM_KEY_TEXT];           /* "" for a type's own series; as vm_key_text shows it */
	uint64_t count;                  /* events */
	uint64_t timed;                  /* events with a duration: the histogram's count */
	uint64_t sum_ns;                 /* their durations, ns */
	uint64_t max_ns;                 /* largest duration, 0 if none */
	uint64_t below[VM_MAX_BOUNDS];   /* timed events below bound b (cumulative) */
	/* a series of command.target (its keys exported): the names of its tuple
	 * (command "" for keys folded into "other", named or not: folded by
	 * status when a key says it, "other ok" and "other failed"); NULL for
	 * any other type. Owned (vm_totals_free). */
	struct vm_target *target;
};

/* Adds b's counts, sums and buckets to a's (max: the larger); not the key or
 * target. */
void vm_series_add(struct vm_series *a, const struct vm_series *b, uint32_t nbounds);

struct vm_type_totals {
	char name[RB_NAME_LEN];
	int enabled;
	int keyed;            /* keys exported: the series are keys[] (+ rest) */
	struct vm_series all; /* the type's own totals */
	/* with keyed: events without a key (the type's totals minus its keys'),
	 * kept monotonic across reads by the caller's memory (vm_totals_read) */
	struct vm_series rest;
	uint32_t nkeys;       /* series in keys[], "other" (and for command.target "other
			       * ok", "other failed") if folded */
	uint32_t folded;      /* keys folded into "other" by max_keys */
	struct vm_series *keys;
};

/* A producer as exported. */
struct vm_totals {
	int pid;
	char name[RB_PROC_NAME_LEN];
	int live;                      /* 0: exited or dead: these are its final values */
	double start_s;                /* creation, seconds since the epoch */
	uint64_t written, overwritten; /* records */
	uint64_t capacity, held;       /* ring slots, records in them */
	uint64_t bytes;                /* segment size */
	uint64_t dropped_keys, bad_calls;
	uint32_t ntypes;
	struct vm_type_totals types[RB_MAX_TYPES];
};

/* Folds p's snapshot (vm_refresh) into t, which owns its keys arrays
 * (vm_totals_free). prev (may be NULL) is the previous read of the same
 * process, to keep each type's "rest" series from going down when events race
 * the snapshot. Returns 0 or -ENOMEM. */
struct vm_proc;
int vm_totals_read(struct vm_totals *t, const struct vm_proc *p, const struct vm_totals_config *c,
		   const struct vm_totals *prev);
void vm_totals_free(struct vm_totals *t);
/* Index of type name in t, or -1. */
int vm_totals_type(const struct vm_totals *t, const char *name);

#endif
