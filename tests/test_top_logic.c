/* test_top_logic.c - the pure logic of `ringmon top`: sparkline levels and glyphs, bars, filters, latency formats, interval percentiles, list keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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
	assert_int_equal(panel_list_key(&p, KEY_DOWN, 100), PF_HANDLED | PF_REDRAW);
	assert_int_equal(p.sel, 1);
	panel_list_key(&p, KEY_NPAGE, 100);
	assert_int_equal(p.sel, 10);
	assert_int_equal(p.scroll, 1);
	panel_list_key(&p, KEY_END, 100);
	assert_int_equal(p.sel, 99);
	assert_int_equal(p.scroll, 90);
	panel_list_key(&p, 'g', 100);
	assert_int_equal(p.sel, 0);
	panel_list_key(&p, 'k', 100);
	assert_int_equal(p.sel, 0);
	assert_int_equal(panel_list_key(&p, 'x', 100), 0);
	panel_list_clamp(&p, 0, 10);
	assert_int_equal(p.sel, 0);
}

static void key_table_has_quit_help_and_every_view(void **state)
{
	int quit = 0, help = 0, views = 0;
	for (int i = 0; i < top_nbindings; i++) {
		for (int j = 0; j < 4; j++) {
			int c = top_bindings[i].code[j];
			quit += c == 'q' || c == KEY_F(10);
			help += c == '?' || c == KEY_F(1);
			views += c >= '1' && c <= '5';
		}
		assert_non_null(top_bindings[i].help);
	}
	assert_int_equal(quit, 2);
	assert_int_equal(help, 2);
	assert_int_equal(views, 5);
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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
