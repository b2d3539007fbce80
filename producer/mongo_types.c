/* mongo_types.c - the ringmon types the MongoDB events are recorded as (from
 * the schema, schema/mongo_schema.h, which docs/mongodb.md describes), and
 * key ids from a per-thread cache (no lock, no allocation after the first use). */
#include <string.h>

#include <ringmon/ringmon.h>
#include "mongo_internal.h"
#include "mongo_schema.h"

struct mongo_types mongo_type;

/* A type of the schema, registered with exactly its fields. */
static int reg(enum ms_type_id id)
{
	const struct ms_type *t = &ms_types[id];
	const char *f[MS_NFIELDS];
	for (unsigned i = 0; i < t->nfields; i++)
		f[i] = t->field[i].name;
	int type = ringmon_type_register(t->name, f, t->nfields);
	unsigned flags = (ms_type_is_state(id) ? RINGMON_TYPE_STATE : 0u) |
			 (ms_type_is_opt_in(id) ? RINGMON_TYPE_OPT_IN : 0u);
	if (flags)
		(void)ringmon_type_flags(type, flags); /* -EINVAL: ringmon off */
	return type;
}

void mongo_types_register(void)
{
	mongo_type.registered_ns = ringmon_now_ns();
	mongo_type.cmd_started = reg(MS_COMMAND_STARTED);
	mongo_type.cmd_succeeded = reg(MS_COMMAND_SUCCEEDED);
	mongo_type.cmd_failed = reg(MS_COMMAND_FAILED);
	mongo_type.cmd_write_error = reg(MS_COMMAND_WRITE_ERROR);
	mongo_type.cmd_ns = reg(MS_COMMAND_NS);
	mongo_type.cmd_error = reg(MS_COMMAND_ERROR);
	mongo_type.srv_opening = reg(MS_SERVER_OPENING);
	mongo_type.srv_changed = reg(MS_SERVER_CHANGED);
	mongo_type.srv_closed = reg(MS_SERVER_CLOSED);
	mongo_type.top_opening = reg(MS_TOPOLOGY_OPENING);
	mongo_type.top_changed = reg(MS_TOPOLOGY_CHANGED);
	mongo_type.top_closed = reg(MS_TOPOLOGY_CLOSED);
	mongo_type.hb_started = reg(MS_HEARTBEAT_STARTED);
	mongo_type.hb_succeeded = reg(MS_HEARTBEAT_SUCCEEDED);
	mongo_type.hb_failed = reg(MS_HEARTBEAT_FAILED);
	mongo_type.pool_checkout = reg(MS_POOL_CHECKOUT);
	mongo_type.pool_checkin = reg(MS_POOL_CHECKIN);
	mongo_type.cmd_target = reg(MS_COMMAND_TARGET);
	/* its overflow keys, while the key table has room (mongo_schema.h) */
	mongo_type.target_overflow[0] = ringmon_key(mongo_type.cmd_target, MS_TARGET_OVERFLOW_FAILED);
	mongo_type.target_overflow[1] = ringmon_key(mongo_type.cmd_target, MS_TARGET_OVERFLOW_OK);
}

/* ---- per-thread key cache ---- */

struct key_slot {
	uint32_t hash;
	uint16_t type;
	uint16_t id;
	uint8_t len;  /* bytes of s used, no NUL: keys of at most 55 bytes (whole) */
	char s[55];
};
static __thread struct key_slot key_cache[64];

static uint32_t fnv(const char *s, int type, size_t *len)
{
	uint32_t h = 2166136261u ^ (uint32_t)type;
	size_t n = 0;
	for (; n < 56 && s[n]; n++)
		h = (h ^ (uint8_t)s[n]) * 16777619u;
	*len = n;
	return h;
}

int mongo_key_of(int type, const char *s)
{
	size_t n;
	uint32_t h = fnv(s, type, &n);
	struct key_slot *k = &key_cache[h & 63];
	if (k->id && k->hash == h && k->type == type && k->len == n && memcmp(k->s, s, n) == 0)
		return k->id;
	int id = ringmon_key(type, s);
	/* a longer key is not cached: it is stored cut with a hash of its whole
	 * self (ringmon_key), which the slot could not tell apart */
	if (id > 0 && id <= UINT16_MAX && n <= sizeof(k->s)) {
		k->hash = h;
		k->type = (uint16_t)type;
		k->id = (uint16_t)id;
		k->len = (uint8_t)n;
		memcpy(k->s, s, n);
	}
	return id;
}
