/* mongo_sdam.c - libmongoc's SDAM events (server and topology opening, changed,
 * closed) and heartbeats as server.*, topology.* and heartbeat.* records. Rare
 * events, on libmongoc's monitor threads with a pool; may allocate. */
#include <string.h>

#include <ringmon/ringmon.h>
#include "mongo_internal.h"
#include "mongo_schema.h"

static int64_t topo_id(const bson_oid_t *oid)
{
	int64_t v;
	/* the random and counter bytes: unique per topology in practice */
	memcpy(&v, oid->bytes + 4, sizeof(v));
	return v;
}

/* libmongoc's type names as the schema's numbers (-1 anything else) */
#define SERVER_TYPE(sd) ms_server_type_value(mongoc_server_description_type(sd))
#define TOPOLOGY_TYPE(td) ms_topology_type_value(mongoc_topology_description_type(td))

void mongo_on_server_changed(const mongoc_apm_server_changed_t *e)
{
	struct mongo_ctx *c = MONGO_EVENT_CTX(CB_SRV_CHANGED, e);
	if (!mongo_ctx_is_ours(c))
		return;
	if (ringmon_enabled(mongo_type.srv_changed)) {
		bson_oid_t oid;
		mongoc_apm_server_changed_get_topology_id(e, &oid);
		const mongoc_server_description_t *prev =
			mongoc_apm_server_changed_get_previous_description(e);
		const mongoc_server_description_t *now =
			mongoc_apm_server_changed_get_new_description(e);
		ringmon_emit(mongo_type.srv_changed,
			     mongo_key_of(mongo_type.srv_changed, mongo_host_of(mongoc_apm_server_changed_get_host(e))),
			     RINGMON_NO_DURATION, SERVER_TYPE(prev), SERVER_TYPE(now),
			     mongoc_server_description_round_trip_time(now), topo_id(&oid));
	}
	mongo_chain(c, CB_SRV_CHANGED, e);
}

void mongo_on_server_opening(const mongoc_apm_server_opening_t *e)
{
	struct mongo_ctx *c = MONGO_EVENT_CTX(CB_SRV_OPENING, e);
	if (!mongo_ctx_is_ours(c))
		return;
	if (ringmon_enabled(mongo_type.srv_opening)) {
		bson_oid_t oid;
		const mongoc_host_list_t *h = mongoc_apm_server_opening_get_host(e);
		mongoc_apm_server_opening_get_topology_id(e, &oid);
		ringmon_emit(mongo_type.srv_opening, mongo_key_of(mongo_type.srv_opening, mongo_host_of(h)), RINGMON_NO_DURATION,
			     topo_id(&oid), mongo_port_of(h), 0, 0);
	}
	mongo_pool_late_server(c, mongoc_apm_server_opening_get_host(e), 1);
	mongo_chain(c, CB_SRV_OPENING, e);
}

void mongo_on_server_closed(const mongoc_apm_server_closed_t *e)
{
	struct mongo_ctx *c = MONGO_EVENT_CTX(CB_SRV_CLOSED, e);
	if (!mongo_ctx_is_ours(c))
		return;
	if (ringmon_enabled(mongo_type.srv_closed)) {
		bson_oid_t oid;
		const mongoc_host_list_t *h = mongoc_apm_server_closed_get_host(e);
		mongoc_apm_server_closed_get_topology_id(e, &oid);
		ringmon_emit(mongo_type.srv_closed, mongo_key_of(mongo_type.srv_closed, mongo_host_of(h)), RINGMON_NO_DURATION,
			     topo_id(&oid), mongo_port_of(h), 0, 0);
	}
	mongo_pool_late_server(c, mongoc_apm_server_closed_get_host(e), 0);
	mongo_chain(c, CB_SRV_CLOSED, e);
}

void mongo_on_topology_changed(const mongoc_apm_topology_changed_t *e)
{
	struct mongo_ctx *c = MONGO_EVENT_CTX(CB_TOP_CHANGED, e);
	if (!mongo_ctx_is_ours(c))
		return;
	if (ringmon_enabled(mongo_type.top_changed)) {
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
		ringmon_emit(mongo_type.top_changed, tname ? mongo_key_of(mongo_type.top_changed, tname) : 0,
			     RINGMON_NO_DURATION, TOPOLOGY_TYPE(prev), TOPOLOGY_TYPE(now), (int64_t)n,
			     topo_id(&oid));
	}
	mongo_chain(c, CB_TOP_CHANGED, e);
}

void mongo_on_topology_opening(const mongoc_apm_topology_opening_t *e)
{
	struct mongo_ctx *c = MONGO_EVENT_CTX(CB_TOP_OPENING, e);
	if (!mongo_ctx_is_ours(c))
		return;
	if (ringmon_enabled(mongo_type.top_opening)) {
		bson_oid_t oid;
		mongoc_apm_topology_opening_get_topology_id(e, &oid);
		ringmon_emit(mongo_type.top_opening, 0, RINGMON_NO_DURATION, topo_id(&oid), 0, 0, 0);
	}
	mongo_chain(c, CB_TOP_OPENING, e);
}

void mongo_on_topology_closed(const mongoc_apm_topology_closed_t *e)
{
	struct mongo_ctx *c = MONGO_EVENT_CTX(CB_TOP_CLOSED, e);
	if (!mongo_ctx_is_ours(c))
		return;
	if (ringmon_enabled(mongo_type.top_closed)) {
		bson_oid_t oid;
		mongoc_apm_topology_closed_get_topology_id(e, &oid);
		ringmon_emit(mongo_type.top_closed, 0, RINGMON_NO_DURATION, topo_id(&oid), 0, 0, 0);
	}
	mongo_chain(c, CB_TOP_CLOSED, e);
}

/* ---- heartbeats: awaited (streaming) ones carry no round-trip time ---- */

/* The application's heartbeat callback i, as libmongoc would call it: after a
 * late set of a pool's callbacks, for servers opened since only. */
static void chain_heartbeat(struct mongo_ctx *c, int i, const void *e, const mongoc_host_list_t *h)
{
	/* pairs with the release stores in pool_set_late (c->late before) */
	void (*fn)(const void *) = __atomic_load_n(&c->app.fn[i], __ATOMIC_ACQUIRE);
	if (fn && mongo_pool_late_heartbeat(c, h))
		fn(e);
}

/* The duration in ns of a heartbeat of libmongoc's us, or none: an awaited
 * (streaming) check waits for a change, and one that would have begun before
 * ringmon's MongoDB types were registered did not (libmongoc 1.23 gives a
 * single-threaded client's failed check to a refused port a duration from 0:
 * the machine's uptime). */
static uint64_t heartbeat_ns(int awaited, int64_t us)
{
	if (awaited || us < 0)
		return RINGMON_NO_DURATION;
	uint64_t ns = (uint64_t)us * 1000u;
	return ns > ringmon_now_ns() - mongo_type.registered_ns ? RINGMON_NO_DURATION : ns;
}

void mongo_on_server_heartbeat_started(const mongoc_apm_server_heartbeat_started_t *e)
{
	struct mongo_ctx *c = MONGO_EVENT_CTX(CB_HB_STARTED, e);
	if (!mongo_ctx_is_ours(c))
		return;
	if (ringmon_enabled(mongo_type.hb_started)) {
		const mongoc_host_list_t *h = mongoc_apm_server_heartbeat_started_get_host(e);
		ringmon_emit(mongo_type.hb_started, mongo_key_of(mongo_type.hb_started, mongo_host_of(h)), RINGMON_NO_DURATION,
			     mongoc_apm_server_heartbeat_started_get_awaited(e), mongo_port_of(h), 0, 0);
	}
	chain_heartbeat(c, CB_HB_STARTED, e, mongoc_apm_server_heartbeat_started_get_host(e));
}

void mongo_on_server_heartbeat_succeeded(const mongoc_apm_server_heartbeat_succeeded_t *e)
{
	struct mongo_ctx *c = MONGO_EVENT_CTX(CB_HB_SUCCEEDED, e);
	if (!mongo_ctx_is_ours(c))
		return;
	if (ringmon_enabled(mongo_type.hb_succeeded)) {
		const mongoc_host_list_t *h = mongoc_apm_server_heartbeat_succeeded_get_host(e);
		int awaited = mongoc_apm_server_heartbeat_succeeded_get_awaited(e);
		int64_t us = mongoc_apm_server_heartbeat_succeeded_get_duration(e);
		ringmon_emit(mongo_type.hb_succeeded, mongo_key_of(mongo_type.hb_succeeded, mongo_host_of(h)),
			     heartbeat_ns(awaited, us), awaited, us, mongo_port_of(h), 0);
	}
	chain_heartbeat(c, CB_HB_SUCCEEDED, e, mongoc_apm_server_heartbeat_succeeded_get_host(e));
}

void mongo_on_server_heartbeat_failed(const mongoc_apm_server_heartbeat_failed_t *e)
{
	struct mongo_ctx *c = MONGO_EVENT_CTX(CB_HB_FAILED, e);
	if (!mongo_ctx_is_ours(c))
		return;
	bson_error_t err = {0};
	mongoc_apm_server_heartbeat_failed_get_error(e, &err);
	/* no error at all: a check libmongoc cancelled itself (its monitor at a
	 * client's or pool's end, or reset after an application's network
	 * error: mongoc-server-monitor.c), not a failure of the server */
	int cancelled = err.domain == 0 && err.code == 0;
	if (!cancelled && ringmon_enabled(mongo_type.hb_failed)) {
		const mongoc_host_list_t *h = mongoc_apm_server_heartbeat_failed_get_host(e);
		int awaited = mongoc_apm_server_heartbeat_failed_get_awaited(e);
		int64_t us = mongoc_apm_server_heartbeat_failed_get_duration(e);
		ringmon_emit(mongo_type.hb_failed, mongo_key_of(mongo_type.hb_failed, mongo_host_of(h)),
			     heartbeat_ns(awaited, us), awaited, us, err.code, err.domain);
	}
	chain_heartbeat(c, CB_HB_FAILED, e, mongoc_apm_server_heartbeat_failed_get_host(e));
}
