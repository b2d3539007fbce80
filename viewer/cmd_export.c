/* cmd_export.c - `ringmon export`: serves /metrics over HTTP (libmicrohttpd)
 * from every live producer of this user. Read-only: no endpoint changes
 * anything. The exposition is openmetrics.c's; the reading is fleet.c's. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "fleet.h"
#include "model.h"
#include "openmetrics.h"

#define DEFAULT_LISTEN "127.0.0.1:9473"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ringmon export [--listen ADDR:PORT] [--name PATTERN] [--keys TYPES]\n"
		"                      [--max-keys N] [--buckets SECONDS,...] [--linger S]\n\n"
		"Serves http://ADDR:PORT/metrics for Prometheus (text 0.0.4, or OpenMetrics 1.0\n"
		"when the client's Accept header asks for it): exact counters and latency\n"
		"histograms of every live ringmon producer of the user it runs as, found anew\n"
		"at each scrape. Other users' segments are refused (run one exporter per user).\n"
		"Read-only. Metrics: docs/export.md.\n"
		"  --listen ADDR:PORT  where to listen (default " DEFAULT_LISTEN "; port 0 picks a\n"
		"                      free one; [::1]:PORT for IPv6; localhost:PORT). Not\n"
		"                      authenticated: keep it on loopback or a trusted network.\n"
		"  --name PATTERN      only processes whose name matches (shell pattern)\n"
		"  --keys TYPES        types whose keys become labels: names, 'prefix.*', 'all'\n"
		"                      (default) or 'none', comma-separated\n"
		"  --max-keys N        key series per type and process (default 50); the rest\n"
		"                      are counted under key \"other\"\n"
		"  --buckets LIST      histogram bounds in seconds, comma-separated, each moved to\n"
		"                      the nearest edge of ringmon's buckets (default: 10us..10s)\n"
		"  --linger S          a producer that exits or dies stays listed S seconds with\n"
		"                      its final values and ringmon_producer_up 0, then its\n"
		"                      series go stale (default 120: twice a 1 min scrape interval)\n");
}

struct server {
	pthread_mutex_t lock; /* one scrape at a time */
	struct vm_fleet fleet;
	struct om_exporter ex;
};

static double mono_s(void)
{
	return (double)vm_now_ns() / 1e9;
}

/* one scrape: the body (malloc'd, *len bytes) or NULL with *status set */
static char *scrape(struct server *s, enum om_format f, size_t *len, unsigned *status)
{
	pthread_mutex_lock(&s->lock);
	double t0 = mono_s();
	char err[RB_ERR_MAX + 64];
	struct om_buf b = {0};
	int n = vm_fleet_scan(&s->fleet, err, sizeof(err));
	if (n < 0) {
		*status = MHD_HTTP_SERVICE_UNAVAILABLE;
		size_t l = strlen(err);
		b.p = malloc(l + 2);
		if (b.p)
			snprintf(b.p, l + 2, "%s\n", err);
		*len = b.p ? l + 1 : 0;
		pthread_mutex_unlock(&s->lock);
		return b.p;
	}
	const struct vm_totals **list;
	size_t np = vm_fleet_totals(&s->fleet, &list);
	s->ex.scrapes++;
	s->ex.skipped_other_user = s->fleet.skipped_other_user;
	s->ex.skipped_unreadable = s->fleet.skipped_unreadable;
	int rc = om_write(&b, f, (const struct vm_totals *const *)list, np, &s->fleet.cfg, &s->ex);
	free(list);
	vm_fleet_release(&s->fleet);
	s->ex.last_scrape_s = mono_s() - t0;
	pthread_mutex_unlock(&s->lock);
	if (rc) {
		om_buf_free(&b);
		*status = MHD_HTTP_INTERNAL_SERVER_ERROR;
		return NULL;
	}
	*status = MHD_HTTP_OK;
	*len = b.len;
	return b.p;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
			     char *body, size_t len)
{
	struct MHD_Response *r = body ? MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE)
				      : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned status, const char *type,
				  const char *s)
{
	return reply(c, status, type, strdup(s), strlen(s));
}

/* libmicrohttpd's messages, in the exporter's own form: each kind once (a
 * client that goes away mid-scrape, as Prometheus does at its scrape timeout,
 * would repeat one for every scrape); the exporter goes on */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	static char said[8][96];
	static int nsaid;
	char msg[512];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = 0;
	for (int i = 0; i < nsaid; i++)
		if (strncmp(said[i], msg, sizeof(said[i]) - 1) == 0)
			return;
	if (nsaid < 8)
		snprintf(said[nsaid++], sizeof(said[0]), "%s", msg);
	fprintf(stderr, "ringmon export: libmicrohttpd: %s (said once; the exporter goes on)\n", msg);
}

/* Every Accept header of a request, joined by commas as HTTP reads several
 * (cut at the buffer's end: a range cut there is ignored or read shorter). */
struct accept_all {
	size_t n;
	char s[16384];
};

static enum MHD_Result join_accept(void *cls, enum MHD_ValueKind kind, const char *key,
				   const char *value)
{
	struct accept_all *a = cls;
	(void)kind;
	if (key && value && strcasecmp(key, "Accept") == 0 && a->n + 1 < sizeof(a->s)) {
		int m = snprintf(a->s + a->n, sizeof(a->s) - a->n, "%s%s", a->n ? "," : "", value);
		if (m > 0)
			a->n += (size_t)m < sizeof(a->s) - a->n ? (size_t)m : sizeof(a->s) - a->n - 1;
	}
	return MHD_YES;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_size, void **con_cls)
{
	(void)version;
	(void)upload;
	struct server *s = cls;
	/* first call: headers only; answer on the second (any upload is refused) */
	if (*con_cls == NULL) {
		*con_cls = (void *)1;
		return MHD_YES;
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		*upload_size = 0;
		return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain; charset=utf-8",
				  "ringmon export is read-only: GET /metrics\n");
	}
	if (strcmp(url, "/metrics") == 0) {
		struct accept_all a = {.n = 0};
		MHD_get_connection_values(c, MHD_HEADER_KIND, join_accept, &a);
		const char *ct;
		enum om_format f = om_negotiate(a.n ? a.s : NULL, &ct);
		unsigned status;
		size_t len = 0;
		char *body = scrape(s, f, &len, &status);
		return reply(c, status, status == MHD_HTTP_OK ? ct : "text/plain; charset=utf-8",
			     body, len);
	}
	if (strcmp(url, "/") == 0)
		return reply_text(c, MHD_HTTP_OK, "text/html; charset=utf-8",
				  "<html><head><title>ringmon export</title></head><body>"
				  "<h1>ringmon export</h1><p><a href=\"/metrics\">/metrics</a></p>"
				  "</body></html>\n");
	return reply_text(c, MHD_HTTP_NOT_FOUND, "text/plain; charset=utf-8",
			  "not found: ringmon export serves /metrics\n");
}

/* ADDR:PORT, NAME:PORT or [ADDR6]:PORT into a bound, listening socket; -1
 * (runtime) or -2 (usage) with a message */
static int listen_on(const char *spec, char *shown, size_t shown_len)
{
	char host[128];
	const char *colon = strrchr(spec, ':');
	if (!colon || colon == spec || !colon[1] || strlen(spec) >= sizeof(host)) {
		fprintf(stderr, "ringmon export: --listen wants ADDR:PORT (e.g. %s), not '%s'\n",
			DEFAULT_LISTEN, spec);
		return -2;
	}
	const char *h = spec;
	size_t hl = (size_t)(colon - spec);
	if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	snprintf(host, sizeof(host), "%.*s", (int)hl, h);
	char *end;
	long port = strtol(colon + 1, &end, 10);
	if (*end || port < 0 || port > 65535) {
		fprintf(stderr, "ringmon export: --listen: bad port '%s' (0..65535)\n", colon + 1);
		return -2;
	}
	/* a name (localhost) as this machine resolves it (/etc/hosts): its first address */
	struct addrinfo hints = {.ai_flags = AI_NUMERICSERV | AI_PASSIVE | AI_ADDRCONFIG,
				 .ai_socktype = SOCK_STREAM};
	struct addrinfo *ai;
	int rc = getaddrinfo(host, colon + 1, &hints, &ai);
	if (rc) {
		fprintf(stderr, "ringmon export: --listen: '%s' is not an address or a name this "
			"machine resolves (%s): give e.g. 127.0.0.1, localhost, 0.0.0.0 or [::1]\n",
			host, gai_strerror(rc));
		return -2;
	}
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 64) != 0) {
		int e = errno;
		fprintf(stderr, "ringmon export: cannot listen on %s: %s (%s)\n", spec, strerror(e),
			e == EADDRINUSE ? "another exporter or program uses that port: stop it, or "
					  "choose another with --listen"
					: "check the address and port");
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	struct sockaddr_storage sa;
	socklen_t sl = sizeof(sa);
	char addr[INET6_ADDRSTRLEN] = "?";
	int bound = 0;
	if (getsockname(fd, (struct sockaddr *)&sa, &sl) == 0) {
		if (sa.ss_family == AF_INET6) {
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&sa)->sin6_addr, addr, sizeof(addr));
			bound = ntohs(((struct sockaddr_in6 *)&sa)->sin6_port);
			snprintf(shown, shown_len, "[%s]:%d", addr, bound);
		} else {
			inet_ntop(AF_INET, &((struct sockaddr_in *)&sa)->sin_addr, addr, sizeof(addr));
			bound = ntohs(((struct sockaddr_in *)&sa)->sin_port);
			snprintf(shown, shown_len, "%s:%d", addr, bound);
		}
	}
	return fd;
}

int cmd_export(int argc, char **argv)
{
	static const struct option opts[] = {
		{"listen", required_argument, NULL, 'l'}, {"name", required_argument, NULL, 'n'},
		{"keys", required_argument, NULL, 'k'},   {"max-keys", required_argument, NULL, 'K'},
		{"buckets", required_argument, NULL, 'b'}, {"linger", required_argument, NULL, 'L'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}};
	const char *listen_spec = DEFAULT_LISTEN, *pattern = NULL;
	struct vm_totals_config cfg;
	vm_totals_config_init(&cfg);
	double linger = 120;
	char *end;
	int c;
	while ((c = getopt_long(argc, argv, "l:n:k:K:b:L:h", opts, NULL)) != -1) {
		int r = cli_totals_option("export", c, optarg, &cfg);
		if (r < 0)
			return 2;
		if (r > 0)
			continue;
		switch (c) {
		case 'l': listen_spec = optarg; break;
		case 'n': pattern = optarg; break;
		case 'L':
			linger = strtod(optarg, &end);
			if (*end || !(linger >= 0) || linger > 86400) {
				fprintf(stderr, "ringmon export: --linger wants seconds (0..86400), not '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: return cli_bad_option("export", argv, opts);
		}
	}
	if (optind != argc) {
		fprintf(stderr, "ringmon export: unexpected argument '%s' (see ringmon export --help)\n", argv[optind]);
		return 2;
	}
	char shown[128] = "";
	int fd = listen_on(listen_spec, shown, sizeof(shown));
	if (fd < 0)
		return fd == -2 ? 2 : 1;

	static struct server s;
	pthread_mutex_init(&s.lock, NULL);
	vm_fleet_init(&s.fleet, &cfg, pattern, linger);
	/* the server's thread inherits this mask: the signals come to sigwait */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* one thread with its own poll loop: scrapes are serial anyway; a slow
	 * client holds only its connection (10 s idle timeout) */
	struct MHD_Daemon *d = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG, 0, NULL, NULL,
		handle, &s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, /* first, as MHD asks */
		MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned int)64, MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "ringmon export: cannot start the HTTP server on %s (libmicrohttpd "
			"said why above, if it did)\n", shown);
		close(fd);
		return 1;
	}
	struct passwd *pw = getpwuid(geteuid());
	printf("ringmon export: serving http://%s/metrics: producers of user %s in %s%s%s%s "
	       "(other users' segments are refused: run one exporter per user)\n",
	       shown, pw ? pw->pw_name : "?", rb_dir(), pattern ? " named '" : "",
	       pattern ? pattern : "", pattern ? "'" : "");
	fflush(stdout);
	int sig = 0;
	sigwait(&set, &sig);
	MHD_stop_daemon(d);
	close(fd);
	vm_fleet_free(&s.fleet);
	return 0;
}
