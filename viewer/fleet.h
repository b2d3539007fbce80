/* fleet.h - every live producer of this user, attached between reads: what
 * `ringmon export` serves and `stats --all --format openmetrics` prints.
 * Part of the reader model (no curses, no HTTP). Not installed.
 *
 * Each producer is read through the model's struct vm_proc (vm_attach,
 * vm_refresh); unlike vm_set (top), which sums processes by name with a
 * history and follows at most VM_MAXPROC, the fleet keeps every process
 * apart, has no history and no limit, counts what it skips by reason, and
 * keeps an ended producer's final values for a while.
 *
 * vm_fleet_scan lists $RINGMON_DIR, attaches segments it has not seen (by
 * device, inode, the pid of the name and the birth time, so that a reused pid
 * or a reused inode is a new producer), and reads the totals of
 * every producer it holds. A producer that exited or died since the last scan
 * is read once more (its final values) and detached at once; its final values
 * stay in the list for `linger` (so that every scraper sees them), then go.
 * Segments that are not live when first seen, or whose
 * process name does not match, are remembered by inode and never mapped.
 * Other users' segments are refused (as by every ringmon reader) and counted,
 * as are unreadable ones (corrupt, truncated, another layout version); both are
 * tried again on every scan. Not thread-safe: one caller at a time. */
#ifndef RINGMON_FLEET_H
#define RINGMON_FLEET_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "segment.h"
#include "totals.h"

struct vm_member {
	struct vm_proc *p;   /* attached (the model's snapshot of one process), or NULL */
	int ending;          /* exited or died: tot holds its final values */
	uint64_t ended_ns;   /* when that was found (vm_now_ns) */
	int seen;            /* found by the current scan */
	uint64_t dev, ino;   /* its segment file, with the pid of its name and its */
	int pid;             /* birth time (0: unknown): a reused inode is another file */
	uint64_t btime_ns;
	struct vm_totals tot; /* the latest read */
	int has_tot;
};

struct vm_fleet {
	struct vm_totals_config cfg;
	char name_pattern[64];        /* fnmatch(3) on the process name; "" = all */
	uint64_t linger_ns;           /* how long ended producers stay listed */
	struct vm_member **m;
	size_t n, cap;
	uint64_t last_scan_realtime_ns; /* exited segments newer than this are shown */
	uint64_t last_scan_mono_ns;
	uint32_t skipped_other_user, skipped_unreadable; /* in the last scan */
};

/* cfg is copied; pattern may be NULL; linger 0 lists an ended producer in
 * one scan only. */
void vm_fleet_init(struct vm_fleet *f, const struct vm_totals_config *cfg, const char *pattern,
		   double linger_s);
/* Rescans the directory and reads every producer held. Returns the number of
 * producers listed (live ones, and ended ones within their linger), or a
 * negative errno with err filled (the directory cannot be read). */
int vm_fleet_scan(struct vm_fleet *f, char *err, size_t errlen);
/* The totals read by the last scan, in pid order; *out is malloc'd (free it),
 * its pointers belong to f and stay valid until the next scan or release. */
size_t vm_fleet_totals(const struct vm_fleet *f, const struct vm_totals ***out);
/* Forgets ended producers past their linger, and segments that are gone. */
void vm_fleet_release(struct vm_fleet *f);
void vm_fleet_free(struct vm_fleet *f);

#endif
