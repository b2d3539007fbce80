/* panel_pool.c - view 4: the client pool: checkouts/s, clients in use, wait percentiles, timeouts, wait histogram. */
#include <curses.h>
#include <stdio.h>
#include <string.h>

#include "mongo_schema.h"
#include "panel.h"
#include "term.h"

struct pool {
	struct panel super;
};

/* raw count of a type since the process started (the baseline does not
 * apply to a gauge like "in use") */
static uint64_t raw_count(const struct top *t, int type)
{
	return type < 0 ? 0 : t->set.types[type].sum.count + t->set.types[type].base.count;
}

static void draw(struct panel *p, struct top *t, int y, int x, int h, int w)
{
	(void)p;
	int co = vm_set_type_find(&t->set, "pool.checkout"), ci = vm_set_type_find(&t->set, "pool.checkin");
	if (co < 0) {
		term_print(y, x, w, TR_HEADER, 1, " Pool");
		term_print(y + 2, x, w, TR_DIM, 1, "  no MongoDB events in this process");
		term_print_wrapped(y + 3, x, w, h - 3, TR_DIM, 3,
			   "  (pool.checkout and pool.checkin come from libringmon's pool wrappers or the preload library)");
		return;
	}
	const struct rb_summary *s = &t->set.types[co].sum;
	/* timeouts: pool.checkout's key for that outcome (schema/mongo_schema.h) */
	int tk = vm_set_key_find(&t->set, co, ms_outcome_name(MS_OUT_TIMEOUT));
	uint64_t timeouts = tk >= 0 ? t->set.keys[tk]->sum->count : 0;
	/* in use: checkouts that got a client (key "ok", or all of them when the
	 * type has no keys) minus checkins, since the process started */
	uint64_t out = raw_count(t, co), in = raw_count(t, ci);
	int okk = vm_set_key_find(&t->set, co, ms_outcome_name(MS_OUT_OK));
	if (okk >= 0)
		out = t->set.keys[okk]->sum->count + (t->set.keys[okk]->base ? t->set.keys[okk]->base->count : 0);
	else
		out -= timeouts;
	long long inuse = (long long)out - (long long)in;
	char a[16], b[16], c[16], d[16], e[16];
	char line[256];
	snprintf(line, sizeof(line), " checkouts %llu (%s/s)   in use %lld   timeouts %llu",
		 (unsigned long long)s->count, vm_fmt_rate(vm_set_type_rate(&t->set, co, 1.0), a, sizeof(a)),
		 inuse < 0 ? 0 : inuse, (unsigned long long)timeouts);
	term_print_words(y, x, w, TR_TITLE, 1, line);
	if (!s->timed) /* no wait measured yet: unknown, not 0ns */
		snprintf(line, sizeof(line), " wait  mean -   p50 -   p99 -   p99.9 -   max -");
	else
		snprintf(line, sizeof(line), " wait  mean %s   p50 %s   p99 %s   p99.9 %s   max %s",
			 vm_fmt_lat(rb_summary_mean(s), a, sizeof(a)),
			 vm_fmt_lat((double)rb_summary_quantile(s, 0.5), b, sizeof(b)),
			 vm_fmt_lat((double)rb_summary_quantile(s, 0.99), c, sizeof(c)),
			 vm_fmt_lat((double)rb_summary_quantile(s, 0.999), d, sizeof(d)),
			 vm_fmt_lat((double)s->max, e, sizeof(e)));
	term_print_words(y + 1, x, w, timeouts ? TR_WARN : TR_NORMAL, 1, line);
	double series[512];
	int n = w - 32 > 512 ? 512 : w - 32;
	vm_set_type_series(&t->set, co, 60.0, series, n);
	panel_draw_spark(" checkouts/s", series, n, 0, y + 2, x, w);
	/* per pool (keys of pool.checkout), when there are several */
	int row = y + 3, shown = 0;
	for (int k = 0; k < t->set.nkeys && shown < 4; k++) {
		const struct vm_agg_key *key = t->set.keys[k];
		if (key->type != co || (key->other && key->sum->count == 0))
			continue;
		if (!shown++)
			term_printf(row++, x, w, TR_HEADER, 1, " %-30s %10s %9s %9s %9s", "KEY", "CHECKOUTS",
				    "WAIT P50", "WAIT P99", "MAX");
		char nm[4 * VM_KEY_TEXT];
		term_print(row, x, 1, TR_NORMAL, 1, "");
		term_print(row, x + 1, w - 1 < 30 ? w - 1 : 30, TR_NORMAL, 1, vm_name(key->name, nm, sizeof(nm)));
		if (w > 31)
			term_printf(row, x + 31, w - 31, TR_NORMAL, 1, " %10llu %9s %9s %9s",
				    (unsigned long long)key->sum->count,
				    vm_fmt_lat((double)rb_summary_quantile(key->sum, 0.5), a, sizeof(a)),
				    vm_fmt_lat((double)rb_summary_quantile(key->sum, 0.99), b, sizeof(b)),
				    vm_fmt_lat(key->sum->timed ? (double)key->sum->max : 0, c, sizeof(c)));
		row++;
	}
	term_print(row, x, w, TR_HEADER, 1, " checkout wait histogram (log buckets)");
	panel_draw_hist(s, row + 1, x, y + h - row - 1, w);
}

static const struct panel_ops ops = {
	.name = "Pool",
	.scope = SC_POOL,
	.draw = draw,
};

struct panel *panel_pool(void)
{
	static struct pool pl = {.super = {.ops = &ops}};
	return &pl.super;
}
