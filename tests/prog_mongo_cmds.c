/* prog_mongo_cmds.c - a plain libmongoc program that knows nothing of ringmon
 * (run it under LD_PRELOAD=libringmon-preload.so): runs each argument on one
 * single-threaded client and prints its outcome, one line each, "OK ..." or
 * "ERR ... domain=D code=C", as the application sees it.
 *
 * usage: prog_mongo_cmds URI DB ARG...
 *   {"cmd": ...}          mongoc_client_command_simple on DB
 *   insert_one:COLL:DOC   mongoc_collection_insert_one (DOC: JSON)
 *   update_one:COLL       mongoc_collection_update_one({}, {$set: {a: 1}})
 * Exit status: 0 once every argument ran, 2 on bad usage. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include <mongoc/mongoc.h>

static bool run(mongoc_client_t *c, const char *db, const char *arg, bson_error_t *err)
{
	bool ok = false;
	bson_t reply;
	if (strncmp(arg, "insert_one:", 11) == 0 || strncmp(arg, "update_one:", 11) == 0) {
		char coll[128];
		const char *rest = arg + 11, *colon = strchr(rest, ':');
		size_t n = colon ? (size_t)(colon - rest) : strlen(rest);
		snprintf(coll, sizeof(coll), "%.*s", (int)n, rest);
		mongoc_collection_t *cl = mongoc_client_get_collection(c, db, coll);
		if (arg[0] == 'i') {
			bson_t *doc = bson_new_from_json((const uint8_t *)(colon ? colon + 1 : "{}"), -1, err);
			if (doc)
				ok = mongoc_collection_insert_one(cl, doc, NULL, &reply, err);
			else
				bson_init(&reply);
			bson_destroy(doc);
		} else {
			bson_t *filter = bson_new();
			bson_t *upd = BCON_NEW("$set", "{", "a", BCON_INT32(1), "}");
			ok = mongoc_collection_update_one(cl, filter, upd, NULL, &reply, err);
			bson_destroy(filter);
			bson_destroy(upd);
		}
		mongoc_collection_destroy(cl);
	} else {
		bson_t *cmd = bson_new_from_json((const uint8_t *)arg, -1, err);
		if (!cmd)
			return false;
		ok = mongoc_client_command_simple(c, db, cmd, NULL, &reply, err);
		bson_destroy(cmd);
	}
	bson_destroy(&reply);
	return ok;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: %s URI DB ARG...\n", argv[0]);
		return 2;
	}
	mongoc_init();
	mongoc_client_t *c = mongoc_client_new(argv[1]);
	if (!c) {
		fprintf(stderr, "%s: bad URI %s\n", argv[0], argv[1]);
		return 2;
	}
	for (int i = 3; i < argc; i++) {
		bson_error_t err = {0};
		if (run(c, argv[2], argv[i], &err))
			printf("OK %s\n", argv[i]);
		else
			printf("ERR %s domain=%u code=%u\n", argv[i], err.domain, err.code);
	}
	mongoc_client_destroy(c);
	mongoc_cleanup();
	return 0;
}
