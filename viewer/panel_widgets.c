/* panel_widgets.c - pieces several panels draw: latency histogram bars, labelled sparklines, the filter prompt. */
#include <curses.h>
#include <stdio.h>
#include <string.h>

#include "panel.h"
#include "term.h"

int panel_draw_hist(const struct rb_summary *s, int y, int x, int h, int w)
{
	enum { NOCT = 40 };
	uint64_t oct[NOCT] = {0};
	if (h <= 0 || w < 30)
		return 0;
	if (s->timed == 0) {
		term_print(y, x, w, TR_DIM, 1, "  (no timed events yet)");
		return 1;
	}
	for (uint32_t i = 0; i < RB_HIST_BUCKETS; i++) {
		if (!s->bucket[i])
			continue;
		uint64_t lo = rb_hist_low(i);
		int e = lo ? 63 - __builtin_clzll(lo) : 0;
		oct[e < NOCT ? e : NOCT - 1] += s->bucket[i];
	}
	int first = 0, last = NOCT - 1;
	while (first < NOCT && !oct[first])
		first++;
	while (last > first && !oct[last])
		last--;
	int n = last - first + 1, step = (n + h - 1) / h;
	uint64_t rowc[NOCT] = {0}, max = 0;
	int rows = 0;
	for (int e = first; e <= last; e += step, rows++) {
		for (int k = e; k < e + step && k <= last; k++)
			rowc[rows] += oct[k];
		if (rowc[rows] > max)
			max = rowc[rows];
	}
	int barw = w - 30; /* 16 for the range, 14 for the count and its share */
	for (int r = 0; r < rows; r++) {
		int e_hi = first + (r + 1) * step; /* bucket row covers [2^e, 2^e_hi) */
		char lo[16], hi[16], cnt[16];
		vm_fmt_lat((double)(1ull << (first + r * step)), lo, sizeof(lo));
		vm_fmt_lat((double)(1ull << (e_hi < 63 ? e_hi : 62)), hi, sizeof(hi));
		vm_fmt_count((double)rowc[r], cnt, sizeof(cnt));
		term_printf(y + r, x, 16, TR_NORMAL, 1, " %6s-%-6s", lo, hi);
		term_bar(y + r, x + 16, barw, max ? (double)rowc[r] / (double)max : 0, TR_BAR);
		term_printf(y + r, x + 16 + barw, 14, TR_NORMAL, 1, " %6s %5.1f%%", cnt,
			    100.0 * (double)rowc[r] / (double)s->timed);
	}
	return rows;
}

void panel_draw_spark(const char *label, const double *v, int n, int is_ns, int y, int x, int w)
{
	char a[16], b[16];
	double max = 0, now = n ? v[n - 1] : 0;
	for (int i = 0; i < n; i++)
		if (v[i] > max)
			max = v[i];
	if (is_ns) {
		/* a latency slot of 0: nothing was timed then, never "0ns" */
		if (now > 0)
			vm_fmt_lat(now, a, sizeof(a));
		else
			snprintf(a, sizeof(a), "-");
		if (max > 0)
			vm_fmt_lat(max, b, sizeof(b));
		else
			snprintf(b, sizeof(b), "-");
	} else {
		vm_fmt_count(now, a, sizeof(a));
		vm_fmt_count(max, b, sizeof(b));
	}
	int lw = 12, tw = 26;
	term_printf(y, x, lw, TR_NORMAL, 1, "%s", label);
	int sw = w - lw - tw;
	if (sw < 4)
		return;
	/* right-align the newest values */
	if (n > sw) {
		v += n - sw;
		n = sw;
	}
	term_print(y, x + lw, sw - n, TR_NORMAL, 1, "");
	term_spark(y, x + lw + sw - n, v, n, TR_SPARK);
	term_printf(y, x + lw + sw, tw, TR_NORMAL, 1, " now %s max %s", a, b);
}

int panel_filter_key(char *buf, size_t len, int *editing, int key)
{
	size_t n = strlen(buf);
	if (key == 27) {
		buf[0] = 0;
		*editing = 0;
	} else if (key == '\n' || key == '\r' || key == KEY_ENTER) {
		*editing = 0;
	} else if (key == KEY_BACKSPACE || key == 127 || key == 8) {
		if (n)
			buf[n - 1] = 0;
	} else if (key >= 32 && key < 127 && n + 1 < len) {
		buf[n] = (char)key;
		buf[n + 1] = 0;
	} else if (key == KEY_RESIZE) {
		return PF_REDRAW;
	}
	return PF_HANDLED | PF_REDRAW;
}

/* ---- tables that fit the width ---- */

void panel_cols_fit(struct panel_col *c, int n, int w, int min0)
{
	int need = 1 + c[0].w;
	for (int i = 1; i < n; i++) {
		c[i].shown = 1;
		need += 1 + c[i].w;
	}
	c[0].shown = 1;
	/* give up columns in their drop order (1 first) until the rest fit */
	for (int order = 1; need > w; order++) {
		int any = 0;
		for (int i = 1; i < n; i++) {
			if (c[i].drop > order)
				any = 1;
			if (c[i].shown && c[i].drop == order) {
				c[i].shown = 0;
				need -= 1 + c[i].w;
			}
		}
		if (!any)
			break;
	}
	/* then narrow the first (text) column, which cuts with a marker */
	if (need > w) {
		int w0 = c[0].w - (need - w);
		c[0].w = w0 < min0 ? min0 : w0;
	}
}

int panel_cols_row(int y, int x, int w, enum term_role r, const struct panel_col *c, int n,
		   const char *const cell[], const enum term_role *roles)
{
	int cx = x + term_print(y, x, 1, r, 1, "");
	for (int i = 0; i < n && cx < x + w; i++) {
		if (!c[i].shown)
			continue;
		enum term_role cr = roles ? roles[i] : r;
		if (i > 0)
			cx += term_print(y, cx, x + w - cx, r, 0, " ");
		char buf[256];
		const char *s = cell[i] ? cell[i] : "";
		int pad = c[i].w - vm_width(s);
		if (!c[i].left && pad > 0) /* right-aligned */
			snprintf(buf, sizeof(buf), "%*s%s", pad, "", s);
		else
			snprintf(buf, sizeof(buf), "%s", s);
		int cw = c[i].w < x + w - cx ? c[i].w : x + w - cx;
		cx += term_print(y, cx, cw, cr, 1, buf);
	}
	if (cx < x + w)
		term_print(y, cx, x + w - cx, r, 1, "");
	return cx;
}

int panel_cols_width(const struct panel_col *c, int n)
{
	int need = 1;
	for (int i = 0; i < n; i++)
		if (c[i].shown)
			need += (i ? 1 : 0) + c[i].w;
	return need;
}

void panel_status(int y, int x, int w, enum term_role r, const char *left,
		  const char *const hints[], int n)
{
	int cx = x + term_print_words(y, x, w, r, 0, left);
	/* key hints only where a key can be pressed: not in top --once's text */
	for (int i = 0; i < n && !term_is_text(); i++) {
		int hw = vm_width(hints[i]) + 2;
		if (cx + hw > x + w)
			break; /* a hint shows whole or not at all */
		cx += term_printf(y, cx, hw, r, 0, "  %s", hints[i]);
	}
	if (cx < x + w)
		term_print(y, cx, x + w - cx, r, 1, "");
}
