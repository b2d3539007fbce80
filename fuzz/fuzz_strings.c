/* fuzz_strings.c - libFuzzer harness for the string tables.
 *
 * The input fills type slots (name, field names, field count, "other" key,
 * state) and key slots (name, type, flags, state) of a valid segment with any
 * bytes: unterminated strings, control characters, bytes >= 0x80, empty
 * names, duplicate names, out-of-range counts and ids. It also writes a few
 * records of those types and keys, and picks a NAME pattern. Checked:
 *  - rb_view_type / rb_view_key return exactly the bytes of each slot,
 *    terminated and length-limited (escaped only when printed), clamp
 *    nfields and ids, and refuse free slots and out-of-range ids;
 *  - vm_refresh's tables and vm_type_find (first type with that name, -1 if
 *    none) for every name and for the pattern;
 *  - vm_decode + vm_event_format: the text line is printable, the JSON parses
 *    and holds type, key and every field (none lost to a name clash);
 *  - `ringmon events PID --enable/--disable PATTERN` changes exactly the
 *    matching types (usage error when none matches) and lists every type;
 *  - `ringmon tail --json --type PATTERN` prints exactly the matching records;
 *  - `ringmon stats --json` parses and names every registered type;
 *  - keys of a type named command.target (the input may start from types
 *    0-3 named as MongoDB's and keys naming each other, then change them):
 *    vm_refresh shows one by the names of the keys its ids name when each is a
 *    ready key, not a keyless slot, of a ready type of the right name, else as
 *    stored. */
#define _GNU_SOURCE
#include <errno.h>
#include <json-c/json.h>
#include <string.h>

#include "cli.h"
#include "common.h"
#include "mongo_schema.h"

#define MAX_KEYS 16
#define NRECS 16

static struct fz_seg *z;
static struct vm_proc p;
static char pattern[RB_NAME_LEN];

/* up to cap bytes from the input; the rest of the slot zero (cap: no NUL) */
static void raw_str(struct fz_in *in, char *dst, size_t cap)
{
	size_t n = fz_u8(in) % (cap + 1);
	memset(dst, 0, cap);
	fz_bytes(in, dst, n);
}

static void write_slot(struct fz_in *in, int *nrec)
{
	uint8_t op = fz_u8(in);
	uint8_t st = fz_u8(in);
	uint32_t state = st < 224 ? RB_SLOT_READY : st;
	if (op < 128) {
		struct rb_type *t = &rb_seg_types(&z->s)[op % RB_MAX_TYPES];
		t->state = state;
		t->nfields = fz_u8(in) % 8;
		t->other_key = (uint32_t)fz_var(in);
		raw_str(in, t->name, sizeof(t->name));
		for (unsigned i = 0; i < RB_NFIELDS; i++)
			raw_str(in, t->field[i], sizeof(t->field[i]));
	} else if (op < 224) {
		struct rb_key *k = &rb_seg_keys(&z->s)[op % MAX_KEYS];
		k->state = state;
		k->type = st & 1 ? fz_u16(in) : fz_u8(in) % 8;
		k->flags = fz_u8(in);
		raw_str(in, k->name, sizeof(k->name));
	} else if (op < 240) {
		if (*nrec < NRECS) {
			struct rb_shard_head *h = rb_seg_shard(&z->s, 0);
			struct rb_record *r = &rb_shard_records(h)[*nrec];
			r->type = st % 8;
			r->key = fz_u8(in) % (MAX_KEYS + 1);
			r->ts_ns = 1000 + (uint64_t)*nrec;
			r->tid = 7;
			r->dur_ns = st & 8 ? RB_NO_DURATION : fz_u16(in);
			for (unsigned i = 0; i < RB_NFIELDS; i++)
				r->field[i] = (int64_t)fz_var(in) - 3;
			r->seq = (uint64_t)*nrec + 1;
			h->head = (uint64_t)++*nrec;
		}
	} else {
		raw_str(in, pattern, sizeof(pattern) - 1);
		for (size_t i = 0; i + 1 < sizeof(pattern); i++)
			if (!pattern[i])
				break; /* argv strings end at the first NUL */
	}
}

/* ---- the tables as read ---- */

static void check_tables(const struct rb_view *v)
{
	char want[RB_KEY_LEN];
	for (uint32_t id = 0; id <= RB_MAX_TYPES; id++) {
		struct rb_type_info ti;
		int rc = rb_view_type(v, id, &ti);
		if (id >= RB_MAX_TYPES) {
			FZ_CHECK(rc == -EINVAL, "type %u: %d", id, rc);
			continue;
		}
		const struct rb_type *t = &rb_seg_types(&z->s)[id];
		FZ_CHECK(rc == (t->state == RB_SLOT_READY ? 0 : -ENOENT), "type %u state %u: %d", id,
			 t->state, rc);
		if (rc)
			continue;
		fz_expect_str(want, t->name, sizeof(t->name));
		FZ_CHECK(strcmp(ti.name, want) == 0, "type %u name '%s', want '%s'", id, ti.name, want);
		FZ_CHECK(ti.nfields == (t->nfields < RB_NFIELDS ? t->nfields : RB_NFIELDS), "nfields");
		for (uint32_t i = 0; i < RB_NFIELDS; i++) {
			if (i < ti.nfields)
				fz_expect_str(want, t->field[i], sizeof(t->field[i]));
			else
				want[0] = 0;
			FZ_CHECK(strcmp(ti.field[i], want) == 0, "type %u field %u '%s', want '%s'", id,
				 i, ti.field[i], want);
		}
		FZ_CHECK(ti.other_key == (t->other_key < MAX_KEYS ? t->other_key : 0), "other_key");
	}
	for (uint32_t id = 0; id <= MAX_KEYS; id++) {
		struct rb_key_info ki;
		int rc = rb_view_key(v, id, &ki);
		if (id == 0 || id >= MAX_KEYS) {
			FZ_CHECK(rc == -EINVAL, "key %u: %d", id, rc);
			continue;
		}
		const struct rb_key *k = &rb_seg_keys(&z->s)[id];
		int want_rc = k->state != RB_SLOT_READY ? -ENOENT : k->type >= RB_MAX_TYPES ? -EINVAL : 0;
		FZ_CHECK(rc == want_rc, "key %u: %d, want %d", id, rc, want_rc);
		if (rc)
			continue;
		fz_expect_str(want, k->name, sizeof(k->name));
		FZ_CHECK(strcmp(ki.name, want) == 0, "key %u name '%s', want '%s'", id, ki.name, want);
		FZ_CHECK(ki.type == k->type && ki.other == ((k->flags & RB_KEY_OTHER) != 0), "key %u", id);
	}
}

/* ---- command.target keys ---- */

/* a base the input then changes: types 0-3 named as the MongoDB types
 * command.target's keys name, keys 1-3 a command, a namespace and a server,
 * keys 4-7 of command.target naming them */
static void mongo_base(void)
{
	static const char *const types[] = {"command.started", "command.ns", "server.opening",
					    MS_TARGET_TYPE};
	static const char *const keys[] = {"", "find", "shop.orders", "h:1",
					   "1.1.2.3", "0.1.0.0", "1.1.0.3", "1.1.2.0"};
	for (uint32_t i = 0; i < 4; i++) {
		struct rb_type *t = &rb_seg_types(&z->s)[i];
		snprintf(t->name, sizeof(t->name), "%s", types[i]);
		t->state = RB_SLOT_READY;
	}
	for (uint32_t id = 1; id < 8; id++) {
		struct rb_key *k = &rb_seg_keys(&z->s)[id];
		snprintf(k->name, sizeof(k->name), "%s", keys[id]);
		k->type = (uint16_t)(id < 4 ? id - 1 : 3);
		k->flags = 0;
		k->state = RB_SLOT_READY;
	}
}

/* the name of key id if it is a ready key (not a keyless slot) of a ready type
 * named type, else NULL; from the slots, not through the reader */
static const char *named_key(uint32_t id, const char *type, char *buf)
{
	const struct rb_key *k = &rb_seg_keys(&z->s)[id];
	if (id == 0 || id >= MAX_KEYS || k->state != RB_SLOT_READY || (k->flags & RB_KEY_NONE) ||
	    k->type >= RB_MAX_TYPES)
		return NULL;
	const struct rb_type *t = &rb_seg_types(&z->s)[k->type];
	char tn[RB_NAME_LEN];
	fz_expect_str(tn, t->name, sizeof(t->name));
	if (t->state != RB_SLOT_READY || strcmp(tn, type) != 0)
		return NULL;
	fz_expect_str(buf, k->name, sizeof(k->name));
	return buf;
}

/* what a reader shows for key id of command.target: its names, or as stored */
static void expect_target(uint32_t id, int *resolved, char *want, size_t len)
{
	const struct rb_key *k = &rb_seg_keys(&z->s)[id];
	char raw[RB_KEY_LEN], c[RB_KEY_LEN], n[RB_KEY_LEN] = "", h[RB_KEY_LEN] = "";
	struct ms_target t;
	fz_expect_str(raw, k->name, sizeof(k->name));
	*resolved = !(k->flags & (RB_KEY_OTHER | RB_KEY_NONE)) && ms_target_parse(raw, &t) == 0 &&
		    named_key(t.cmd, "command.started", c) &&
		    (!t.ns || named_key(t.ns, "command.ns", n)) &&
		    (!t.server || named_key(t.server, "server.opening", h));
	int plain = !(k->flags & (RB_KEY_OTHER | RB_KEY_NONE));
	if (*resolved)
		snprintf(want, len, "%s %s %s %s", c, n[0] ? n : "-", h[0] ? h : "-",
			 t.ok ? "ok" : "failed");
	else if (plain && ms_target_parse(raw, &t) == 0 && t.cmd == 0)
		snprintf(want, len, "other %s", t.ok ? "ok" : "failed"); /* the overflow */
	else
		snprintf(want, len, "%s", raw);
}

static void check_target_keys(void)
{
	for (uint32_t id = 1; id < p.nkeys && id < MAX_KEYS; id++) {
		const struct vm_key *k = &p.keys[id];
		if (!k->used || k->type >= p.ntypes || !p.types[k->type].used ||
		    strcmp(p.types[k->type].name, MS_TARGET_TYPE) != 0)
			continue;
		char want[VM_KEY_TEXT];
		int resolved;
		expect_target(id, &resolved, want, sizeof(want));
		FZ_CHECK(k->resolved == resolved && strcmp(k->name, want) == 0,
			 "command.target key %u shown '%s' (resolved %d), want '%s' (%d)", id, k->name,
			 k->resolved, want, resolved);
	}
}

static int first_named(const char *name)
{
	for (uint32_t i = 0; i < p.ntypes; i++)
		if (p.types[i].used && strcmp(p.types[i].name, name) == 0)
			return (int)i;
	return -1;
}

static void check_model(void)
{
	/* forget what the last input registered, keep the attachment */
	memset(p.types, 0, RB_MAX_TYPES * sizeof(*p.types));
	memset(p.keys, 0, p.v.g.max_keys * sizeof(*p.keys));
	vm_refresh(&p);
	uint32_t nt = rb_seg_header(&z->s)->ntypes;
	FZ_CHECK(p.ntypes == (nt < RB_MAX_TYPES ? nt : RB_MAX_TYPES), "ntypes %u of %u", p.ntypes, nt);
	for (uint32_t i = 0; i < RB_MAX_TYPES; i++) {
		int ready = i < p.ntypes && rb_seg_types(&z->s)[i].state == RB_SLOT_READY;
		FZ_CHECK(p.types[i].used == ready, "type %u used %d", i, p.types[i].used);
		if (!ready)
			continue;
		fz_check_name("type name", p.types[i].name, sizeof(p.types[i].name));
		int f = vm_type_find(&p, p.types[i].name);
		FZ_CHECK(f >= 0 && f <= (int)i && f == first_named(p.types[i].name),
			 "vm_type_find('%s') = %d for type %u", p.types[i].name, f, i);
	}
	FZ_CHECK(vm_type_find(&p, pattern) == first_named(pattern), "vm_type_find(pattern)");
	check_target_keys();
}

/* ---- records ---- */

static int json_len(json_object *o)
{
	return json_object_object_length(o);
}

static void check_event(const struct rb_record *r, struct vm_event *e)
{
	vm_decode(&p.v, r, e);
	char line[4096], esc[VM_KEY_TEXT * 4];
	vm_event_format(e, 0, line, sizeof(line));
	fz_check_str("text line", line, sizeof(line));
	vm_event_format(e, 1, line, sizeof(line));
	json_object *o = json_tokener_parse(line), *x;
	FZ_CHECK(o && json_object_is_type(o, json_type_object), "JSON: %s", line);
	FZ_CHECK(json_object_object_get_ex(o, "type", &x) && json_object_is_type(x, json_type_string) &&
			 strcmp(json_object_get_string(x), esc_name(e->type, ESC_UTF8, esc, sizeof(esc))) == 0,
		 "JSON type, want '%s': %s", e->type, line);
	FZ_CHECK(!e->key[0] || (json_object_object_get_ex(o, "key", &x) &&
				json_object_is_type(x, json_type_string) &&
				strcmp(json_object_get_string(x), esc_name(e->key, ESC_UTF8, esc, sizeof(esc))) == 0),
		 "JSON key, want '%s': %s", e->key, line);
	/* and a "<field>_name" beside each value the MongoDB schema names */
	int named = 0;
	for (uint32_t i = 0; i < e->nfields; i++)
		named += vm_field_json_name(e, i, esc, sizeof(esc)) != NULL;
	int want = 4 + (e->key[0] != 0) + e->has_dur + (int)e->nfields + named;
	FZ_CHECK(json_len(o) == want, "JSON has %d members, want %d (type, ts_ns, time, tid, "
		 "key %d, dur_ns %d, %u fields, %d names): %s", json_len(o), want, e->key[0] != 0,
		 e->has_dur, e->nfields, named, line);
	json_object_put(o);
}

/* ---- the CLI ---- */

/* a type name tail printed (escaped) is one the pattern matches */
static int printed_match(const char *printed)
{
	char name[RB_NAME_LEN * 4];
	for (uint32_t i = 0; i < p.ntypes; i++)
		if (p.types[i].used && fz_pattern_match(pattern, p.types[i].name) &&
		    strcmp(esc_name(p.types[i].name, ESC_UTF8, name, sizeof(name)), printed) == 0)
			return 1;
	return fz_pattern_match(pattern, printed);
}

static void check_events(int enable, int nrec)
{
	uint64_t any = 0;
	for (uint32_t i = 0; i < p.ntypes; i++)
		if (p.types[i].used && (strcmp(pattern, "all") == 0 ||
					fz_pattern_match(pattern, p.types[i].name)))
			any |= 1ull << i;
	/* type 63 is never enabled, but a type may sit in its slot */
	uint64_t match = any & ~(1ull << RB_TYPE_NONE);
	struct rb_control *ctl = rb_seg_control(&z->s);
	uint64_t before = ctl->enabled;
	char pid[16];
	snprintf(pid, sizeof(pid), "%d", z->pid);
	const char *args[] = {"events", enable ? "--enable" : "--disable", pattern, pid, NULL};
	char *text;
	int rc = fz_run(cmd_events, args, &text);
	if (!any) {
		FZ_CHECK(rc == 1 && !text[0] && ctl->enabled == before, "events %s '%s' matched none: "
			 "exit %d", args[1], pattern, rc);
	} else if (vm_liveness_of(&p.v) != VM_LIVE) {
		/* the header says the process ended: listed, never changed */
		FZ_CHECK(rc == 1 && ctl->enabled == before, "events %s '%s' on an ended process: exit %d, "
			 "mask %llx (was %llx)", args[1], pattern, rc, (unsigned long long)ctl->enabled,
			 (unsigned long long)before);
	} else {
		FZ_CHECK(rc == 0, "events exit status %d", rc);
		uint64_t want = enable ? before | match : before & ~match;
		FZ_CHECK(ctl->enabled == want, "events %s '%s': mask %llx, want %llx", args[1],
			 pattern, (unsigned long long)ctl->enabled, (unsigned long long)want);
		char *save = NULL, *line = strtok_r(text, "\n", &save);
		for (uint32_t i = 0; i < p.ntypes; i++) {
			if (!p.types[i].used)
				continue;
			char want_line[RB_NAME_LEN * 4 + 8], name[RB_NAME_LEN * 4];
			/* names printed escaped (the harness runs in the C locale) */
			snprintf(want_line, sizeof(want_line), "%-3s %s", (want >> i) & 1 ? "on" : "off",
				 esc_name(p.types[i].name, ESC_ASCII, name, sizeof(name)));
			FZ_CHECK(line && strcmp(line, want_line) == 0, "events line '%s', want '%s'",
				 line ? line : "", want_line);
			line = strtok_r(NULL, "\n", &save);
		}
		FZ_CHECK(!line, "extra events line '%s'", line);
	}
	free(text);

	/* tail --type PATTERN */
	uint64_t want_n = 0;
	struct vm_event e;
	for (int i = 0; i < nrec; i++) {
		check_event(&rb_shard_records(rb_seg_shard(&z->s, 0))[i], &e);
		want_n += fz_pattern_match(pattern, e.type);
	}
	const char *targs[] = {"tail", "--json", "--from-start", "--type", pattern, pid, NULL};
	rc = fz_run(cmd_tail, targs, &text);
	/* a --type that names no type of the process is an error (exit 1) */
	int named = 0;
	for (uint32_t i = 0; i < p.ntypes; i++)
		named |= p.types[i].used && fz_pattern_match(pattern, p.types[i].name);
	if (!*pattern) /* an empty NAME: a usage error, whatever the segment holds */
		named = 0;
	FZ_CHECK(rc == (!*pattern ? 2 : named ? 0 : 1), "tail --type '%s' exit status %d", pattern, rc);
	if (!named)
		want_n = 0;
	uint64_t n = 0;
	json_object *x;
	for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save), n++) {
		json_object *o = json_tokener_parse(line);
		FZ_CHECK(o && json_object_object_get_ex(o, "type", &x) &&
				 printed_match(json_object_get_string(x)),
			 "tail --type '%s' printed %s", pattern, line);
		json_object_put(o);
	}
	FZ_CHECK(n == want_n, "tail --type '%s' printed %llu records, want %llu", pattern,
		 (unsigned long long)n, (unsigned long long)want_n);
	free(text);

	const char *sargs[] = {"stats", "--json", pid, NULL};
	rc = fz_run(cmd_stats, sargs, &text);
	json_object *o = json_tokener_parse(text), *types;
	FZ_CHECK(rc == 0 && o && json_object_object_get_ex(o, "types", &types), "stats: %s", text);
	for (uint32_t i = 0; i < p.ntypes; i++) {
		/* as printed: escaped, and "#id" after a name already listed */
		char name[RB_NAME_LEN * 4 + 16];
		esc_name(p.types[i].name, ESC_UTF8, name, sizeof(name));
		int listed = json_object_object_get_ex(types, name, NULL);
		snprintf(name + strlen(name), 16, "#%u", i);
		listed |= json_object_object_get_ex(types, name, NULL);
		FZ_CHECK(!p.types[i].used || listed, "stats JSON lacks type '%s'", p.types[i].name);
	}
	json_object_put(o);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	if (!z) {
		z = fz_create(1, NRECS, MAX_KEYS);
		char err[RB_ERR_MAX + 64];
		FZ_CHECK(vm_attach(&p, z->pid, err, sizeof(err)) == 0, "vm_attach: %s", err);
	}
	fz_reset(z);
	struct fz_in in = {data, size};
	uint8_t cfg = fz_u8(&in);
	struct rb_header *h = rb_seg_header(&z->s);
	h->ntypes = fz_u8(&in);
	h->nkeys = fz_u8(&in);
	rb_seg_control(&z->s)->enabled = fz_u64(&in) & ~(1ull << RB_TYPE_NONE);
	strcpy(pattern, "db.*");
	int nrec = 0;
	if (cfg & 2) {
		mongo_base();
		h->ntypes = h->ntypes > 4 ? h->ntypes : 4;
		h->nkeys = h->nkeys > 8 ? h->nkeys : 8;
	}
	while (in.n)
		write_slot(&in, &nrec);
	check_tables(&p.v);
	check_model();
	check_events(cfg & 1, nrec);
	return 0;
}
