/* model_target.c - keys that name other keys: MongoDB's command.target, whose
 * key "S.C.N.H" holds the ids of a command name, a namespace and a server
 * under other types of the same segment (docs/mongodb.md), shown by their
 * names. Every id is checked as anything a reader reads from a segment. */
#include "model.h"
#include "mongo_schema.h"

#include <stdio.h>
#include <string.h>

_Static_assert(MS_KEY_LEN == RB_KEY_LEN - 1, "the schema cuts names to what a key holds");

/* the name of key id of v if it is a key (not a keyless slot) of the type
 * named type; 0 otherwise */
static int name_of(const struct rb_view *v, uint32_t id, const char *type, char *name)
{
	struct rb_key_info k;
	struct rb_type_info t;
	if (id == 0 || rb_view_key(v, id, &k) != 0 || k.none || rb_view_type(v, k.type, &t) != 0 ||
	    strcmp(t.name, type) != 0)
		return 0;
	memcpy(name, k.name, RB_KEY_LEN);
	return 1;
}

static int resolve(const struct rb_view *v, const struct rb_key_info *k, struct vm_target *t)
{
	struct rb_type_info ti;
	struct ms_target m;
	memset(t, 0, sizeof(*t));
	t->ok = -1;
	if (k->other || k->none || rb_view_type(v, k->type, &ti) != 0 ||
	    strcmp(ti.name, MS_TARGET_TYPE) != 0 || ms_target_parse(k->name, &m) != 0)
		return 0;
	t->ok = (int)m.ok;
	return name_of(v, m.cmd, ms_types[MS_COMMAND_STARTED].name, t->command) &&
	       (!m.ns || name_of(v, m.ns, ms_types[MS_COMMAND_NS].name, t->ns)) &&
	       (!m.server || name_of(v, m.server, ms_types[MS_SERVER_OPENING].name, t->server));
}

int vm_key_text(const struct rb_view *v, const struct rb_key_info *k, char *text, size_t len,
		struct vm_target *t)
{
	struct vm_target scratch;
	if (!t)
		t = &scratch;
	if (!resolve(v, k, t)) {
		int ok = t->ok;
		memset(t, 0, sizeof(*t));
		t->ok = ok;
		struct ms_target m;
		if (ok >= 0 && ms_target_parse(k->name, &m) == 0 && m.cmd == 0)
			/* the producer's overflow of one status: counted, not keyed */
			snprintf(text, len, "other %s", ok ? "ok" : "failed");
		else
			snprintf(text, len, "%s", k->name);
		return 0;
	}
	snprintf(text, len, "%s %s %s %s", t->command, t->ns[0] ? t->ns : "-",
		 t->server[0] ? t->server : "-", t->ok ? "ok" : "failed");
	return 1;
}
