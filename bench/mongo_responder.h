/* mongo_responder.h - a minimal MongoDB server for bench_mongo.
 *
 * It answers hello/isMaster (OP_QUERY or OP_MSG) as a standalone primary of
 * wire version 13 does, with what libmongoc needs, and every other command as
 * a replica set member answers a ping: {ok: 1, $clusterTime, operationTime},
 * at once. The reply holds no byte 'w' (see docs/benchmarks.md: the adapter's
 * write-error search looks for it). Two transports, the same answers:
 *   mr_listen()          loopback TCP, a thread per connection: a real round
 *                        trip, with its syscalls and scheduling
 *   mr_stream_initiator  an in-process stream for
 *                        mongoc_client_set_stream_initiator(): the reply is
 *                        made inside the client's own writev, with no socket,
 *                        thread or syscall, so what a client thread spends per
 *                        command is libmongoc's and its callbacks' work alone
 * Not thread-safe beyond that: one stream serves one libmongoc connection
 * (libmongoc never uses a connection from two threads at once). */
#ifndef MONGO_RESPONDER_H
#define MONGO_RESPONDER_H

#include <mongoc/mongoc.h>

/* Listens on 127.0.0.1 (a port of the kernel's choosing) and answers every
 * connection in a thread of its own until the process exits. Returns the
 * port, or -1 with errno set. */
int mr_listen(void);

/* A mongoc_stream_initiator_t: a new in-process stream for any host (uri,
 * host and user_data are unused). Never NULL. */
mongoc_stream_t *mr_stream_initiator(const mongoc_uri_t *uri, const mongoc_host_list_t *host,
				     void *user_data, bson_error_t *error);

#endif
