/* model_proc.c - one attached process: its snapshot of types, keys and
 * counters, its liveness and uptime, and the on/off switch of its types. */
#include "model.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int vm_attach(struct vm_proc *p, int pid, char *err, size_t errlen)
{
	return vm_attach_wait(p, pid, 1000, err, errlen);
}

int vm_attach_wait(struct vm_proc *p, int pid, int wait_ms, char *err, size_t errlen)
{
	memset(p, 0, sizeof(*p));
	int rc = rb_attach_pid(&p->v, pid, wait_ms, err, errlen);
	if (rc)
		return rc;
	p->keys = calloc(p->v.g.max_keys, sizeof(*p->keys));
	p->types = calloc(RB_MAX_TYPES, sizeof(*p->types));
	if (!p->keys || !p->types) {
		vm_detach(p);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	p->pid = pid;
	p->attached = 1;
	vm_refresh(p);
	return 0;
}

void vm_detach(struct vm_proc *p)
{
	rb_detach(&p->v);
	free(p->keys);
	p->keys = NULL;
	free(p->types);
	p->types = NULL;
	p->attached = 0;
}

void vm_refresh(struct vm_proc *p)
{
	const struct rb_view *v = &p->v;
	p->state = vm_liveness_of(v);
	if (p->state == VM_EXITED) {
		p->end_realtime_ns = rb_view_exit_realtime(v);
	} else if (p->state == VM_DEAD && !p->end_realtime_ns) {
		/* fixed at its death: its newest record, or now (first seen dead) */
		p->end_realtime_ns = vm_end_realtime(v);
		if (!p->end_realtime_ns)
			p->end_realtime_ns = vm_wall_ns();
	}
	p->written = rb_view_written(v);
	p->enabled_mask = __atomic_load_n(&rb_view_control(v)->enabled, __ATOMIC_RELAXED);
	p->dropped_keys = rb_view_header_u64(v, __builtin_offsetof(struct rb_header, dropped_keys));
	p->bad_calls = rb_view_header_u64(v, __builtin_offsetof(struct rb_header, bad_calls));
	p->ntypes = rb_view_ntypes(v);
	p->nkeys = rb_view_nkeys(v);
	for (uint32_t i = 0; i < p->ntypes; i++) {
		struct vm_type *t = &p->types[i];
		struct rb_type_info ti;
		if (!t->used) {
			if (rb_view_type(v, i, &ti) != 0)
				continue;
			t->used = 1;
			memcpy(t->name, ti.name, sizeof(t->name));
			memcpy(t->field, ti.field, sizeof(t->field));
			t->nfields = ti.nfields;
			t->other_key = ti.other_key;
		}
		t->enabled = (p->enabled_mask >> i) & 1;
		rb_view_summary(v, 0, i, &t->sum);
	}
	for (uint32_t i = 1; i < p->nkeys; i++) {
		struct vm_key *k = &p->keys[i];
		if (!k->used) {
			struct rb_key_info ki;
			if (rb_view_key(v, i, &ki) != 0)
				continue;
			k->used = 1;
			/* a command.target key by its names: the keys it names
			 * were registered before it, so they are there now */
			k->resolved = vm_key_text(v, &ki, k->name, sizeof(k->name), &k->target);
			k->type = ki.type;
			k->other = ki.other;
			k->none = ki.none;
			if (ki.none && ki.type < p->ntypes)
				p->types[ki.type].none_key = i;
		}
		rb_view_summary(v, 1, i, &k->sum);
	}
}

double vm_uptime(const struct vm_proc *p)
{
	uint64_t end = p->state != VM_LIVE && p->end_realtime_ns ? p->end_realtime_ns : vm_wall_ns();
	return end > p->v.created_realtime_ns ? (double)(end - p->v.created_realtime_ns) / 1e9 : 0;
}

static int name_is(const char *s, const char *name, int glob)
{
	return glob ? fnmatch(name, s, 0) == 0 : strcmp(s, name) == 0;
}

int vm_proc_named(const char *comm, const char *cmdline, const char *name, int glob)
{
	if (name_is(comm, name, glob))
		return 1;
	char prog[RB_CMDLINE_LEN];
	size_t n = strcspn(cmdline, " ");
	if (n == 0 || n >= sizeof(prog))
		return 0;
	memcpy(prog, cmdline, n);
	prog[n] = 0;
	const char *base = strrchr(prog, '/');
	return name_is(base ? base + 1 : prog, name, glob);
}

int vm_type_find(const struct vm_proc *p, const char *name)
{
	for (uint32_t i = 0; i < p->ntypes; i++)
		if (p->types[i].used && strcmp(p->types[i].name, name) == 0)
			return (int)i;
	return -1;
}

int vm_set_enabled(struct vm_proc *p, uint64_t mask, int on, char *err, size_t errlen)
{
	/* the set of a process that has ended records nothing any more: changing
	 * it would only make its kept segment say what never happened */
	p->state = vm_liveness_of(&p->v);
	if (p->state != VM_LIVE) {
		snprintf(err, errlen, "process %d has %s: its event types can no longer be turned on or off",
			 p->pid, p->state == VM_EXITED ? "exited" : "died");
		return -ESRCH;
	}
	struct rb_control *ctl;
	int rc = rb_control_map(&p->v, &ctl, err, errlen);
	if (rc)
		return rc;
	p->enabled_mask = rb_control_update(ctl, mask, on);
	rb_control_unmap(ctl);
	for (uint32_t i = 0; i < RB_MAX_TYPES; i++)
		p->types[i].enabled = (p->enabled_mask >> i) & 1;
	return 0;
}

uint64_t vm_overwritten(const struct vm_proc *p)
{
	uint64_t n = 0;
	for (uint32_t r = 0; r < rb_view_nrings(&p->v); r++) {
		uint64_t h = __atomic_load_n(&rb_view_ring_head(&p->v, r)->head, __ATOMIC_RELAXED);
		uint64_t cap = rb_view_ring_records(&p->v, r);
		if (h > cap)
			n += h - cap;
	}
	return n;
}
