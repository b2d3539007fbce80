/* mongo_apm.c - libmongoc APM events as ringmon records: types, the 12 callbacks,
 * instrumenting a client, and the application's own context kept intact.
 *
 * The record mapping (types, keys, fields) is documented in docs/mongodb.md;
 * keep both in step. Hot path (command started/succeeded/failed): no locks, no
 * allocation; key ids come from small per-thread caches, the database and
 * collection of a command from a per-thread table keyed by request id. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ringmon.h"
#include "ringmon_mongoc.h"
#include "mongo_internal.h"

struct mongo_real mongo_real;

/* ---- record types ---- */

static struct {
	int cmd_started, cmd_succeeded, cmd_failed, cmd_ns, cmd_error;
	int srv_opening, srv_changed, srv_closed;
	int top_opening, top_changed, top_closed;
	int hb_started, hb_succeeded, hb_failed;
	int pool_checkout, pool_checkin;
} T;

static int reg(const char *name, const char *f0, const char *f1, const char *f2, const char *f3)
{
	const char *f[4] = {f0, f1, f2, f3};
	return ringmon_type_register(name, f, 4);
}

static void register_types(void)
{
	T.cmd_started = reg("command.started", "request_id", "operation_id", "conn_id", "port");
	T.cmd_succeeded = reg("command.succeeded", "request_id", "operation_id", "conn_id", "port");
	T.cmd_failed = reg("command.failed", "request_id", "operation_id", "code", "domain");
	T.cmd_ns = reg("command.ns", "ok", "code", "request_id", "port");
	T.cmd_error = reg("command.error", "code", "domain", "request_id", "port");
	T.srv_opening = reg("server.opening", "topology_id", "port", "", "");
	T.srv_changed = reg("server.changed", "prev_type", "new_type", "rtt_ms", "topology_id");
	T.srv_closed = reg("server.closed", "topology_id", "port", "", "");
	T.top_opening = reg("topology.opening", "topology_id", "", "", "");
	T.top_changed = reg("topology.changed", "prev_type", "new_type", "servers", "topology_id");
	T.top_closed = reg("topology.closed", "topology_id", "", "", "");
	T.hb_started = reg("heartbeat.started", "awaited", "port", "", "");
	T.hb_succeeded = reg("heartbeat.succeeded", "awaited", "duration_us", "port", "");
	T.hb_failed = reg("heartbeat.failed", "awaited", "duration_us", "code", "domain");
	T.pool_checkout = reg("pool.checkout", "outcome", "in_use", "pool_id", "blocking");
	T.pool_checkin = reg("pool.checkin", "in_use", "pool_id", "", "");
}

/* ---- the libmongoc functions we call, past any interposer ---- */

void *mongo_real_sym(const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);
	if (!p) {
		/* RTLD_NEXT misses libmongoc when it was loaded before us */
		void *h = dlopen("libmongoc-1.0.so.0", RTLD_NOW | RTLD_NOLOAD);
		if (h) {
			p = dlsym(h, name);
			dlclose(h);
		}
	}
	return p;
}

static pthread_once_t real_once = PTHREAD_ONCE_INIT;
static int real_err;

static const char *const ctx_getter[CB_COUNT] = {
	"mongoc_apm_command_started_get_context",
	"mongoc_apm_command_succeeded_get_context",
	"mongoc_apm_command_failed_get_context",
	"mongoc_apm_server_changed_get_context",
	"mongoc_apm_server_opening_get_context",
	"mongoc_apm_server_closed_get_context",
	"mongoc_apm_topology_changed_get_context",
	"mongoc_apm_topology_opening_get_context",
	"mongoc_apm_topology_closed_get_context",
	"mongoc_apm_server_heartbeat_started_get_context",
	"mongoc_apm_server_heartbeat_succeeded_get_context",
	"mongoc_apm_server_heartbeat_failed_get_context",
};

static void real_init_once(void)
{
	struct mongo_real r = {0};
#define LOAD(field, name)                                                    \
	do {                                                                 \
		*(void **)&r.field = mongo_real_sym(name);                   \
		if (!r.field)                                                \
			goto fail;                                           \
	} while (0)
	LOAD(client_set_apm, "mongoc_client_set_apm_callbacks");
	LOAD(pool_set_apm, "mongoc_client_pool_set_apm_callbacks");
	LOAD(pool_pop, "mongoc_client_pool_pop");
	LOAD(pool_try_pop, "mongoc_client_pool_try_pop");
	LOAD(pool_push, "mongoc_client_pool_push");
	LOAD(client_destroy, "mongoc_client_destroy");
	LOAD(pool_destroy, "mongoc_client_pool_destroy");
	for (int i = 0; i < CB_COUNT; i++)
		LOAD(get_context[i], ctx_getter[i]);
#undef LOAD
	mongo_real = r;
	return;
fail:
	real_err = -ENOSYS;
}

int mongo_real_init(void)
{
	pthread_once(&real_once, real_init_once);
	return real_err;
}

/* ---- contexts: a static arena, recycled, never freed ---- */

#define ARENA 1024
static struct mongo_ctx arena[ARENA];
static unsigned arena_used; /* slots ever handed out (atomic, only grows) */
static pthread_mutex_t arena_lock = PTHREAD_MUTEX_INITIALIZER;
static int next_pool_id;

int mongo_ctx_is_ours(const void *p)
{
	uintptr_t a = (uintptr_t)p, lo = (uintptr_t)&arena[0], hi = (uintptr_t)&arena[ARENA];
	return a >= lo && a < hi && (a - lo) % sizeof(struct mongo_ctx) == 0;
}

struct mongo_ctx *mongo_ctx_find(const void *target)
{
	if (!target)
		return NULL;
	/* pairs with the release store of arena_used in mongo_ctx_new */
	unsigned n = __atomic_load_n(&arena_used, __ATOMIC_ACQUIRE);
	for (unsigned i = 0; i < n; i++) {
		struct mongo_ctx *c = &arena[i];
		if (__atomic_load_n(&c->target, __ATOMIC_ACQUIRE) == target &&
		    __atomic_load_n(&c->kind, __ATOMIC_ACQUIRE) != MONGO_FREE)
			return c;
	}
	return NULL;
}

struct mongo_ctx *mongo_ctx_new(void *target, int kind)
{
	struct mongo_ctx *c = NULL;
	pthread_mutex_lock(&arena_lock);
	for (unsigned i = 0; i < arena_used; i++) {
		if (__atomic_load_n(&arena[i].kind, __ATOMIC_RELAXED) == MONGO_FREE) {
			c = &arena[i];
			break;
		}
	}
	if (!c && arena_used < ARENA)
		c = &arena[arena_used];
	if (c) {
		memset(&c->app, 0, sizeof(c->app));
		c->magic = MONGO_CTX_MAGIC;
		c->app_ctx = NULL;
		c->app_set = 0;
		c->in_use = 0;
		c->popped = 0;
		c->armed = 0;
		c->pool_id = kind == MONGO_POOL ? ++next_pool_id : 0;
		__atomic_store_n(&c->target, target, __ATOMIC_RELEASE);
		/* pairs with the acquire loads in mongo_ctx_find */
		__atomic_store_n(&c->kind, kind, __ATOMIC_RELEASE);
		if (c == &arena[arena_used])
			__atomic_store_n(&arena_used, arena_used + 1, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&arena_lock);
	return c;
}

void mongo_ctx_release(struct mongo_ctx *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&arena_lock);
	__atomic_store_n(&c->target, NULL, __ATOMIC_RELEASE);
	__atomic_store_n(&c->kind, MONGO_FREE, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&arena_lock);
}

/* The application's context for a context libmongoc hands out. */
static void *app_context(void *p)
{
	if (mongo_ctx_is_ours(p))
		return ((struct mongo_ctx *)p)->app_ctx;
	return p;
}

/* ---- per-thread caches (no locks, no allocation after the first use) ---- */

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

/* Key id of s under type; ringmon_key() only on a cache miss. */
static int key_of(int type, const char *s)
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

/* Commands in flight on this thread, by request id: what the succeeded and
 * failed events need but do not carry (database, collection, start time). */
struct inflight {
	const struct mongo_ctx *ctx;
	int64_t request_id;
	uint64_t start_ns;
	int ns_key; /* key of command.ns, 0 = none */
};
static __thread struct inflight inflight[16];

static struct inflight *inflight_take(const struct mongo_ctx *c, int64_t rid)
{
	struct inflight *f = &inflight[(uint64_t)rid & 15];
	if (f->ctx != c || f->request_id != rid)
		return NULL;
	f->ctx = NULL;
	return f;
}

/* ---- command helpers ---- */

static const char *const sensitive[] = {
	"authenticate", "saslStart", "saslContinue", "getnonce", "createUser", "updateUser",
	"copydbgetnonce", "copydbsaslstart", "copydb",
};

/* Commands whose first element's value names a collection. */
static const char *const coll_cmds[] = {
	"insert", "find", "update", "delete", "aggregate", "count", "findAndModify",
	"distinct", "create", "drop", "listIndexes", "createIndexes", "dropIndexes",
	"collMod", "mapReduce", "validate", "collStats", "renameCollection",
};

static int names_collection(const char *name)
{
	for (size_t i = 0; i < sizeof(coll_cmds) / sizeof(coll_cmds[0]); i++)
		if (strcasecmp(name, coll_cmds[i]) == 0)
			return 1;
	return 0;
}

/* "db.collection" of a command that names one (class CLS_COLL or CLS_GETMORE,
 * never a sensitive one) into buf; 0 if it names none. */
static int command_ns(const char *name, const char *db, const bson_t *cmd, char *buf,
		      size_t len)
{
	bson_iter_t it;
	const char *coll = NULL;
	uint32_t clen = 0;
	if (!cmd || !db)
		return 0;
	if (strcasecmp(name, "getMore") == 0) {
		if (!bson_iter_init_find(&it, cmd, "collection") || !BSON_ITER_HOLDS_UTF8(&it))
			return 0;
	} else {
		if (!bson_iter_init(&it, cmd) || !bson_iter_next(&it) || !BSON_ITER_HOLDS_UTF8(&it))
			return 0;
	}
	coll = bson_iter_utf8(&it, &clen);
	size_t dlen = strlen(db);
	if (!clen || dlen + 1 + clen + 1 > len) {
		/* cut like ringmon_key would, keeping the database whole if it fits */
		if (dlen + 2 > len)
			return 0;
		clen = (uint32_t)(len - dlen - 2);
	}
	memcpy(buf, db, dlen);
	buf[dlen] = '.';
	memcpy(buf + dlen + 1, coll, clen);
	buf[dlen + 1 + clen] = 0;
	return 1;
}

static int64_t port_of(const mongoc_host_list_t *h)
{
	return h ? (int64_t)h->port : 0;
}

static const char *host_of(const mongoc_host_list_t *h)
{
	return h ? h->host_and_port : NULL;
}

static int64_t topo_id(const bson_oid_t *oid)
{
	int64_t v;
	/* the random and counter bytes: unique per topology in practice */
	memcpy(&v, oid->bytes + 4, sizeof(v));
	return v;
}

/* The key of a command.error: the server's code in decimal ("11000") when
 * the server answered ok: 0 with a code, else "client D.C" (domain and code
 * of an error the driver raised: network, timeout, ...). Only the reply's
 * integer "code" is read; sensitive commands' replies are empty. */
static const char *error_key(const bson_error_t *e, const bson_t *reply, char *buf, size_t len)
{
	bson_iter_t it;
	if (reply && bson_iter_init_find(&it, reply, "code") && BSON_ITER_HOLDS_NUMBER(&it))
		snprintf(buf, len, "%lld", (long long)bson_iter_as_int64(&it));
	else
		snprintf(buf, len, "client %u.%u", e->domain, e->code);
	return buf;
}

#define CTX(i, e) ((struct mongo_ctx *)mongo_real.get_context[i](e))
#define CHAIN(c, i, e)                                                       \
	do {                                                                 \
		if ((c)->app.fn[i])                                          \
			(c)->app.fn[i]((const void *)(e));                   \
	} while (0)

/* ---- commands ---- */

/* What a command name is, for redaction and collections; a pure function of
 * the name, so cached per thread by its command.started key id. */
enum { CLS_UNKNOWN, CLS_PLAIN, CLS_COLL, CLS_GETMORE, CLS_SENSITIVE, CLS_HELLO };
static __thread uint8_t cls_cache[1024];

static int classify(const char *name)
{
	for (size_t i = 0; i < sizeof(sensitive) / sizeof(sensitive[0]); i++)
		if (strcasecmp(name, sensitive[i]) == 0)
			return CLS_SENSITIVE;
	if (strcasecmp(name, "hello") == 0 || strcasecmp(name, "isMaster") == 0)
		return CLS_HELLO;
	if (strcasecmp(name, "getMore") == 0)
		return CLS_GETMORE;
	return names_collection(name) ? CLS_COLL : CLS_PLAIN;
}

static int class_of(const char *name, int key)
{
	if (key <= 0 || key >= (int)sizeof(cls_cache))
		return classify(name);
	if (!cls_cache[key])
		cls_cache[key] = (uint8_t)classify(name);
	return cls_cache[key];
}

static void on_cmd_started(const mongoc_apm_command_started_t *e)
{
	struct mongo_ctx *c = CTX(CB_CMD_STARTED, e);
	if (!mongo_ctx_is_ours(c))
		return;
	const char *name = mongoc_apm_command_started_get_command_name(e);
	int64_t rid = mongoc_apm_command_started_get_request_id(e);
	if (name) {
		struct inflight *f = &inflight[(uint64_t)rid & 15];
		f->ctx = c;
		f->request_id = rid;
		f->start_ns = ringmon_now_ns();
		f->ns_key = 0;
		int key = key_of(T.cmd_started, name);
		int cls = class_of(name, key);
		if ((cls == CLS_COLL || cls == CLS_GETMORE) && ringmon_enabled(T.cmd_ns)) {
			char ns[56];
			/* sensitive commands never get here: nothing is derived from
			 * their arguments */
			if (command_ns(name, mongoc_apm_command_started_get_database_name(e),
				       mongoc_apm_command_started_get_command(e), ns, sizeof(ns)))
				f->ns_key = key_of(T.cmd_ns, ns);
		}
		if (ringmon_enabled(T.cmd_started))
			ringmon_emit(T.cmd_started, key, RINGMON_NO_DURATION, rid,
				     mongoc_apm_command_started_get_operation_id(e),
				     mongoc_apm_command_started_get_server_connection_id(e),
				     port_of(mongoc_apm_command_started_get_host(e)));
	}
	CHAIN(c, CB_CMD_STARTED, e);
}

static void on_cmd_succeeded(const mongoc_apm_command_succeeded_t *e)
{
	struct mongo_ctx *c = CTX(CB_CMD_SUCCEEDED, e);
	if (!mongo_ctx_is_ours(c))
		return;
	const char *name = mongoc_apm_command_succeeded_get_command_name(e);
	int64_t rid = mongoc_apm_command_succeeded_get_request_id(e);
	struct inflight *f = inflight_take(c, rid);
	uint64_t dur = f ? ringmon_now_ns() - f->start_ns
			 : (uint64_t)mongoc_apm_command_succeeded_get_duration(e) * 1000u;
	int64_t port = port_of(mongoc_apm_command_succeeded_get_host(e));
	if (name && ringmon_enabled(T.cmd_succeeded))
		ringmon_emit(T.cmd_succeeded, key_of(T.cmd_succeeded, name), dur, rid,
			     mongoc_apm_command_succeeded_get_operation_id(e),
			     mongoc_apm_command_succeeded_get_server_connection_id(e), port);
	if (f && f->ns_key)
		ringmon_emit(T.cmd_ns, f->ns_key, dur, 1, 0, rid, port);
	CHAIN(c, CB_CMD_SUCCEEDED, e);
}

static void on_cmd_failed(const mongoc_apm_command_failed_t *e)
{
	struct mongo_ctx *c = CTX(CB_CMD_FAILED, e);
	if (!mongo_ctx_is_ours(c))
		return;
	const char *name = mongoc_apm_command_failed_get_command_name(e);
	int64_t rid = mongoc_apm_command_failed_get_request_id(e);
	struct inflight *f = inflight_take(c, rid);
	uint64_t dur = f ? ringmon_now_ns() - f->start_ns
			 : (uint64_t)mongoc_apm_command_failed_get_duration(e) * 1000u;
	int64_t port = port_of(mongoc_apm_command_failed_get_host(e));
	bson_error_t err = {0};
	mongoc_apm_command_failed_get_error(e, &err);
	if (name && ringmon_enabled(T.cmd_failed))
		ringmon_emit(T.cmd_failed, key_of(T.cmd_failed, name), dur, rid,
			     mongoc_apm_command_failed_get_operation_id(e), err.code, err.domain);
	if (ringmon_enabled(T.cmd_error)) {
		char k[40];
		const bson_t *reply = mongoc_apm_command_failed_get_reply(e);
		ringmon_emit(T.cmd_error, key_of(T.cmd_error, error_key(&err, reply, k, sizeof(k))),
			     dur, err.code, err.domain, rid, port);
	}
	if (f && f->ns_key)
		ringmon_emit(T.cmd_ns, f->ns_key, dur, 0, err.code, rid, port);
	CHAIN(c, CB_CMD_FAILED, e);
}

/* ---- SDAM: rare events, may allocate ---- */

static const char *const server_types[] = {
	"Unknown", "Standalone", "Mongos", "PossiblePrimary", "RSPrimary",
	"RSSecondary", "RSArbiter", "RSOther", "RSGhost", "LoadBalancer",
};
static const char *const topology_types[] = {
	"Unknown", "Single", "ReplicaSetNoPrimary", "ReplicaSetWithPrimary", "Sharded",
	"LoadBalanced",
};

static int64_t enum_of(const char *s, const char *const *names, size_t n)
{
	for (size_t i = 0; s && i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return (int64_t)i;
	return -1;
}
#define SERVER_TYPE(sd)                                                            \
	enum_of(mongoc_server_description_type(sd), server_types,                  \
		sizeof(server_types) / sizeof(server_types[0]))
#define TOPOLOGY_TYPE(td)                                                          \
	enum_of(mongoc_topology_description_type(td), topology_types,              \
		sizeof(topology_types) / sizeof(topology_types[0]))

static void on_srv_changed(const mongoc_apm_server_changed_t *e)
{
	struct mongo_ctx *c = CTX(CB_SRV_CHANGED, e);
	if (!mongo_ctx_is_ours(c))
		return;
	if (ringmon_enabled(T.srv_changed)) {
		bson_oid_t oid;
		mongoc_apm_server_changed_get_topology_id(e, &oid);
		const mongoc_server_description_t *prev =
			mongoc_apm_server_changed_get_previous_description(e);
		const mongoc_server_description_t *now =
			mongoc_apm_server_changed_get_new_description(e);
		ringmon_emit(T.srv_changed,
			     key_of(T.srv_changed, host_of(mongoc_apm_server_changed_get_host(e))),
			     RINGMON_NO_DURATION, SERVER_TYPE(prev), SERVER_TYPE(now),
			     mongoc_server_description_round_trip_time(now), topo_id(&oid));
	}
	CHAIN(c, CB_SRV_CHANGED, e);
}

static void on_srv_opening(const mongoc_apm_server_opening_t *e)
{
	struct mongo_ctx *c = CTX(CB_SRV_OPENING, e);
	if (!mongo_ctx_is_ours(c))
		return;
	if (ringmon_enabled(T.srv_opening)) {
		bson_oid_t oid;
		const mongoc_host_list_t *h = mongoc_apm_server_opening_get_host(e);
		mongoc_apm_server_opening_get_topology_id(e, &oid);
		ringmon_emit(T.srv_opening, key_of(T.srv_opening, host_of(h)), RINGMON_NO_DURATION,
			     topo_id(&oid), port_of(h), 0, 0);
	}
	CHAIN(c, CB_SRV_OPENING, e);
}

static void on_srv_closed(const mongoc_apm_server_closed_t *e)
{
	struct mongo_ctx *c = CTX(CB_SRV_CLOSED, e);
	if (!mongo_ctx_is_ours(c))
		return;
	if (ringmon_enabled(T.srv_closed)) {
		bson_oid_t oid;
		const mongoc_host_list_t *h = mongoc_apm_server_closed_get_host(e);
		mongoc_apm_server_closed_get_topology_id(e, &oid);
		ringmon_emit(T.srv_closed, key_of(T.srv_closed, host_of(h)), RINGMON_NO_DURATION,
			     topo_id(&oid), port_of(h), 0, 0);
	}
	CHAIN(c, CB_SRV_CLOSED, e);
}

static void on_top_changed(const mongoc_apm_topology_changed_t *e)
{
	struct mongo_ctx *c = CTX(CB_TOP_CHANGED, e);
	if (!mongo_ctx_is_ours(c))
		return;
	if (ringmon_enabled(T.top_changed)) {
		bson_oid_t oid;
		size_t n = 0;
		mongoc_apm_topology_changed_get_topology_id(e, &oid);
		const mongoc_topology_description_t *prev =
			mongoc_apm_topology_changed_get_previous_description(e);
		const mongoc_topology_description_t *now =
			mongoc_apm_topology_changed_get_new_description(e);
		mongoc_server_description_t **sds = mongoc_topology_description_get_servers(now, &n);
		mongoc_server_descriptions_destroy_all(sds, n);
		const char *tname = mongoc_topology_description_type(now);
		ringmon_emit(T.top_changed, tname ? key_of(T.top_changed, tname) : 0,
			     RINGMON_NO_DURATION, TOPOLOGY_TYPE(prev), TOPOLOGY_TYPE(now), (int64_t)n,
			     topo_id(&oid));
	}
	CHAIN(c, CB_TOP_CHANGED, e);
}

static void on_top_opening(const mongoc_apm_topology_opening_t *e)
{
	struct mongo_ctx *c = CTX(CB_TOP_OPENING, e);
	if (!mongo_ctx_is_ours(c))
		return;
	if (ringmon_enabled(T.top_opening)) {
		bson_oid_t oid;
		mongoc_apm_topology_opening_get_topology_id(e, &oid);
		ringmon_emit(T.top_opening, 0, RINGMON_NO_DURATION, topo_id(&oid), 0, 0, 0);
	}
	CHAIN(c, CB_TOP_OPENING, e);
}

static void on_top_closed(const mongoc_apm_topology_closed_t *e)
{
	struct mongo_ctx *c = CTX(CB_TOP_CLOSED, e);
	if (!mongo_ctx_is_ours(c))
		return;
	if (ringmon_enabled(T.top_closed)) {
		bson_oid_t oid;
		mongoc_apm_topology_closed_get_topology_id(e, &oid);
		ringmon_emit(T.top_closed, 0, RINGMON_NO_DURATION, topo_id(&oid), 0, 0, 0);
	}
	CHAIN(c, CB_TOP_CLOSED, e);
}

/* ---- heartbeats: awaited (streaming) ones carry no round-trip time ---- */

static void on_hb_started(const mongoc_apm_server_heartbeat_started_t *e)
{
	struct mongo_ctx *c = CTX(CB_HB_STARTED, e);
	if (!mongo_ctx_is_ours(c))
		return;
	if (ringmon_enabled(T.hb_started)) {
		const mongoc_host_list_t *h = mongoc_apm_server_heartbeat_started_get_host(e);
		ringmon_emit(T.hb_started, key_of(T.hb_started, host_of(h)), RINGMON_NO_DURATION,
			     mongoc_apm_server_heartbeat_started_get_awaited(e), port_of(h), 0, 0);
	}
	CHAIN(c, CB_HB_STARTED, e);
}

static void on_hb_succeeded(const mongoc_apm_server_heartbeat_succeeded_t *e)
{
	struct mongo_ctx *c = CTX(CB_HB_SUCCEEDED, e);
	if (!mongo_ctx_is_ours(c))
		return;
	if (ringmon_enabled(T.hb_succeeded)) {
		const mongoc_host_list_t *h = mongoc_apm_server_heartbeat_succeeded_get_host(e);
		int awaited = mongoc_apm_server_heartbeat_succeeded_get_awaited(e);
		int64_t us = mongoc_apm_server_heartbeat_succeeded_get_duration(e);
		ringmon_emit(T.hb_succeeded, key_of(T.hb_succeeded, host_of(h)),
			     awaited || us < 0 ? RINGMON_NO_DURATION : (uint64_t)us * 1000u, awaited,
			     us, port_of(h), 0);
	}
	CHAIN(c, CB_HB_SUCCEEDED, e);
}

static void on_hb_failed(const mongoc_apm_server_heartbeat_failed_t *e)
{
	struct mongo_ctx *c = CTX(CB_HB_FAILED, e);
	if (!mongo_ctx_is_ours(c))
		return;
	if (ringmon_enabled(T.hb_failed)) {
		const mongoc_host_list_t *h = mongoc_apm_server_heartbeat_failed_get_host(e);
		int awaited = mongoc_apm_server_heartbeat_failed_get_awaited(e);
		int64_t us = mongoc_apm_server_heartbeat_failed_get_duration(e);
		bson_error_t err = {0};
		mongoc_apm_server_heartbeat_failed_get_error(e, &err);
		ringmon_emit(T.hb_failed, key_of(T.hb_failed, host_of(h)),
			     awaited || us < 0 ? RINGMON_NO_DURATION : (uint64_t)us * 1000u, awaited,
			     us, err.code, err.domain);
	}
	CHAIN(c, CB_HB_FAILED, e);
}

/* ---- pool checkout and checkin (timed by mongo_pool.c) ---- */

static const char *const outcome_key[] = {"ok", "timeout", "empty"};

void mongo_pool_checkout(struct mongo_ctx *c, uint64_t wait_ns, int outcome, int blocking)
{
	if (!ringmon_enabled(T.pool_checkout))
		return;
	ringmon_emit(T.pool_checkout, key_of(T.pool_checkout, outcome_key[outcome % 3]), wait_ns,
		     outcome, __atomic_load_n(&c->in_use, __ATOMIC_RELAXED), c->pool_id, blocking);
}

void mongo_pool_checkin(struct mongo_ctx *c)
{
	if (ringmon_enabled(T.pool_checkin))
		ringmon_emit(T.pool_checkin, 0, RINGMON_NO_DURATION,
			     __atomic_load_n(&c->in_use, __ATOMIC_RELAXED), c->pool_id, 0, 0);
}

/* ---- callbacks object, layout check ---- */

mongoc_apm_callbacks_t *mongo_apm_callbacks(void)
{
	mongoc_apm_callbacks_t *cb = mongoc_apm_callbacks_new();
	if (!cb)
		return NULL;
	mongoc_apm_set_command_started_cb(cb, on_cmd_started);
	mongoc_apm_set_command_succeeded_cb(cb, on_cmd_succeeded);
	mongoc_apm_set_command_failed_cb(cb, on_cmd_failed);
	mongoc_apm_set_server_changed_cb(cb, on_srv_changed);
	mongoc_apm_set_server_opening_cb(cb, on_srv_opening);
	mongoc_apm_set_server_closed_cb(cb, on_srv_closed);
	mongoc_apm_set_topology_changed_cb(cb, on_top_changed);
	mongoc_apm_set_topology_opening_cb(cb, on_top_opening);
	mongoc_apm_set_topology_closed_cb(cb, on_top_closed);
	mongoc_apm_set_server_heartbeat_started_cb(cb, on_hb_started);
	mongoc_apm_set_server_heartbeat_succeeded_cb(cb, on_hb_succeeded);
	mongoc_apm_set_server_heartbeat_failed_cb(cb, on_hb_failed);
	return cb;
}

void mongo_app_cbs_copy(struct mongo_app_cbs *dst, const mongoc_apm_callbacks_t *src)
{
	if (src)
		memcpy(dst, src, sizeof(*dst));
	else
		memset(dst, 0, sizeof(*dst));
}

/* The application's callbacks are read out of libmongoc's opaque struct, whose
 * 1.x layout is 12 function pointers in setter order: check that with our own
 * before trusting it, and refuse to chain (-ENOTSUP) if it ever changes. */
static pthread_once_t setup_once = PTHREAD_ONCE_INIT;
static int setup_err;

static void setup_once_fn(void)
{
	setup_err = mongo_real_init();
	if (setup_err)
		return;
	mongoc_apm_callbacks_t *cb = mongo_apm_callbacks();
	struct mongo_app_cbs probe;
	mongo_app_cbs_copy(&probe, cb);
	void (*want[CB_COUNT])(const void *) = {
		(void (*)(const void *))on_cmd_started, (void (*)(const void *))on_cmd_succeeded,
		(void (*)(const void *))on_cmd_failed, (void (*)(const void *))on_srv_changed,
		(void (*)(const void *))on_srv_opening, (void (*)(const void *))on_srv_closed,
		(void (*)(const void *))on_top_changed, (void (*)(const void *))on_top_opening,
		(void (*)(const void *))on_top_closed, (void (*)(const void *))on_hb_started,
		(void (*)(const void *))on_hb_succeeded, (void (*)(const void *))on_hb_failed,
	};
	mongoc_apm_callbacks_destroy(cb);
	if (memcmp(probe.fn, want, sizeof(want)) != 0) {
		setup_err = -ENOTSUP;
		return;
	}
	register_types();
}

int mongo_apm_setup(void)
{
	pthread_once(&setup_once, setup_once_fn);
	return setup_err;
}

int mongo_ctx_arm(struct mongo_ctx *c, void *target, const mongoc_apm_callbacks_t *app_cbs,
		  void *app_ctx, int refused)
{
	mongo_app_cbs_copy(&c->app, app_cbs);
	c->app_ctx = app_ctx;
	c->app_set = app_cbs != NULL;
	mongoc_apm_callbacks_t *cb = mongo_apm_callbacks();
	int err = -ENOMEM;
	if (cb) {
		bool ok = c->kind == MONGO_CLIENT ? mongo_real.client_set_apm(target, cb, c)
						  : mongo_real.pool_set_apm(target, cb, c);
		mongoc_apm_callbacks_destroy(cb);
		err = ok ? 0 : refused;
	}
	if (err) {
		mongo_app_cbs_copy(&c->app, NULL);
		c->app_ctx = NULL;
		c->app_set = 0;
	}
	return err;
}

/* ---- public: clients ---- */

EXPORT int ringmon_mongoc_client(mongoc_client_t *client, const mongoc_apm_callbacks_t *app_cbs,
				 void *app_ctx)
{
	if (!client)
		return -EINVAL;
	int err = mongo_apm_setup();
	if (err)
		return err;
	struct mongo_ctx *c = mongo_ctx_find(client);
	int fresh = 0;
	if (!c) {
		c = mongo_ctx_new(client, MONGO_CLIENT);
		if (!c)
			return -ENOSPC;
		fresh = 1;
	} else if (c->kind != MONGO_CLIENT) {
		return -EINVAL;
	}
	/* single-threaded client: its events fire on this thread only, so
	 * the update cannot race a callback; -EPERM: a client popped from a pool */
	err = mongo_ctx_arm(c, client, app_cbs, app_ctx, -EPERM);
	if (err && fresh)
		mongo_ctx_release(c);
	return err;
}

EXPORT void ringmon_mongoc_client_destroy(mongoc_client_t *client)
{
	if (!client)
		return;
	if (mongo_real_init() != 0)
		return;
	struct mongo_ctx *c = mongo_ctx_find(client);
	mongo_real.client_destroy(client);
	/* after the destroy: its topology_closed event still needed the ctx */
	if (c && c->kind == MONGO_CLIENT)
		mongo_ctx_release(c);
}

EXPORT const char *ringmon_mongoc_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
	case -EINVAL:
		return "invalid argument: NULL, or a pool passed where a client is expected";
	case -EBUSY:
		return "the pool has already handed out a client: instrument it right after "
		       "mongoc_client_pool_new(), before the first pop";
	case -EALREADY:
		return "the pool's APM callbacks are already set (libmongoc allows one call "
		       "per pool): pass your callbacks to ringmon_mongoc_pool() instead";
	case -EPERM:
		return "libmongoc refused: this client belongs to a pool; instrument the pool";
	case -ENOSPC:
		return "too many instrumented clients and pools alive at once (1024)";
	case -ENOMEM:
		return "out of memory";
	case -ENOTSUP:
		return "this libmongoc's APM callback layout is unknown to ringmon";
	case -ENOSYS:
		return "libmongoc's functions could not be found (is libmongoc loaded?)";
	default:
		return "unknown error";
	}
}

/* ---- the application's own context, kept intact ----
 *
 * libmongoc hands every callback the context its callbacks were set with,
 * which for an instrumented client or pool is our ctx. So that the
 * application's callbacks still get their own context back, these getters
 * interpose libmongoc's (in the application when it links libringmon.a, and
 * in the preload library): our ctx becomes the application's, any other
 * pointer passes unchanged. */
#define GETTER(i, evtype)                                                          \
	EXPORT void *mongoc_apm_##evtype##_get_context(const mongoc_apm_##evtype##_t *e) \
	{                                                                          \
		if (mongo_real_init() != 0)                                        \
			return NULL;                                               \
		return app_context(mongo_real.get_context[i](e));                  \
	}
GETTER(CB_CMD_STARTED, command_started)
GETTER(CB_CMD_SUCCEEDED, command_succeeded)
GETTER(CB_CMD_FAILED, command_failed)
GETTER(CB_SRV_CHANGED, server_changed)
GETTER(CB_SRV_OPENING, server_opening)
GETTER(CB_SRV_CLOSED, server_closed)
GETTER(CB_TOP_CHANGED, topology_changed)
GETTER(CB_TOP_OPENING, topology_opening)
GETTER(CB_TOP_CLOSED, topology_closed)
GETTER(CB_HB_STARTED, server_heartbeat_started)
GETTER(CB_HB_SUCCEEDED, server_heartbeat_succeeded)
GETTER(CB_HB_FAILED, server_heartbeat_failed)
