/* mongo_types.c - the ringmon types the MongoDB events are recorded as, and
 * key ids from a per-thread cache (no lock, no allocation after the first use).
 * The record mapping (types, keys, fields) is documented in docs/mongodb.md;
 * keep both in step. */
#include <string.h>

#include <ringmon/ringmon.h>
#include "mongo_internal.h"

struct mongo_types mongo_type;

static int reg(const char *name, const char *f0, const char *f1, const char *f2, const char *f3)
{
	const char *f[4] = {f0, f1, f2, f3};
	return ringmon_type_register(name, f, 4);
}

void mongo_types_register(void)
{
	mongo_type.cmd_started = reg("command.started", "request_id", "operation_id", "conn_id", "port");
	mongo_type.cmd_succeeded = reg("command.succeeded", "request_id", "operation_id", "conn_id", "port");
	mongo_type.cmd_failed = reg("command.failed", "request_id", "operation_id", "code", "domain");
	mongo_type.cmd_ns = reg("command.ns", "ok", "code", "request_id", "port");
	mongo_type.cmd_error = reg("command.error", "code", "domain", "request_id", "port");
	mongo_type.srv_opening = reg("server.opening", "topology_id", "port", "", "");
	mongo_type.srv_changed = reg("server.changed", "prev_type", "new_type", "rtt_ms", "topology_id");
	mongo_type.srv_closed = reg("server.closed", "topology_id", "port", "", "");
	mongo_type.top_opening = reg("topology.opening", "topology_id", "", "", "");
	mongo_type.top_changed = reg("topology.changed", "prev_type", "new_type", "servers", "topology_id");
	mongo_type.top_closed = reg("topology.closed", "topology_id", "", "", "");
	mongo_type.hb_started = reg("heartbeat.started", "awaited", "port", "", "");
	mongo_type.hb_succeeded = reg("heartbeat.succeeded", "awaited", "duration_us", "port", "");
	mongo_type.hb_failed = reg("heartbeat.failed", "awaited", "duration_us", "code", "domain");
	mongo_type.pool_checkout = reg("pool.checkout", "outcome", "in_use", "pool_id", "blocking");
	mongo_type.pool_checkin = reg("pool.checkin", "in_use", "pool_id", "", "");
}

/* ---- per-thread key cache ---- */

struct key_slot {
	uint32_t hash;
	uint16_t type;
	uint16_t id;
	char s[56];
};
static __thread struct key_slot key_cache[64];

static uint32_t fnv(const char *s, int type, size_t *len)
{
	uint32_t h = 2166136261u ^ (uint32_t)type;
	size_t n = 0;
	for (; s[n] && n < 55; n++)
		h = (h ^ (uint8_t)s[n]) * 16777619u;
	*len = n;
	return h;
}

int mongo_key_of(int type, const char *s)
{
	size_t n;
	uint32_t h = fnv(s, type, &n);
	struct key_slot *k = &key_cache[h & 63];
	if (k->id && k->hash == h && k->type == type && strncmp(k->s, s, n) == 0 && !k->s[n])
		return k->id;
	int id = ringmon_key(type, s);
	if (id > 0 && id <= UINT16_MAX) {
		k->hash = h;
		k->type = (uint16_t)type;
		k->id = (uint16_t)id;
		memcpy(k->s, s, n);
		k->s[n] = 0;
	}
	return id;
}
