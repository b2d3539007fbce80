/* test_mongo_util.h - helpers of the MongoDB tests: run the mock server, read
 * this process's (or another's) ringmon segment. Header-only, static inline. */
#ifndef TEST_MONGO_UTIL_H
#define TEST_MONGO_UTIL_H

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include <ringmon/ringmon.h>
#include <ringmon/ringmon_mongoc.h>
#include "../ringbuf/cursor.h"
#include "../ringbuf/hist.h"
#include "../ringbuf/segment.h"
#include "helper_common.h"

static inline uint64_t tm_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- the mock server ---- */

struct mock {
	pid_t pid;
	int out;  /* its stdout */
	int in;   /* its stdin (with --stdin-control), else -1 */
	int port;
	char uri[512];
	char buf[4096];
	size_t len;
};

/* The repository root: the cwd when it has tests/mongo, else up from the binary. */
static inline const char *tm_root(void)
{
	static char root[PATH_MAX];
	if (root[0])
		return root;
	if (access("tests/mongo/mockserver.py", R_OK) == 0)
		return strcpy(root, ".");
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = 0;
		for (int up = 0; up < 5; up++) {
			char *s = strrchr(exe, '/');
			if (!s)
				break;
			*s = 0;
			char p[PATH_MAX + 32];
			snprintf(p, sizeof(p), "%s/tests/mongo/mockserver.py", exe);
			if (access(p, R_OK) == 0)
				return strcpy(root, exe);
		}
	}
	return strcpy(root, ".");
}

/* n consecutive free loopback ports, below the kernel's ephemeral range
 * (32768 up), where no client connection can take one between this check and
 * the server's bind (as in tests/lib_check.sh free_ports). */
static inline int tm_free_ports(int n)
{
	for (int tries = 0; tries < 200; tries++) {
		int base = 20000 + (int)((getpid() * 7919u + (unsigned)tries * 104729u +
					  (unsigned)tm_now_ms()) % (12700u - (unsigned)n));
		int ok = 1;
		for (int i = 0; i < n && ok; i++) {
			int s = socket(AF_INET, SOCK_STREAM, 0);
			struct sockaddr_in a = {.sin_family = AF_INET,
						.sin_port = htons((uint16_t)(base + i)),
						.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
			ok = s >= 0 && bind(s, (struct sockaddr *)&a, sizeof(a)) == 0;
			if (s >= 0)
				close(s);
		}
		if (ok)
			return base;
	}
	return -1;
}

/* One line of the server's stdout within timeout_ms; 0 or -ETIMEDOUT/-EIO. */
static inline int mock_line(struct mock *m, char *line, size_t cap, int timeout_ms)
{
	uint64_t end = tm_now_ms() + (uint64_t)timeout_ms;
	for (;;) {
		char *nl = memchr(m->buf, '\n', m->len);
		if (nl) {
			size_t n = (size_t)(nl - m->buf);
			snprintf(line, cap, "%.*s", (int)n, m->buf);
			memmove(m->buf, nl + 1, m->len - n - 1);
			m->len -= n + 1;
			return 0;
		}
		uint64_t now = tm_now_ms();
		if (now >= end)
			return -ETIMEDOUT;
		struct pollfd p = {.fd = m->out, .events = POLLIN};
		if (poll(&p, 1, (int)(end - now)) <= 0)
			continue;
		ssize_t r = read(m->out, m->buf + m->len, sizeof(m->buf) - 1 - m->len);
		if (r <= 0)
			return -EIO;
		m->len += (size_t)r;
	}
}

/* Starts the mock with extra arguments (NULL-terminated); waits for "ready".
 * Another process may take the free ports before the server binds them (it
 * then exits before its ready line): up to 3 tries on other ports. */
#define mock_start(m, nports, control, ...) \
	mock_start_tries((m), (nports), (control), __VA_ARGS__)
static inline int mock_start_once(struct mock *m, int nports, int control, va_list ap);
static inline int mock_start_tries(struct mock *m, int nports, int control, ...)
{
	int err = -EIO;
	for (int i = 0; i < 3 && err == -EIO; i++) {
		va_list ap;
		va_start(ap, control);
		err = mock_start_once(m, nports, control, ap);
		va_end(ap);
		if (err == -EIO && m->pid > 0) { /* it exited: reap it */
			waitpid(m->pid, NULL, 0);
			close(m->out);
			if (m->in >= 0)
				close(m->in);
		}
	}
	return err;
}
static inline int mock_start_once(struct mock *m, int nports, int control, va_list ap)
{
	memset(m, 0, sizeof(*m));
	m->in = -1;
	m->port = tm_free_ports(nports);
	if (m->port < 0)
		return -EADDRINUSE;
	char *argv[40];
	int argc = 0;
	char script[PATH_MAX + 32], port[16];
	snprintf(script, sizeof(script), "%s/tests/mongo/mockserver.py", tm_root());
	snprintf(port, sizeof(port), "%d", m->port);
	argv[argc++] = "/usr/bin/python3";
	argv[argc++] = script;
	argv[argc++] = "--port";
	argv[argc++] = port;
	argv[argc++] = "--max-seconds";
	argv[argc++] = "120";
	if (control)
		argv[argc++] = "--stdin-control";
	char *a;
	while ((a = va_arg(ap, char *)) && argc < 38)
		argv[argc++] = a;
	argv[argc] = NULL;
	int po[2], pi[2] = {-1, -1};
	if (pipe2(po, O_CLOEXEC) || (control && pipe2(pi, O_CLOEXEC)))
		return -errno;
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		/* the server dies with its test, even one that crashed */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(po[1], 1);
		if (control)
			dup2(pi[0], 0);
		else {
			int dn = open("/dev/null", O_RDONLY);
			dup2(dn, 0);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	close(po[1]);
	m->out = po[0];
	if (control) {
		close(pi[0]);
		m->in = pi[1];
	}
	m->pid = pid;
	char line[1024];
	/* python3 and mockupdb start in 1 s on an idle machine, in a minute on one
	 * loaded 100 times over */
	int err = mock_line(m, line, sizeof(line), 120000);
	if (err)
		return err;
	char ports[128];
	if (sscanf(line, "ready %127s %511s", ports, m->uri) != 2)
		return -EPROTO;
	return 0;
}

/* Sends a control line and waits for "ok <cmd>". 0, or -errno. */
static inline int mock_cmd(struct mock *m, const char *cmd)
{
	char line[1024], want[256];
	if (m->in < 0)
		return -EINVAL;
	if (dprintf(m->in, "%s\n", cmd) < 0)
		return -EIO;
	snprintf(want, sizeof(want), "ok %s", cmd);
	int err = mock_line(m, line, sizeof(line), 30000);
	if (err)
		return err;
	return strcmp(line, want) == 0 ? 0 : -EPROTO;
}

static inline void mock_stop(struct mock *m)
{
	if (m->pid <= 0)
		return;
	kill(m->pid, SIGTERM);
	th_wait(m->pid, 20000); /* SIGKILL after 20 s */
	m->pid = 0;
	if (m->out >= 0)
		close(m->out);
	if (m->in >= 0)
		close(m->in);
	m->out = m->in = -1;
}

/* URI with extra options appended. */
static inline void tm_uri(char *dst, size_t cap, const struct mock *m, const char *extra)
{
	snprintf(dst, cap, "%s%s%s", m->uri, extra && *extra ? "&" : "", extra ? extra : "");
}

/* ---- reading a segment ---- */

struct seg {
	struct rb_view v;
	int attached;
};

static inline int seg_attach_pid(struct seg *s, int pid)
{
	char err[RB_ERR_MAX];
	int rc = rb_attach_pid(&s->v, pid, 2000, err, sizeof(err));
	if (rc)
		fprintf(stderr, "attach %d: %s\n", pid, err);
	s->attached = rc == 0;
	return rc;
}

static inline int seg_attach_path(struct seg *s, const char *path)
{
	char err[RB_ERR_MAX];
	int rc = rb_attach_path(&s->v, path, err, sizeof(err));
	if (rc)
		fprintf(stderr, "attach %s: %s\n", path, err);
	s->attached = rc == 0;
	return rc;
}

static inline void seg_detach(struct seg *s)
{
	if (s->attached)
		rb_detach(&s->v);
	s->attached = 0;
}

static inline int seg_type(struct seg *s, const char *name)
{
	struct rb_type_info t;
	uint32_t n = rb_view_ntypes(&s->v);
	for (uint32_t i = 0; i < n; i++)
		if (rb_view_type(&s->v, i, &t) == 0 && strcmp(t.name, name) == 0)
			return (int)i;
	return -1;
}

static inline int seg_key(struct seg *s, const char *type, const char *key)
{
	int t = seg_type(s, type);
	struct rb_key_info k;
	uint32_t n = rb_view_nkeys(&s->v);
	for (uint32_t i = 1; t >= 0 && i < n; i++)
		if (rb_view_key(&s->v, i, &k) == 0 && (int)k.type == t && strcmp(k.name, key) == 0)
			return (int)i;
	return -1;
}

/* Summary of a type (key NULL) or of one key; zeroed when absent. Caller frees. */
static inline struct rb_summary *seg_sum(struct seg *s, const char *type, const char *key)
{
	struct rb_summary *r = calloc(1, sizeof(*r));
	rb_summary_clear(r);
	int id = key ? seg_key(s, type, key) : seg_type(s, type);
	if (id >= 0)
		rb_view_summary(&s->v, key != NULL, (uint32_t)id, r);
	return r;
}

static inline uint64_t seg_count(struct seg *s, const char *type, const char *key)
{
	struct rb_summary *r = seg_sum(s, type, key);
	uint64_t n = r->count;
	free(r);
	return n;
}

/* Calls fn on every record of type (all shards, from the oldest kept). */
static inline uint64_t seg_records(struct seg *s, const char *type,
				   void (*fn)(const struct rb_record *, void *), void *arg)
{
	int t = seg_type(s, type);
	uint64_t n = 0;
	if (t < 0)
		return 0;
	for (uint32_t sh = 0; sh < rb_view_nrings(&s->v); sh++) { /* the state ring too */
		struct rb_cursor c;
		struct rb_record rec;
		uint64_t lost;
		rb_cursor_init(&c, &s->v, sh, 1);
		enum rb_next r;
		while ((r = rb_cursor_next(&c, &rec, &lost, ringmon_now_ns())) != RB_NEXT_NONE) {
			if (r == RB_NEXT_RECORD && rec.type == (uint16_t)t) {
				fn(&rec, arg);
				n++;
			}
		}
	}
	return n;
}

/* ---- command times against libmongoc's ---- */

struct seg_by_rid {
	int n;
	struct rb_record r[512];
};

static inline void seg_keep_record(const struct rb_record *r, void *arg)
{
	struct seg_by_rid *b = arg;
	if (b->n < 512)
		b->r[b->n++] = *r;
}

/* The newest record of request rid (field 0; ids restart with each client). */
static inline const struct rb_record *seg_find_rid(const struct seg_by_rid *b, int64_t rid)
{
	const struct rb_record *found = NULL;
	for (int i = 0; i < b->n; i++)
		if (b->r[i].field[0] == rid && (!found || b->r[i].ts_ns > found->ts_ns))
			found = &b->r[i];
	return found;
}

/* How many of n commands (request ids rid[], the durations in us libmongoc
 * gave the application's callbacks dur_us[]) do not have records timed by
 * libmongoc's own clock reads: a command.started record and a succeeded or
 * failed one, the latter's duration their times' difference, and that
 * difference libmongoc's duration when both are cut to whole us, as
 * libmongoc's clock cuts them. Says the first such command on stderr. */
static inline int seg_command_times_differ(struct seg *s, int n, const int64_t *rid,
					   const int64_t *dur_us)
{
	static struct seg_by_rid started, finished;
	started.n = finished.n = 0;
	seg_records(s, "command.started", seg_keep_record, &started);
	seg_records(s, "command.succeeded", seg_keep_record, &finished);
	seg_records(s, "command.failed", seg_keep_record, &finished);
	int bad = 0;
	for (int i = 0; i < n; i++) {
		const struct rb_record *a = seg_find_rid(&started, rid[i]);
		const struct rb_record *b = seg_find_rid(&finished, rid[i]);
		if (a && b && b->ts_ns - a->ts_ns == b->dur_ns &&
		    (int64_t)(b->ts_ns / 1000 - a->ts_ns / 1000) == dur_us[i])
			continue;
		if (!bad++)
			fprintf(stderr, "request %lld: ringmon's records %s, times %llu..%llu ns "
					"(duration %llu ns); libmongoc's duration %lld us\n",
				(long long)rid[i], a && b ? "found" : "missing",
				a ? (unsigned long long)a->ts_ns : 0ull,
				b ? (unsigned long long)b->ts_ns : 0ull,
				b ? (unsigned long long)b->dur_ns : 0ull, (long long)dur_us[i]);
	}
	return bad;
}

/* Own segment, attached fresh (ringmon opens it on the first registration). */
static inline void seg_self(struct seg *s)
{
	ringmon_open(0);
	if (seg_attach_pid(s, getpid()) != 0)
		abort();
}

#endif
