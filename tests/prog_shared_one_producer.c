/* prog_shared_one_producer.c - an application that links libringmon and
 * libringmon-mongoc as shared libraries, emits events of its own and
 * instruments a client itself, while the test may also start it under
 * LD_PRELOAD=libringmon-preload.so (which instruments every client it makes).
 * One producer per process: all of it lands in one segment (e2e_libs.sh).
 *
 * usage: prog_shared_one_producer URI
 * Emits 5 app.work events; pings twice on a client it leaves alone, and 3
 * times on one it instruments with ringmon_mongoc_client(). */
#include <stdio.h>

#include <ringmon/ringmon.h>
#include <ringmon/ringmon_mongoc.h>

static int ping(mongoc_client_t *c)
{
	bson_t *cmd = BCON_NEW("ping", BCON_INT32(1));
	bool ok = mongoc_client_command_simple(c, "admin", cmd, NULL, NULL, NULL);
	bson_destroy(cmd);
	return ok;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: prog_shared_one_producer URI\n");
		return 2;
	}
	static const char *fields[] = {"n"};
	int work = ringmon_type_register("app.work", fields, 1);
	for (int i = 0; i < 5; i++)
		ringmon_emit(work, ringmon_key(work, "job"), 1000, i, 0, 0, 0);
	mongoc_init();
	mongoc_client_t *plain = mongoc_client_new(argv[1]);
	mongoc_client_t *mine = mongoc_client_new(argv[1]);
	int rc = ringmon_mongoc_client(mine, NULL, NULL);
	int ok = ping(plain) + ping(plain);
	for (int i = 0; i < 3; i++)
		ok += ping(mine);
	ringmon_mongoc_client_destroy(mine);
	mongoc_client_destroy(plain);
	mongoc_cleanup();
	printf("type %d instrumented %d pings ok %d\n", work >= 0, rc, ok);
	return 0;
}
