/* test_top_logic.c - the pure logic of `ringmon top`: sparkline levels and glyphs, bars, filters, latency formats, interval percentiles, list keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <locale.h>
#include <string.h>
#include <cmocka.h>
#include <curses.h>

#include "panel.h"
#include "term.h"

static void spark_level_scales_to_max_and_never_hides_nonzero(void **state)
{
	assert_int_equal(term_spark_level(0, 100), 0);
	assert_int_equal(term_spark_level(100, 100), 8);
	assert_int_equal(term_spark_level(50, 100), 4);
	assert_int_equal(term_spark_level(0.001, 100), 1);
	assert_int_equal(term_spark_level(5, 0), 0);
	assert_int_equal(term_spark_level(200, 100), 8);
}

static void spark_glyphs_have_an_ascii_fallback(void **state)
{
	assert_string_equal(term_spark_glyph(8, 1), "█");
	assert_string_equal(term_spark_glyph(0, 1), " ");
	for (int l = 0; l <= 8; l++) {
		const char *g = term_spark_glyph(l, 0);
		assert_int_equal(strlen(g), 1);
		assert_true((unsigned char)g[0] < 128);
	}
	assert_string_equal(term_spark_glyph(99, 0), "#");
}

static void bar_is_eighth_precise_in_utf8_and_whole_cells_in_ascii(void **state)
{
	char buf[256];
	assert_int_equal(term_width(term_bar_text(1.0, 10, 1, buf, sizeof(buf))), 10);
	assert_int_equal(term_width(term_bar_text(0.5, 10, 1, buf, sizeof(buf))), 5);
	assert_string_equal(term_bar_text(0.0625, 2, 1, buf, sizeof(buf)), "▏");
	assert_string_equal(term_bar_text(0.5, 4, 0, buf, sizeof(buf)), "##");
	assert_string_equal(term_bar_text(0, 4, 0, buf, sizeof(buf)), "");
	assert_string_equal(term_bar_text(0.001, 4, 0, buf, sizeof(buf)), "#"); /* non-zero shows */
}

static void filter_matches_substrings_ignoring_case(void **state)
{
	assert_true(top_match("findAndModify", "MODIFY"));
	assert_true(top_match("anything", ""));
	assert_true(top_match("anything", NULL));
	assert_false(top_match("insert", "find"));
}

static void latency_format_keeps_three_digits_in_six_columns(void **state)
{
	char b[16];
	assert_string_equal(vm_fmt_lat(999, b, sizeof(b)), "999ns");
	assert_string_equal(vm_fmt_lat(1234, b, sizeof(b)), "1.23us");
	assert_string_equal(vm_fmt_lat(45600000, b, sizeof(b)), "45.6ms");
	assert_string_equal(vm_fmt_lat(2.5e9, b, sizeof(b)), "2.50s");
	assert_true(strlen(vm_fmt_lat(999999, b, sizeof(b))) <= 6);
}

static void interval_quantile_sees_only_the_new_events(void **state)
{
	static struct rb_summary older, newer;
	rb_summary_clear(&older);
	for (int i = 0; i < 1000; i++) { /* 1000 fast events, 1 us */
		older.bucket[rb_hist_index(1000)]++;
		older.timed++, older.count++;
	}
	older.min = older.max = 1000;
	newer = older;
	for (int i = 0; i < 100; i++) { /* then 100 slow ones, 5 ms */
		newer.bucket[rb_hist_index(5000000)]++;
		newer.timed++, newer.count++;
	}
	newer.max = 5000000;
	uint64_t q = vm_interval_quantile(&newer, &older, 0.99);
	assert_true(q > 4900000 && q <= 5000000);
	assert_true(rb_summary_quantile(&newer, 0.5) < 2000); /* all-time p50 is still fast */
	assert_int_equal(vm_interval_quantile(&older, &older, 0.99), 0);
}

static void list_keys_move_and_clamp_the_selection(void **state)
{
	struct panel p = {0};
	panel_list_clamp(&p, 100, 10);
	assert_int_equal(panel_list_cmd(&p, TC_DOWN, 100), PF_HANDLED | PF_REDRAW);
	assert_int_equal(p.sel, 1);
	panel_list_cmd(&p, TC_PGDN, 100);
	assert_int_equal(p.sel, 10);
	assert_int_equal(p.scroll, 1);
	panel_list_cmd(&p, TC_END, 100);
	assert_int_equal(p.sel, 99);
	assert_int_equal(p.scroll, 90);
	panel_list_cmd(&p, TC_HOME, 100);
	assert_int_equal(p.sel, 0);
	panel_list_cmd(&p, TC_UP, 100);
	assert_int_equal(p.sel, 0);
	assert_int_equal(panel_list_cmd(&p, TC_FILTER, 100), 0);
	panel_list_clamp(&p, 0, 10);
	assert_int_equal(p.sel, 0);
}

/* the binding of key in the view or overlay of scope bit sc, or NULL */
static const struct top_binding *binding(int key, unsigned sc)
{
	for (int i = 0; i < top_nbindings; i++)
		for (int j = 0; j < 6 && top_bindings[i].code[j]; j++)
			if (top_bindings[i].code[j] == key && (top_bindings[i].scope & sc))
				return &top_bindings[i];
	return NULL;
}

static void key_table_has_quit_help_and_every_view(void **state)
{
	for (unsigned sc = 1; sc <= SC_PICKER; sc <<= 1) {
		assert_ptr_equal(binding('q', sc)->act, binding(KEY_F(10), sc)->act);
		for (int v = '1'; v < '1' + TOP_NVIEWS; v++)
			assert_non_null(binding(v, sc));
	}
	for (unsigned sc = 1; sc <= SC_PICKER; sc <<= 1)
		if (sc != SC_HELP)
			assert_ptr_equal(binding('?', sc)->act, binding(KEY_F(1), sc)->act);
	for (int i = 0; i < top_nbindings; i++) {
		assert_non_null(top_bindings[i].help);
		/* each binding either acts or names a command for the panel */
		assert_true((top_bindings[i].act != NULL) != (top_bindings[i].cmd != TC_NONE));
	}
}

/* An F-key means one thing in every view where it means anything: the same
 * action or the same panel command (htop's scheme: F4 filter, F6 sort). */
static void f_keys_mean_one_thing_everywhere(void **state)
{
	for (int f = 1; f <= 12; f++) {
		const struct top_binding *first = NULL;
		for (unsigned sc = 1; sc <= SC_PICKER; sc <<= 1) {
			const struct top_binding *b = binding(KEY_F(f), sc);
			if (!b)
				continue;
			if (!first)
				first = b;
			assert_ptr_equal(b->act, first->act);
			assert_int_equal(b->cmd, first->cmd);
		}
	}
	assert_int_equal(binding(KEY_F(4), SC_COMMANDS)->cmd, TC_FILTER);
	assert_int_equal(binding(KEY_F(4), SC_EVENTS)->cmd, TC_FILTER);
	assert_int_equal(binding(KEY_F(6), SC_COMMANDS)->cmd, TC_SORT_NEXT);
	assert_null(binding(KEY_F(4), SC_SERVERS)); /* no other meaning there */
}

/* Enter has a line of help in every view (what it opens, or that it opens
 * nothing), and the help screen draws from the same table. */
static void enter_is_described_in_every_view(void **state)
{
	for (unsigned sc = 1; sc < SC_HELP; sc <<= 1) { /* every view */
		const struct top_binding *b = binding('\n', sc);
		assert_non_null(b);
		assert_int_equal(b->cmd, TC_ENTER);
		assert_true(b->help[0] != 0);
	}
	char buf[96];
	assert_string_equal(top_scope_names(SC_COMMANDS | SC_EVENTS, buf, sizeof(buf)), "Commands, Events");
	assert_string_equal(top_scope_names(SC_ALL, buf, sizeof(buf)), "");
}

/* Text is cut with a marker only when something other than blanks is left
 * out, and counted in display columns: a character one, a wide (CJK) one two. */
static void cut_needs_a_marker_only_for_lost_text(void **state)
{
	size_t b;
	assert_int_equal(term_fit("findAndModify", 8, &b), 1);
	assert_int_equal(b, 8);
	assert_int_equal(term_fit("insert    ", 6, &b), 0);
	assert_int_equal(term_fit("insert", 10, &b), 0);
	assert_int_equal(b, 6);
	assert_int_equal(term_fit("caf\xc3\xa9s", 4, &b), 1);
	assert_int_equal(b, 5); /* "café": four columns, five bytes */
	if (setlocale(LC_CTYPE, "C.UTF-8")) {
		assert_int_equal(term_fit("\xe9\x9b\x86\xe8\xa8\x88x", 4, &b), 1);
		assert_int_equal(b, 6); /* 集計: two characters, four columns */
		assert_int_equal(term_fit("\xe9\x9b\x86\xe8\xa8\x88x", 3, &b), 1);
		assert_int_equal(b, 3); /* the second does not half fit */
		setlocale(LC_CTYPE, "C");
	}
}

/* A hint too long for its row goes on over the next ones, broken after
 * whole words: every word shown whole, each once, in order. */
static void hints_wrap_after_whole_words(void **state)
{
	(void)state;
	size_t next;
	const char *t = "  (pool.checkout and pool.checkin come from";
	assert_int_equal(term_wrap_row(t, 80, &next), strlen(t)); /* fits: all of it */
	assert_int_equal(next, strlen(t));
	assert_int_equal(term_wrap_row(t, 24, &next), 20); /* "  (pool.checkout and" */
	assert_int_equal(next, 21);                        /* "pool.checkin ..." next */
	assert_int_equal(term_wrap_row(t + 21, 16, &next), 12); /* "pool.checkin" */
	assert_int_equal(next, 13);
	assert_int_equal(term_wrap_row("supercalifragilistic word", 5, &next), 5);
	assert_int_equal(next, 5); /* a word wider than the row is cut inside */
	/* every word of a long hint, rows of 20 columns at most */
	const char *hint = "(python.call appears once a Python 3.12+ program runs under "
			   "`python -m ringmon run --functions 'PATTERN'`)";
	char joined[256] = "";
	for (const char *p = hint; *p;) {
		size_t n = term_wrap_row(p, 20, &next);
		assert_true(n <= 20 && next > 0);
		if (p[n] != 0)
			assert_true(p[n] == ' ');
		strncat(joined, p, n);
		if (p[next])
			strcat(joined, " ");
		p += next;
	}
	assert_string_equal(joined, hint);
}

/* What --once would print of the text grid drawn since term_start_text
 * (term_print_text), as a string the caller frees. */
static char *grid_text(void)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	assert_non_null(f);
	term_print_text(f);
	fclose(f);
	return out;
}

/* A key the producer cut for storage ends in "~" and its whole name's hash:
 * on screen its head gives way, so two such keys never look alike. */
static void stored_cut_keys_keep_their_hash_on_screen(void **state)
{
	(void)state;
	assert_true(term_stored_cut("dddddddddd~22cbca37"));
	assert_false(term_stored_cut("~22cbca37"));         /* nothing before the mark */
	assert_false(term_stored_cut("dddddddddd~22CBCA37")); /* the mark is lowercase */
	assert_false(term_stored_cut("dddddddddd~22cbca3"));
	assert_false(term_stored_cut("shop.orders"));
	assert_int_equal(term_start_text(2, 40), 0);
	term_print(0, 0, 20, 0, 1, "dddddddddddddddddddddddddddddddddddddddddddddd~22cbca37");
	term_print(1, 0, 20, 0, 1, "dddddddddddddddddddddddddddddddddddddddddddddd~b08160a3");
	char *out = grid_text();
	/* ASCII here (locale C): the cut marker is "~" too */
	assert_string_equal(out, "dddddddddd~~22cbca37\ndddddddddd~~b08160a3\n");
	free(out);
}

/* An event's fields (" name=value ...") are shown whole or not at all: a
 * first field wider than the room leaves the marker alone, never
 * "code=Unauthorized(13~" (e2e_top_term saw one with a wide key column) */
static void fields_are_whole_or_not_at_all(void **state)
{
	(void)state;
	assert_int_equal(term_start_text(3, 30), 0);
	term_print_words(0, 0, 20, 0, 1, " code=Unauthorized(13) origin=server");
	term_print_words(1, 0, 20, 0, 1, " ok=0 code=Unauthorized(13)");
	term_print_words(2, 0, 8, 0, 1, "paused: scroll back"); /* a hint: cut inside */
	char *out = grid_text();
	assert_string_equal(out, " ~\n ok=0 ~\npaused:~\n");
	free(out);
}

/* A combining mark takes no column: "cafe" + U+0301 is four columns, on
 * screen and in --once's text, so the columns after it stay in line with
 * those after "café" (U+00E9) */
static void combining_marks_take_no_column(void **state)
{
	(void)state;
	if (!setlocale(LC_CTYPE, "C.UTF-8"))
		skip();
	term_set_utf8(1);
	size_t b;
	assert_int_equal(term_fit("cafe\xcc\x81", 4, &b), 0);
	assert_int_equal(b, 6);
	assert_int_equal(term_start_text(2, 20), 0);
	term_print(0, 0, 6, 0, 1, "cafe\xcc\x81");
	term_print(0, 6, 2, 0, 1, "|1");
	term_print(1, 0, 6, 0, 1, "caf\xc3\xa9");
	term_print(1, 6, 2, 0, 1, "|2");
	char *out = grid_text();
	assert_string_equal(out, "cafe\xcc\x81  |1\ncaf\xc3\xa9  |2\n");
	free(out);
	term_set_utf8(0);
	setlocale(LC_CTYPE, "C");
}

/* A latency sparkline whose slots timed nothing says "-", never "0ns"
 * (viewer.md: nothing measured is never 0ns). */
static void an_unmeasured_latency_line_says_dash(void **state)
{
	(void)state;
	double none[3] = {0, 0, 0}, some[3] = {0, 2000, 0};
	assert_int_equal(term_start_text(2, 80), 0);
	panel_draw_spark("p99", none, 3, 1, 0, 0, 80);
	panel_draw_spark("p99", some, 3, 1, 1, 0, 80);
	char *out = grid_text();
	assert_non_null(strstr(out, "now - max -\n"));
	assert_non_null(strstr(out, "now - max 2.00us\n"));
	assert_null(strstr(out, "0ns"));
	free(out);
}

/* Columns give way in their drop order until the row fits; the kept ones
 * (drop 0) never go; then the text column narrows, not below its minimum. */
static void columns_give_way_in_order(void **state)
{
	struct panel_col c[] = {{"NAME", 13, 0, 1, 0}, {"A", 9, 0, 0, 0}, {"B", 7, 2, 0, 0},
				{"C", 7, 1, 0, 0}, {"D", 7, 0, 0, 0}};
	panel_cols_fit(c, 5, 80, 10);
	assert_true(c[1].shown && c[2].shown && c[3].shown && c[4].shown);
	assert_int_equal(panel_cols_width(c, 5), 1 + 13 + 10 + 8 + 8 + 8);
	panel_cols_fit(c, 5, 40, 10);
	assert_false(c[3].shown); /* drop 1 first */
	assert_true(c[2].shown);
	assert_int_equal(c[0].w, 13);
	panel_cols_fit(c, 5, 30, 10);
	assert_false(c[2].shown);
	assert_true(c[1].shown && c[4].shown);
	assert_int_equal(c[0].w, 30 - 1 - 10 - 8);
	panel_cols_fit(c, 5, 20, 10);
	assert_int_equal(c[0].w, 10); /* not below the minimum */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(spark_level_scales_to_max_and_never_hides_nonzero),
		cmocka_unit_test(spark_glyphs_have_an_ascii_fallback),
		cmocka_unit_test(bar_is_eighth_precise_in_utf8_and_whole_cells_in_ascii),
		cmocka_unit_test(filter_matches_substrings_ignoring_case),
		cmocka_unit_test(latency_format_keeps_three_digits_in_six_columns),
		cmocka_unit_test(interval_quantile_sees_only_the_new_events),
		cmocka_unit_test(list_keys_move_and_clamp_the_selection),
		cmocka_unit_test(key_table_has_quit_help_and_every_view),
		cmocka_unit_test(f_keys_mean_one_thing_everywhere),
		cmocka_unit_test(enter_is_described_in_every_view),
		cmocka_unit_test(cut_needs_a_marker_only_for_lost_text),
		cmocka_unit_test(hints_wrap_after_whole_words),
		cmocka_unit_test(stored_cut_keys_keep_their_hash_on_screen),
		cmocka_unit_test(an_unmeasured_latency_line_says_dash),
		cmocka_unit_test(combining_marks_take_no_column),
		cmocka_unit_test(fields_are_whole_or_not_at_all),
		cmocka_unit_test(columns_give_way_in_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
