/* mongo_command.c - libmongoc's command events (started, succeeded, failed) as
 * command.* records. Hot path: no locks, no allocation; key ids come from small
 * per-thread caches, the database and collection of a command from a
 * per-thread table keyed by request id; command.target's keys (opt-in) from
 * ids the command already has and a per-thread cache of tuples. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include <ringmon/ringmon.h>
#include "mongo_internal.h"
#include "mongo_schema.h"

/* Commands in flight on this thread, by request id: what the succeeded and
 * failed events need but do not carry (database, collection, start time). */
struct inflight {
	const struct mongo_ctx *ctx;
	int64_t request_id;
	uint64_t start_ns;
	int start_libmongoc; /* start_ns is libmongoc's read (mongo_clock_event) */
	int ns_key;  /* key of command.ns, 0 = none */
	int cmd_key; /* key of command.started (the command name) */
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

/* What a command name is, for redaction and namespaces (ms_command_class);
 * a pure function of the name, so cached per thread by its command.started key id. */
static __thread uint8_t cls_cache[1024];

/* The key of a command name under another command type (succeeded,
 * failed, write_error), by the name's command.started key: cached per thread,
 * so that only started hashes the name. */
static __thread uint16_t key_cache_by_started[3][1024];

static inline __attribute__((always_inline)) int key_for(int which, int type,
							 const struct inflight *f, const char *name)
{
	int k = f ? f->cmd_key : 0;
	if (k <= 0 || k >= 1024)
		return mongo_key_of(type, name);
	uint16_t *slot = &key_cache_by_started[which][k];
	if (!*slot) {
		int id = mongo_key_of(type, name);
		if (id <= 0 || id > UINT16_MAX)
			return id;
		*slot = (uint16_t)id;
	}
	return *slot;
}

static int class_of(const char *name, int key)
{
	if (key <= 0 || key >= (int)sizeof(cls_cache))
		return ms_command_class(name);
	if (!cls_cache[key])
		cls_cache[key] = (uint8_t)ms_command_class(name);
	return cls_cache[key];
}

/* src[0..slen) into dst, at most room bytes and never cut inside a UTF-8
 * character; returns the bytes copied. */
static size_t put_cut(char *dst, size_t room, const char *src, size_t slen)
{
	size_t take = slen < room ? slen : room;
	if (take < slen)
		while (take > 0 && ((uint8_t)src[take] & 0xc0) == 0x80)
			take--;
	memcpy(dst, src, take);
	return take;
}

/* "db.collection" of a command of class cls that names one (never a
 * sensitive one) into buf (len MS_NS_LEN: any namespace a server takes),
 * cut to len - 1 bytes at a UTF-8 character boundary; 0 if it names none. */
static int command_ns(int cls, const char *db, const bson_t *cmd, char *buf, size_t len)
{
	bson_iter_t it;
	uint32_t clen = 0;
	if (!cmd || !db || len < 2)
		return 0;
	if (cls == MS_CMD_GETMORE) {
		if (!bson_iter_init_find(&it, cmd, "collection") || !BSON_ITER_HOLDS_UTF8(&it))
			return 0;
	} else {
		if (!bson_iter_init(&it, cmd) || !bson_iter_next(&it) || !BSON_ITER_HOLDS_UTF8(&it))
			return 0;
	}
	const char *coll = bson_iter_utf8(&it, &clen);
	if (!clen)
		return 0;
	size_t n = 0, room = len - 1;
	if (cls != MS_CMD_FULLNS) {
		n = put_cut(buf, room, db, strlen(db));
		if (n < room)
			buf[n++] = '.';
	}
	n += put_cut(buf + n, room - n, coll, clen);
	buf[n] = 0;
	return n > 0;
}

/* ---- command.target: one record per finished command, keyed by its tuple ---- */

/* "host:port" -> its key under server.opening, from the adapter's per-thread
 * key cache (mongo_key_of) */
static int host_key(const mongoc_host_list_t *h)
{
	const char *hp = mongo_host_of(h);
	return hp ? mongo_key_of(mongo_type.srv_opening, hp) : 0;
}

static __thread struct ms_target_cache target_cache;

/* The command.target record of a finished command: its key from the ids the
 * command already has (command.started's, command.ns's from the started
 * event) and the server's, cached per thread. Check ringmon_enabled first. */
static void emit_target(const struct inflight *f, const char *name, const mongoc_host_list_t *h,
			int ok, uint64_t at, uint64_t dur, int64_t code, int64_t origin, int64_t rid)
{
	int cmd = f ? f->cmd_key : mongo_key_of(mongo_type.cmd_started, name);
	if (cmd <= 0)
		return;
	struct ms_target t = {(uint32_t)cmd, f ? (uint32_t)f->ns_key : 0, (uint32_t)host_key(h),
			      (uint32_t)ok};
	int key = ms_target_cache_get(&target_cache, &t);
	if (!key) {
		char k[MS_TARGET_KEY_LEN];
		key = ringmon_key_or_full(mongo_type.cmd_target, ms_target_key(&t, k, sizeof(k)));
		if (key < 0) /* the key table is full: the overflow of its status */
			key = mongo_type.target_overflow[ok ? 1 : 0];
		ms_target_cache_put(&target_cache, &t, key);
	}
	ringmon__emit_at((unsigned)mongo_type.cmd_target, (unsigned)key, at, dur, ok, code, origin, rid);
}

/* ---- errors ---- */

/* code and codeName of an error document (a reply, a write error, a write
 * concern error): top-level keys only. */
struct err_doc {
	int64_t code;
	const char *code_name;
	uint32_t code_name_len;
};

static void err_doc_read(bson_iter_t *it, struct err_doc *d)
{
	while (bson_iter_next(it)) {
		const char *k = bson_iter_key(it);
		if (k[0] != 'c')
			continue;
		if (strcmp(k, "code") == 0 && BSON_ITER_HOLDS_NUMBER(it))
			d->code = bson_iter_as_int64(it);
		else if (strcmp(k, "codeName") == 0 && BSON_ITER_HOLDS_UTF8(it))
			d->code_name = bson_iter_utf8(it, &d->code_name_len);
	}
}

/* What an ok: 1 reply says failed: its writeErrors (how many, the first
 * one's code) and its writeConcernError. Reads the reply's top-level keys,
 * and only on a hit the first write error's: cheap, never stores a body. */
struct write_errs {
	int64_t n;                /* entries in writeErrors (bulkWrite: nErrors) */
	struct err_doc first, wc; /* first write error; the write concern error */
	int has_first, has_wc;    /* first: 0 when it was not in the reply */
};

/* 1 when a top-level key of the document d is writeErrors or
 * writeConcernError: walks its elements' bytes (libbson's iterator costs about
 * 100 instructions per element); write_errors() then reads what it found with
 * libbson. Bounds-checked: a malformed document is 0. A document ends with a
 * 0 byte, so once that is checked a key's strlen() stops inside it. */
static int top_level_write_errors(const uint8_t *d, size_t len)
{
	if (len < 5 || d[len - 1])
		return 0;
	const uint8_t *p = d + 4, *end = d + len - 1; /* end: the closing 0 */
	while (p < end) {
		uint8_t t = *p++;
		const char *k = (const char *)p;
		if (k[0] == 'w' && (strcmp(k, "writeErrors") == 0 || strcmp(k, "writeConcernError") == 0))
			return 1;
		p += strlen(k) + 1; /* at most end + 1 */
		if (p >= end)
			return 0; /* no room for a value */
		size_t left = (size_t)(end - p), sz;
		uint32_t n = 0;
		if (left >= 4)
			memcpy(&n, p, 4); /* little-endian, as the host */
		switch (t) {
		case 0x06: case 0x0a: case 0x7f: case 0xff: sz = 0; break;
		case 0x08: sz = 1; break;
		case 0x10: sz = 4; break;
		case 0x01: case 0x09: case 0x11: case 0x12: sz = 8; break;
		case 0x07: sz = 12; break;
		case 0x13: sz = 16; break;
		case 0x02: case 0x0d: case 0x0e: sz = 4 + (size_t)n; break;
		case 0x03: case 0x04: case 0x0f: sz = n; break;
		case 0x05: sz = 5 + (size_t)n; break;
		case 0x0c: sz = 16 + (size_t)n; break;
		case 0x0b: { /* regex: two C strings, both end by the closing 0 */
			size_t a = strlen((const char *)p);
			sz = a < left ? a + 1 + strlen((const char *)p + a + 1) + 1 : left + 1;
			break;
		}
		default: return 0;
		}
		if (left < 4 && t >= 0x02 && t <= 0x0f && ((1u << t) & 0xf03cu))
			return 0; /* no room for the length read above */
		if (sz > left)
			return 0;
		p += sz;
	}
	return 0;
}

/* 1 when a top-level key of reply d is writeErrors or writeConcernError; runs
 * on every succeeded reply. First looks for either name's bytes, NUL included,
 * anywhere in the document (memchr for each 'w': a few instructions per 32
 * bytes): a reply without them has no such key, and that is almost every
 * reply. Only where they occur does top_level_write_errors() walk the elements
 * to tell a top-level key from a nested one or a string's bytes. */
static inline __attribute__((always_inline)) int has_write_errors(const uint8_t *d, size_t len)
{
	static const char we[] = "writeErrors", wce[] = "writeConcernError";
	const uint8_t *p = d, *end = d + len;
	while ((p = memchr(p, 'w', (size_t)(end - p))) != NULL) {
		size_t left = (size_t)(end - p);
		if ((left >= sizeof(we) && memcmp(p, we, sizeof(we)) == 0) ||
		    (left >= sizeof(wce) && memcmp(p, wce, sizeof(wce)) == 0))
			return top_level_write_errors(d, len);
		p++;
	}
	return 0;
}

/* has_write_errors() for the tests (the callback inlines it) */
int mongo_reply_has_write_errors(const uint8_t *d, size_t len)
{
	return has_write_errors(d, len);
}

/* The write errors of a bulkWrite reply (MongoDB 8.0's client-level bulk
 * write): nErrors counts them; the first {ok: 0} result in its cursor's
 * firstBatch is the first one (one in a later batch is not read: has_first
 * stays 0); writeConcernError as in any reply. */
static int bulk_write_errors(const bson_t *reply, struct write_errs *w)
{
	bson_iter_t it, cur, batch, doc, ok;
	if (!reply || !bson_iter_init(&it, reply))
		return 0;
	*w = (struct write_errs){0};
	while (bson_iter_next(&it)) {
		const char *k = bson_iter_key(&it);
		if (strcmp(k, "nErrors") == 0 && BSON_ITER_HOLDS_NUMBER(&it)) {
			w->n = bson_iter_as_int64(&it);
		} else if (strcmp(k, "writeConcernError") == 0 && BSON_ITER_HOLDS_DOCUMENT(&it) &&
			   bson_iter_recurse(&it, &doc)) {
			err_doc_read(&doc, &w->wc);
			w->has_wc = 1;
		} else if (strcmp(k, "cursor") == 0 && BSON_ITER_HOLDS_DOCUMENT(&it) &&
			   bson_iter_recurse(&it, &cur) && bson_iter_find(&cur, "firstBatch") &&
			   BSON_ITER_HOLDS_ARRAY(&cur) && bson_iter_recurse(&cur, &batch)) {
			while (!w->has_first && bson_iter_next(&batch)) {
				if (!BSON_ITER_HOLDS_DOCUMENT(&batch) || !bson_iter_recurse(&batch, &doc))
					continue;
				ok = doc;
				if (bson_iter_find(&ok, "ok") && BSON_ITER_HOLDS_NUMBER(&ok) &&
				    bson_iter_as_double(&ok) == 0) {
					err_doc_read(&doc, &w->first);
					w->has_first = 1;
				}
			}
		}
	}
	if (w->n < 0)
		w->n = 0;
	return w->n > 0 || w->has_wc;
}

/* 1 when command name is bulkWrite (ms_command_class's MS_CMD_BULKWRITE):
 * on every succeeded reply, so its first letter is looked at first. */
static inline int is_bulk_write(const char *name)
{
	return name && (name[0] | 0x20) == 'b' && ms_command_class(name) == MS_CMD_BULKWRITE;
}

/* What an ok: 1 reply says failed (struct write_errs), a bulkWrite's (bulk:
 * is_bulk_write) read its own way; 1 when anything did. */
static int write_errors(const bson_t *reply, int bulk, struct write_errs *w)
{
	bson_iter_t it, sub, doc;
	if (bulk)
		return bulk_write_errors(reply, w);
	if (!reply || !has_write_errors(bson_get_data(reply), reply->len) ||
	    !bson_iter_init(&it, reply))
		return 0;
	*w = (struct write_errs){0}; /* only here: most replies have none */
	int found = 0;
	while (bson_iter_next(&it)) {
		const char *k = bson_iter_key(&it);
		if (k[0] != 'w')
			continue;
		if (strcmp(k, "writeErrors") == 0 && BSON_ITER_HOLDS_ARRAY(&it) &&
		    bson_iter_recurse(&it, &sub)) {
			while (bson_iter_next(&sub))
				if (w->n++ == 0 && BSON_ITER_HOLDS_DOCUMENT(&sub) &&
				    bson_iter_recurse(&sub, &doc)) {
					err_doc_read(&doc, &w->first);
					w->has_first = 1;
				}
			found |= w->n > 0;
		} else if (strcmp(k, "writeConcernError") == 0 && BSON_ITER_HOLDS_DOCUMENT(&it) &&
			   bson_iter_recurse(&it, &doc)) {
			err_doc_read(&doc, &w->wc);
			w->has_wc = 1;
			found = 1;
		}
	}
	return found;
}

/* One clock read per APM event: its records carry the time read once (at),
 * as ringmon_emit would, without reading the clock again for each. Callers
 * check ringmon_enabled(type) first (once: the check is an atomic load). */
static inline void emit_at(int type, int key, uint64_t at, uint64_t dur, int64_t f0, int64_t f1,
			   int64_t f2, int64_t f3)
{
	ringmon__emit_at((unsigned)type, (unsigned)key, at, dur, f0, f1, f2, f3);
}

static void emit_error(int64_t origin, const bson_error_t *err, const struct err_doc *d,
		       uint64_t at, uint64_t dur, int64_t rid)
{
	char k[64];
	if (origin == MS_ORIGIN_DRIVER)
		ms_driver_error_name(err->domain, err->code, err->message, k, sizeof(k));
	else
		ms_server_error_name(d->code, d->code_name, d->code_name_len, k, sizeof(k));
	emit_at(mongo_type.cmd_error, mongo_key_of(mongo_type.cmd_error, k), at, dur,
		     origin == MS_ORIGIN_DRIVER ? err->code : d->code,
		     origin == MS_ORIGIN_DRIVER || origin == MS_ORIGIN_SERVER ? err->domain : 0,
		     origin, rid);
}

/* Where a failed command's error comes from, and the server's code and
 * codeName if the server answered. A reply with "ok" is the server's (0 ok);
 * a sensitive command's reply is empty, but libmongoc's server domains carry
 * the server's code (MS_LIBMONGOC_NO_CODE: the reply had none). Everything
 * else libmongoc raised itself: network, timeout, protocol. */
static int64_t failure_origin(const bson_error_t *err, const bson_t *reply, struct err_doc *d)
{
	bson_iter_t it;
	if (reply && bson_iter_init_find(&it, reply, "ok")) {
		bson_iter_init(&it, reply);
		err_doc_read(&it, d);
		return MS_ORIGIN_SERVER;
	}
	if (ms_domain_is_server(err->domain)) {
		d->code = err->code == MS_LIBMONGOC_NO_CODE && err->domain != MS_DOMAIN_WRITE_CONCERN
				  ? 0 : err->code;
		return MS_ORIGIN_SERVER;
	}
	return MS_ORIGIN_DRIVER;
}

/* The time (*now) and duration in ns of a command that just finished, whose
 * started event left f (NULL: none seen) and whose duration libmongoc gives
 * as dur_us. Both times libmongoc's own clock reads (mongo_clock_event) when
 * they agree with dur_us to the microsecond, as they do when libmongoc made
 * dur_us from them; else now is a read of our own, and the duration its
 * difference with a start we read too, or libmongoc's (whole us): never a
 * difference with a start that is not the command's. */
static uint64_t finish_time(const struct inflight *f, int64_t dur_us, uint64_t *now)
{
	int libmongoc;
	uint64_t t = mongo_clock_event(&libmongoc);
	if (f && libmongoc && t >= f->start_ns &&
	    t / 1000 - f->start_ns / 1000 == (uint64_t)dur_us) {
		*now = t;
		return t - f->start_ns;
	}
	*now = t = libmongoc ? ringmon_now_ns() : t;
	if (f && !f->start_libmongoc && t >= f->start_ns)
		return t - f->start_ns;
	return dur_us > 0 ? (uint64_t)dur_us * 1000u : 0;
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
		int libmongoc;
		uint64_t now = mongo_clock_event(&libmongoc);
		f->start_ns = now;
		f->start_libmongoc = libmongoc;
		f->ns_key = 0;
		int key = mongo_key_of(mongo_type.cmd_started, name);
		f->cmd_key = key;
		int cls = class_of(name, key);
		if ((cls == MS_CMD_COLL || cls == MS_CMD_FULLNS || cls == MS_CMD_GETMORE) &&
		    (ringmon_enabled(mongo_type.cmd_ns) || ringmon_enabled(mongo_type.cmd_target))) {
			char ns[MS_NS_LEN];
			/* sensitive commands never get here: nothing is derived from
			 * their arguments */
			if (command_ns(cls, mongoc_apm_command_started_get_database_name(e),
				       mongoc_apm_command_started_get_command(e), ns, sizeof(ns)))
				f->ns_key = mongo_key_of(mongo_type.cmd_ns, ns);
		}
		if (ringmon_enabled(mongo_type.cmd_started))
			emit_at(mongo_type.cmd_started, key, now, RINGMON_NO_DURATION, rid,
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
	uint64_t now, dur = finish_time(f, mongoc_apm_command_succeeded_get_duration(e), &now);
	if (name && ringmon_enabled(mongo_type.cmd_succeeded))
		emit_at(mongo_type.cmd_succeeded, key_for(0, mongo_type.cmd_succeeded, f, name), now, dur, rid,
			     mongoc_apm_command_succeeded_get_operation_id(e),
			     mongoc_apm_command_succeeded_get_server_connection_id(e),
			     mongo_port_of(mongoc_apm_command_succeeded_get_host(e)));
	/* ok: 1, yet writes failed: the server's writeErrors / writeConcernError */
	struct write_errs w; /* set by write_errors() when it returns 1 */
	int64_t origin = -1, code = 0;
	if (write_errors(mongoc_apm_command_succeeded_get_reply(e), is_bulk_write(name), &w)) {
		origin = w.n ? MS_ORIGIN_WRITE : MS_ORIGIN_WRITE_CONCERN;
		code = w.n ? w.first.code : w.wc.code;
		if (name && ringmon_enabled(mongo_type.cmd_write_error))
			emit_at(mongo_type.cmd_write_error,
				     key_for(2, mongo_type.cmd_write_error, f, name), now, dur,
				     w.n ? w.first.code : 0, w.n, w.has_wc ? w.wc.code : 0, rid);
		if (ringmon_enabled(mongo_type.cmd_error)) {
			if (w.n && w.has_first)
				emit_error(MS_ORIGIN_WRITE, NULL, &w.first, now, dur, rid);
			if (w.has_wc)
				emit_error(MS_ORIGIN_WRITE_CONCERN, NULL, &w.wc, now, dur, rid);
		}
	}
	if (f && f->ns_key && ringmon_enabled(mongo_type.cmd_ns))
		emit_at(mongo_type.cmd_ns, f->ns_key, now, dur, 1, code, origin, rid);
	if (name && ringmon_enabled(mongo_type.cmd_target))
		emit_target(f, name, mongoc_apm_command_succeeded_get_host(e), 1, now, dur, code, origin, rid);
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
	uint64_t now, dur = finish_time(f, mongoc_apm_command_failed_get_duration(e), &now);
	bson_error_t err = {0};
	mongoc_apm_command_failed_get_error(e, &err);
	if (name && ringmon_enabled(mongo_type.cmd_failed))
		emit_at(mongo_type.cmd_failed, key_for(1, mongo_type.cmd_failed, f, name), now, dur, rid,
			     mongoc_apm_command_failed_get_operation_id(e), err.code, err.domain);
	struct err_doc d = {0};
	int64_t origin = failure_origin(&err, mongoc_apm_command_failed_get_reply(e), &d);
	if (ringmon_enabled(mongo_type.cmd_error))
		emit_error(origin, &err, &d, now, dur, rid);
	int64_t code = origin == MS_ORIGIN_DRIVER ? 0 : d.code;
	if (f && f->ns_key && ringmon_enabled(mongo_type.cmd_ns))
		emit_at(mongo_type.cmd_ns, f->ns_key, now, dur, 0, code, origin, rid);
	if (name && ringmon_enabled(mongo_type.cmd_target))
		emit_target(f, name, mongoc_apm_command_failed_get_host(e), 0, now, dur, code, origin, rid);
	mongo_chain(c, CB_CMD_FAILED, e);
}
