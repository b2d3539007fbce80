/* test_openmetrics.c - what `ringmon export` and `stats --format openmetrics`
 * publish, from a real segment of this process: exact counters, folded
 * histograms whose bounds are bucket edges, keys past the limit under "other",
 * escaped labels, one block per family, and the format a client's Accept
 * header gets. Prometheus itself reads it in e2e_export.sh. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "helper_common.h"
#include "hist.h"
#include "model.h"
#include "openmetrics.h"
#include <ringmon/ringmon.h>
#include "totals.h"

static struct vm_proc proc;
static struct vm_totals_config cfg;
static char lbl[128]; /* pid="P",process="N" */

/* db.query: key a 10 x 5 us, key b 3 x 2 ms + 1 x 20 s, key c none yet, 7
 * without a key at 80 us (every duration well inside two default bounds); plain: 4 untimed events, no key; many: keys k1..k5 one event each;
 * odd: one event keyed q"uo\te, one keyed dup<newline>x and one dup\x0ax
 *      (a backslash, not a byte 0x0a) */
static int setup(void **state)
{
	th_private_dir();
	assert_int_equal(ringmon_open(1024), 0);
	static const char *f[] = {"rows"};
	int q = ringmon_type_register("db.query", f, 1);
	int plain = ringmon_type_register("plain", NULL, 0);
	int many = ringmon_type_register("many", NULL, 0);
	int odd = ringmon_type_register("odd", NULL, 0);
	int a = ringmon_key(q, "a"), b = ringmon_key(q, "b");
	(void)ringmon_key(q, "c");
	for (int i = 0; i < 10; i++)
		ringmon_emit(q, a, 5000, 1, 0, 0, 0);
	for (int i = 0; i < 3; i++)
		ringmon_emit(q, b, 2000000, 1, 0, 0, 0);
	ringmon_emit(q, b, 20000000000ull, 1, 0, 0, 0);
	for (int i = 0; i < 7; i++)
		ringmon_emit(q, 0, 80000, 1, 0, 0, 0);
	for (int i = 0; i < 4; i++)
		ringmon_emit(plain, 0, RB_NO_DURATION, 0, 0, 0, 0);
	for (int i = 1; i <= 5; i++) {
		char name[8];
		snprintf(name, sizeof(name), "k%d", i);
		ringmon_emit(many, ringmon_key(many, name), RB_NO_DURATION, 0, 0, 0, 0);
	}
	ringmon_emit(odd, ringmon_key(odd, "q\"uo\\te"), RB_NO_DURATION, 0, 0, 0, 0);
	ringmon_emit(odd, ringmon_key(odd, "dup\nx"), RB_NO_DURATION, 0, 0, 0, 0);
	ringmon_emit(odd, ringmon_key(odd, "dup\\x0ax"), RB_NO_DURATION, 0, 0, 0, 0);
	char err[RB_ERR_MAX + 64];
	assert_int_equal(vm_attach(&proc, getpid(), err, sizeof(err)), 0);
	snprintf(lbl, sizeof(lbl), "pid=\"%d\",process=\"%s\"", getpid(), proc.v.name);
	vm_totals_config_init(&cfg);
	(void)state;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	vm_detach(&proc);
	ringmon_close();
	th_cleanup_dir();
	return 0;
}

/* the exposition of this process in format f with config c (malloc'd) */
static char *expose(enum om_format f, const struct vm_totals_config *c)
{
	static struct vm_totals t;
	vm_refresh(&proc);
	assert_int_equal(vm_totals_read(&t, &proc, c, NULL), 0);
	const struct vm_totals *list[] = {&t};
	struct om_buf b = {0};
	assert_int_equal(om_write(&b, f, list, 1, c, NULL), 0);
	vm_totals_free(&t);
	return b.p;
}

/* asserts that out has the line "NAME{LBL,REST} VALUE" */
static void has(const char *out, const char *name, const char *rest, const char *value)
{
	char line[512];
	snprintf(line, sizeof(line), "\n%s{%s%s%s} %s\n", name, lbl, rest[0] ? "," : "", rest, value);
	if (!strstr(out, line))
		fail_msg("missing line: %s", line + 1);
}

static uint64_t dist(uint64_t a, uint64_t b)
{
	return a > b ? a - b : b - a;
}

/* the le text of bound b of the default config: seconds, trailing zeros cut */
static const char *le(uint32_t b)
{
	static char buf[4][40];
	static int n;
	char *out = buf[n++ % 4];
	uint64_t ns = cfg.bound_ns[b];
	snprintf(out, 40, "le=\"%llu.%09llu", (unsigned long long)(ns / 1000000000),
		 (unsigned long long)(ns % 1000000000));
	size_t len = strlen(out);
	while (out[len - 1] == '0')
		out[--len] = 0;
	if (out[len - 1] == '.')
		out[--len] = 0;
	strcat(out, "\"");
	return out;
}

static void bounds_are_bucket_edges_near_what_was_asked(void **state)
{
	(void)state;
	struct vm_totals_config c;
	vm_totals_config_init(&c);
	assert_int_equal(c.nbounds, vm_default_nbounds);
	for (uint32_t i = 0; i < c.nbounds; i++) {
		uint64_t asked = (uint64_t)(vm_default_bounds_s[i] * 1e9 + 0.5);
		uint32_t x = c.bound_idx[i];
		/* an edge, the nearest one to what was asked, and within 1% of it */
		assert_int_equal(rb_hist_low(x), c.bound_ns[i]);
		uint64_t d = dist(c.bound_ns[i], asked);
		if (x > 0)
			assert_true(d <= dist(rb_hist_low(x - 1), asked));
		if (x + 1 < RB_HIST_BUCKETS)
			assert_true(d <= dist(rb_hist_low(x + 1), asked));
		assert_true(d * 100 <= asked);
	}
	char err[256];
	assert_int_equal(vm_totals_set_bounds(&c, "0.001,0.01,1", err, sizeof(err)), 0);
	assert_int_equal(c.nbounds, 3);
	uint32_t idx;
	assert_int_equal(c.bound_ns[0], vm_bucket_edge(1000000, &idx));
	assert_int_equal(rb_hist_low(c.bound_idx[0]), c.bound_ns[0]);
	assert_int_equal(vm_totals_set_bounds(&c, "0.01,0.001", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "increase"));
	assert_int_equal(vm_totals_set_bounds(&c, "1,1.001", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "same bucket edge"));
	assert_int_equal(vm_totals_set_bounds(&c, "1,x", err, sizeof(err)), -EINVAL);
	assert_int_equal(vm_totals_set_bounds(&c, "1000", err, sizeof(err)), -EINVAL);
	assert_int_equal(c.nbounds, 3); /* unchanged by the failures */
}

/* Accept headers (NULL: none), the format each gets and a part of its
 * Content-Type. */
static const struct {
	const char *accept;
	enum om_format want;
	const char *ct;
} accept_cases[] = {
	/* what Prometheus 2.42 sends */
	{"application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
	 "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
	 OM_OPENMETRICS, "application/openmetrics-text; version=1.0.0"},
	/* Prometheus 3's: our text is 0.0.4, not its text 1.0.0 */
	{"application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,"
	 "application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;"
	 "escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2",
	 OM_OPENMETRICS, "version=1.0.0"},
	/* a client of the draft gets it labelled as the draft, not as 1.0.0 */
	{"application/openmetrics-text; version=0.0.1", OM_OPENMETRICS, "version=0.0.1"},
	{"application/openmetrics-text;version=0.0.1;q=0.75,application/openmetrics-text;"
	 "version=1.0.0", OM_OPENMETRICS, "version=1.0.0"},
	/* a version we do not serve is not served */
	{"application/openmetrics-text;version=2.0.0, text/plain", OM_PROMETHEUS,
	 "text/plain; version=0.0.4"},
	{"text/plain;version=1.0.0", OM_PROMETHEUS, "version=0.0.4"},
	/* the highest q wins, wherever it is */
	{"application/openmetrics-text;q=0.5, text/plain;q=0.9", OM_PROMETHEUS, "text/plain"},
	{"text/plain;version=0.0.4", OM_PROMETHEUS, "version=0.0.4"},
	{"*/*", OM_PROMETHEUS, "version=0.0.4"},
	{NULL, OM_PROMETHEUS, "version=0.0.4"},
	{"application/json", OM_PROMETHEUS, "version=0.0.4"},
	{"application/openmetrics-text; q=0, text/plain", OM_PROMETHEUS, "text/plain"},
	{"Application/OpenMetrics-Text", OM_OPENMETRICS, "version=1.0.0"},
	/* quoted values, and a ';' or ',' inside quotes, are values */
	{"application/openmetrics-text;version=\"1.0.0\"", OM_OPENMETRICS, "version=1.0.0"},
	{"application/openmetrics-text; version=\"0.0.1\"", OM_OPENMETRICS, "version=0.0.1"},
	{"text/plain;q=0.1,application/openmetrics-text;foo=\"x;q=0\"", OM_OPENMETRICS,
	 "version=1.0.0"},
	{"application/openmetrics-text;foo=\"a,text/plain\";q=0.2,text/plain;q=0.1",
	 OM_OPENMETRICS, "version=1.0.0"},
	/* a q that is not a qvalue (RFC 9110: 0 to 1, 3 decimals) ignores its range */
	{"text/plain;q=inf,application/openmetrics-text;q=0.9", OM_OPENMETRICS, "1.0.0"},
	{"text/plain;q=1.5,application/openmetrics-text;q=0.9", OM_OPENMETRICS, "1.0.0"},
	{"text/plain;q=0.5x,application/openmetrics-text;q=0.1", OM_OPENMETRICS, "1.0.0"},
	{"text/plain;q=,application/openmetrics-text;q=0.1", OM_OPENMETRICS, "1.0.0"},
	{"application/openmetrics-text;q=abc", OM_PROMETHEUS, "version=0.0.4"},
	{"application/openmetrics-text;q=1.000, text/plain;q=0.999", OM_OPENMETRICS, "1.0.0"},
	/* wildcards: application/ anything is OpenMetrics; on a tie the specific wins */
	{"application/*", OM_OPENMETRICS, "version=1.0.0"},
	{"text/*;q=0.5,application/*;q=0.5", OM_OPENMETRICS, "version=1.0.0"},
	{"*/*,text/plain;version=0.0.4", OM_PROMETHEUS, "version=0.0.4"},
	{"application/*,application/openmetrics-text;version=0.0.1", OM_OPENMETRICS, "version=0.0.1"},
};

static void the_accept_header_picks_the_format(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(accept_cases) / sizeof(accept_cases[0]); i++) {
		const char *a = accept_cases[i].accept, *ct = NULL;
		enum om_format got = om_negotiate(a, &ct);
		if (got != accept_cases[i].want || !ct || !strstr(ct, accept_cases[i].ct))
			fail_msg("Accept: %s: got format %d, %s; want %d, %s", a ? a : "(none)",
				 (int)got, ct ? ct : "(none)", (int)accept_cases[i].want,
				 accept_cases[i].ct);
	}
	assert_int_equal(om_negotiate("application/openmetrics-text", NULL), OM_OPENMETRICS);
	assert_non_null(strstr(om_content_type(OM_OPENMETRICS), "application/openmetrics-text"));
	assert_non_null(strstr(om_content_type(OM_PROMETHEUS), "version=0.0.4"));
}

static void counters_are_the_producers_exact_totals(void **state)
{
	(void)state;
	char *out = expose(OM_PROMETHEUS, &cfg);
	has(out, "ringmon_events_total", "type=\"db.query\",key=\"a\"", "10");
	has(out, "ringmon_events_total", "type=\"db.query\",key=\"b\"", "4");
	has(out, "ringmon_events_total", "type=\"db.query\"", "7"); /* no key */
	has(out, "ringmon_events_total", "type=\"plain\"", "4");
	has(out, "ringmon_records_written_total", "", "33");
	has(out, "ringmon_producer_up", "", "1");
	has(out, "ringmon_event_type_enabled", "type=\"plain\"", "1");
	free(out);
}

static void histograms_are_cumulative_and_exact_at_every_bound(void **state)
{
	(void)state;
	char *out = expose(OM_PROMETHEUS, &cfg);
	const char *h = "ringmon_event_duration_seconds_bucket";
	char l[128];
	/* default bounds: 0 10us, 2 50us, 3 100us, 6 1ms, 7 2.5ms, 14 10s */
	assert_int_equal(vm_default_nbounds, 15);
	/* 5 us: below the first bound */
	snprintf(l, sizeof(l), "type=\"db.query\",key=\"a\",%s", le(0));
	has(out, h, l, "10");
	/* 2 ms: between the 1 ms and the 2.5 ms bounds; 20 s above every bound */
	snprintf(l, sizeof(l), "type=\"db.query\",key=\"b\",%s", le(6));
	has(out, h, l, "0");
	snprintf(l, sizeof(l), "type=\"db.query\",key=\"b\",%s", le(7));
	has(out, h, l, "3");
	snprintf(l, sizeof(l), "type=\"db.query\",key=\"b\",%s", le(14));
	has(out, h, l, "3");
	has(out, h, "type=\"db.query\",key=\"b\",le=\"+Inf\"", "4");
	has(out, "ringmon_event_duration_seconds_count", "type=\"db.query\",key=\"b\"", "4");
	has(out, "ringmon_event_duration_seconds_sum", "type=\"db.query\",key=\"b\"", "20.006");
	/* the 7 events without a key at 80 us: between the 50 us and 100 us bounds */
	snprintf(l, sizeof(l), "type=\"db.query\",%s", le(2));
	has(out, h, l, "0");
	snprintf(l, sizeof(l), "type=\"db.query\",%s", le(3));
	has(out, h, l, "7");
	has(out, "ringmon_event_duration_seconds_sum", "type=\"db.query\"", "0.00056");
	/* a key of a timed type without events yet: a histogram of zeros, as its
	 * ringmon_events_total is 0, not a series that appears later */
	has(out, "ringmon_events_total", "type=\"db.query\",key=\"c\"", "0");
	has(out, h, "type=\"db.query\",key=\"c\",le=\"+Inf\"", "0");
	has(out, "ringmon_event_duration_seconds_count", "type=\"db.query\",key=\"c\"", "0");
	/* untimed types have no histogram */
	char none[256];
	snprintf(none, sizeof(none), "ringmon_event_duration_seconds_count{%s,type=\"plain\"}", lbl);
	assert_null(strstr(out, none));
	free(out);
}

static void keys_past_the_limit_are_counted_under_other(void **state)
{
	(void)state;
	struct vm_totals_config c = cfg;
	c.max_keys = 2;
	char *out = expose(OM_PROMETHEUS, &c);
	has(out, "ringmon_events_total", "type=\"many\",key=\"k1\"", "1");
	has(out, "ringmon_events_total", "type=\"many\",key=\"k2\"", "1");
	has(out, "ringmon_events_total", "type=\"many\",key=\"other\"", "3");
	has(out, "ringmon_export_folded_keys", "type=\"many\"", "3");
	assert_null(strstr(out, "key=\"k3\""));
	assert_non_null(strstr(out, "first 2 of a type (--max-keys) are counted under key=\"other\""));
	free(out);
	/* --keys none: one series per type */
	char err[128];
	assert_int_equal(vm_totals_set_keys(&c, "none", err, sizeof(err)), 0);
	out = expose(OM_PROMETHEUS, &c);
	has(out, "ringmon_events_total", "type=\"many\"", "5");
	has(out, "ringmon_events_total", "type=\"db.query\"", "21");
	assert_null(strstr(out, ",key=\""));
	free(out);
	/* an empty list or name is a mistake (said), never taken for "none" */
	const char *bad[] = {"", ",", "a,", ",a", "a,,b"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct vm_totals_config was = c;
		assert_int_equal(vm_totals_set_keys(&c, bad[i], err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "separated by commas"));
		assert_memory_equal(&c, &was, sizeof(c)); /* unchanged */
	}
}

static void label_values_are_escaped(void **state)
{
	(void)state;
	char *out = expose(OM_OPENMETRICS, &cfg);
	/* as stats prints the names (a backslash doubled, a newline \x0a), then
	 * the exposition's escaping: two names never one label value */
	has(out, "ringmon_events_total", "type=\"odd\",key=\"q\\\"uo\\\\\\\\te\"", "1");
	has(out, "ringmon_events_total", "type=\"odd\",key=\"dup\\\\x0ax\"", "1");
	has(out, "ringmon_events_total", "type=\"odd\",key=\"dup\\\\\\\\x0ax\"", "1");
	free(out);
}

/* every family once, its samples right after its TYPE line; OpenMetrics
 * names counters without _total and ends with # EOF */
static void check_blocks(const char *out, enum om_format f)
{
	char family[128] = "", seen[8192] = " ";
	const char *p = out;
	while (*p) {
		const char *eol = strchr(p, '\n');
		assert_non_null(eol);
		char line[1024];
		snprintf(line, sizeof(line), "%.*s", (int)(eol - p), p);
		char name[128], kind[32];
		if (sscanf(line, "# TYPE %127s %31s", name, kind) == 2) {
			char key[140];
			snprintf(key, sizeof(key), " %s ", name);
			if (strstr(seen, key))
				fail_msg("family %s twice", name);
			strncat(seen, key + 1, sizeof(seen) - strlen(seen) - 1);
			snprintf(family, sizeof(family), "%s", name);
			size_t n = strlen(name);
			int total = n > 6 && strcmp(name + n - 6, "_total") == 0;
			if (strcmp(kind, "counter") == 0)
				assert_int_equal(total, f == OM_PROMETHEUS);
		} else if (line[0] != '#') {
			if (strncmp(line, family, strlen(family)) != 0)
				fail_msg("sample outside its family %s: %s", family, line);
		}
		p = eol + 1;
	}
	size_t len = strlen(out);
	if (f == OM_OPENMETRICS)
		assert_string_equal(out + len - 6, "# EOF\n");
	else
		assert_null(strstr(out, "# EOF"));
}

static void each_family_is_one_block_in_both_formats(void **state)
{
	(void)state;
	char *out = expose(OM_OPENMETRICS, &cfg);
	check_blocks(out, OM_OPENMETRICS);
	assert_non_null(strstr(out, "# UNIT ringmon_event_duration_seconds seconds\n"));
	free(out);
	out = expose(OM_PROMETHEUS, &cfg);
	check_blocks(out, OM_PROMETHEUS);
	assert_null(strstr(out, "# UNIT"));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bounds_are_bucket_edges_near_what_was_asked),
		cmocka_unit_test(the_accept_header_picks_the_format),
		cmocka_unit_test(counters_are_the_producers_exact_totals),
		cmocka_unit_test(histograms_are_cumulative_and_exact_at_every_bound),
		cmocka_unit_test(keys_past_the_limit_are_counted_under_other),
		cmocka_unit_test(label_values_are_escaped),
		cmocka_unit_test(each_family_is_one_block_in_both_formats),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
