/* mongo_command.c - libmongoc's command events (started, succeeded, failed) as
 * command.* records. Hot path: no locks, no allocation; key ids come from small
 * per-thread caches, the database and collection of a command from a
 * per-thread table keyed by request id. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <ringmon/ringmon.h>
#include "mongo_internal.h"

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

void mongo_on_command_started(const mongoc_apm_command_started_t *e)
{
	struct mongo_ctx *c = MONGO_EVENT_CTX(CB_CMD_STARTED, e);
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
		int key = mongo_key_of(mongo_type.cmd_started, name);
		int cls = class_of(name, key);
		if ((cls == CLS_COLL || cls == CLS_GETMORE) && ringmon_enabled(mongo_type.cmd_ns)) {
			char ns[56];
			/* sensitive commands never get here: nothing is derived from
			 * their arguments */
			if (command_ns(name, mongoc_apm_command_started_get_database_name(e),
				       mongoc_apm_command_started_get_command(e), ns, sizeof(ns)))
				f->ns_key = mongo_key_of(mongo_type.cmd_ns, ns);
		}
		if (ringmon_enabled(mongo_type.cmd_started))
			ringmon_emit(mongo_type.cmd_started, key, RINGMON_NO_DURATION, rid,
				     mongoc_apm_command_started_get_operation_id(e),
				     mongoc_apm_command_started_get_server_connection_id(e),
				     mongo_port_of(mongoc_apm_command_started_get_host(e)));
	}
	mongo_chain(c, CB_CMD_STARTED, e);
}

void mongo_on_command_succeeded(const mongoc_apm_command_succeeded_t *e)
{
	struct mongo_ctx *c = MONGO_EVENT_CTX(CB_CMD_SUCCEEDED, e);
	if (!mongo_ctx_is_ours(c))
		return;
	const char *name = mongoc_apm_command_succeeded_get_command_name(e);
	int64_t rid = mongoc_apm_command_succeeded_get_request_id(e);
	struct inflight *f = inflight_take(c, rid);
	uint64_t dur = f ? ringmon_now_ns() - f->start_ns
			 : (uint64_t)mongoc_apm_command_succeeded_get_duration(e) * 1000u;
	int64_t port = mongo_port_of(mongoc_apm_command_succeeded_get_host(e));
	if (name && ringmon_enabled(mongo_type.cmd_succeeded))
		ringmon_emit(mongo_type.cmd_succeeded, mongo_key_of(mongo_type.cmd_succeeded, name), dur, rid,
			     mongoc_apm_command_succeeded_get_operation_id(e),
			     mongoc_apm_command_succeeded_get_server_connection_id(e), port);
	if (f && f->ns_key)
		ringmon_emit(mongo_type.cmd_ns, f->ns_key, dur, 1, 0, rid, port);
	mongo_chain(c, CB_CMD_SUCCEEDED, e);
}

void mongo_on_command_failed(const mongoc_apm_command_failed_t *e)
{
	struct mongo_ctx *c = MONGO_EVENT_CTX(CB_CMD_FAILED, e);
	if (!mongo_ctx_is_ours(c))
		return;
	const char *name = mongoc_apm_command_failed_get_command_name(e);
	int64_t rid = mongoc_apm_command_failed_get_request_id(e);
	struct inflight *f = inflight_take(c, rid);
	uint64_t dur = f ? ringmon_now_ns() - f->start_ns
			 : (uint64_t)mongoc_apm_command_failed_get_duration(e) * 1000u;
	int64_t port = mongo_port_of(mongoc_apm_command_failed_get_host(e));
	bson_error_t err = {0};
	mongoc_apm_command_failed_get_error(e, &err);
	if (name && ringmon_enabled(mongo_type.cmd_failed))
		ringmon_emit(mongo_type.cmd_failed, mongo_key_of(mongo_type.cmd_failed, name), dur, rid,
			     mongoc_apm_command_failed_get_operation_id(e), err.code, err.domain);
	if (ringmon_enabled(mongo_type.cmd_error)) {
		char k[40];
		const bson_t *reply = mongoc_apm_command_failed_get_reply(e);
		ringmon_emit(mongo_type.cmd_error, mongo_key_of(mongo_type.cmd_error, error_key(&err, reply, k, sizeof(k))),
			     dur, err.code, err.domain, rid, port);
	}
	if (f && f->ns_key)
		ringmon_emit(mongo_type.cmd_ns, f->ns_key, dur, 0, err.code, rid, port);
	mongo_chain(c, CB_CMD_FAILED, e);
}
