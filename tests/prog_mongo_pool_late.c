/* prog_mongo_pool_late.c - a plain libmongoc program that knows nothing of
 * ringmon: pops a client from a replica-set pool and only then sets the pool's
 * APM callbacks (libmongoc 1.23 accepts it), and prints which of its callbacks
 * libmongoc calls afterwards. Its output must be the same with and without
 * LD_PRELOAD=libringmon-preload.so (test_mongo_preload.c).
 *
 * usage: prog_mongo_pool_late URI "FD HOST"
 * FD: a descriptor on which the mock server (tests/mongo/mockserver.py
 * --stdin-control) takes control lines; HOST: the host:port of member 2, which
 * the program removes from the set and adds back after the late set.
 *
 * What libmongoc 1.23 does (mongoc-server-monitor.c, mongoc-client-pool.c):
 * the late set replaces the callbacks of the topology description, so every
 * SDAM event from then on reaches them; a server monitor copies the
 * description's callbacks once, when it is made, so heartbeats of the servers
 * monitored before the set reach none, and those of a server added after it
 * reach the new ones; a client the pool makes after the set gets them, one
 * made before keeps none. The program waits for events (of the re-added
 * member's monitor, whose checks keep pace with the others'), never for a
 * fixed time. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mongoc/mongoc.h>

static char host2[300];          /* the member removed and added back */
static int ctx_mine, foreign;    /* ctx_mine: the callbacks' context */
/* what reached the callbacks: [0] member 2, [1] any other server (atomic) */
static int hb_started[2], hb_succeeded[2], srv_opening[2], srv_closed[2];
static int srv_changed, topo_changed, topo_closed, cmd_started, cmd_succeeded;

#define COUNT(x) __atomic_fetch_add(&(x), 1, __ATOMIC_RELAXED)
#define GET(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

static int which(const mongoc_host_list_t *h)
{
	return h && strcmp(h->host_and_port, host2) == 0 ? 0 : 1;
}

static void ctx_check(void *ctx)
{
	if (ctx != &ctx_mine)
		COUNT(foreign);
}

static void on_hb_started(const mongoc_apm_server_heartbeat_started_t *e)
{
	ctx_check(mongoc_apm_server_heartbeat_started_get_context(e));
	COUNT(hb_started[which(mongoc_apm_server_heartbeat_started_get_host(e))]);
}

static void on_hb_succeeded(const mongoc_apm_server_heartbeat_succeeded_t *e)
{
	ctx_check(mongoc_apm_server_heartbeat_succeeded_get_context(e));
	COUNT(hb_succeeded[which(mongoc_apm_server_heartbeat_succeeded_get_host(e))]);
}

static void on_srv_opening(const mongoc_apm_server_opening_t *e)
{
	ctx_check(mongoc_apm_server_opening_get_context(e));
	COUNT(srv_opening[which(mongoc_apm_server_opening_get_host(e))]);
}

static void on_srv_closed(const mongoc_apm_server_closed_t *e)
{
	ctx_check(mongoc_apm_server_closed_get_context(e));
	COUNT(srv_closed[which(mongoc_apm_server_closed_get_host(e))]);
}

static void on_srv_changed(const mongoc_apm_server_changed_t *e)
{
	ctx_check(mongoc_apm_server_changed_get_context(e));
	COUNT(srv_changed);
}

static void on_topo_changed(const mongoc_apm_topology_changed_t *e)
{
	ctx_check(mongoc_apm_topology_changed_get_context(e));
	COUNT(topo_changed);
}

static void on_topo_closed(const mongoc_apm_topology_closed_t *e)
{
	ctx_check(mongoc_apm_topology_closed_get_context(e));
	COUNT(topo_closed);
}

static void on_cmd_started(const mongoc_apm_command_started_t *e)
{
	ctx_check(mongoc_apm_command_started_get_context(e));
	if (strcmp(mongoc_apm_command_started_get_command_name(e), "ping") == 0)
		COUNT(cmd_started);
}

static void on_cmd_succeeded(const mongoc_apm_command_succeeded_t *e)
{
	ctx_check(mongoc_apm_command_succeeded_get_context(e));
	if (strcmp(mongoc_apm_command_succeeded_get_command_name(e), "ping") == 0)
		COUNT(cmd_succeeded);
}

static int ping(mongoc_client_t *c)
{
	bson_t *cmd = BCON_NEW("ping", BCON_INT32(1));
	bool ok = mongoc_client_command_simple(c, "admin", cmd, NULL, NULL, NULL);
	bson_destroy(cmd);
	return ok;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void pause_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Polls until cond holds, up to 30 s; says so on stdout if it never did. */
#define WAIT_FOR(what, cond)                                                       \
	do {                                                                       \
		int64_t end_ = now_ms() + 30000;                                   \
		while (!(cond) && now_ms() < end_)                                 \
			pause_ms(20);                                              \
		if (!(cond))                                                       \
			printf("timed out waiting for %s\n", what);               \
	} while (0)

static int all_known(mongoc_client_t *c, size_t want)
{
	size_t n = 0, known = 0;
	mongoc_server_description_t **sds = mongoc_client_get_server_descriptions(c, &n);
	for (size_t i = 0; i < n; i++)
		known += strcmp(mongoc_server_description_type(sds[i]), "Unknown") != 0;
	mongoc_server_descriptions_destroy_all(sds, n);
	return n == want && known == want;
}

static const char *seen_str(int n)
{
	return n ? "called" : "never";
}

int main(int argc, char **argv)
{
	int fd;
	if (argc != 3 || sscanf(argv[2], "%d %299s", &fd, host2) != 2) {
		fprintf(stderr, "usage: prog_mongo_pool_late URI \"FD HOST\"\n");
		return 2;
	}
	mongoc_init();
	mongoc_uri_t *uri = mongoc_uri_new(argv[1]);
	mongoc_client_pool_t *p = mongoc_client_pool_new(uri);
	mongoc_client_t *c1 = mongoc_client_pool_pop(p); /* starts the monitors */
	int ok = ping(c1);
	WAIT_FOR("the 3 members known", all_known(c1, 3));

	mongoc_apm_callbacks_t *cb = mongoc_apm_callbacks_new();
	mongoc_apm_set_server_heartbeat_started_cb(cb, on_hb_started);
	mongoc_apm_set_server_heartbeat_succeeded_cb(cb, on_hb_succeeded);
	mongoc_apm_set_server_opening_cb(cb, on_srv_opening);
	mongoc_apm_set_server_closed_cb(cb, on_srv_closed);
	mongoc_apm_set_server_changed_cb(cb, on_srv_changed);
	mongoc_apm_set_topology_changed_cb(cb, on_topo_changed);
	mongoc_apm_set_topology_closed_cb(cb, on_topo_closed);
	mongoc_apm_set_command_started_cb(cb, on_cmd_started);
	mongoc_apm_set_command_succeeded_cb(cb, on_cmd_succeeded);
	bool r = mongoc_client_pool_set_apm_callbacks(p, cb, &ctx_mine);

	ok += ping(c1); /* made before the set: no callbacks */
	mongoc_client_t *c2 = mongoc_client_pool_pop(p); /* made after: the new ones */
	ok += ping(c2);
	printf("late set returned %s; pings ok %d; the app saw %d started %d succeeded\n",
	       r ? "true" : "false", ok, GET(cmd_started), GET(cmd_succeeded));

	/* member 2 leaves the set and comes back: a new monitor, made after the set */
	dprintf(fd, "remove 2\n");
	WAIT_FOR("server_closed of member 2", GET(srv_closed[0]) > 0);
	dprintf(fd, "add 2\n");
	WAIT_FOR("server_opening of member 2", GET(srv_opening[0]) > 0);
	/* the monitors of members 0 and 1, made before the set, check their
	 * servers as often as member 2's (heartbeatFrequencyMS): while it checks
	 * 4 times, they check too */
	WAIT_FOR("4 heartbeats of member 2", GET(hb_succeeded[0]) >= 4);
	printf("member 2 closed %s, opened %s, heartbeats started %s succeeded %s; "
	       "members 0, 1 heartbeats started %s succeeded %s, opened %s, closed %s; "
	       "server_changed %s, topology_changed %s\n",
	       seen_str(GET(srv_closed[0])), seen_str(GET(srv_opening[0])),
	       seen_str(GET(hb_started[0])), seen_str(GET(hb_succeeded[0])),
	       seen_str(GET(hb_started[1])), seen_str(GET(hb_succeeded[1])),
	       seen_str(GET(srv_opening[1])), seen_str(GET(srv_closed[1])),
	       seen_str(GET(srv_changed)), seen_str(GET(topo_changed)));

	mongoc_client_pool_push(p, c1);
	mongoc_client_pool_push(p, c2);
	mongoc_client_pool_destroy(p);
	printf("after destroy: topology_closed %d, foreign contexts %d\n", GET(topo_closed),
	       GET(foreign));
	mongoc_apm_callbacks_destroy(cb);
	mongoc_uri_destroy(uri);
	mongoc_cleanup();
	return 0;
}
