/* openmetrics.h - producers' totals as a Prometheus exposition: text format
 * 0.0.4 or OpenMetrics 1.0. Shared by `ringmon export` (served over HTTP by
 * cmd_export.c) and `ringmon stats --format openmetrics|prometheus`. No HTTP,
 * no curses. Not installed. The metrics are listed in docs/export.md. */
#ifndef RINGMON_OPENMETRICS_H
#define RINGMON_OPENMETRICS_H

#include <stddef.h>
#include <stdint.h>

#include "totals.h"

enum om_format {
	OM_PROMETHEUS = 0, /* text/plain; version=0.0.4 */
	OM_OPENMETRICS = 1 /* application/openmetrics-text; version=1.0.0 */
};

/* The format to answer an HTTP Accept header with (NULL: none sent; several
 * headers: their values joined by commas), and into *content_type (when not
 * NULL; a static string) the Content-Type to send: the media range with the
 * highest q (an RFC 9110 qvalue; a range with another q is ignored, q=0
 * refuses it) among those served, on a tie the more specific: OpenMetrics
 * 1.0.0 (no version or version=1.0.0), OpenMetrics 0.0.1 (the same text, its
 * draft's version: Prometheus 2 accepts it), text 0.0.4 (text/plain without
 * version or version=0.0.4), application/ anything (OpenMetrics 1.0.0), text/
 * anything, anything (text 0.0.4). Parameter values may be quoted. None
 * served: text 0.0.4. */
enum om_format om_negotiate(const char *accept, const char **content_type);
/* The Content-Type header of a format (OpenMetrics: version=1.0.0). */
const char *om_content_type(enum om_format f);

/* A growing output buffer; oom is set (and writing stops) when realloc fails. */
struct om_buf {
	char *p;
	size_t len, cap;
	int oom;
};
void om_buf_free(struct om_buf *b);

/* The exporter's own figures (exported when given). */
struct om_exporter {
	uint64_t scrapes;             /* including this one */
	double last_scrape_s;         /* the previous scrape's duration */
	uint32_t skipped_other_user;  /* segments of other users, refused */
	uint32_t skipped_unreadable;  /* corrupt, truncated, another layout version */
};

/* Appends the exposition of procs[0..n) to b: every family once, its samples
 * together, OpenMetrics ending with "# EOF". ex may be NULL. Returns 0, or
 * -ENOMEM (b->oom set). */
int om_write(struct om_buf *b, enum om_format f, const struct vm_totals *const *procs, size_t n,
	     const struct vm_totals_config *c, const struct om_exporter *ex);

#endif
