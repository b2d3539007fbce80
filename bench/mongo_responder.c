/* mongo_responder.c - a minimal MongoDB server for bench_mongo, on loopback
 * and in-process (see mongo_responder.h). */
#define _GNU_SOURCE
#include "mongo_responder.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define OP_REPLY 1
#define OP_QUERY 2004
#define OP_MSG 2013
#define MR_MAX_MSG (1 << 16) /* libmongoc's hello with its metadata is ~400 bytes */

static bson_t *hello_reply, *ping_reply;
static pthread_once_t replies_once = PTHREAD_ONCE_INIT;

static void make_replies(void)
{
	hello_reply = BCON_NEW("helloOk", BCON_BOOL(true), "ismaster", BCON_BOOL(true),
			       "isWritablePrimary", BCON_BOOL(true), "maxBsonObjectSize",
			       BCON_INT32(16777216), "maxMessageSizeBytes", BCON_INT32(48000000),
			       "maxWriteBatchSize", BCON_INT32(100000), "minWireVersion",
			       BCON_INT32(0), "maxWireVersion", BCON_INT32(13), "connectionId",
			       BCON_INT32(1), "ok", BCON_DOUBLE(1));
	/* what a replica set member answers a ping: ok and the cluster time */
	ping_reply = BCON_NEW("ok", BCON_DOUBLE(1), "$clusterTime", "{", "clusterTime",
			      BCON_TIMESTAMP(1700000000, 1), "signature", "{", "hash",
			      BCON_BIN(BSON_SUBTYPE_BINARY, (const uint8_t *)"01234567890123456789", 20),
			      "keyId", BCON_INT64(7300000000000000001), "}", "}", "operationTime",
			      BCON_TIMESTAMP(1700000000, 1));
}

static void put32(uint8_t *p, int32_t v)
{
	memcpy(p, &v, 4); /* the wire is little-endian, as is x86 */
}

/* The reply to the whole message msg[0..len) (header included) into out
 * (cap >= 4096); returns its length. */
static size_t answer(const uint8_t *msg, size_t len, uint8_t *out, int32_t reply_id)
{
	int32_t req, op;
	memcpy(&req, msg + 4, 4);
	memcpy(&op, msg + 12, 4);
	const uint8_t *in = msg + 16, *doc = NULL;
	size_t body = len - 16;
	if (op == OP_MSG && body > 5 && in[4] == 0) {
		doc = in + 5;
	} else if (op == OP_QUERY && body > 4) { /* flags, cstring name, skip, limit, doc */
		const uint8_t *p = memchr(in + 4, 0, body - 4);
		if (p && (size_t)(p + 9 - in) < body)
			doc = p + 9;
	}
	const bson_t *reply = ping_reply;
	if (doc) {
		int32_t dl;
		memcpy(&dl, doc, 4);
		bson_t b;
		bson_iter_t it;
		if (dl >= 5 && doc + dl <= in + body && bson_init_static(&b, doc, (size_t)dl) &&
		    bson_iter_init(&it, &b) && bson_iter_next(&it) &&
		    (strcasecmp(bson_iter_key(&it), "hello") == 0 ||
		     strcasecmp(bson_iter_key(&it), "isMaster") == 0))
			reply = hello_reply;
	}
	size_t n;
	if (op == OP_QUERY) { /* OP_REPLY: flags, cursor id, start, count, doc */
		n = 16 + 20 + reply->len;
		memset(out, 0, 36);
		put32(out + 12, OP_REPLY);
		put32(out + 32, 1);
		memcpy(out + 36, bson_get_data(reply), reply->len);
	} else { /* OP_MSG: flags, section kind 0, doc */
		n = 16 + 5 + reply->len;
		memset(out, 0, 21);
		put32(out + 12, OP_MSG);
		memcpy(out + 21, bson_get_data(reply), reply->len);
	}
	put32(out, (int32_t)n);
	put32(out + 4, reply_id);
	put32(out + 8, req);
	return n;
}

/* ---- loopback TCP ---- */

static int read_full(int fd, void *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, (char *)buf + got, n - got);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

static int write_full(int fd, const void *buf, size_t n)
{
	size_t put = 0;
	while (put < n) {
		ssize_t r = write(fd, (const char *)buf + put, n - put);
		if (r <= 0)
			return -1;
		put += (size_t)r;
	}
	return 0;
}

/* Answers one connection until it closes. */
static void *serve_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	uint8_t *in = malloc(MR_MAX_MSG);
	uint8_t out[4096];
	int32_t rid = 1;
	while (in && read_full(fd, in, 16) == 0) {
		int32_t len;
		memcpy(&len, in, 4);
		if (len < 16 || len > MR_MAX_MSG || read_full(fd, in + 16, (size_t)len - 16))
			break;
		if (write_full(fd, out, answer(in, (size_t)len, out, rid++)))
			break;
	}
	free(in);
	close(fd);
	return NULL;
}

static void *serve(void *arg)
{
	int ls = (int)(intptr_t)arg;
	for (;;) {
		int fd = accept(ls, NULL, NULL);
		if (fd < 0)
			return NULL;
		pthread_t th;
		if (pthread_create(&th, NULL, serve_conn, (void *)(intptr_t)fd) == 0)
			pthread_detach(th);
		else
			close(fd);
	}
}

int mr_listen(void)
{
	pthread_once(&replies_once, make_replies);
	int ls = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 16) ||
	    getsockname(ls, (struct sockaddr *)&a, &al)) {
		if (ls >= 0)
			close(ls);
		return -1;
	}
	pthread_t th;
	if ((errno = pthread_create(&th, NULL, serve, (void *)(intptr_t)ls))) {
		close(ls);
		return -1;
	}
	pthread_detach(th);
	return ntohs(a.sin_port);
}

/* ---- in-process: a mongoc_stream_t whose writev makes the reply ---- */

struct mem_stream {
	mongoc_stream_t vt;
	uint8_t in[MR_MAX_MSG]; /* request bytes not yet a whole message */
	size_t in_len;
	uint8_t out[4096]; /* the reply not yet read */
	size_t out_off, out_len;
	int32_t rid;
};

static ssize_t mem_writev(mongoc_stream_t *s, mongoc_iovec_t *iov, size_t iovcnt, int32_t t)
{
	(void)t;
	struct mem_stream *m = (struct mem_stream *)s;
	ssize_t total = 0;
	for (size_t i = 0; i < iovcnt; i++) {
		if (m->in_len + iov[i].iov_len > sizeof(m->in)) {
			errno = EMSGSIZE;
			return -1;
		}
		memcpy(m->in + m->in_len, iov[i].iov_base, iov[i].iov_len);
		m->in_len += iov[i].iov_len;
		total += (ssize_t)iov[i].iov_len;
	}
	int32_t len;
	while (m->in_len >= 16 && (memcpy(&len, m->in, 4), len >= 16) && (size_t)len <= m->in_len) {
		if (m->out_len - m->out_off) { /* a second request before the reply was read */
			errno = EPROTO;
			return -1;
		}
		m->out_off = 0;
		m->out_len = answer(m->in, (size_t)len, m->out, m->rid++);
		memmove(m->in, m->in + len, m->in_len - (size_t)len);
		m->in_len -= (size_t)len;
	}
	return total;
}

static ssize_t mem_readv(mongoc_stream_t *s, mongoc_iovec_t *iov, size_t iovcnt, size_t min_bytes,
			 int32_t t)
{
	(void)t;
	struct mem_stream *m = (struct mem_stream *)s;
	size_t got = 0;
	for (size_t i = 0; i < iovcnt && m->out_off < m->out_len; i++) {
		size_t n = m->out_len - m->out_off;
		if (n > iov[i].iov_len)
			n = iov[i].iov_len;
		memcpy(iov[i].iov_base, m->out + m->out_off, n);
		m->out_off += n;
		got += n;
	}
	if (got < min_bytes) { /* a request-reply protocol never waits for more */
		errno = ETIMEDOUT;
		return -1;
	}
	return (ssize_t)got;
}

/* Always ready: a reply is made inside writev, before anyone polls for it. */
static ssize_t mem_poll(mongoc_stream_poll_t *ps, size_t n, int32_t t)
{
	(void)t;
	for (size_t i = 0; i < n; i++)
		ps[i].revents = ps[i].events & (POLLIN | POLLOUT);
	return (ssize_t)n;
}

static void mem_destroy(mongoc_stream_t *s)
{
	free(s);
}
static int mem_close(mongoc_stream_t *s)
{
	(void)s;
	return 0;
}
static int mem_flush(mongoc_stream_t *s)
{
	(void)s;
	return 0;
}
static int mem_setsockopt(mongoc_stream_t *s, int level, int name, void *v, mongoc_socklen_t l)
{
	(void)s, (void)level, (void)name, (void)v, (void)l;
	return 0;
}
static void mem_failed(mongoc_stream_t *s)
{
	mem_destroy(s);
}
static bool mem_false(mongoc_stream_t *s)
{
	(void)s;
	return false;
}

mongoc_stream_t *mr_stream_initiator(const mongoc_uri_t *uri, const mongoc_host_list_t *host,
				     void *user_data, bson_error_t *error)
{
	(void)uri, (void)host, (void)user_data, (void)error;
	pthread_once(&replies_once, make_replies);
	struct mem_stream *m = calloc(1, sizeof(*m));
	if (!m)
		abort(); /* a benchmark: nothing sensible to measure without memory */
	m->vt.type = 0x7262; /* none of libmongoc's MONGOC_STREAM_* types */
	m->vt.destroy = mem_destroy;
	m->vt.close = mem_close;
	m->vt.flush = mem_flush;
	m->vt.writev = mem_writev;
	m->vt.readv = mem_readv;
	m->vt.setsockopt = mem_setsockopt;
	m->vt.check_closed = mem_false;
	m->vt.poll = mem_poll;
	m->vt.failed = mem_failed;
	m->vt.timed_out = mem_false;
	m->vt.should_retry = mem_false;
	m->rid = 1;
	return &m->vt;
}
