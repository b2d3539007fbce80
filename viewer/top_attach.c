/* top_attach.c - what `ringmon top` follows: one pid, a name across restarts,
 * every live process (--all), new ones as they start. The processes
 * themselves are the model's (struct vm_set). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "panel.h"

int top_attach_into(struct top *t, int pid, char *err, size_t errlen)
{
	return vm_set_attach(&t->set, pid, err, errlen);
}

int top_attach_pid(struct top *t, int pid)
{
	char err[RB_ERR_MAX];
	top_clear(t);
	t->all = 0;
	int rc = top_attach_into(t, pid, err, sizeof(err));
	if (rc)
		top_message(t, "pid %d: %s", pid, err);
	else
		vm_set_refresh(&t->set, vm_now_ns());
	return rc;
}

/* Adds every live process not attached yet. Returns how many were added. */
int top_add_live(struct top *t)
{
	int left_out;
	int added = vm_set_attach_live(&t->set, &left_out);
	if (left_out)
		top_message(t, "%d live processes left out: top aggregates at most %d", left_out,
			    TOP_MAXPROC);
	return added;
}

int top_attach_all(struct top *t)
{
	top_clear(t);
	t->all = 1;
	int n = top_add_live(t);
	if (t->set.nsrc)
		vm_set_refresh(&t->set, vm_now_ns());
	return n;
}

/* --name: the live process of that name with the highest pid, or 0 */
int top_find_name(const char *name)
{
	char err[RB_ERR_MAX];
	struct vm_seginfo *list;
	int n = vm_list(&list, err, sizeof(err)), pid = 0;
	for (int i = 0; i < n; i++)
		if (list[i].state == VM_LIVE && vm_proc_named(list[i].name, list[i].cmdline, name, 0))
			pid = list[i].pid;
	if (n >= 0)
		free(list);
	return pid;
}

/* Before each refresh: follow --name across restarts, pick up new processes
 * in all-processes mode. */
void top_maintain(struct top *t, uint64_t now)
{
	if (now - t->last_scan_ns < 1000000000ull && t->set.nsrc)
		return;
	if (t->name && (t->set.nsrc == 0 || t->set.src[0]->p.state != VM_LIVE)) {
		t->last_scan_ns = now;
		int pid = top_find_name(t->name);
		if (pid > 0 && (t->set.nsrc == 0 || pid != t->set.src[0]->p.pid)) {
			int was = t->set.nsrc ? t->set.src[0]->p.pid : 0;
			if (top_attach_pid(t, pid) == 0 && was) {
				t->restarts++;
				top_message(t, "%s restarted: pid %d is now pid %d", t->name, was, pid);
			}
		}
	} else if (t->all) {
		t->last_scan_ns = now;
		int before = t->set.nsrc;
		if (top_add_live(t) && before)
			top_message(t, "%d more process(es) joined", t->set.nsrc - before);
	}
}
