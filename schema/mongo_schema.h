/* mongo_schema.h - the MongoDB record schema, defined once: the record types the
 * MongoDB adapter writes, their keys and fields, and the names of enumerated
 * values (server and topology types, pool checkout outcomes, libmongoc's error
 * domains, error origins, the server's error code names).
 *
 * Used by the adapter (producer/mongo_*.c: it registers the types from this
 * table and names errors with it) and by every reader (viewer/: tail, stats,
 * events, top's panels print names through ms_value_name). docs/mongodb.md
 * says the same in prose; tests/test_schema.c checks that they agree.
 *
 * Plain tables and pure functions: no libmongoc, no ringbuf, no allocation,
 * thread-safe. Dependencies point one way: producer and viewer use schema/,
 * schema/ uses nothing of theirs. Not installed. */
#ifndef RINGMON_MONGO_SCHEMA_H
#define RINGMON_MONGO_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

/* ---- record types ---- */

enum ms_type_id {
	MS_COMMAND_STARTED,
	MS_COMMAND_SUCCEEDED,
	MS_COMMAND_FAILED,
	MS_COMMAND_WRITE_ERROR,
	MS_COMMAND_NS,
	MS_COMMAND_ERROR,
	MS_SERVER_OPENING,
	MS_SERVER_CHANGED,
	MS_SERVER_CLOSED,
	MS_TOPOLOGY_OPENING,
	MS_TOPOLOGY_CHANGED,
	MS_TOPOLOGY_CLOSED,
	MS_HEARTBEAT_STARTED,
	MS_HEARTBEAT_SUCCEEDED,
	MS_HEARTBEAT_FAILED,
	MS_POOL_CHECKOUT,
	MS_POOL_CHECKIN,
	/* CMAP events libmongoc 1.23 lacks (pymongo's ConnectionPoolListener) */
	MS_POOL_CREATED,
	MS_POOL_READY,
	MS_POOL_CLEARED,
	MS_POOL_CLOSED,
	MS_CONNECTION_CREATED,
	MS_CONNECTION_READY,
	MS_CONNECTION_CLOSED,
	MS_POOL_CHECKOUT_STARTED,
	/* per (command, namespace, server, status); opt-in (ms_type_is_opt_in) */
	MS_COMMAND_TARGET,
	MS_NTYPES
};

/* How a field's value is read and named. */
enum ms_kind {
	MS_NUM,            /* a plain number (ids, counts, ports) */
	MS_FLAG,           /* 0 or 1 */
	MS_SERVER_TYPE,    /* enum ms_server_type; -1 anything else */
	MS_TOPOLOGY_TYPE,  /* enum ms_topology_type; -1 anything else */
	MS_OUTCOME,        /* enum ms_outcome */
	MS_DOMAIN,         /* libmongoc's error domain (mongoc_error_domain_t) */
	MS_ERROR_CODE,     /* an error code, named with the record's domain (and
			    * origin, when the type has one) */
	MS_SERVER_CODE,    /* a server error code; 0 none */
	MS_ORIGIN,         /* enum ms_origin */
	MS_MS_OR_UNKNOWN,  /* milliseconds; -1 unknown (text shows "-") */
	MS_CLOSE_REASON,   /* enum ms_close_reason; -1 anything else */
};

#define MS_NFIELDS 4

struct ms_field {
	const char *name;
	enum ms_kind kind;
};

struct ms_type {
	const char *name;     /* "command.started" */
	const char *key;      /* what the key is, for people (docs/mongodb.md) */
	unsigned nfields;     /* registered with exactly this many fields */
	struct ms_field field[MS_NFIELDS];
};

extern const struct ms_type ms_types[MS_NTYPES];

/* 1 for the types that record state changes (server.*, topology.*: SDAM),
 * which adapters flag RINGMON_TYPE_STATE so that the newest state survives
 * however many commands follow; 0 for the others. */
int ms_type_is_state(enum ms_type_id id);
/* 1 for the types adapters flag RINGMON_TYPE_OPT_IN (command.target: an extra
 * key lookup and record per command, off unless RINGMON_EVENTS names it). */
int ms_type_is_opt_in(enum ms_type_id id);
/* The schema type named name, NULL if none. */
const struct ms_type *ms_type_by_name(const char *name);
/* Index of the field named field in t, -1 if none. */
int ms_field_index(const struct ms_type *t, const char *field);

/* ---- enumerated values ---- */

/* libmongoc's server description types (mongoc_server_description_type()) */
enum ms_server_type {
	MS_SRV_UNKNOWN, MS_SRV_STANDALONE, MS_SRV_MONGOS, MS_SRV_POSSIBLE_PRIMARY,
	MS_SRV_RS_PRIMARY, MS_SRV_RS_SECONDARY, MS_SRV_RS_ARBITER, MS_SRV_RS_OTHER,
	MS_SRV_RS_GHOST, MS_SRV_LOAD_BALANCER, MS_NSERVER_TYPES
};
/* libmongoc's topology description types (mongoc_topology_description_type()) */
enum ms_topology_type {
	MS_TOP_UNKNOWN, MS_TOP_SINGLE, MS_TOP_RS_NO_PRIMARY, MS_TOP_RS_WITH_PRIMARY,
	MS_TOP_SHARDED, MS_TOP_LOAD_BALANCED, MS_NTOPOLOGY_TYPES
};
/* pool.checkout outcomes: libmongoc's pop (ok, timeout) and try_pop (empty);
 * CMAP's check-out-failed reasons (pymongo: timeout, poolClosed,
 * connectionError) */
enum ms_outcome {
	MS_OUT_OK, MS_OUT_TIMEOUT, MS_OUT_EMPTY, MS_OUT_POOL_CLOSED, MS_OUT_CONNECTION_ERROR,
	MS_NOUTCOMES
};
/* connection.closed reasons (CMAP's ConnectionClosedReason, as pymongo spells them) */
enum ms_close_reason {
	MS_CLOSE_STALE, MS_CLOSE_IDLE, MS_CLOSE_ERROR, MS_CLOSE_POOL_CLOSED, MS_NCLOSE_REASONS
};
/* where an error comes from (command.error's origin) */
enum ms_origin {
	MS_ORIGIN_DRIVER,        /* raised by libmongoc: network, timeout, protocol */
	MS_ORIGIN_SERVER,        /* the server refused the command (ok: 0) */
	MS_ORIGIN_WRITE,         /* a write error in an ok: 1 reply (writeErrors) */
	MS_ORIGIN_WRITE_CONCERN, /* a write concern error in an ok: 1 reply */
	MS_NORIGINS
};

/* Name of a value, NULL when v is out of range. */
const char *ms_server_type_name(int64_t v);
const char *ms_topology_type_name(int64_t v);
const char *ms_outcome_name(int64_t v);
const char *ms_origin_name(int64_t v);
const char *ms_close_reason_name(int64_t v);
/* libmongoc's name of an error domain, lowercase ("stream", "query",
 * "server_selection"), NULL for an unknown domain. */
const char *ms_domain_name(int64_t domain);
/* Value of a name (exact match), -1 when unknown. */
int64_t ms_server_type_value(const char *name);
int64_t ms_topology_type_value(const char *name);
int64_t ms_outcome_value(const char *name);
int64_t ms_close_reason_value(const char *name);

/* The server's name of an error code ("DuplicateKey" for 11000), from a table
 * of common codes; NULL when the code is not in it. */
const char *ms_server_code_name(int64_t code);
/* Number of entries in that table, and entry i (for the docs check). */
size_t ms_server_codes(void);
int64_t ms_server_code_at(size_t i, const char **name);

/* libmongoc's domains of errors the server reported (legacy and v2 error APIs,
 * and write concern errors): such a bson_error_t carries the server's code,
 * except MS_LIBMONGOC_NO_CODE, what libmongoc sets when the reply had none. */
#define MS_DOMAIN_QUERY 5
#define MS_DOMAIN_WRITE_CONCERN 16
#define MS_DOMAIN_SERVER 17
#define MS_LIBMONGOC_NO_CODE 17
int ms_domain_is_server(int64_t domain);

/* ---- error names, as MongoDB users know them ----
 * Each writes a NUL-terminated name of at most len - 1 bytes into buf and
 * returns buf. They are the keys of command.error and what readers print. */

/* A server error: "DuplicateKey(11000)". code_name (may be NULL, need not be
 * terminated: code_name_len bytes) is the reply's codeName, preferred to the
 * table; a code neither names is "server error 12345"; code 0 (the reply had
 * none) is its codeName alone if it has one ("NamespaceNotFound"), else
 * "server error (no code)". A name that would not fit a key (MS_KEY_LEN
 * bytes) is cut with "..." before its code, which is kept whole. */
#define MS_KEY_LEN 55 /* the longest key a segment holds (RB_KEY_LEN - 1) */
const char *ms_server_error_name(int64_t code, const char *code_name, size_t code_name_len,
				 char *buf, size_t len);
/* An error libmongoc raised itself (network, timeout, protocol, selection):
 * "socket error or timeout", "connection closed", "server selection failed",
 * else "<domain> error <code>". message (may be NULL) is bson_error_t's, used
 * only to tell apart what domain and code do not ("connection closed"). */
const char *ms_driver_error_name(int64_t domain, int64_t code, const char *message,
				 char *buf, size_t len);
/* Any error of a record: by origin (-1: unknown, then by domain as libmongoc
 * reports it in command.failed: server domains carry the server's code). */
const char *ms_error_name(int64_t origin, int64_t domain, int64_t code, char *buf, size_t len);

/* ---- commands ---- */

/* What a command name says for redaction, namespaces and write errors
 * (case-insensitive): sensitive (authenticate, saslStart, saslContinue,
 * getnonce, createUser, updateUser, copydbgetnonce, copydbsaslstart, copydb:
 * nothing is derived from their arguments), hello/isMaster (the handshake,
 * which may carry speculativeAuthenticate: treated the same), getMore (its
 * "collection" field), a command whose first value names a collection of its
 * database, one whose first value is a whole "db.collection", bulkWrite
 * (MongoDB 8.0's client-level bulk write, on admin: its ok: 1 reply counts
 * its write errors in nErrors and gives them in its cursor, {ok: 0, idx,
 * code, codeName}, not in writeErrors), or anything else. Never 0. */
enum ms_command_class {
	MS_CMD_PLAIN = 1, MS_CMD_COLL, MS_CMD_FULLNS, MS_CMD_GETMORE, MS_CMD_SENSITIVE, MS_CMD_HELLO,
	MS_CMD_BULKWRITE
};
int ms_command_class(const char *name);
/* Room for a "db.collection" and its NUL: a server's namespace is at most 255
 * bytes (MongoDB 4.4 on); a longer one is cut there. Its key is then cut to
 * what a key holds, with a hash of the whole name (ringmon_key). */
#define MS_NS_LEN 320

/* ---- command.target keys ----
 * The key of a command.target event names its tuple by the key ids of other
 * types of the same segment, "S.C.N.H" in decimal: S the status (1 succeeded,
 * 0 failed), C the command name's key under command.started, N the
 * "db.collection" key under command.ns (0: the command names none), H the
 * "host:port" key under server.opening (0: unknown). Short whatever the names'
 * lengths (a key holds 55 bytes; a host name alone may be 253).
 * "S.0.0.0" is the overflow of status S: a producer registers both when it
 * registers the type, and counts a command there when its key table is full
 * (ringmon_key_or_full), so that the status of what it could not key stays. */
#define MS_TARGET_TYPE "command.target"
struct ms_target {
	uint32_t cmd, ns, server;
	uint32_t ok; /* 1 or 0 */
};
#define MS_TARGET_KEY_LEN 48 /* "1.4294967295.4294967295.4294967295" and NUL */
#define MS_TARGET_OVERFLOW_FAILED "0.0.0.0"
#define MS_TARGET_OVERFLOW_OK "1.0.0.0"
/* The key of t into buf (len >= MS_TARGET_KEY_LEN); returns buf. */
const char *ms_target_key(const struct ms_target *t, char *buf, size_t len);
/* Reads a key as the producers write it: exactly four decimal numbers joined
 * by '.', the first 0 or 1, each at most 4294967295 and without a sign, a
 * leading zero or anything else. 0, or -1 for anything else (readers then show
 * the key as it is). C must be non-zero but in "S.0.0.0", the overflow (cmd 0). */
int ms_target_parse(const char *key, struct ms_target *t);

/* A producer's cache of tuple -> key id of command.target, so that the usual
 * command formats and looks up no string: per thread (or under the lock the
 * producer holds anyway, such as Python's GIL). Zeroed is empty. Plain
 * memory: no allocation, no lock. */
#define MS_TARGET_CACHE 128 /* a power of two */
struct ms_target_cache {
	struct {
		struct ms_target t;
		int id; /* 0: empty */
	} e[MS_TARGET_CACHE];
};
/* The key id cached for t, 0 if none. */
int ms_target_cache_get(const struct ms_target_cache *c, const struct ms_target *t);
/* Caches id (> 0) for t, replacing what had its place. */
void ms_target_cache_put(struct ms_target_cache *c, const struct ms_target *t, int id);

/* ---- readers: values as names ----
 * The name of field i of a record of type type_name whose fields are named
 * field_names (as the segment says, nfields of them) with values fields[]:
 * "RSPrimary", "timeout", "DuplicateKey(11000)", "-" for an unknown rtt.
 * NULL when the value is a plain number, unknown, or the type's fields are not
 * the schema's (a segment is trusted only where it matches). For JSON, only
 * enumerated kinds get a name (json = 1: NULL for MS_MS_OR_UNKNOWN). */
const char *ms_value_name(const char *type_name, const char *const *field_names,
			  unsigned nfields, unsigned i, const int64_t *fields, int json,
			  char *buf, size_t len);

#endif
