/* prog_shared_appctx.c - an application that gives ringmon_mongoc_client() its
 * own APM callbacks and context, linked with the shared libraries; its
 * callback checks that mongoc_apm_command_started_get_context() returns its own
 * context. Built by make with libringmon-mongoc before libmongoc, and by
 * e2e_libs.sh with libmongoc first, where ringmon must refuse (-ELIBBAD) rather
 * than let the callback see ringmon's context.
 *
 * usage: prog_shared_appctx URI
 * Instruments two clients (the refusal is said once), 3 pings on the first. */
#include <stdio.h>
#include <string.h>

#include <ringmon/ringmon_mongoc.h>

struct mine {
	unsigned magic;
	int started;
};
static struct mine mine = {0xC0FFEE, 0};
static int foreign;

static void on_started(const mongoc_apm_command_started_t *e)
{
	struct mine *m = mongoc_apm_command_started_get_context(e);
	if (m != &mine) {
		foreign++;
		return;
	}
	if (strcmp(mongoc_apm_command_started_get_command_name(e), "ping") == 0)
		m->started++;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: prog_shared_appctx URI\n");
		return 2;
	}
	mongoc_init();
	mongoc_client_t *c = mongoc_client_new(argv[1]);
	mongoc_client_t *c2 = mongoc_client_new(argv[1]);
	mongoc_apm_callbacks_t *cb = mongoc_apm_callbacks_new();
	mongoc_apm_set_command_started_cb(cb, on_started);
	int rc = ringmon_mongoc_client(c, cb, &mine);
	int rc2 = ringmon_mongoc_client(c2, cb, &mine);
	mongoc_apm_callbacks_destroy(cb);
	for (int i = 0; i < 3; i++) {
		bson_t *ping = BCON_NEW("ping", BCON_INT32(1));
		mongoc_client_command_simple(c, "admin", ping, NULL, NULL, NULL);
		bson_destroy(ping);
	}
	ringmon_mongoc_client_destroy(c2);
	ringmon_mongoc_client_destroy(c);
	mongoc_cleanup();
	printf("rc %d %d; own context %d, foreign context %d\n", rc, rc2, mine.started, foreign);
	return 0;
}
