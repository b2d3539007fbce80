/* openmetrics.c - producers' totals as text 0.0.4 or OpenMetrics 1.0
 * (openmetrics.h). Every family is written once with all its samples together
 * (OpenMetrics forbids interleaving), so the loops run family by family over
 * every producer. Durations are written from integer nanoseconds, so an
 * le bound or a _sum is exact in decimal. */
#include "openmetrics.h"
#include "escape.h"
#include "mongo_schema.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- output ---- */

void om_buf_free(struct om_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static void put(struct om_buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (b->len + n + 1 > cap)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

static void puts_(struct om_buf *b, const char *s)
{
	put(b, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void putf(struct om_buf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		put(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* a label value: a name as stats prints it, escaped as escape.h says (control
 * bytes and invalid UTF-8 as \xNN, a backslash as \\: injective, so two
 * names never give one label value; the exposition must be UTF-8), then
 * backslash, double quote and newline escaped (both formats) */
static void put_value(struct om_buf *b, const char *raw)
{
	char text[1024];
	const char *s = esc_name(raw, ESC_UTF8, text, sizeof(text));
	for (; *s; s++) {
		if (*s == '\\')
			puts_(b, "\\\\");
		else if (*s == '"')
			puts_(b, "\\\"");
		else if (*s == '\n')
			puts_(b, "\\n");
		else
			put(b, s, 1);
	}
}

/* v in decimal, written backwards ending at end; returns the first digit */
static char *u64_text(uint64_t v, char *end)
{
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return end;
}

static void put_u64(struct om_buf *b, uint64_t v)
{
	char buf[24];
	char *p = u64_text(v, buf + sizeof(buf));
	put(b, p, (size_t)(buf + sizeof(buf) - p));
}

/* ns as seconds, exactly: "0.000999424", "12", "1.5" */
static void put_seconds(struct om_buf *b, uint64_t ns)
{
	put_u64(b, ns / 1000000000ull);
	uint64_t frac = ns % 1000000000ull;
	if (!frac)
		return;
	char digits[10];
	for (int i = 8; i >= 0; i--, frac /= 10)
		digits[i] = (char)('0' + frac % 10);
	int end = 9;
	while (digits[end - 1] == '0')
		end--;
	put(b, ".", 1);
	put(b, digits, (size_t)end);
}

/* ---- negotiation ---- */

#define OM_CT_1_0_0 "application/openmetrics-text; version=1.0.0; charset=utf-8"
#define OM_CT_0_0_1 "application/openmetrics-text; version=0.0.1; charset=utf-8"
#define OM_CT_TEXT "text/plain; version=0.0.4; charset=utf-8"

/* The length of s up to its first c outside a quoted string (RFC 9110:
 * "...", with backslash escapes), or to its end. */
static size_t span_unquoted(const char *s, char c)
{
	size_t i = 0;
	for (int quoted = 0; s[i]; i++) {
		if (quoted && s[i] == '\\' && s[i + 1])
			i++;
		else if (s[i] == '"')
			quoted = !quoted;
		else if (!quoted && s[i] == c)
			break;
	}
	return i;
}

/* The value of parameter name ("q", "version") of a media range into out,
 * quotes taken off; "" when absent. params: the range's text from its first
 * ';' (NULL: none). Returns 1 when the parameter is there (its value may be
 * empty), else 0. */
static int range_param(const char *params, const char *name, char *out, size_t cap)
{
	size_t nlen = strlen(name);
	out[0] = 0;
	for (const char *p = params; p && *p == ';'; p += 1 + span_unquoted(p + 1, ';')) {
		const char *a = p + 1;
		while (*a == ' ' || *a == '\t')
			a++;
		if (strncasecmp(a, name, nlen) != 0 || a[nlen] != '=')
			continue;
		a += nlen + 1;
		size_t len = span_unquoted(a, ';');
		while (len && (a[len - 1] == ' ' || a[len - 1] == '\t'))
			len--;
		if (len >= 2 && a[0] == '"' && a[len - 1] == '"')
			a++, len -= 2;
		snprintf(out, cap, "%.*s", (int)(len < cap - 1 ? len : cap - 1), a);
		return 1;
	}
	return 0;
}

/* An RFC 9110 qvalue ("0", "0.5", "1.000": at most 3 decimals, at most 1);
 * -1 when s is not one. */
static double qvalue(const char *s)
{
	if (s[0] != '0' && s[0] != '1')
		return -1;
	double q = s[0] - '0', scale = 0.1;
	const char *p = s + 1;
	if (*p == '.')
		for (p++; p - s < 5 && *p >= '0' && *p <= '9'; p++, scale /= 10)
			q += (*p - '0') * scale;
	return *p || q > 1 ? -1 : q;
}

enum om_format om_negotiate(const char *accept, const char **content_type)
{
	/* the best range by q; on a tie the more specific: OpenMetrics 1.0.0,
	 * its draft 0.0.1, text 0.0.4, application/... (OpenMetrics), text/...,
	 * anything (text). None served: text 0.0.4, as Prometheus servers answer */
	enum om_format best = OM_PROMETHEUS;
	const char *best_ct = OM_CT_TEXT;
	double best_q = -1;
	int best_pref = -1;
	for (const char *p = accept; p && *p;) {
		size_t len = span_unquoted(p, ',');
		char range[256];
		snprintf(range, sizeof(range), "%.*s", (int)(len < 255 ? len : 255), p);
		p += len;
		if (*p)
			p++;
		char *r = range;
		while (*r == ' ' || *r == '\t')
			r++;
		char *params = strchr(r, ';');
		size_t tlen = params ? (size_t)(params - r) : strlen(r);
		while (tlen && (r[tlen - 1] == ' ' || r[tlen - 1] == '\t'))
			tlen--;
		char v[32], qs[32];
		range_param(params, "version", v, sizeof(v));
		/* a q that is not a qvalue ignores the range */
		double q = range_param(params, "q", qs, sizeof(qs)) ? qvalue(qs) : 1.0;
#define IS(type) (tlen == sizeof(type) - 1 && strncasecmp(r, type, tlen) == 0)
		enum om_format f = OM_OPENMETRICS;
		const char *ct = OM_CT_1_0_0;
		int pref;
		if (IS("application/openmetrics-text") && (!v[0] || strcmp(v, "1.0.0") == 0))
			pref = 5;
		else if (IS("application/openmetrics-text") && strcmp(v, "0.0.1") == 0)
			ct = OM_CT_0_0_1, pref = 4; /* the same text, its draft */
		else if (IS("text/plain") && (!v[0] || strcmp(v, "0.0.4") == 0))
			f = OM_PROMETHEUS, ct = OM_CT_TEXT, pref = 3;
		else if (IS("application/*"))
			pref = 2;
		else if (IS("text/*"))
			f = OM_PROMETHEUS, ct = OM_CT_TEXT, pref = 1;
		else if (IS("*/*"))
			f = OM_PROMETHEUS, ct = OM_CT_TEXT, pref = 0;
		else
			continue; /* a type or version we do not serve */
#undef IS
		if (q <= 0 || q < best_q || (q == best_q && pref <= best_pref))
			continue;
		best = f, best_ct = ct, best_q = q, best_pref = pref;
	}
	if (content_type)
		*content_type = best_ct;
	return best;
}

const char *om_content_type(enum om_format f)
{
	return f == OM_OPENMETRICS ? OM_CT_1_0_0 : OM_CT_TEXT;
}

/* ---- families ---- */

enum kind { COUNTER, GAUGE, HISTOGRAM };
static const char *const kind_name[] = {"counter", "gauge", "histogram"};

struct ctx {
	struct om_buf *b;
	enum om_format f;
	const struct vm_totals *const *procs;
	size_t n;
	const struct vm_totals_config *c;
	char le[VM_MAX_BOUNDS][32]; /* ",le=\"X\"" of each bound, written once */
};

/* HELP and TYPE (and UNIT in OpenMetrics). name is the family's name: without
 * _total for counters; text 0.0.4 names a counter by its sample name. */
static void family(struct ctx *x, const char *name, enum kind k, const char *unit, const char *help)
{
	const char *suffix = k == COUNTER && x->f == OM_PROMETHEUS ? "_total" : "";
	putf(x->b, "# HELP %s%s ", name, suffix);
	puts_(x->b, help);
	putf(x->b, "\n# TYPE %s%s %s\n", name, suffix, kind_name[k]);
	if (unit && x->f == OM_OPENMETRICS)
		putf(x->b, "# UNIT %s %s\n", name, unit);
}

/* a label set, built up by pairs; "" values are left out (Prometheus treats
 * an empty label as absent) */
struct labels {
	const char *name[8];
	const char *value[8];
	int n;
};

static void lbl(struct labels *l, const char *name, const char *value)
{
	if (l->n < 8 && value && value[0]) {
		l->name[l->n] = name;
		l->value[l->n] = value;
		l->n++;
	}
}

static void proc_labels(struct labels *l, const struct vm_totals *p, char *pidbuf, size_t len)
{
	snprintf(pidbuf, len, "%d", p->pid);
	l->n = 0;
	lbl(l, "pid", pidbuf);
	lbl(l, "process", p->name[0] ? p->name : "?");
}

/* a label set as text, `a="x",b="y"`, escaped once for all the lines of a
 * series (into b, which the caller frees) */
static void label_text(struct om_buf *b, const struct labels *l)
{
	for (int i = 0; i < l->n; i++) {
		if (i)
			put(b, ",", 1);
		puts_(b, l->name[i]);
		put(b, "=\"", 2);
		put_value(b, l->value[i]);
		put(b, "\"", 1);
	}
}

/* name{labels[,le="X"]} and a space */
static void put_name(struct ctx *x, const char *name, const char *suffix, const struct om_buf *lt,
		     const char *le)
{
	puts_(x->b, name);
	puts_(x->b, suffix);
	if (lt->len || le) {
		put(x->b, "{", 1);
		if (lt->len)
			put(x->b, lt->p, lt->len);
		if (le)
			puts_(x->b, lt->len ? le : le + 1);
		put(x->b, "} ", 2);
	} else {
		put(x->b, " ", 1);
	}
}

/* one sample: an integer, or ns written as seconds */
static void sample(struct ctx *x, const char *name, const char *suffix, const struct labels *l,
		   uint64_t v, int ns_as_seconds)
{
	struct om_buf lt = {0};
	label_text(&lt, l);
	put_name(x, name, suffix, &lt, NULL);
	if (ns_as_seconds)
		put_seconds(x->b, v);
	else
		put_u64(x->b, v);
	put(x->b, "\n", 1);
	om_buf_free(&lt);
}

static void sample_u64(struct ctx *x, const char *name, const char *suffix, const struct labels *l,
		       uint64_t v)
{
	sample(x, name, suffix, l, v, 0);
}

static void sample_seconds(struct ctx *x, const char *name, const char *suffix,
			   const struct labels *l, uint64_t ns)
{
	sample(x, name, suffix, l, ns, 1);
}

static void histogram(struct ctx *x, const char *name, const struct labels *l,
		      const struct vm_series *s)
{
	struct om_buf lt = {0};
	label_text(&lt, l);
	for (uint32_t b = 0; b <= x->c->nbounds; b++) {
		int inf = b == x->c->nbounds;
		put_name(x, name, "_bucket", &lt, inf ? ",le=\"+Inf\"" : x->le[b]);
		put_u64(x->b, inf ? s->timed : s->below[b]);
		put(x->b, "\n", 1);
	}
	put_name(x, name, "_count", &lt, NULL);
	put_u64(x->b, s->timed);
	put(x->b, "\n", 1);
	put_name(x, name, "_sum", &lt, NULL);
	put_seconds(x->b, s->sum_ns);
	put(x->b, "\n", 1);
	om_buf_free(&lt);
}

/* ---- generic families: every type and key ---- */

/* calls emit for every series of every type: the type's own series when its
 * keys are not exported, else its keys' and the keyless rest (when any) */
static void each_series(struct ctx *x, int timed_only,
			void (*emit)(struct ctx *x, const struct labels *l, const struct vm_series *s))
{
	for (size_t i = 0; i < x->n; i++) {
		const struct vm_totals *p = x->procs[i];
		char pid[16];
		struct labels l;
		for (uint32_t t = 0; t < p->ntypes; t++) {
			const struct vm_type_totals *ty = &p->types[t];
			if (!ty->name[0])
				continue;
			proc_labels(&l, p, pid, sizeof(pid));
			lbl(&l, "type", ty->name);
			if (!ty->keyed || (ty->nkeys == 0 && ty->rest.count == 0)) {
				if (!timed_only || ty->all.timed)
					emit(x, &l, &ty->all);
				continue;
			}
			/* a timed type's keys are histograms from its first timed event
			 * on, zeros until their own: split as ringmon_events_total, and a
			 * key's series never appear one scrape after its count's */
			if (timed_only && !ty->all.timed)
				continue;
			if (ty->rest.count)
				emit(x, &l, &ty->rest);
			for (uint32_t k = 0; k < ty->nkeys; k++) {
				const struct vm_series *s = &ty->keys[k];
				struct labels lk = l;
				lbl(&lk, "key", s->key);
				emit(x, &lk, s);
			}
		}
	}
}

static void emit_events(struct ctx *x, const struct labels *l, const struct vm_series *s)
{
	sample_u64(x, "ringmon_events", "_total", l, s->count);
}

static void emit_duration(struct ctx *x, const struct labels *l, const struct vm_series *s)
{
	histogram(x, "ringmon_event_duration_seconds", l, s);
}

typedef uint64_t (*proc_value)(const struct vm_totals *p);
static uint64_t v_written(const struct vm_totals *p) { return p->written; }
static uint64_t v_overwritten(const struct vm_totals *p) { return p->overwritten; }
static uint64_t v_capacity(const struct vm_totals *p) { return p->capacity; }
static uint64_t v_held(const struct vm_totals *p) { return p->held; }
static uint64_t v_bytes(const struct vm_totals *p) { return p->bytes; }
static uint64_t v_dropped(const struct vm_totals *p) { return p->dropped_keys; }
static uint64_t v_bad(const struct vm_totals *p) { return p->bad_calls; }
static uint64_t v_up(const struct vm_totals *p) { return (uint64_t)p->live; }

static void per_proc(struct ctx *x, const char *name, enum kind k, const char *unit,
		     const char *help, proc_value get)
{
	family(x, name, k, unit, help);
	for (size_t i = 0; i < x->n; i++) {
		char pid[16];
		struct labels l;
		proc_labels(&l, x->procs[i], pid, sizeof(pid));
		sample_u64(x, name, k == COUNTER ? "_total" : "", &l, get(x->procs[i]));
	}
}

/* a type's value in *v; returns 0 to leave the type out */
typedef int (*type_value)(const struct vm_type_totals *t, uint64_t *v);
static int t_folded(const struct vm_type_totals *t, uint64_t *v)
{
	*v = t->folded;
	return t->folded > 0;
}
static int t_enabled(const struct vm_type_totals *t, uint64_t *v)
{
	*v = (uint64_t)t->enabled;
	return 1;
}

/* a gauge per type of every producer */
static void per_type(struct ctx *x, const char *name, const char *help, type_value get)
{
	family(x, name, GAUGE, NULL, help);
	for (size_t i = 0; i < x->n; i++) {
		const struct vm_totals *p = x->procs[i];
		for (uint32_t t = 0; t < p->ntypes; t++) {
			uint64_t v;
			if (!p->types[t].name[0] || !get(&p->types[t], &v))
				continue;
			char pid[16];
			struct labels l;
			proc_labels(&l, p, pid, sizeof(pid));
			lbl(&l, "type", p->types[t].name);
			sample_u64(x, name, "", &l, v);
		}
	}
}

static void generic(struct ctx *x)
{
	char help[512];
	snprintf(help, sizeof(help),
		 "Events recorded, per event type and, for types whose keys are exported, per key "
		 "(events without a key have no key label). Keys past the first %u of a type "
		 "(--max-keys) are counted under key=\"other\". Exact, from the producer's counters.",
		 x->c->max_keys);
	family(x, "ringmon_events", COUNTER, NULL, help);
	each_series(x, 0, emit_events);
	family(x, "ringmon_event_duration_seconds", HISTOGRAM, "seconds",
	       "Duration of events that carry one, per type and key as ringmon_events. Bucket "
	       "bounds are edges of ringmon's histogram, so the counts are exact: le=X counts "
	       "the durations below X.");
	each_series(x, 1, emit_duration);

	per_type(x, "ringmon_export_folded_keys",
		 "Keys of a type that this export folds into key=\"other\" (past --max-keys).",
		 t_folded);
	per_type(x, "ringmon_event_type_enabled",
		 "1 if the producer records this event type now, 0 if it was turned off.", t_enabled);

	per_proc(x, "ringmon_producer_up", GAUGE, NULL,
		 "1 while the producer runs; 0 once it exited or died: its final values stay "
		 "for export --linger seconds, then its series go stale.", v_up);
	family(x, "ringmon_producer_start_time_seconds", GAUGE, "seconds",
	       "When the producer's segment was created, seconds since the epoch.");
	for (size_t i = 0; i < x->n; i++) {
		char pid[16];
		struct labels l;
		proc_labels(&l, x->procs[i], pid, sizeof(pid));
		struct om_buf lt = {0};
		label_text(&lt, &l);
		put_name(x, "ringmon_producer_start_time_seconds", "", &lt, NULL);
		om_buf_free(&lt);
		putf(x->b, "%.3f\n", x->procs[i]->start_s);
	}
	per_proc(x, "ringmon_records_written", COUNTER, NULL,
		 "Records written into the producer's rings.", v_written);
	per_proc(x, "ringmon_records_overwritten", COUNTER, NULL,
		 "Records the rings overwrote with newer ones (a ring keeps its newest records): "
		 "gone before any reader read them, unless one kept up; the statistics still "
		 "count their events.", v_overwritten);
	per_proc(x, "ringmon_ring_capacity_records", GAUGE, NULL,
		 "Records the producer's rings hold, all shards.", v_capacity);
	per_proc(x, "ringmon_ring_used_records", GAUGE, NULL,
		 "Ring slots holding a record: capacity once every ring has wrapped (a shard "
		 "no thread writes stays empty).", v_held);
	per_proc(x, "ringmon_segment_bytes", GAUGE, "bytes",
		 "Size of the producer's shared-memory segment.", v_bytes);
	per_proc(x, "ringmon_dropped_keys", COUNTER, NULL,
		 "Key registrations the producer counted under \"other\" because its key table "
		 "was full (RINGMON_KEYS).", v_dropped);
	per_proc(x, "ringmon_bad_calls", COUNTER, NULL,
		 "Emits the producer ignored for an invalid type or key id.", v_bad);
}

/* ---- MongoDB families, named after Micrometer's MongoDB binders ---- */

/* One source of a MongoDB family: the keys of one event type. A new key (a
 * command, an error code) becomes a new label value with no change here; a
 * new type is in ringmon_events and ringmon_event_duration_seconds at once. */
struct source {
	const char *type;
	const char *label;     /* the key's label */
	const char *extra[2];  /* a fixed label pair, or NULL */
	int split_ns;          /* key "db.coll": labels database and collection */
	const char *skip_key;  /* a key left out, or NULL */
};

struct mongo_family {
	const char *name;
	enum kind kind;
	const char *unit;
	const char *help;
	struct source src[2];
	int by_target; /* from command.target instead, for producers that record it */
};

static const struct mongo_family mongo[] = {
	{"mongodb_driver_commands_seconds", HISTOGRAM, "seconds",
	 "MongoDB command latency, started to succeeded or failed, per command name and "
	 "status SUCCESS or FAILED (events command.succeeded and command.failed); for "
	 "producers that record command.target (opt-in: RINGMON_EVENTS=all,command.target), "
	 "per command, database, collection (unknown: none), server_address and status, from "
	 "when it was turned on (past --max-keys: command=\"other\" per status).",
	 {{"command.succeeded", "command", {"status", "SUCCESS"}, 0, NULL},
	  {"command.failed", "command", {"status", "FAILED"}, 0, NULL}}, 1},
	/* no UNIT: OpenMetrics wants the unit as the name's suffix; Micrometer's name */
	{"mongodb_driver_commands_seconds_max", GAUGE, NULL,
	 "Longest MongoDB command since the process started (or since command.target was "
	 "turned on), per the labels of mongodb_driver_commands_seconds.",
	 {{"command.succeeded", "command", {"status", "SUCCESS"}, 0, NULL},
	  {"command.failed", "command", {"status", "FAILED"}, 0, NULL}}, 1},
	{"mongodb_driver_collection_commands_seconds", HISTOGRAM, "seconds",
	 "MongoDB command latency per database and collection, commands that name one "
	 "(event command.ns; ringmon counts per command and per collection, not per pair).",
	 {{"command.ns", "collection", {NULL, NULL}, 1, NULL}}, 0},
	{"mongodb_driver_command_errors", COUNTER, NULL,
	 "Failed MongoDB commands and write errors per error, by the name a MongoDB user "
	 "knows: the server's codeName(code) (DuplicateKey(11000)), \"server error (no "
	 "code)\", or the driver's (\"connection closed\", \"socket timeout\") (event "
	 "command.error).",
	 {{"command.error", "error", {NULL, NULL}, 0, NULL}}, 0},
	{"mongodb_driver_command_write_errors", COUNTER, NULL,
	 "MongoDB commands whose reply was ok but carried write errors or a write concern "
	 "error, per command name (event command.write_error).",
	 {{"command.write_error", "command", {NULL, NULL}, 0, NULL}}, 0},
	{"mongodb_driver_pool_checkout_seconds", HISTOGRAM, "seconds",
	 "Time spent waiting for a connection (mongoc_client_pool_pop; pymongo's checkout), per "
	 "outcome: ok, timeout, empty, poolClosed, connectionError (event pool.checkout).",
	 {{"pool.checkout", "outcome", {NULL, NULL}, 0, NULL}}, 0},
	{"mongodb_driver_pool_checkoutfailed", COUNTER, NULL,
	 "Pool checkouts that got no client: reason timeout (waitQueueTimeoutMS), empty "
	 "(try_pop found none), poolClosed or connectionError (pymongo's check-out failed).",
	 {{"pool.checkout", "reason", {NULL, NULL}, 0, "ok"}}, 0},
	{"mongodb_driver_heartbeat_seconds", HISTOGRAM, "seconds",
	 "Round trip of polled server heartbeats per server (awaited ones carry no duration).",
	 {{"heartbeat.succeeded", "server_address", {NULL, NULL}, 0, NULL}}, 0},
};

static void mongo_sample(struct ctx *x, const struct mongo_family *m, const struct labels *l,
			 const struct vm_series *s)
{
	if (m->kind == HISTOGRAM) {
		if (s->timed)
			histogram(x, m->name, l, s);
	} else if (m->kind == GAUGE) {
		if (s->timed)
			sample_seconds(x, m->name, "", l, s->max_ns);
	} else {
		sample_u64(x, m->name, "_total", l, s->count);
	}
}

static int family_present(struct ctx *x, const struct mongo_family *m)
{
	for (size_t i = 0; i < x->n; i++)
		for (int s = 0; s < 2 && m->src[s].type; s++)
			if (vm_totals_type(x->procs[i], m->src[s].type) >= 0)
				return 1;
	return 0;
}

/* ---- commands by tuple: command.target ---- */

/* p's command.target type when its keys are exported and it records now (a
 * producer that never turned it on, turned it off, or predates it: -1) */
static int target_type(const struct vm_totals *p)
{
	int t = vm_totals_type(p, MS_TARGET_TYPE);
	return t >= 0 && p->types[t].keyed && p->types[t].enabled && p->types[t].nkeys ? t : -1;
}

/* One series of mongodb_driver_commands_seconds by tuple: its label values
 * (Micrometer's command, collection, server_address, status, and database)
 * and its figures, summed over the keys with the same labels. */
struct by_target {
	char command[RB_KEY_LEN], database[RB_KEY_LEN], collection[RB_KEY_LEN], server[RB_KEY_LEN];
	const char *status;
	struct vm_series s;
};

static void target_labels(struct by_target *b, const struct vm_target *t)
{
	memset(b, 0, sizeof(*b));
	b->status = t->ok == 1 ? "SUCCESS" : t->ok == 0 ? "FAILED" : "";
	if (!t->command[0]) { /* folded, or its names unknown */
		snprintf(b->command, sizeof(b->command), "other");
		snprintf(b->collection, sizeof(b->collection), "other");
		snprintf(b->server, sizeof(b->server), "other");
		return;
	}
	snprintf(b->command, sizeof(b->command), "%s", t->command);
	const char *dot = strchr(t->ns, '.');
	if (dot)
		snprintf(b->database, sizeof(b->database), "%.*s", (int)(dot - t->ns), t->ns);
	/* Micrometer's word for a command that names no collection */
	snprintf(b->collection, sizeof(b->collection), "%s",
		 dot ? dot + 1 : t->ns[0] ? t->ns : "unknown");
	snprintf(b->server, sizeof(b->server), "%s", t->server[0] ? t->server : "unknown");
}

static int cmp_target(const void *a, const void *b)
{
	const struct by_target *x = a, *y = b;
	int d = strcmp(x->status, y->status);
	if (!d)
		d = strcmp(x->command, y->command);
	if (!d)
		d = strcmp(x->database, y->database);
	if (!d)
		d = strcmp(x->collection, y->collection);
	return d ? d : strcmp(x->server, y->server);
}

/* p's series of m by tuple; keys whose names give the same labels (a host
 * name cut to a key's length, the producers' own "other" keys) are summed, so
 * that no label set is written twice */
static void target_family(struct ctx *x, const struct mongo_family *m, const struct vm_totals *p,
			  int t)
{
	const struct vm_type_totals *ty = &p->types[t];
	struct by_target *b = malloc(ty->nkeys * sizeof(*b));
	if (!b) {
		x->b->oom = 1;
		return;
	}
	uint32_t n = 0;
	for (uint32_t k = 0; k < ty->nkeys; k++) {
		if (!ty->keys[k].target)
			continue;
		target_labels(&b[n], ty->keys[k].target);
		b[n++].s = ty->keys[k];
	}
	qsort(b, n, sizeof(*b), cmp_target);
	for (uint32_t i = 0; i < n;) {
		uint32_t j = i + 1;
		for (; j < n && cmp_target(&b[i], &b[j]) == 0; j++)
			vm_series_add(&b[i].s, &b[j].s, x->c->nbounds);
		char pid[16];
		struct labels l;
		proc_labels(&l, p, pid, sizeof(pid));
		lbl(&l, "command", b[i].command);
		lbl(&l, "database", b[i].database);
		lbl(&l, "collection", b[i].collection);
		lbl(&l, "server_address", b[i].server);
		lbl(&l, "status", b[i].status);
		mongo_sample(x, m, &l, &b[i].s);
		i = j;
	}
	free(b);
}

static void mongo_family(struct ctx *x, const struct mongo_family *m)
{
	if (!family_present(x, m))
		return;
	family(x, m->name, m->kind, m->unit, m->help);
	for (size_t i = 0; i < x->n; i++) {
		const struct vm_totals *p = x->procs[i];
		int tt = m->by_target ? target_type(p) : -1;
		if (tt >= 0) {
			target_family(x, m, p, tt);
			continue;
		}
		for (int si = 0; si < 2 && m->src[si].type; si++) {
			const struct source *src = &m->src[si];
			int t = vm_totals_type(p, src->type);
			if (t < 0)
				continue;
			const struct vm_type_totals *ty = &p->types[t];
			if (!ty->keyed) {
				/* keys not exported (--keys): the type's total, without the
				 * key's label; a family that leaves a key out cannot be told */
				if (src->skip_key)
					continue;
				char pid[16];
				struct labels l;
				proc_labels(&l, p, pid, sizeof(pid));
				if (src->extra[0])
					lbl(&l, src->extra[0], src->extra[1]);
				mongo_sample(x, m, &l, &ty->all);
				continue;
			}
			for (uint32_t k = 0; k < ty->nkeys; k++) {
				const struct vm_series *s = &ty->keys[k];
				if (src->skip_key && strcmp(s->key, src->skip_key) == 0)
					continue;
				char pid[16], db[RB_KEY_LEN];
				struct labels l;
				proc_labels(&l, p, pid, sizeof(pid));
				const char *coll = s->key;
				if (src->split_ns) {
					const char *dot = strchr(s->key, '.');
					snprintf(db, sizeof(db), "%.*s", dot ? (int)(dot - s->key) : 0, s->key);
					lbl(&l, "database", db);
					coll = dot ? dot + 1 : s->key;
				}
				lbl(&l, src->label, coll);
				if (src->extra[0])
					lbl(&l, src->extra[0], src->extra[1]);
				mongo_sample(x, m, &l, s);
			}
		}
	}
}

/* clients checked out of pools now: ok checkouts minus checkins */
static void pool_checkedout(struct ctx *x)
{
	int any = 0;
	for (size_t i = 0; i < x->n; i++) {
		const struct vm_totals *p = x->procs[i];
		int co = vm_totals_type(p, "pool.checkout"), ci = vm_totals_type(p, "pool.checkin");
		if (co < 0 || ci < 0)
			continue;
		uint64_t ok = 0;
		const struct vm_type_totals *ty = &p->types[co];
		for (uint32_t k = 0; k < ty->nkeys; k++)
			if (strcmp(ty->keys[k].key, "ok") == 0)
				ok = ty->keys[k].count;
		if (!ty->keyed)
			continue;
		if (!any++)
			family(x, "mongodb_driver_pool_checkedout", GAUGE, NULL,
			       "Clients checked out of the process's pools now (successful "
			       "checkouts minus checkins, all pools of the process).");
		char pid[16];
		struct labels l;
		proc_labels(&l, p, pid, sizeof(pid));
		uint64_t in = p->types[ci].all.count;
		sample_u64(x, "mongodb_driver_pool_checkedout", "", &l, ok > in ? ok - in : 0);
	}
}

/* ---- the exporter's own ---- */

static void exporter(struct ctx *x, const struct om_exporter *ex)
{
	struct labels none = {0};
	family(x, "ringmon_export_scrapes", COUNTER, NULL, "Scrapes this exporter answered.");
	sample_u64(x, "ringmon_export_scrapes", "_total", &none, ex->scrapes);
	family(x, "ringmon_export_producers", GAUGE, NULL,
	       "Producers in this scrape: live ones, and those that exited or died within "
	       "--linger seconds.");
	sample_u64(x, "ringmon_export_producers", "", &none, x->n);
	family(x, "ringmon_export_skipped_segments", GAUGE, NULL,
	       "Segments not exported in this scrape: reason other_user (the exporter reads "
	       "only its own user's segments and refuses others: run one exporter per user) or "
	       "unreadable (corrupt, truncated, or another layout version).");
	struct labels l = {0};
	lbl(&l, "reason", "other_user");
	sample_u64(x, "ringmon_export_skipped_segments", "", &l, ex->skipped_other_user);
	l.n = 0;
	lbl(&l, "reason", "unreadable");
	sample_u64(x, "ringmon_export_skipped_segments", "", &l, ex->skipped_unreadable);
	family(x, "ringmon_export_scrape_duration_seconds", GAUGE, "seconds",
	       "How long the previous scrape took to read the segments and format them.");
	struct om_buf lt = {0};
	put_name(x, "ringmon_export_scrape_duration_seconds", "", &lt, NULL);
	putf(x->b, "%.6f\n", ex->last_scrape_s);
}

int om_write(struct om_buf *b, enum om_format f, const struct vm_totals *const *procs, size_t n,
	     const struct vm_totals_config *c, const struct om_exporter *ex)
{
	struct ctx x = {b, f, procs, n, c, {{0}}};
	for (uint32_t i = 0; i < c->nbounds; i++) {
		struct om_buf le = {0};
		puts_(&le, ",le=\"");
		put_seconds(&le, c->bound_ns[i]);
		puts_(&le, "\"");
		snprintf(x.le[i], sizeof(x.le[i]), "%s", le.oom ? "" : le.p);
		om_buf_free(&le);
	}
	generic(&x);
	for (size_t i = 0; i < sizeof(mongo) / sizeof(mongo[0]); i++)
		mongo_family(&x, &mongo[i]);
	pool_checkedout(&x);
	if (ex)
		exporter(&x, ex);
	if (f == OM_OPENMETRICS)
		puts_(b, "# EOF\n");
	return b->oom ? -ENOMEM : 0;
}
