/* mongo_schema.c - the MongoDB record schema and the names of its values
 * (mongo_schema.h). Facts from libmongoc 1.23's headers (mongoc-error.h,
 * mongoc-server-description.h, mongoc-topology-description.h) and the
 * server's error_codes.yml; docs/mongodb.md lists the same. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "mongo_schema.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

const struct ms_type ms_types[MS_NTYPES] = {
	[MS_COMMAND_STARTED] = {"command.started", "command name", 4,
		{{"request_id", MS_NUM}, {"operation_id", MS_NUM}, {"conn_id", MS_NUM}, {"port", MS_NUM}}},
	[MS_COMMAND_SUCCEEDED] = {"command.succeeded", "command name", 4,
		{{"request_id", MS_NUM}, {"operation_id", MS_NUM}, {"conn_id", MS_NUM}, {"port", MS_NUM}}},
	[MS_COMMAND_FAILED] = {"command.failed", "command name", 4,
		{{"request_id", MS_NUM}, {"operation_id", MS_NUM}, {"code", MS_ERROR_CODE},
		 {"domain", MS_DOMAIN}}},
	[MS_COMMAND_WRITE_ERROR] = {"command.write_error", "command name", 4,
		{{"code", MS_SERVER_CODE}, {"write_errors", MS_NUM}, {"wc_code", MS_SERVER_CODE},
		 {"request_id", MS_NUM}}},
	[MS_COMMAND_NS] = {"command.ns", "db.collection", 4,
		{{"ok", MS_FLAG}, {"code", MS_SERVER_CODE}, {"origin", MS_ORIGIN}, {"request_id", MS_NUM}}},
	[MS_COMMAND_ERROR] = {"command.error", "error name", 4,
		{{"code", MS_ERROR_CODE}, {"domain", MS_DOMAIN}, {"origin", MS_ORIGIN},
		 {"request_id", MS_NUM}}},
	[MS_SERVER_OPENING] = {"server.opening", "host:port", 2,
		{{"topology_id", MS_NUM}, {"port", MS_NUM}}},
	[MS_SERVER_CHANGED] = {"server.changed", "host:port", 4,
		{{"prev_type", MS_SERVER_TYPE}, {"new_type", MS_SERVER_TYPE},
		 {"rtt_ms", MS_MS_OR_UNKNOWN}, {"topology_id", MS_NUM}}},
	[MS_SERVER_CLOSED] = {"server.closed", "host:port", 2,
		{{"topology_id", MS_NUM}, {"port", MS_NUM}}},
	[MS_TOPOLOGY_OPENING] = {"topology.opening", "none", 1, {{"topology_id", MS_NUM}}},
	[MS_TOPOLOGY_CHANGED] = {"topology.changed", "new topology type name", 4,
		{{"prev_type", MS_TOPOLOGY_TYPE}, {"new_type", MS_TOPOLOGY_TYPE}, {"servers", MS_NUM},
		 {"topology_id", MS_NUM}}},
	[MS_TOPOLOGY_CLOSED] = {"topology.closed", "none", 1, {{"topology_id", MS_NUM}}},
	[MS_HEARTBEAT_STARTED] = {"heartbeat.started", "host:port", 2,
		{{"awaited", MS_FLAG}, {"port", MS_NUM}}},
	[MS_HEARTBEAT_SUCCEEDED] = {"heartbeat.succeeded", "host:port", 3,
		{{"awaited", MS_FLAG}, {"duration_us", MS_NUM}, {"port", MS_NUM}}},
	[MS_HEARTBEAT_FAILED] = {"heartbeat.failed", "host:port", 4,
		{{"awaited", MS_FLAG}, {"duration_us", MS_NUM}, {"code", MS_ERROR_CODE},
		 {"domain", MS_DOMAIN}}},
	[MS_POOL_CHECKOUT] = {"pool.checkout", "outcome name", 4,
		{{"outcome", MS_OUTCOME}, {"in_use", MS_NUM}, {"pool_id", MS_NUM}, {"blocking", MS_FLAG}}},
	[MS_POOL_CHECKIN] = {"pool.checkin", "none", 2, {{"in_use", MS_NUM}, {"pool_id", MS_NUM}}},
	[MS_POOL_CREATED] = {"pool.created", "host:port", 2, {{"pool_id", MS_NUM}, {"port", MS_NUM}}},
	[MS_POOL_READY] = {"pool.ready", "host:port", 2, {{"pool_id", MS_NUM}, {"port", MS_NUM}}},
	[MS_POOL_CLEARED] = {"pool.cleared", "host:port", 2, {{"pool_id", MS_NUM}, {"port", MS_NUM}}},
	[MS_POOL_CLOSED] = {"pool.closed", "host:port", 2, {{"pool_id", MS_NUM}, {"port", MS_NUM}}},
	[MS_CONNECTION_CREATED] = {"connection.created", "host:port", 3,
		{{"conn_id", MS_NUM}, {"pool_id", MS_NUM}, {"port", MS_NUM}}},
	[MS_CONNECTION_READY] = {"connection.ready", "host:port", 3,
		{{"conn_id", MS_NUM}, {"pool_id", MS_NUM}, {"port", MS_NUM}}},
	[MS_CONNECTION_CLOSED] = {"connection.closed", "reason", 3,
		{{"reason", MS_CLOSE_REASON}, {"conn_id", MS_NUM}, {"pool_id", MS_NUM}}},
	[MS_POOL_CHECKOUT_STARTED] = {"pool.checkout_started", "host:port", 2,
		{{"pool_id", MS_NUM}, {"port", MS_NUM}}},
	[MS_COMMAND_TARGET] = {MS_TARGET_TYPE, "command, namespace, server, status (key ids)", 4,
		{{"ok", MS_FLAG}, {"code", MS_SERVER_CODE}, {"origin", MS_ORIGIN}, {"request_id", MS_NUM}}},
};

int ms_type_is_state(enum ms_type_id id)
{
	return id >= MS_SERVER_OPENING && id <= MS_TOPOLOGY_CLOSED;
}

int ms_type_is_opt_in(enum ms_type_id id)
{
	return id == MS_COMMAND_TARGET;
}

const struct ms_type *ms_type_by_name(const char *name)
{
	for (size_t i = 0; name && i < MS_NTYPES; i++)
		if (strcmp(ms_types[i].name, name) == 0)
			return &ms_types[i];
	return NULL;
}

int ms_field_index(const struct ms_type *t, const char *field)
{
	for (unsigned i = 0; t && field && i < t->nfields; i++)
		if (strcmp(t->field[i].name, field) == 0)
			return (int)i;
	return -1;
}

/* ---- enumerations ---- */

static const char *const server_types[MS_NSERVER_TYPES] = {
	"Unknown", "Standalone", "Mongos", "PossiblePrimary", "RSPrimary",
	"RSSecondary", "RSArbiter", "RSOther", "RSGhost", "LoadBalancer",
};
static const char *const topology_types[MS_NTOPOLOGY_TYPES] = {
	"Unknown", "Single", "ReplicaSetNoPrimary", "ReplicaSetWithPrimary", "Sharded",
	"LoadBalanced",
};
static const char *const outcomes[MS_NOUTCOMES] = {"ok", "timeout", "empty", "poolClosed",
						    "connectionError"};
static const char *const close_reasons[MS_NCLOSE_REASONS] = {"stale", "idle", "error", "poolClosed"};
static const char *const origins[MS_NORIGINS] = {"driver", "server", "write", "write_concern"};
/* mongoc_error_domain_t, from 1 */
static const char *const domains[] = {
	NULL, "client", "stream", "protocol", "cursor", "query", "insert", "sasl", "bson",
	"matcher", "namespace", "command", "collection", "gridfs", "scram",
	"server_selection", "write_concern", "server", "transaction",
	"client_side_encryption", "pool",
};

static const char *name_of(const char *const *names, size_t n, int64_t v)
{
	return v >= 0 && (uint64_t)v < n ? names[v] : NULL;
}

static int64_t value_of(const char *const *names, size_t n, const char *s)
{
	for (size_t i = 0; s && i < n; i++)
		if (names[i] && strcmp(names[i], s) == 0)
			return (int64_t)i;
	return -1;
}

const char *ms_server_type_name(int64_t v) { return name_of(server_types, N(server_types), v); }
const char *ms_topology_type_name(int64_t v) { return name_of(topology_types, N(topology_types), v); }
const char *ms_outcome_name(int64_t v) { return name_of(outcomes, N(outcomes), v); }
const char *ms_domain_name(int64_t v) { return name_of(domains, N(domains), v); }
int64_t ms_server_type_value(const char *s) { return value_of(server_types, N(server_types), s); }
int64_t ms_topology_type_value(const char *s) { return value_of(topology_types, N(topology_types), s); }
int64_t ms_outcome_value(const char *s) { return value_of(outcomes, N(outcomes), s); }
const char *ms_close_reason_name(int64_t v) { return name_of(close_reasons, N(close_reasons), v); }
int64_t ms_close_reason_value(const char *s) { return value_of(close_reasons, N(close_reasons), s); }

const char *ms_origin_name(int64_t v)
{
	return v == -1 ? "none" : name_of(origins, N(origins), v);
}

int ms_domain_is_server(int64_t domain)
{
	return domain == MS_DOMAIN_QUERY || domain == MS_DOMAIN_SERVER ||
	       domain == MS_DOMAIN_WRITE_CONCERN;
}

/* ---- the server's error codes (error_codes.yml), the common ones ---- */

static const struct {
	int32_t code;
	const char *name;
} server_codes[] = {
	{1, "InternalError"}, {2, "BadValue"}, {4, "NoSuchKey"}, {6, "HostUnreachable"},
	{7, "HostNotFound"}, {8, "UnknownError"}, {9, "FailedToParse"},
	{11, "UserNotFound"}, {13, "Unauthorized"}, {14, "TypeMismatch"}, {15, "Overflow"},
	{16, "InvalidLength"}, {17, "ProtocolError"}, {18, "AuthenticationFailed"},
	{20, "IllegalOperation"}, {22, "InvalidBSON"}, {24, "LockTimeout"},
	{26, "NamespaceNotFound"}, {27, "IndexNotFound"}, {28, "PathNotViable"},
	{31, "RoleNotFound"}, {43, "CursorNotFound"}, {46, "LockBusy"},
	{48, "NamespaceExists"}, {50, "MaxTimeMSExpired"}, {52, "DollarPrefixedFieldName"},
	{59, "CommandNotFound"}, {61, "ShardKeyNotFound"}, {64, "WriteConcernFailed"},
	{66, "ImmutableField"}, {67, "CannotCreateIndex"}, {68, "IndexAlreadyExists"},
	{72, "InvalidOptions"}, {73, "InvalidNamespace"}, {79, "UnknownReplWriteConcern"},
	{85, "IndexOptionsConflict"}, {86, "IndexKeySpecsConflict"}, {89, "NetworkTimeout"},
	{91, "ShutdownInProgress"}, {96, "OperationFailed"}, {100, "UnsatisfiableWriteConcern"},
	{112, "WriteConflict"}, {115, "CommandNotSupported"},
	{117, "ConflictingOperationInProgress"}, {121, "DocumentValidationFailure"},
	{133, "FailedToSatisfyReadPreference"}, {134, "ReadConcernMajorityNotAvailableYet"},
	{136, "CappedPositionLost"}, {175, "QueryPlanKilled"}, {189, "PrimarySteppedDown"},
	{211, "KeyNotFound"}, {251, "NoSuchTransaction"}, {256, "TransactionCommitted"},
	{262, "ExceededTimeLimit"}, {263, "OperationNotSupportedInTransaction"},
	{280, "ChangeStreamFatalError"},
	{282, "TransactionCoordinatorReachedAbortDecision"}, {9001, "SocketException"},
	{10107, "NotWritablePrimary"}, {10334, "BSONObjectTooLarge"}, {11000, "DuplicateKey"},
	{11600, "InterruptedAtShutdown"}, {11601, "Interrupted"},
	{11602, "InterruptedDueToReplStateChange"}, {13297, "DatabaseDifferCase"},
	{13435, "NotPrimaryNoSecondaryOk"}, {13436, "NotPrimaryOrSecondary"},
	{14031, "OutOfDiskSpace"}, {17280, "KeyTooLong"},
};

const char *ms_server_code_name(int64_t code)
{
	for (size_t i = 0; i < N(server_codes); i++)
		if (server_codes[i].code == code)
			return server_codes[i].name;
	return NULL;
}

size_t ms_server_codes(void)
{
	return N(server_codes);
}

int64_t ms_server_code_at(size_t i, const char **name)
{
	if (i >= N(server_codes)) {
		*name = NULL;
		return -1;
	}
	*name = server_codes[i].name;
	return server_codes[i].code;
}

/* ---- error names ---- */

/* a codeName is a word: letters and digits only (at most 255 of them), else
 * it is not used; returns its length */
static size_t code_name_ok(const char *s, size_t n)
{
	size_t i = 0;
	for (; s && i < n && s[i]; i++) {
		char c = s[i];
		if (i == 255 ||
		    !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
			return 0;
	}
	return i;
}

const char *ms_server_error_name(int64_t code, const char *code_name, size_t code_name_len,
				 char *buf, size_t len)
{
	size_t n = code_name_ok(code_name, code_name_len);
	char num[24] = "";
	if (code == 0 && n == 0) {
		snprintf(buf, len, "server error (no code)");
		return buf;
	}
	if (!n && ms_server_code_name(code)) {
		code_name = ms_server_code_name(code);
		n = strlen(code_name);
	}
	if (!n) {
		snprintf(buf, len, "server error %lld", (long long)code);
		return buf;
	}
	if (code != 0) /* a codeName without a code: the name alone, no "(0)" */
		snprintf(num, sizeof(num), "(%lld)", (long long)code);
	/* a key holds MS_KEY_LEN bytes: a longer name is cut with "..." and the
	 * code kept whole (a codeName of 58 letters: ...Operat...(12345)) */
	size_t cap = len - 1 < MS_KEY_LEN ? len - 1 : MS_KEY_LEN, room = cap - strlen(num);
	if (cap >= strlen(num) + 4 && n > room)
		snprintf(buf, len, "%.*s...%s", (int)(room - 3), code_name, num);
	else
		snprintf(buf, len, "%.*s%s", (int)n, code_name, num);
	return buf;
}

/* libmongoc's own errors (mongoc_error_code_t within its domain) */
static const struct {
	uint8_t domain;
	int32_t code;
	const char *name;
} driver_errors[] = {
	{2, 1, "invalid stream type"}, {2, 2, "invalid stream state"},
	{2, 3, "name resolution failed"}, {2, 4, "socket error or timeout"},
	{2, 5, "connect failed"}, {2, 6, "connection not established"},
	{1, 7, "client not ready"}, {1, 8, "message too big"}, {1, 9, "message too small"},
	{1, 10, "getnonce failed"}, {1, 11, "authentication failed (driver)"},
	{1, 12, "no acceptable TLS peer"}, {1, 13, "client in exhaust"},
	{1, 52, "session failure"}, {3, 14, "invalid reply"}, {3, 15, "bad wire version"},
	{4, 16, "invalid cursor"}, {8, 18, "invalid BSON"}, {10, 20, "invalid namespace"},
	{11, 22, "invalid command argument"}, {14, 28, "SCRAM not done"},
	{14, 29, "SCRAM protocol error"}, {15, 13052, "no server with a compatible wire version"},
	{15, 13053, "server selection failed"}, {15, 13054, "invalid server id"},
	{18, 53, "invalid transaction state"},
};

static int contains(const char *s, const char *w)
{
	return s && strstr(s, w) != NULL;
}

const char *ms_driver_error_name(int64_t domain, int64_t code, const char *message,
				 char *buf, size_t len)
{
	/* what only the message tells apart (libmongoc's own wording) */
	if (contains(message, "connection closed") || contains(message, "Server closed connection"))
		snprintf(buf, len, "connection closed");
	else if (contains(message, "socket timeout"))
		snprintf(buf, len, "socket timeout");
	else if (contains(message, "connection timeout"))
		snprintf(buf, len, "connection timeout");
	else {
		for (size_t i = 0; i < N(driver_errors); i++)
			if (driver_errors[i].domain == domain && driver_errors[i].code == code) {
				snprintf(buf, len, "%s", driver_errors[i].name);
				return buf;
			}
		const char *d = ms_domain_name(domain);
		if (d)
			snprintf(buf, len, "%s error %lld", d, (long long)code);
		else
			snprintf(buf, len, "driver error %lld.%lld", (long long)domain, (long long)code);
	}
	return buf;
}

const char *ms_error_name(int64_t origin, int64_t domain, int64_t code, char *buf, size_t len)
{
	if (origin < 0) {
		/* as libmongoc reports it: server domains carry the server's code,
		 * or its own "no code" one */
		if (!ms_domain_is_server(domain))
			return ms_driver_error_name(domain, code, NULL, buf, len);
		if (domain != MS_DOMAIN_WRITE_CONCERN && code == MS_LIBMONGOC_NO_CODE)
			code = 0;
		return ms_server_error_name(code, NULL, 0, buf, len);
	}
	if (origin == MS_ORIGIN_DRIVER)
		return ms_driver_error_name(domain, code, NULL, buf, len);
	return ms_server_error_name(code, NULL, 0, buf, len);
}

/* ---- commands ---- */

static const char *const sensitive[] = {
	"authenticate", "saslStart", "saslContinue", "getnonce", "createUser", "updateUser",
	"copydbgetnonce", "copydbsaslstart", "copydb",
};

/* Commands whose first element's value names a collection of the command's
 * database (the server's command list, 4.4 to 7.0). */
static const char *const coll_cmds[] = {
	"insert", "find", "update", "delete", "findAndModify", "aggregate", "count",
	"distinct", "mapReduce", "geoNear", "create", "drop", "collMod", "createIndexes",
	"dropIndexes", "listIndexes", "reIndex", "validate", "collStats", "compact",
	"convertToCapped", "cloneCollectionAsCapped", "killCursors", "planCacheClear",
	"planCacheClearFilters", "planCacheListFilters", "planCacheSetFilter",
	"createSearchIndexes", "dropSearchIndex", "updateSearchIndex",
};
/* Commands whose first element's value is a whole namespace "db.collection"
 * (they run on admin, or name another database). */
static const char *const fullns_cmds[] = {
	"renameCollection", "shardCollection", "reshardCollection", "refineCollectionShardKey",
	"unshardCollection", "analyzeShardKey", "configureQueryAnalyzer", "dataSize",
	"splitVector", "split", "moveChunk", "mergeChunks", "cleanupOrphaned",
};

static int in_list(const char *name, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(name, list[i]) == 0)
			return 1;
	return 0;
}
#define IN(name, list) in_list(name, list, N(list))

int ms_command_class(const char *name)
{
	if (!name)
		return MS_CMD_PLAIN;
	if (IN(name, sensitive))
		return MS_CMD_SENSITIVE;
	if (strcasecmp(name, "hello") == 0 || strcasecmp(name, "isMaster") == 0)
		return MS_CMD_HELLO;
	if (strcasecmp(name, "getMore") == 0)
		return MS_CMD_GETMORE;
	if (strcasecmp(name, "bulkWrite") == 0)
		return MS_CMD_BULKWRITE;
	return IN(name, coll_cmds) ? MS_CMD_COLL : IN(name, fullns_cmds) ? MS_CMD_FULLNS : MS_CMD_PLAIN;
}

/* ---- command.target keys ---- */

const char *ms_target_key(const struct ms_target *t, char *buf, size_t len)
{
	snprintf(buf, len, "%u.%u.%u.%u", (unsigned)t->ok, (unsigned)t->cmd, (unsigned)t->ns,
		 (unsigned)t->server);
	return buf;
}

/* a decimal number at *s, as the producers write it, up to a '.' or the end */
static int target_number(const char **s, uint32_t *v)
{
	const char *p = *s;
	uint64_t n = 0;
	size_t digits = 0;
	for (; *p >= '0' && *p <= '9'; p++, digits++) {
		n = n * 10 + (uint64_t)(*p - '0');
		if (n > UINT32_MAX)
			return -1;
	}
	if (digits == 0 || (digits > 1 && **s == '0'))
		return -1;
	*v = (uint32_t)n;
	*s = p;
	return 0;
}

int ms_target_parse(const char *key, struct ms_target *t)
{
	uint32_t v[4];
	const char *p = key;
	if (!p)
		return -1;
	for (int i = 0; i < 4; i++) {
		if (target_number(&p, &v[i]) != 0 || *p != (i < 3 ? '.' : 0))
			return -1;
		p += i < 3;
	}
	if (v[0] > 1 || (v[1] == 0 && (v[2] || v[3])))
		return -1;
	t->ok = v[0];
	t->cmd = v[1];
	t->ns = v[2];
	t->server = v[3];
	return 0;
}

static size_t target_slot(const struct ms_target *t)
{
	uint32_t h = (t->cmd * 0x9e3779b1u) ^ (t->ns * 0x85ebca6bu) ^ (t->server * 0xc2b2ae35u) ^ t->ok;
	return (h ^ h >> 15) & (MS_TARGET_CACHE - 1);
}

int ms_target_cache_get(const struct ms_target_cache *c, const struct ms_target *t)
{
	size_t i = target_slot(t);
	const struct ms_target *e = &c->e[i].t;
	if (e->cmd == t->cmd && e->ns == t->ns && e->server == t->server && e->ok == t->ok)
		return c->e[i].id;
	return 0;
}

void ms_target_cache_put(struct ms_target_cache *c, const struct ms_target *t, int id)
{
	if (id <= 0)
		return;
	size_t i = target_slot(t);
	c->e[i].t = *t;
	c->e[i].id = id;
}

/* ---- readers ---- */

/* value of the schema field named name, or dflt when t has none */
static int64_t sibling(const struct ms_type *t, const int64_t *fields, const char *name,
		       int64_t dflt)
{
	int i = ms_field_index(t, name);
	return i >= 0 ? fields[i] : dflt;
}

const char *ms_value_name(const char *type_name, const char *const *field_names,
			  unsigned nfields, unsigned i, const int64_t *fields, int json,
			  char *buf, size_t len)
{
	const struct ms_type *t = ms_type_by_name(type_name);
	if (!t || nfields != t->nfields || i >= nfields || len == 0)
		return NULL;
	for (unsigned f = 0; f < nfields; f++)
		if (!field_names[f] || strcmp(field_names[f], t->field[f].name) != 0)
			return NULL;
	int64_t v = fields[i];
	const char *s = NULL;
	switch (t->field[i].kind) {
	case MS_NUM:
	case MS_FLAG:
		return NULL;
	case MS_SERVER_TYPE: s = v < 0 && !json ? "-" : ms_server_type_name(v); break;
	case MS_TOPOLOGY_TYPE: s = v < 0 && !json ? "-" : ms_topology_type_name(v); break;
	case MS_OUTCOME: s = ms_outcome_name(v); break;
	case MS_CLOSE_REASON: s = ms_close_reason_name(v); break;
	case MS_ORIGIN: s = ms_origin_name(v); break;
	case MS_DOMAIN: s = v == 0 ? (json ? NULL : "-") : ms_domain_name(v); break; /* 0: none */
	case MS_MS_OR_UNKNOWN: s = v < 0 && !json ? "-" : NULL; break;
	case MS_SERVER_CODE:
		if (v == 0)
			return NULL;
		return ms_server_error_name(v, NULL, 0, buf, len);
	case MS_ERROR_CODE: {
		int64_t origin = sibling(t, fields, "origin", -2);
		int64_t domain = sibling(t, fields, "domain", 0);
		if (origin == -1 || (origin == -2 && v == 0 && domain == 0))
			return NULL; /* no error */
		return ms_error_name(origin < 0 ? -1 : origin, domain, v, buf, len);
	}
	}
	if (!s)
		return NULL;
	snprintf(buf, len, "%s", s);
	return buf;
}
