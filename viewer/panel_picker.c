/* panel_picker.c - the process picker: every ringmon process (pid, name, uptime, event rate), plus "all processes". */
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "panel.h"
#include "term.h"

#define PICK_MAX 256

struct picker {
	struct panel super;
	struct vm_seginfo list[PICK_MAX];
	double rate[PICK_MAX];
	int n, live;
	int omitted; /* processes beyond PICK_MAX, not listed */
	uint64_t t_ns;
	char err[RB_ERR_MAX];
};

static struct picker pk;

static void rescan(struct picker *k)
{
	struct vm_seginfo *list;
	uint64_t now = vm_now_ns();
	int n = vm_list(&list, k->err, sizeof(k->err));
	if (n < 0) {
		k->n = 0;
		return;
	}
	struct vm_seginfo old[PICK_MAX];
	int nold = k->n;
	memcpy(old, k->list, sizeof(old[0]) * (size_t)nold);
	/* live processes first (by pid), the rest after */
	k->n = k->live = 0;
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < n && k->n < PICK_MAX; i++) {
			if ((list[i].state == VM_LIVE) != (pass == 0))
				continue;
			k->live += pass == 0;
			struct vm_seginfo *s = &k->list[k->n];
			*s = list[i];
			k->rate[k->n] = 0;
			for (int j = 0; j < nold; j++)
				if (old[j].pid == s->pid && s->written >= old[j].written && now > k->t_ns)
					k->rate[k->n] = (double)(s->written - old[j].written) * 1e9 /
							(double)(now - k->t_ns);
			k->n++;
		}
	k->omitted = n - k->n;
	free(list);
	k->t_ns = now;
}

/* rows: "all processes" first when there are several live ones */
static int has_all(const struct picker *k)
{
	return k->live >= 2;
}

static void draw(struct panel *p, struct top *t, int y, int x, int h, int w)
{
	struct picker *k = (struct picker *)p;
	char up[32], rate[32];
	(void)t;
	if (!k->t_ns)
		rescan(k);
	term_printf(y, x, w, TR_HEADER, 1, " %-8s %-16s %9s %10s %-7s %s", "PID", "NAME", "UPTIME",
		    "EVENTS/S", "STATE", "COMMAND");
	int extra = has_all(k), n = k->n + extra, rows = h - 2;
	panel_list_clamp(p, n, rows);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	uint64_t wall = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
	for (int r = 0; r < rows && p->scroll + r < n; r++) {
		int i = p->scroll + r;
		if (extra && i == 0) {
			double sum = 0;
			for (int j = 0; j < k->live; j++)
				sum += k->rate[j];
			term_printf(y + 1 + r, x, w, i == p->sel ? TR_SELECTED : TR_TITLE, 1,
				    " %-8s %-16s %9s %10s %-7s aggregate the %d live processes", "*",
				    "all processes", "", vm_fmt_count(sum, rate, sizeof(rate)), "live",
				    k->live);
			continue;
		}
		const struct vm_seginfo *s = &k->list[i - extra];
		double secs = vm_seginfo_uptime(s, wall);
		enum term_role role = i == p->sel ? TR_SELECTED : s->state == VM_LIVE ? TR_NORMAL : TR_DIM;
		/* name and command line escaped (they are the bytes the process
		 * has), the name fitted to its column with the cut marker */
		char nm[4 * sizeof(s->name)], cl[4 * sizeof(s->cmdline)];
		term_printf(y + 1 + r, x, w < 10 ? w : 10, role, 1, " %-8d ", s->pid);
		if (w <= 10)
			continue;
		term_print(y + 1 + r, x + 10, w - 10 < 16 ? w - 10 : 16, role, 1,
			   s->state == VM_BAD ? "?" : vm_name(s->name, nm, sizeof(nm)));
		if (w <= 26)
			continue;
		term_printf(y + 1 + r, x + 26, w - 26, role, 1, " %9s %10s %-7s %s",
			    vm_fmt_dur_s(secs, up, sizeof(up)),
			    vm_fmt_count(k->rate[i - extra], rate, sizeof(rate)), vm_liveness_name(s->state),
			    s->state == VM_BAD ? s->err : vm_name(s->cmdline, cl, sizeof(cl)));
	}
	if (n == 0)
		term_printf(y + 1, x, w, TR_DIM, 1,
			    " No ringmon process in %s yet: waiting (start one, e.g. ringmon-loadgen --synthetic)",
			    rb_dir());
	if (k->omitted)
		term_printf(y + h - 1, x, w, TR_WARN, 1, " Pick a process: Up/Down, Enter attaches; "
			    "Esc back; q quits   (%d more not listed: %d at most)", k->omitted, PICK_MAX);
	else
		term_print(y + h - 1, x, w, TR_STATUS, 1,
			   " Pick a process: Up/Down, Enter attaches; Esc back; q quits");
}

static int on_cmd(struct panel *p, struct top *t, enum top_cmd cmd)
{
	struct picker *k = (struct picker *)p;
	int extra = has_all(k), n = k->n + extra;
	int f = panel_list_cmd(p, cmd, n);
	if (f)
		return f;
	if (cmd == TC_ENTER) {
		if (p->sel >= n)
			return PF_HANDLED;
		if (extra && p->sel == 0) {
			top_attach_all(t);
			top_message(t, "attached to %d processes", t->set.nsrc);
		} else {
			const struct vm_seginfo *s = &k->list[p->sel - extra];
			if (top_attach_pid(t, s->pid) != 0)
				return PF_HANDLED | PF_REDRAW;
		}
		return PF_HANDLED | PF_CLOSE | PF_RESCAN;
	}
	if (cmd == TC_BACK) /* back to the views, if there is a process to show */
		return t->set.nsrc ? PF_HANDLED | PF_CLOSE : PF_HANDLED;
	return 0;
}

static void on_refresh(struct panel *p, struct top *t, int active)
{
	(void)t;
	if (active)
		rescan((struct picker *)p);
}

static const struct panel_ops ops = {
	.name = "Processes",
	.scope = SC_PICKER,
	.draw = draw,
	.on_cmd = on_cmd,
	.on_refresh = on_refresh,
};

struct panel *panel_picker(void)
{
	pk.super.ops = &ops;
	if (!pk.super.rows)
		pk.super.rows = 10;
	return &pk.super;
}
