/* top_frame.c - the frame around `ringmon top`'s views: the process line,
 * the tab bar, the footer (keys or a message), and a whole frame. */
#include <curses.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "panel.h"
#include "term.h"

const char *top_losses(const struct top *t, char *buf, size_t len)
{
	uint64_t dropped = 0, refused = 0;
	for (int i = 0; i < t->set.nsrc; i++) {
		struct rb_pool_info pi;
		rb_view_pool(&t->set.src[i]->p.v, &pi);
		dropped += t->set.src[i]->p.dropped_keys;
		refused += pi.failed_blocks + pi.failed_chunks;
	}
	int n = 0;
	buf[0] = 0;
	if (dropped)
		n = snprintf(buf, len, "  keys dropped %llu", (unsigned long long)dropped);
	/* the statistics pool ran out: some keys counted under "other", some
	 * values by power of two only (`ringmon stats` says how many) */
	if (refused && n >= 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, "  stats pool full");
	return buf;
}

void top_draw_header(struct top *t, int cols)
{
	char up[32], rate[32], buf[512];
	double r = vm_set_type_rate(&t->set, -1, 1.0);
	uint64_t w = vm_set_written(&t->set), cap = vm_set_capacity(&t->set);
	uint64_t over = vm_set_overwritten(&t->set);
	/* 100% once any shard wrapped: a thread fills a shard of its own, so the
	 * rings lose their oldest records long before all of them are written */
	double use = cap ? (w >= cap || over ? 100.0 : 100.0 * (double)w / (double)cap) : 0;
	enum term_role role = TR_TITLE;
	const char *state = "";
	if (t->set.nsrc == 0) {
		if (t->name)
			snprintf(buf, sizeof(buf), " ringmon top: waiting for a process named %s", t->name);
		else
			snprintf(buf, sizeof(buf), " ringmon top: no process attached (o: pick one)");
		term_print(0, 0, cols, TR_TITLE, 1, buf);
		return;
	}
	if (t->all) {
		snprintf(buf, sizeof(buf), " all processes (%d live of %d)", vm_set_live(&t->set),
			 t->set.nsrc);
	} else {
		const struct vm_proc *p = &t->set.src[0]->p;
		char nm[4 * RB_PROC_NAME_LEN];
		snprintf(buf, sizeof(buf), " pid %d %s  up %s", p->pid, vm_name(p->v.name, nm, sizeof(nm)),
			 vm_fmt_dur_s(vm_uptime(p), up, sizeof(up)));
		if (p->state == VM_EXITED) {
			state = "EXITED";
			role = TR_BAD;
		} else if (p->state == VM_DEAD) {
			state = "DIED";
			role = TR_BAD;
		}
	}
	int x = term_print(0, 0, cols, role, 0, buf);
	snprintf(buf, sizeof(buf), "  %s ev/s  ring %.0f%%  lost %llu", vm_fmt_rate(r, rate, sizeof(rate)),
		 use, (unsigned long long)t->tail_lost);
	x += term_print(0, x, cols - x, TR_NORMAL, 0, buf);
	x += term_print(0, x, cols - x, TR_WARN, 0, top_losses(t, buf, sizeof(buf)));
	if (*state) {
		const struct vm_proc *p = &t->set.src[0]->p;
		char when[32] = "";
		uint64_t ex = rb_view_exit_realtime(&p->v);
		if (p->state == VM_EXITED && ex) {
			time_t s = (time_t)(ex / 1000000000ull);
			struct tm tm;
			localtime_r(&s, &tm);
			strftime(when, sizeof(when), " %H:%M:%S", &tm);
		}
		const char *what = p->state == VM_EXITED ? "exited" : "died";
		/* the longest that fits whole: a time cut inside says nothing */
		for (int form = 0; form < 5; form++) {
			if (form == 0)
				snprintf(buf, sizeof(buf), "  [process %s%s%s: last figures kept]", what,
					 *when ? " at" : "", when);
			else if (form == 1)
				snprintf(buf, sizeof(buf), "  [process %s%s%s]", what, *when ? " at" : "", when);
			else if (form == 2)
				snprintf(buf, sizeof(buf), "  [%s%s]", what, when);
			else if (form == 3)
				snprintf(buf, sizeof(buf), "  [%s]", what);
			else
				buf[0] = 0; /* nothing fits whole: the header is in the ended colour */
			if ((int)strlen(buf) <= cols - x)
				break;
		}
		x += term_print(0, x, cols - x, TR_BAD, 0, buf);
	}
	if (x < cols)
		term_print(0, x, cols - x, TR_NORMAL, 1, "");
}

static void draw_tabs(struct top *t, int cols)
{
	int x = 0;
	char right[64];
	snprintf(right, sizeof(right), "%s every %.1fs ", t->paused ? "PAUSED" : "",
		 t->interval_ms / 1000.0);
	int rw = (int)strlen(right), need = rw;
	for (int i = 0; i < TOP_NVIEWS; i++)
		need += (int)strlen(t->views[i]->ops->name) + 5;
	int gap = need <= cols; /* a blank between tabs when everything fits (80 columns: not) */
	for (int i = 0; i < TOP_NVIEWS && x < cols; i++) {
		char buf[64];
		snprintf(buf, sizeof(buf), " %d %s ", i + 1, t->views[i]->ops->name);
		x += term_print(1, x, cols - x, i == t->view && !t->overlay ? TR_TAB_ON : TR_TAB, 0, buf);
		if (x < cols && gap)
			x += term_print(1, x, 1, TR_NORMAL, 0, " ");
	}
	if (x < cols - rw) {
		term_print(1, x, cols - rw - x, TR_NORMAL, 1, "");
		term_print(1, cols - rw, rw, t->paused ? TR_WARN : TR_DIM, 0, right);
	} else if (x < cols) {
		term_print(1, x, cols - x, t->paused ? TR_WARN : TR_NORMAL, 1, t->paused ? "PAUSED" : "");
	}
}

static void draw_footer(struct top *t, int row, int cols)
{
	if (t->msg[0] && vm_now_ns() < t->msg_until) {
		term_print_words(row, 0, cols, TR_WARN, 1, t->msg);
		return;
	}
	static const char *const hints[][2] = {
		{"F1", "Help"}, {"1-6", "Views"}, {"F4", "Filter"}, {"F6", "Sort"}, {"p", "Pause"},
		{"e", "Types"}, {"r", "Reset"}, {"+-", "Rate"}, {"q", "Quit"},
	};
	int x = 0;
	for (size_t i = 0; i < sizeof(hints) / sizeof(hints[0]); i++) {
		int hw = vm_width(hints[i][0]) + vm_width(hints[i][1]) + 1;
		if (x + hw > cols)
			break; /* whole hints only */
		x += term_print(row, x, cols - x, TR_KEY, 0, hints[i][0]);
		x += term_printf(row, x, cols - x, TR_STATUS, 0, "%s ", hints[i][1]);
	}
	if (x < cols)
		term_print(row, x, cols - x, TR_STATUS, 1, "");
}

void top_draw(struct top *t)
{
	int rows, cols;
	term_size(&rows, &cols);
	term_clear();
	if (rows < 5 || cols < 20) {
		term_print(0, 0, cols, TR_WARN, 1, "terminal too small");
		term_flush();
		return;
	}
	top_draw_header(t, cols);
	draw_tabs(t, cols);
	struct panel *p = t->overlay ? t->overlay : t->views[t->view];
	p->ops->draw(p, t, 2, 0, rows - 3, cols);
	draw_footer(t, rows - 1, cols);
	term_flush();
}
