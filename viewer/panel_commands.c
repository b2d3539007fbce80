/* panel_commands.c - the latency tables: view 2, Commands (MongoDB commands by
 * name or by db.collection) and view 6, Functions (Python functions by
 * module.qualname, from the sys.monitoring tool's python.call and
 * python.unwind). One table, sortable and filtered, with a detail (sparklines,
 * histogram, slowest recent calls from the rings); struct lat_kind says what
 * differs. */
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "panel.h"
#include "term.h"

/* Columns; the sort key is one of them. */
/* FAIL: command.failed (the server refused, or the driver gave up); WERR:
 * command.write_error (ok: 1 replies carrying writeErrors or a
 * writeConcernError, which APM calls succeeded) */
enum col { C_NAME, C_COUNT, C_RATE, C_FAIL, C_WERR, C_MEAN, C_P50, C_P90, C_P99, C_P999, C_MAX, C_N };
static const char *const col_name[C_N] = {"COMMAND", "COUNT", "RATE/s", "FAIL", "WERR", "MEAN",
					  "P50", "P90", "P99", "P99.9", "MAX"};

/* What a latency table is made of. */
struct lat_kind {
	const char *col0, *col0_ns; /* heading of the name column (by name, by namespace) */
	const char *noun, *noun_ns; /* what a row is, plural */
	const char *prefix;         /* types whose presence makes the view non-empty */
	/* 1: completed (its duration counts), 2: failed (counts too, and in
	 * FAIL), 3: write error (WERR only), 0: not a type of this table */
	int (*role)(int ns, const char *type);
	int has_ns, has_werr;       /* the n key, the WERR column */
	/* 0: completed and failed records are apart (command.succeeded,
	 * command.failed); else the failed type repeats records of the completed
	 * one (python.unwind a python.call whose field of this name is 1): counts,
	 * rates and latencies come from the completed type alone */
	const char *fail_field;
	const char *calls, *failed, *fail_result; /* detail: "calls", "failed", "FAILED" */
	const char *empty_title, *empty1, *empty2, *none_yet, *none_in_ring;
};

struct cmd_row {
	char name[VM_KEY_TEXT];
	int ok, fail, werr; /* top key indices, -1 */
	int tfail;          /* fail, when its records are not among ok's (timed apart), else -1 */
	double v[C_N]; /* numbers of the columns */
};

#define SLOWEST 10
struct slow_op {
	struct vm_event ev;
	int failed;
};

struct commands {
	struct panel super;
	const struct lat_kind *kind;
	int ns;      /* rows per db.collection instead of per command name */
	int sort;    /* enum col */
	int reverse; /* ascending */
	char filter[64];
	int editing;
	int detail;  /* showing the detail of detail_name */
	char detail_name[VM_KEY_TEXT];
	struct slow_op slow[SLOWEST];
	int nslow;
	struct cmd_row *rows;
	int nrows, cap;
};

static struct commands cmds, funcs;

/* Which types feed the rows: by name, command.succeeded / command.failed;
 * by namespace, the adapter's command.ns* types (those with "fail" in the
 * name count failures). */
static int command_role(int ns, const char *name)
{
	if (!ns) {
		if (strcmp(name, "command.succeeded") == 0)
			return 1;
		if (strcmp(name, "command.failed") == 0)
			return 2;
		if (strcmp(name, "command.write_error") == 0)
			return 3;
		return 0;
	}
	if (strncmp(name, "command.ns", 10) != 0)
		return 0;
	return strstr(name, "fail") ? 2 : 1;
}

/* python.call: every call of a monitored function (its field raised is 1 when
 * an exception left it); python.unwind: those calls again (docs/python.md) */
static int function_role(int ns, const char *name)
{
	(void)ns;
	return strcmp(name, "python.call") == 0 ? 1 : strcmp(name, "python.unwind") == 0 ? 2 : 0;
}

static const struct lat_kind kind_commands = {
	"COMMAND", "DB.COLLECTION", "commands", "collections", "command.", command_role, 1, 1, NULL,
	"calls", "failed", "FAILED", " Commands", "  no MongoDB events in this process",
	"  (command.* types appear once the program uses libringmon's MongoDB adapter"
	" or runs with LD_PRELOAD=libringmon-preload.so)",
	" (no command completed yet)", " (none of this command in the ring right now)",
};

static const struct lat_kind kind_functions = {
	"FUNCTION", NULL, "functions", NULL, "python.", function_role, 0, 0, "raised",
	"calls", "raised", "RAISED", " Functions", "  no Python function latencies in this process",
	"  (python.call appears once a Python 3.12+ program runs under"
	" `python -m ringmon run --functions 'PATTERN'` or calls ringmon.monitoring.start())",
	" (no call of a monitored function yet)", " (none of this function in the ring right now)",
};

static struct cmd_row *row_for(struct commands *c, const char *name)
{
	for (int i = 0; i < c->nrows; i++)
		if (strcmp(c->rows[i].name, name) == 0)
			return &c->rows[i];
	if (c->nrows == c->cap) {
		int cap = c->cap ? c->cap * 2 : 64;
		struct cmd_row *r = realloc(c->rows, sizeof(*r) * (size_t)cap);
		if (!r)
			return NULL;
		c->rows = r;
		c->cap = cap;
	}
	struct cmd_row *r = &c->rows[c->nrows++];
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->ok = r->fail = r->werr = -1;
	return r;
}

static struct rb_summary scratch;

/* the merged statistics of a row (succeeded + failed) into scratch */
static const struct rb_summary *row_summary(const struct top *t, const struct cmd_row *r)
{
	rb_summary_clear(&scratch);
	if (r->ok >= 0)
		rb_summary_add(&scratch, t->set.keys[r->ok]->sum);
	if (r->tfail >= 0)
		rb_summary_add(&scratch, t->set.keys[r->tfail]->sum);
	return &scratch;
}

static const struct commands *sorting; /* the table qsort sorts */

static int cmp_rows(const void *a, const void *b)
{
	const struct cmd_row *x = a, *y = b;
	int d, col = sorting->sort;
	if (col == C_NAME)
		d = strcmp(x->name, y->name);
	else /* numbers: largest first */
		d = (x->v[col] < y->v[col]) - (x->v[col] > y->v[col]);
	if (d == 0)
		d = strcmp(x->name, y->name);
	return sorting->reverse ? -d : d;
}

/* succeeded + failed per second over the last second; 0 until it is covered */
static double rate_sum(const struct top *t, int ok, int fail)
{
	double a = ok >= 0 ? vm_set_key_rate(&t->set, ok, 1.0) : 0;
	double b = fail >= 0 ? vm_set_key_rate(&t->set, fail, 1.0) : 0;
	return (a > 0 ? a : 0) + (b > 0 ? b : 0);
}

static void build(struct commands *c, const struct top *t)
{
	c->nrows = 0;
	for (int k = 0; k < t->set.nkeys; k++) {
		const struct vm_agg_key *key = t->set.keys[k];
		int role = c->kind->role(c->ns, t->set.types[key->type].name);
		if (!role || !top_match(key->name, c->filter) || (key->other && key->sum->count == 0))
			continue;
		struct cmd_row *r = row_for(c, key->name);
		if (!r)
			break;
		if (role == 1)
			r->ok = k;
		else if (role == 2)
			r->fail = k;
		else
			r->werr = k;
	}
	for (int i = 0; i < c->nrows; i++) {
		struct cmd_row *r = &c->rows[i];
		r->tfail = c->kind->fail_field ? -1 : r->fail;
		const struct rb_summary *s = row_summary(t, r);
		r->v[C_COUNT] = (double)s->count;
		r->v[C_RATE] = rate_sum(t, r->ok, r->tfail);
		/* command.ns keeps one key per namespace for both outcomes (the
		 * record's "ok" field tells them apart): no failure count there */
		r->v[C_FAIL] = r->fail >= 0 ? (double)t->set.keys[r->fail]->sum->count : c->ns ? -1 : 0;
		r->v[C_WERR] = r->werr >= 0 ? (double)t->set.keys[r->werr]->sum->count : c->ns ? -1 : 0;
		/* no timed event yet (a function whose calls have not returned):
		 * no latency, shown "-" as stats shows it, never 0ns */
		int timed = s->timed > 0;
		r->v[C_MEAN] = timed ? rb_summary_mean(s) : -1;
		r->v[C_P50] = timed ? (double)rb_summary_quantile(s, 0.50) : -1;
		r->v[C_P90] = timed ? (double)rb_summary_quantile(s, 0.90) : -1;
		r->v[C_P99] = timed ? (double)rb_summary_quantile(s, 0.99) : -1;
		r->v[C_P999] = timed ? (double)rb_summary_quantile(s, 0.999) : -1;
		r->v[C_MAX] = timed ? (double)s->max : -1;
	}
	sorting = c;
	qsort(c->rows, (size_t)c->nrows, sizeof(*c->rows), cmp_rows);
}

static int any_types(const struct commands *c, const struct top *t)
{
	size_t n = strlen(c->kind->prefix);
	for (int i = 0; i < t->set.ntypes; i++)
		if (strncmp(t->set.types[i].name, c->kind->prefix, n) == 0)
			return 1;
	return 0;
}

/* a latency, "-" when there is none (< 0) */
static const char *lat_text(double v, char *buf, size_t len)
{
	if (v < 0)
		snprintf(buf, len, "-");
	else
		vm_fmt_lat(v, buf, len);
	return buf;
}

static void fmt_cell(int col, double v, char *buf, size_t len)
{
	if (col == C_COUNT || col == C_RATE || col == C_FAIL || col == C_WERR)
		vm_fmt_count(v, buf, len);
	else
		lat_text(v, buf, len);
}

static void draw_detail(struct commands *c, struct top *t, int y, int x, int h, int w)
{
	struct cmd_row *r = NULL;
	for (int i = 0; i < c->nrows; i++)
		if (strcmp(c->rows[i].name, c->detail_name) == 0)
			r = &c->rows[i];
	char nm[4 * VM_KEY_TEXT];
	if (!r) {
		term_printf(y, x, w, TR_HEADER, 1, " %s: no data (Esc: back)",
			    vm_name(c->detail_name, nm, sizeof(nm)));
		return;
	}
	char a[16], b[16], we[16], m[16], p50[16], p99[16], mx[16], mn[16], werr[48] = "";
	char fail[48] = "";
	char head[4 * VM_KEY_TEXT + 256];
	/* no figure where the table has none (-1: db.collection rows have no
	 * failure or write error count of their own), never a 0 that was not */
	if (r->v[C_FAIL] >= 0)
		snprintf(fail, sizeof(fail), ", %s %s", vm_fmt_count(r->v[C_FAIL], b, sizeof(b)),
			 c->kind->failed);
	if (c->kind->has_werr && r->v[C_WERR] >= 0)
		snprintf(werr, sizeof(werr), ", %s write errors", vm_fmt_count(r->v[C_WERR], we, sizeof(we)));
	/* most telling first: what a narrow terminal cuts is the least */
	int first = snprintf(head, sizeof(head), " %s: %s %s", vm_name(r->name, nm, sizeof(nm)),
			     vm_fmt_count(r->v[C_COUNT], a, sizeof(a)), c->kind->calls);
	if (first > 0 && (size_t)first < sizeof(head))
		snprintf(head + first, sizeof(head) - (size_t)first,
			 "%s%s, %s/s, p99 %s, max %s, p50 %s, mean %s", fail, werr,
			 vm_fmt_count(r->v[C_RATE], m, sizeof(m)),
			 lat_text(r->v[C_P99], p99, sizeof(p99)), lat_text(r->v[C_MAX], mx, sizeof(mx)),
			 lat_text(r->v[C_P50], p50, sizeof(p50)), lat_text(r->v[C_MEAN], mn, sizeof(mn)));
	/* figures whole or not at all: "max 7.76ms", never "max" alone; the name
	 * and count (before `first`, whatever the name holds) stay, cut if they must */
	char *cut;
	while (vm_width(head) > w && (cut = strrchr(head, ',')) && cut - head >= first)
		*cut = 0;
	term_print_words(y, x, w, TR_HEADER, 1, head);
	/* sparklines of the rate and the p99 of each refresh interval */
	double rate[512], p[512];
	int n = w - 32 > 512 ? 512 : w - 32, got = 0;
	for (int i = n - 1; i >= 0; i--) {
		long j = vm_set_hist_back(&t->set, (uint64_t)(n - 1 - i));
		long j0 = vm_set_hist_back(&t->set, (uint64_t)(n - i));
		rate[i] = p[i] = 0;
		if (j < 0 || j0 < 0)
			continue;
		double dt = (double)(t->set.hist_t[j] - t->set.hist_t[j0]) / 1e9;
		uint64_t cnt = 0, q = 0;
		if (r->ok >= 0) {
			cnt += t->set.keys[r->ok]->count[j] - t->set.keys[r->ok]->count[j0];
			q = t->set.keys[r->ok]->p99[j];
		}
		if (r->tfail >= 0) {
			cnt += t->set.keys[r->tfail]->count[j] - t->set.keys[r->tfail]->count[j0];
			if (t->set.keys[r->tfail]->p99[j] > q)
				q = t->set.keys[r->tfail]->p99[j];
		}
		rate[i] = dt > 0 ? (double)cnt / dt : 0;
		p[i] = (double)q;
		got++;
	}
	panel_draw_spark(" rate/s", rate, n, 0, y + 1, x, w);
	panel_draw_spark(" p99", p, n, 1, y + 2, x, w);
	int slow_rows = SLOWEST + 1;
	int hist_rows = h - 4 - slow_rows - 1;
	if (hist_rows < 3) {
		hist_rows = h - 4 - 4;
		slow_rows = 3;
	}
	term_print_words(y + 3, x, w, TR_HEADER, 1, " latency histogram (log buckets, all calls since baseline)  Esc: back");
	int used = panel_draw_hist(row_summary(t, r), y + 4, x, hist_rows, w);
	int sy = y + 4 + (used > 0 ? used : 0);
	term_print(sy, x, w, TR_HEADER, 1, " slowest recent operations in the ring: TIME DURATION RESULT FIELDS");
	for (int i = 0; i < c->nslow && i < slow_rows - 1 && sy + 1 + i < y + h; i++) {
		char line[512];
		const struct vm_event *e = &c->slow[i].ev;
		time_t sec;
		uint32_t ns;
		vm_wall_split(e->wall_ns, &sec, &ns);
		struct tm tm;
		localtime_r(&sec, &tm);
		char when[16];
		strftime(when, sizeof(when), "%H:%M:%S", &tm);
		int len = snprintf(line, sizeof(line), " %s.%03u %8s %-6s", when, ns / 1000000,
				   vm_fmt_lat((double)e->dur_ns, a, sizeof(a)), c->slow[i].failed ? c->kind->fail_result : "ok");
		if (len > 0 && (size_t)len < sizeof(line)) /* a failure's code before its ids */
			vm_event_fields(e, 1, line + len, sizeof(line) - (size_t)len);
		term_print_words(sy + 1 + i, x, w, c->slow[i].failed ? TR_BAD : TR_NORMAL, 1, line);
	}
	if (c->nslow == 0)
		term_print(sy + 1, x, w, TR_DIM, 1, c->kind->none_in_ring);
	(void)got;
}

static void draw(struct panel *p, struct top *t, int y, int x, int h, int w)
{
	struct commands *c = (struct commands *)p;
	build(c, t);
	if (!any_types(c, t)) {
		term_print(y, x, w, TR_HEADER, 1, c->kind->empty_title);
		term_print(y + 2, x, w, TR_DIM, 1, c->kind->empty1);
		term_print_wrapped(y + 3, x, w, h - 3, TR_DIM, 3, c->kind->empty2);
		return;
	}
	if (c->detail) {
		draw_detail(c, t, y, x, h, w);
		return;
	}
	/* names as wide as the longest (not the whole width: the numbers stay
	 * near them); as the width shrinks P99.9, P90, MEAN, MAX give way, then
	 * names are cut with a marker */
	static const struct panel_col all[C_N] = {
		{NULL, 0, 0, 1, 0}, {NULL, 9, 0, 0, 0}, {NULL, 8, 0, 0, 0}, {NULL, 6, 0, 0, 0},
		{NULL, 6, 0, 0, 0}, {NULL, 7, 3, 0, 0}, {NULL, 7, 0, 0, 0}, {NULL, 7, 2, 0, 0}, {NULL, 7, 0, 0, 0},
		{NULL, 7, 1, 0, 0}, {NULL, 7, 4, 0, 0},
	};
	/* the table's columns: idx[j] is the enum col of shown column j */
	struct panel_col col[C_N];
	int idx[C_N], n = 0;
	for (int i = 0; i < C_N; i++)
		if (i != C_WERR || c->kind->has_werr)
			col[n] = all[i], idx[n++] = i;
	const char *arrow = c->reverse ? (term_utf8() ? "▲" : "^") : (term_utf8() ? "▼" : "v");
	char hd[C_N][32];
	const char *head[C_N];
	enum term_role hrole[C_N];
	for (int j = 0; j < n; j++) {
		int i = idx[j];
		const char *name = i != C_NAME ? col_name[i] : c->ns ? c->kind->col0_ns : c->kind->col0;
		snprintf(hd[j], sizeof(hd[j]), "%s%s", name, i == c->sort ? arrow : "");
		head[j] = hd[j];
		hrole[j] = i == c->sort ? TR_SELECTED : TR_HEADER;
		if (i == c->sort)
			col[j].drop = 0;
	}
	col[0].w = vm_width(hd[0]);
	for (int i = 0; i < c->nrows; i++)
		if (vm_name_width(c->rows[i].name) > col[0].w)
			col[0].w = vm_name_width(c->rows[i].name);
	panel_cols_fit(col, n, w, 10);
	panel_cols_row(y, x, w, TR_HEADER, col, n, head, hrole);
	int rows = h - 2;
	panel_list_clamp(p, c->nrows, rows);
	for (int r = 0; r < rows && p->scroll + r < c->nrows; r++) {
		const struct cmd_row *row = &c->rows[p->scroll + r];
		int sel = p->scroll + r == p->sel;
		char v[C_N][32], nm[4 * VM_KEY_TEXT];
		const char *cell[C_N];
		enum term_role role[C_N];
		for (int j = 0; j < n; j++) {
			int i = idx[j];
			role[j] = sel ? TR_SELECTED : TR_NORMAL;
			if (i == C_NAME) {
				cell[j] = vm_name(row->name, nm, sizeof(nm)); /* escaped: injective */
				continue;
			} else if (row->v[i] < 0)
				snprintf(v[j], sizeof(v[j]), "-");
			else
				fmt_cell(i, row->v[i], v[j], sizeof(v[j]));
			if ((i == C_FAIL || i == C_WERR) && row->v[i] > 0 && !sel)
				role[j] = TR_BAD;
			cell[j] = v[j];
		}
		panel_cols_row(y + 1 + r, x, w, sel ? TR_SELECTED : TR_NORMAL, col, n, cell, role);
	}
	if (c->nrows == 0) {
		char none[96];
		snprintf(none, sizeof(none), " (no %.*s matches the filter)",
			 (int)strlen(c->kind->noun) - 1, c->kind->noun); /* singular */
		term_print(y + 1, x, w, TR_DIM, 1,
			   c->filter[0] ? none :
			   c->ns ? " (no per-collection statistics: command.ns types absent)" :
				   c->kind->none_yet);
	}
	char st[256];
	if (c->editing || c->filter[0]) {
		snprintf(st, sizeof(st), " filter: %s%s", c->filter, c->editing ? "_" : "   (Esc clears)");
		term_print(y + h - 1, x, w, c->editing ? TR_WARN : TR_STATUS, 1, st);
		return;
	}
	const char *noun = c->ns ? c->kind->noun_ns : c->kind->noun; /* plural: one row drops its s */
	snprintf(st, sizeof(st), " %d %.*s, sort: %s%s", c->nrows,
		 (int)strlen(noun) - (c->nrows == 1), noun, c->sort == C_NAME ? c->kind->col0 : col_name[c->sort], c->reverse ? " (reversed)" : "");
	const char *hints[] = {"Enter: detail", "< > F6: sort", "I: reverse", "/ F4: filter",
			       c->ns ? "n: by command" : "n: by db.collection"};
	panel_status(y + h - 1, x, w, TR_STATUS, st, hints, c->kind->has_ns ? 5 : 4);
}

static int on_text(struct panel *p, struct top *t, int key)
{
	struct commands *c = (struct commands *)p;
	(void)t;
	p->sel = 0;
	return panel_filter_key(c->filter, sizeof(c->filter), &c->editing, key);
}

static int on_cmd(struct panel *p, struct top *t, enum top_cmd cmd)
{
	struct commands *c = (struct commands *)p;
	if (c->detail) {
		if (cmd != TC_BACK && cmd != TC_LEFT)
			return 0;
		c->detail = 0;
		return PF_HANDLED | PF_REDRAW;
	}
	int f = panel_list_cmd(p, cmd, c->nrows);
	if (f)
		return f;
	switch (cmd) {
	case TC_FILTER:
		c->editing = 1;
		return PF_HANDLED | PF_REDRAW;
	case TC_BACK:
		if (!c->filter[0])
			return 0;
		c->filter[0] = 0;
		return PF_HANDLED | PF_REDRAW;
	case TC_SORT_PREV:
	case TC_SORT_NEXT:
		do /* over the columns this table shows */
			c->sort = (c->sort + (cmd == TC_SORT_NEXT ? 1 : C_N - 1)) % C_N;
		while (c->sort == C_WERR && !c->kind->has_werr);
		return PF_HANDLED | PF_REDRAW;
	case TC_REVERSE:
		c->reverse = !c->reverse;
		return PF_HANDLED | PF_REDRAW;
	case TC_BY_NS:
		if (!c->kind->has_ns)
			return 0;
		c->ns = !c->ns;
		p->sel = 0;
		return PF_HANDLED | PF_REDRAW;
	case TC_ENTER:
		build(c, t);
		if (p->sel < c->nrows) {
			snprintf(c->detail_name, sizeof(c->detail_name), "%s", c->rows[p->sel].name);
			c->detail = 1;
			c->nslow = 0;
			return PF_HANDLED | PF_RESCAN;
		}
		return PF_HANDLED;
	default:
		return 0;
	}
}

/* ring scan for "slowest recent operations" of the detail's command */
struct scan_arg {
	struct commands *c;
	int ok, fail;
};

static void scan_one(struct top *t, int si, const struct rb_record *r, void *arg)
{
	struct scan_arg *a = arg;
	if (!r->key || r->dur_ns == RB_NO_DURATION)
		return;
	const struct vm_src *s = t->set.src[si];
	if (r->key > s->p.v.g.max_keys)
		return;
	int k = s->key_map[r->key];
	if (k < 0 || (k != a->ok && k != a->fail))
		return;
	struct commands *c = a->c;
	/* keep the SLOWEST slowest, sorted, slowest first */
	int pos = c->nslow;
	while (pos > 0 && c->slow[pos - 1].ev.dur_ns < r->dur_ns)
		pos--;
	if (pos >= SLOWEST)
		return;
	int last = c->nslow < SLOWEST ? c->nslow : SLOWEST - 1;
	memmove(&c->slow[pos + 1], &c->slow[pos], sizeof(c->slow[0]) * (size_t)(last - pos));
	vm_decode(&s->p.v, r, &c->slow[pos].ev);
	int f = c->kind->fail_field ? vm_event_field(&c->slow[pos].ev, c->kind->fail_field) : -1;
	c->slow[pos].failed = f >= 0 ? c->slow[pos].ev.field[f] != 0 : k == a->fail;
	if (c->nslow < SLOWEST)
		c->nslow++;
}

static void on_refresh(struct panel *p, struct top *t, int active)
{
	struct commands *c = (struct commands *)p;
	if (!active || !c->detail)
		return;
	build(c, t);
	struct scan_arg a = {c, -1, -1};
	for (int i = 0; i < c->nrows; i++)
		if (strcmp(c->rows[i].name, c->detail_name) == 0) {
			a.ok = c->rows[i].ok;
			a.fail = c->rows[i].tfail; /* records of a failed type that repeats ok's: not twice */
		}
	if (a.ok < 0 && a.fail < 0)
		return;
	c->nslow = 0;
	/* the whole ring, once per refresh: bounded by its size */
	top_scan_rings(t, vm_set_capacity(&t->set) + 4096, scan_one, &a);
}

static int text_input(const struct panel *p)
{
	return ((const struct commands *)p)->editing;
}

static const struct panel_ops ops = {
	.name = "Commands",
	.scope = SC_COMMANDS,
	.draw = draw,
	.on_cmd = on_cmd,
	.on_text = on_text,
	.on_refresh = on_refresh,
	.text_input = text_input,
};

static const struct panel_ops functions_ops = {
	.name = "Functions",
	.scope = SC_FUNCTIONS,
	.draw = draw,
	.on_cmd = on_cmd,
	.on_text = on_text,
	.on_refresh = on_refresh,
	.text_input = text_input,
};

static struct panel *init(struct commands *c, const struct panel_ops *o, const struct lat_kind *k)
{
	c->super.ops = o;
	c->kind = k;
	c->sort = C_COUNT;
	if (!c->super.rows)
		c->super.rows = 20;
	return &c->super;
}

struct panel *panel_commands(void)
{
	return init(&cmds, &ops, &kind_commands);
}

struct panel *panel_functions(void)
{
	return init(&funcs, &functions_ops, &kind_functions);
}
