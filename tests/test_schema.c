/* test_schema.c - the MongoDB schema (schema/mongo_schema.h) against what
 * docs/mongodb.md tells users and what the mock server names codes; the names
 * readers print; and names escaped for output (viewer/escape.h). Run from the
 * project root (tests/run.sh does). */
#define _GNU_SOURCE
#include <locale.h>
#include <regex.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "escape.h"
#include "mongo_schema.h"

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		fail_msg("cannot read %s (run from the project root)", path);
	static char buf[1 << 18];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	return strdup(buf);
}

/* the doc's line starting with prefix, through the end of its paragraph or item */
static char *doc_item(const char *doc, const char *prefix)
{
	const char *p = strstr(doc, prefix);
	if (!p)
		fail_msg("docs/mongodb.md has no \"%s\"", prefix);
	const char *end = p + strlen(prefix);
	while (*end && !(end[0] == '\n' && (end[1] == '\n' || end[1] == '-')))
		end++;
	return strndup(p, (size_t)(end - p));
}

/* the "N `Name`" pairs of text, in order, checked against name_of(N) and
 * counted: the doc names exactly the values the schema names */
static void check_enum(const char *doc, const char *prefix, const char *(*name_of)(int64_t),
		       int64_t lo, int64_t hi)
{
	char *item = doc_item(doc, prefix);
	regex_t re;
	assert_int_equal(regcomp(&re, "(-?[0-9]+) `([A-Za-z_]+)`", REG_EXTENDED), 0);
	regmatch_t m[3];
	int n = 0;
	for (const char *s = item; regexec(&re, s, 3, m, 0) == 0; s += m[0].rm_eo) {
		int64_t v = strtoll(s + m[1].rm_so, NULL, 10);
		char name[64];
		snprintf(name, sizeof(name), "%.*s", (int)(m[2].rm_eo - m[2].rm_so), s + m[2].rm_so);
		const char *want = name_of(v);
		if (!want || strcmp(want, name) != 0)
			fail_msg("%s: docs say %lld `%s`, the schema %s", prefix, (long long)v, name,
				 want ? want : "(no name)");
		n++;
	}
	int64_t named = 0;
	for (int64_t v = lo; v <= hi; v++)
		named += name_of(v) != NULL;
	if (n != named)
		fail_msg("%s: docs name %d values, the schema %lld", prefix, n, (long long)named);
	regfree(&re);
	free(item);
}

static void docs_list_every_type_with_its_fields(void **state)
{
	(void)state;
	char *doc = slurp("docs/mongodb.md");
	regex_t row, tick;
	assert_int_equal(regcomp(&row, "^\\| `([a-z_.]+)` \\|[^|]*\\|[^|]*\\|([^\n]*)\\|$",
				 REG_EXTENDED | REG_NEWLINE), 0);
	assert_int_equal(regcomp(&tick, "`([a-z_]+)`", REG_EXTENDED), 0);
	int seen[MS_NTYPES] = {0}, rows = 0;
	regmatch_t m[3];
	for (const char *s = doc; regexec(&row, s, 3, m, 0) == 0; s += m[0].rm_eo) {
		char type[64];
		snprintf(type, sizeof(type), "%.*s", (int)(m[1].rm_eo - m[1].rm_so), s + m[1].rm_so);
		const struct ms_type *t = ms_type_by_name(type);
		if (!t)
			fail_msg("docs/mongodb.md lists `%s`, which the schema does not have", type);
		seen[t - ms_types]++;
		rows++;
		/* the field column's backticked names, in order */
		char *fields = strndup(s + m[2].rm_so, (size_t)(m[2].rm_eo - m[2].rm_so));
		unsigned nf = 0;
		regmatch_t f[2];
		for (const char *p = fields; regexec(&tick, p, 2, f, 0) == 0; p += f[0].rm_eo) {
			char name[64];
			snprintf(name, sizeof(name), "%.*s", (int)(f[1].rm_eo - f[1].rm_so), p + f[1].rm_so);
			if (nf >= t->nfields || strcmp(t->field[nf].name, name) != 0)
				fail_msg("%s: docs give field %u as `%s`, the schema %s", type, nf, name,
					 nf < t->nfields ? t->field[nf].name : "(none)");
			nf++;
		}
		if (nf != t->nfields)
			fail_msg("%s: docs list %u fields, the schema %u", type, nf, t->nfields);
		free(fields);
	}
	for (int i = 0; i < MS_NTYPES; i++)
		if (seen[i] != 1)
			fail_msg("docs/mongodb.md lists `%s` %d times", ms_types[i].name, seen[i]);
	assert_int_equal(rows, MS_NTYPES);
	regfree(&row);
	regfree(&tick);
	free(doc);
}

static void docs_name_every_enumerated_value(void **state)
{
	(void)state;
	char *doc = slurp("docs/mongodb.md");
	check_enum(doc, "- **Server types**", ms_server_type_name, -1, 64);
	check_enum(doc, "- **Topology types**", ms_topology_type_name, -1, 64);
	check_enum(doc, "- **Checkout outcomes**", ms_outcome_name, -1, 64);
	check_enum(doc, "- **Error origins**", ms_origin_name, -1, 64);
	check_enum(doc, "- **Connection close reasons**", ms_close_reason_name, -1, 64);
	check_enum(doc, "- **Error domains**", ms_domain_name, -1, 64);
	free(doc);
}

/* every "| N | `Name` |" row of text under heading is the table's, and the table
 * has no more entries than there are rows */
static void docs_and_mock_name_codes_as_the_schema(void **state)
{
	(void)state;
	char *doc = slurp("docs/mongodb.md");
	const char *sec = strstr(doc, "### Server error codes");
	assert_non_null(sec);
	regex_t re;
	assert_int_equal(regcomp(&re, "^\\| ([0-9]+) \\| `([A-Za-z0-9]+)` \\|$", REG_EXTENDED | REG_NEWLINE), 0);
	regmatch_t m[3];
	size_t rows = 0;
	for (const char *s = sec; regexec(&re, s, 3, m, 0) == 0; s += m[0].rm_eo) {
		int64_t code = strtoll(s + m[1].rm_so, NULL, 10);
		const char *want = ms_server_code_name(code);
		int len = (int)(m[2].rm_eo - m[2].rm_so);
		if (!want || (int)strlen(want) != len || strncmp(want, s + m[2].rm_so, (size_t)len) != 0)
			fail_msg("code %lld: docs say %.*s, the schema %s", (long long)code, len,
				 s + m[2].rm_so, want ? want : "(none)");
		rows++;
	}
	assert_int_equal(rows, ms_server_codes());
	regfree(&re);
	free(doc);
	/* the mock server names codes as a real server does: as the schema does */
	char *mock = slurp("tests/mongo/mockserver.py");
	const char *tbl = strstr(mock, "CODE_NAMES = {");
	assert_non_null(tbl);
	const char *end = strstr(tbl, "}\n");
	assert_int_equal(regcomp(&re, "([0-9]+): '([A-Za-z0-9]+)'", REG_EXTENDED), 0);
	int n = 0;
	for (const char *s = tbl; regexec(&re, s, 3, m, 0) == 0 && s + m[0].rm_so < end; s += m[0].rm_eo) {
		int64_t code = strtoll(s + m[1].rm_so, NULL, 10);
		const char *want = ms_server_code_name(code);
		int len = (int)(m[2].rm_eo - m[2].rm_so);
		if (!want || strncmp(want, s + m[2].rm_so, (size_t)len) != 0 || want[len])
			fail_msg("mockserver.py names %lld %.*s, the schema %s", (long long)code, len,
				 s + m[2].rm_so, want ? want : "(none)");
		n++;
	}
	assert_true(n >= 20);
	regfree(&re);
	free(mock);
}

static void errors_are_named_as_users_know_them(void **state)
{
	(void)state;
	char b[64];
	assert_string_equal(ms_server_error_name(11000, NULL, 0, b, sizeof(b)), "DuplicateKey(11000)");
	assert_string_equal(ms_server_error_name(10107, NULL, 0, b, sizeof(b)), "NotWritablePrimary(10107)");
	/* the reply's codeName wins; a codeName that is not a word does not */
	assert_string_equal(ms_server_error_name(2, "NewName", 7, b, sizeof(b)), "NewName(2)");
	assert_string_equal(ms_server_error_name(2, "Bad\x1bName", 8, b, sizeof(b)), "BadValue(2)");
	assert_string_equal(ms_server_error_name(0, NULL, 0, b, sizeof(b)), "server error (no code)");
	/* a codeName without a code is named, without a made-up "(0)" */
	assert_string_equal(ms_server_error_name(0, "NamespaceNotFound", 17, b, sizeof(b)), "NamespaceNotFound");
	assert_string_equal(ms_server_error_name(424242, NULL, 0, b, sizeof(b)), "server error 424242");
	/* long codeNames whole while name and code fit a key (55 bytes); past
	 * that the name is cut with "..." and the code kept whole */
	assert_string_equal(ms_server_error_name(282, "TransactionCoordinatorReachedAbortDecision", 42, b,
						 sizeof(b)), "TransactionCoordinatorReachedAbortDecision(282)");
	assert_string_equal(ms_server_error_name(338, "ReshardingCoordinatorServiceConflictingOperationInProgress",
						 58, b, sizeof(b)),
			    "ReshardingCoordinatorServiceConflictingOperatio...(338)");
	assert_int_equal(strlen(b), 55);
	assert_string_equal(ms_server_error_name(0, "ReshardingCoordinatorServiceConflictingOperationInProgress",
						 58, b, sizeof(b)),
			    "ReshardingCoordinatorServiceConflictingOperationInPr...");
	/* exactly 55 bytes: whole */
	assert_string_equal(ms_server_error_name(7, "A23456789B23456789C23456789D23456789E23456789F234567", 52,
						 b, sizeof(b)),
			    "A23456789B23456789C23456789D23456789E23456789F234567(7)");
	assert_int_equal(strlen(b), 55);
	char huge[300];
	memset(huge, 'x', sizeof(huge));
	assert_string_equal(ms_server_error_name(11000, huge, sizeof(huge), b, sizeof(b)), "DuplicateKey(11000)");
	/* a small buffer is never overrun */
	char small[12];
	assert_string_equal(ms_server_error_name(11000, NULL, 0, small, sizeof(small)), "D...(11000)");
	assert_string_equal(ms_driver_error_name(2, 4, "Failed to read 4 bytes: socket error or timeout", b,
						 sizeof(b)), "socket error or timeout");
	assert_string_equal(ms_driver_error_name(2, 4, "connection closed", b, sizeof(b)), "connection closed");
	assert_string_equal(ms_driver_error_name(15, 13053, NULL, b, sizeof(b)), "server selection failed");
	assert_string_equal(ms_driver_error_name(2, 99, NULL, b, sizeof(b)), "stream error 99");
	assert_string_equal(ms_driver_error_name(77, 3, NULL, b, sizeof(b)), "driver error 77.3");
	/* as command.failed carries them: server domains hold the server's code,
	 * 17 being libmongoc's "no code" */
	assert_string_equal(ms_error_name(-1, 5, 18, b, sizeof(b)), "AuthenticationFailed(18)");
	assert_string_equal(ms_error_name(-1, 17, 13, b, sizeof(b)), "Unauthorized(13)");
	assert_string_equal(ms_error_name(-1, 5, 17, b, sizeof(b)), "server error (no code)");
	assert_string_equal(ms_error_name(-1, 16, 64, b, sizeof(b)), "WriteConcernFailed(64)");
	assert_string_equal(ms_error_name(-1, 2, 4, b, sizeof(b)), "socket error or timeout");
	/* every name fits a key (55 bytes) */
	const char *name;
	for (size_t i = 0; i < ms_server_codes(); i++) {
		int64_t code = ms_server_code_at(i, &name);
		assert_true(strlen(ms_server_error_name(code, NULL, 0, b, sizeof(b))) <= 55);
	}
}

static const char *value(const char *type, const char *const *names, unsigned n, unsigned i,
			 const int64_t *f, int json)
{
	static char b[64];
	return ms_value_name(type, names, n, i, f, json, b, sizeof(b));
}

static void readers_print_values_by_name(void **state)
{
	(void)state;
	const char *chg[] = {"prev_type", "new_type", "rtt_ms", "topology_id"};
	int64_t f[4] = {0, MS_SRV_RS_PRIMARY, -1, 77};
	assert_string_equal(value("server.changed", chg, 4, 1, f, 0), "RSPrimary");
	assert_string_equal(value("server.changed", chg, 4, 0, f, 0), "Unknown");
	assert_string_equal(value("server.changed", chg, 4, 2, f, 0), "-");
	assert_null(value("server.changed", chg, 4, 2, f, 1)); /* JSON: -1 stays a number */
	assert_null(value("server.changed", chg, 4, 3, f, 0)); /* ids are numbers */
	/* fields that are not the schema's: trusted nowhere */
	const char *other[] = {"prev_type", "new_type", "rtt_us", "topology_id"};
	assert_null(value("server.changed", other, 4, 1, f, 0));
	assert_null(value("synthetic.op", chg, 4, 1, f, 0));
	const char *co[] = {"outcome", "in_use", "pool_id", "blocking"};
	int64_t c[4] = {MS_OUT_TIMEOUT, 3, 1, 1};
	assert_string_equal(value("pool.checkout", co, 4, 0, c, 0), "timeout");
	const char *er[] = {"code", "domain", "origin", "request_id"};
	int64_t e[4] = {11000, 0, MS_ORIGIN_WRITE, 9};
	assert_string_equal(value("command.error", er, 4, 0, e, 0), "DuplicateKey(11000)");
	assert_string_equal(value("command.error", er, 4, 2, e, 0), "write");
	/* no domain: "-" in text, as other values that say none; JSON keeps the 0 alone */
	assert_string_equal(value("command.error", er, 4, 1, e, 0), "-");
	assert_null(value("command.error", er, 4, 1, e, 1));
	int64_t d[4] = {4, 2, MS_ORIGIN_DRIVER, 9};
	assert_string_equal(value("command.error", er, 4, 0, d, 0), "socket error or timeout");
	assert_string_equal(value("command.error", er, 4, 1, d, 0), "stream");
	const char *ns[] = {"ok", "code", "origin", "request_id"};
	int64_t okv[4] = {1, 0, -1, 5};
	assert_null(value("command.ns", ns, 4, 1, okv, 0)); /* no error: a number */
	assert_string_equal(value("command.ns", ns, 4, 2, okv, 0), "none");
	/* the CMAP events of pymongo: close reasons and checkout-failed outcomes by name */
	const char *cc[] = {"reason", "conn_id", "pool_id"};
	int64_t stale[3] = {MS_CLOSE_STALE, 4, 1}, pc[3] = {MS_CLOSE_POOL_CLOSED, 4, 1};
	assert_string_equal(value("connection.closed", cc, 3, 0, stale, 0), "stale");
	assert_string_equal(value("connection.closed", cc, 3, 0, pc, 1), "poolClosed");
	assert_null(value("connection.closed", cc, 3, 1, pc, 0));
	assert_int_equal(ms_close_reason_value("error"), MS_CLOSE_ERROR);
	assert_int_equal(ms_close_reason_value("nonsense"), -1);
	int64_t ce[4] = {MS_OUT_CONNECTION_ERROR, 0, 2, 1};
	assert_string_equal(value("pool.checkout", co, 4, 0, ce, 0), "connectionError");
	assert_int_equal(ms_outcome_value("poolClosed"), MS_OUT_POOL_CLOSED);
	/* which commands are sensitive, name collections, are the handshake */
	assert_int_equal(ms_command_class("saslStart"), MS_CMD_SENSITIVE);
	assert_int_equal(ms_command_class("CREATEUSER"), MS_CMD_SENSITIVE);
	assert_int_equal(ms_command_class("isMaster"), MS_CMD_HELLO);
	assert_int_equal(ms_command_class("find"), MS_CMD_COLL);
	assert_int_equal(ms_command_class("getMore"), MS_CMD_GETMORE);
	assert_int_equal(ms_command_class("bulkWrite"), MS_CMD_BULKWRITE); /* nErrors, not writeErrors */
	assert_int_equal(ms_command_class("renameCollection"), MS_CMD_FULLNS);
	assert_int_equal(ms_command_class("ping"), MS_CMD_PLAIN);
	/* types register exactly their fields */
	for (int i = 0; i < MS_NTYPES; i++)
		for (unsigned k = 0; k < MS_NFIELDS; k++)
			assert_true(k < ms_types[i].nfields ? ms_types[i].field[k].name != NULL
							    : ms_types[i].field[k].name == NULL);
}

static const char *esc(const char *raw, enum esc_mode m)
{
	static char b[256];
	return esc_name(raw, m, b, sizeof(b));
}

static void names_escape_injectively(void **state)
{
	(void)state;
	assert_string_equal(esc("shop.café", ESC_UTF8), "shop.café");
	assert_string_equal(esc("shop.注文", ESC_UTF8), "shop.注文");
	assert_string_equal(esc("shop.café", ESC_ASCII), "shop.caf\\xc3\\xa9");
	assert_string_equal(esc("shop.cafè", ESC_ASCII), "shop.caf\\xc3\\xa8");
	/* invalid UTF-8, control bytes, C1 and bidirectional controls */
	assert_string_equal(esc("a\xff" "b", ESC_UTF8), "a\\xffb");
	assert_string_equal(esc("\x1b[31mred", ESC_UTF8), "\\x1b[31mred");
	assert_string_equal(esc("x\xc2\x85y", ESC_UTF8), "x\\xc2\\x85y");
	assert_string_equal(esc("evil\xe2\x80\xaetxt", ESC_UTF8), "evil\\xe2\\x80\\xaetxt");
	assert_string_equal(esc("\xc0\xaf", ESC_UTF8), "\\xc0\\xaf"); /* overlong */
	/* characters that show nothing would print a name like another: zero-width
	 * space, soft hyphen, word joiner, BOM, a variation selector, a tag */
	assert_string_equal(esc("e\xe2\x80\x8bz", ESC_UTF8), "e\\xe2\\x80\\x8bz");
	assert_string_equal(esc("e\xc2\xadz", ESC_UTF8), "e\\xc2\\xadz");
	assert_string_equal(esc("e\xe2\x81\xa0z", ESC_UTF8), "e\\xe2\\x81\\xa0z");
	assert_string_equal(esc("\xef\xbb\xbfz", ESC_UTF8), "\\xef\\xbb\\xbfz");
	assert_string_equal(esc("e\xef\xb8\x8fz", ESC_UTF8), "e\\xef\\xb8\\x8fz");
	assert_string_equal(esc("e\xf3\xa0\x80\x81z", ESC_UTF8), "e\\xf3\\xa0\\x80\\x81z");
	/* visible neighbours stay text: the end of Latin-1, a combining accent (NFD) */
	assert_string_equal(esc("\xc2\xac\xc2\xae", ESC_UTF8), "\xc2\xac\xc2\xae");
	assert_string_equal(esc("cafe\xcc\x81", ESC_UTF8), "cafe\xcc\x81");
	/* a backslash is doubled, so "\xff" typed by a program stays apart from 0xff */
	assert_string_equal(esc("a\\xffb", ESC_UTF8), "a\\\\xffb");
	assert_string_not_equal(esc("a\\xffb", ESC_UTF8), "a\\xffb");
	assert_int_equal(esc_len("a\xff", ESC_UTF8), strlen("a\\xff") + 1);
	/* cut at a whole escape or character, never inside one */
	char small[8];
	assert_string_equal(esc_name("ab\xff\xff", ESC_UTF8, small, sizeof(small)), "ab\\xff");
	assert_string_equal(esc_name("abcde注", ESC_UTF8, small, sizeof(small)), "abcde");
	/* the same text for the terminal keeps backslashes (lines already escaped) */
	assert_string_equal(esc_text("a\\b\x07", ESC_UTF8, small, sizeof(small)), "a\\b\\x07");
	/* display width: CJK takes two columns */
	if (setlocale(LC_CTYPE, "C.UTF-8")) {
		assert_int_equal(esc_width("注文", ESC_UTF8), 4);
		assert_int_equal(esc_width("café", ESC_UTF8), 4);
		assert_int_equal(esc_mode(), ESC_UTF8);
	}
	setlocale(LC_CTYPE, "C");
	assert_int_equal(esc_mode(), ESC_ASCII);
}

/* command.target's key: "S.C.N.H" exactly as producers write it ("S.0.0.0"
 * its overflow), anything else refused; its cache hands back what was put, only for the same tuple */
static void target_keys_read_back_exactly_and_nothing_else(void **state)
{
	(void)state;
	char k[MS_TARGET_KEY_LEN];
	struct ms_target t = {3, 7, 2, 1}, u;
	assert_string_equal(ms_target_key(&t, k, sizeof(k)), "1.3.7.2");
	assert_int_equal(ms_target_parse(k, &u), 0);
	assert_memory_equal(&t, &u, sizeof(t));
	struct ms_target big = {UINT32_MAX, UINT32_MAX, UINT32_MAX, 0};
	assert_int_equal(ms_target_parse(ms_target_key(&big, k, sizeof(k)), &u), 0);
	assert_memory_equal(&big, &u, sizeof(big));
	assert_true(strlen(k) < MS_TARGET_KEY_LEN);
	assert_int_equal(ms_target_parse("0.1.0.0", &u), 0);
	assert_int_equal(u.ok, 0);
	/* the overflow of each status: no command, namespace or server */
	assert_int_equal(ms_target_parse(MS_TARGET_OVERFLOW_OK, &u), 0);
	assert_true(u.ok == 1 && u.cmd == 0 && u.ns == 0 && u.server == 0);
	assert_int_equal(ms_target_parse(MS_TARGET_OVERFLOW_FAILED, &u), 0);
	assert_true(u.ok == 0 && u.cmd == 0);
	static const char *const bad[] = {
		"", "1", "1.2.3", "1.2.3.4.5", "2.1.0.0", "1.0.1.0", "1.0.0.1", "1.01.0.0", "1.+1.0.0",
		"1.1.0.0 ", " 1.1.0.0", "1.1.0.4294967296", "1.1.0.99999999999999999999", "-1.1.0.0",
		"1..0.0", "1.1.0.", "1.1.0.x", "1.1.0.0\n", "other", "find shop.orders h:1 ok",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (ms_target_parse(bad[i], &u) == 0)
			fail_msg("'%s' read as a command.target key", bad[i]);
	assert_int_equal(ms_target_parse(NULL, &u), -1);

	static struct ms_target_cache c;
	assert_int_equal(ms_target_cache_get(&c, &t), 0);
	ms_target_cache_put(&c, &t, 42);
	assert_int_equal(ms_target_cache_get(&c, &t), 42);
	struct ms_target other = t;
	other.ok = 0;
	assert_int_equal(ms_target_cache_get(&c, &other), 0);
	ms_target_cache_put(&c, &other, 0); /* no id: nothing cached */
	assert_int_equal(ms_target_cache_get(&c, &other), 0);
	/* every tuple of a busy process: each gets back its own id or none */
	for (uint32_t i = 1; i <= 1000; i++) {
		struct ms_target x = {i, i % 7, i % 3, i & 1};
		ms_target_cache_put(&c, &x, (int)i);
	}
	for (uint32_t i = 1; i <= 1000; i++) {
		struct ms_target x = {i, i % 7, i % 3, i & 1};
		int id = ms_target_cache_get(&c, &x);
		if (id != 0 && id != (int)i)
			fail_msg("tuple %u cached as %d", i, id);
	}
	assert_true(ms_type_is_opt_in(MS_COMMAND_TARGET));
	assert_false(ms_type_is_opt_in(MS_COMMAND_NS));
	assert_string_equal(ms_types[MS_COMMAND_TARGET].name, MS_TARGET_TYPE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(target_keys_read_back_exactly_and_nothing_else),
		cmocka_unit_test(docs_list_every_type_with_its_fields),
		cmocka_unit_test(docs_name_every_enumerated_value),
		cmocka_unit_test(docs_and_mock_name_codes_as_the_schema),
		cmocka_unit_test(errors_are_named_as_users_know_them),
		cmocka_unit_test(readers_print_values_by_name),
		cmocka_unit_test(names_escape_injectively),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
