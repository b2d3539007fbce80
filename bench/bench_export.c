/* bench_export.c - the cost of `ringmon export` (docs/export.md):
 *  - one scrape of 100 producers with 20 keys each (read + format), in ms,
 *    beside the first scrape, which also attaches every segment;
 *  - the real exporter's CPU at a 15 s scrape interval: its CPU per scrape
 *    (GET /metrics, measured over several) and at rest, from /proc;
 *  - the emit cost of a producer while it is scraped 10 times a second, beside
 *    the same producer not scraped, in alternating rounds of the same run. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "bench_util.h"
#include "fleet.h"
#include "openmetrics.h"

#define NPROC 100
#define NKEYS 20

static pid_t kids[NPROC];
static pid_t exporter;
static char dir[64];

/* a producer: one timed type with NKEYS keys, some events on each, then
 * nothing until its parent goes (the read end of a pipe closes) */
static void producer(int rd)
{
	static const char *f[] = {"n"};
	int t = ringmon_type_register("bench.op", f, 1);
	for (int k = 0; k < NKEYS; k++) {
		char name[16];
		snprintf(name, sizeof(name), "key%02d", k);
		int key = ringmon_key(t, name);
		for (int i = 0; i < 200; i++)
			ringmon_emit(t, key, 1000 + (uint64_t)i * 997 * (uint64_t)(k + 1), i, 0, 0, 0);
	}
	char c;
	while (read(rd, &c, 1) < 0 && errno == EINTR)
		;
	_exit(0);
}

/* CPU time of every thread of pid (the HTTP server has its own), ns */
static uint64_t proc_cpu_ns(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	uint64_t sum = 0;
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char p2[128];
		snprintf(p2, sizeof(p2), "/proc/%d/task/%s/schedstat", (int)pid, de->d_name);
		FILE *f = fopen(p2, "r");
		unsigned long long ns = 0;
		if (f) {
			if (fscanf(f, "%llu", &ns) == 1)
				sum += ns;
			fclose(f);
		}
	}
	if (d)
		closedir(d);
	return sum;
}

static double cpu_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* GET /metrics from 127.0.0.1:port; the body's length, or -1 */
static long get(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	const char req[] = "GET /metrics HTTP/1.0\r\n\r\n";
	if (write(fd, req, sizeof(req) - 1) != (ssize_t)sizeof(req) - 1) {
		close(fd);
		return -1;
	}
	static char buf[1 << 16];
	long n = 0;
	ssize_t r;
	while ((r = read(fd, buf, sizeof(buf))) > 0)
		n += r;
	close(fd);
	return n;
}

/* starts `ringmon export --listen 127.0.0.1:0` beside this program's build
 * and returns the port it prints, or -1 */
static int start_exporter(const char *self)
{
	char bin[PATH_MAX];
	snprintf(bin, sizeof(bin), "%s", self);
	char *slash = strrchr(bin, '/');
	if (!slash)
		return -1;
	*slash = 0; /* build/bench */
	slash = strrchr(bin, '/');
	if (slash)
		*slash = 0;
	else
		snprintf(bin, sizeof(bin), ".");
	strncat(bin, "/ringmon", sizeof(bin) - strlen(bin) - 1);
	int p[2];
	if (pipe(p) != 0)
		return -1;
	exporter = fork();
	if (exporter == 0) {
		dup2(p[1], 1);
		close(p[0]);
		execl(bin, "ringmon", "export", "--listen", "127.0.0.1:0", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	FILE *f = fdopen(p[0], "r");
	char line[512];
	int port = -1;
	if (f && fgets(line, sizeof(line), f)) {
		char *at = strstr(line, "http://127.0.0.1:");
		if (at)
			port = atoi(at + strlen("http://127.0.0.1:"));
	}
	if (f)
		fclose(f);
	return port;
}

static void cleanup(void)
{
	if (exporter > 0) {
		kill(exporter, SIGTERM);
		waitpid(exporter, NULL, 0);
	}
	for (int i = 0; i < NPROC; i++)
		if (kids[i] > 0)
			waitpid(kids[i], NULL, 0);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench_export: could not remove %s\n", dir);
}

/* emit cost in this process, while a thread of ours scrapes or not */
static int bench_type, bench_key, scraping, port_g;
static volatile int stop_scraper;
static double emit_plain(void)
{
	return bu_emit_ns(bench_type, bench_key, 2000000);
}
static double emit_scraped(void)
{
	scraping = 1;
	double r = bu_emit_ns(bench_type, bench_key, 2000000);
	scraping = 0;
	return r;
}
static void *scraper(void *arg)
{
	(void)arg;
	while (!stop_scraper) {
		if (scraping)
			get(port_g);
		struct timespec nap = {0, 100 * 1000 * 1000};
		nanosleep(&nap, NULL);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	(void)argc;
	snprintf(dir, sizeof(dir), "/dev/shm/ringmon-bench-export.XXXXXX");
	if (!mkdtemp(dir)) {
		perror("bench_export: mkdtemp");
		return 1;
	}
	setenv("RINGMON_DIR", dir, 1);
	setenv("RINGMON_RECORDS", "256", 1);
	setenv("RINGMON_SHARDS", "1", 1);
	setenv("RINGMON_KEYS", "64", 1);
	int hold[2];
	if (pipe(hold) != 0)
		return 1;
	for (int i = 0; i < NPROC; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			close(hold[1]);
			producer(hold[0]);
		}
	}
	close(hold[0]);
	atexit(cleanup);

	/* wait (bounded) until every producer has its keys */
	struct vm_totals_config cfg;
	vm_totals_config_init(&cfg);
	struct vm_fleet fl;
	char err[512];
	int ready = 0;
	for (int tries = 0; tries < 600 && ready < NPROC; tries++) {
		vm_fleet_init(&fl, &cfg, NULL, 0);
		vm_fleet_scan(&fl, err, sizeof(err));
		const struct vm_totals **list;
		size_t n = vm_fleet_totals(&fl, &list);
		ready = 0;
		for (size_t i = 0; i < n; i++)
			ready += list[i]->ntypes == 1 && list[i]->types[0].nkeys == NKEYS &&
				 list[i]->types[0].all.count == NKEYS * 200;
		free(list);
		vm_fleet_free(&fl);
		if (ready < NPROC) {
			struct timespec nap = {0, 100 * 1000 * 1000};
			nanosleep(&nap, NULL);
		}
	}
	if (ready < NPROC) {
		bu_note("export: not measured: only %d of %d producers were ready after 60 s", ready, NPROC);
		close(hold[1]);
		return 0;
	}

	/* 1. one scrape, in this process: the first attaches, the rest reuse */
	vm_fleet_init(&fl, &cfg, NULL, 0);
	struct om_exporter ex = {0};
	size_t bytes = 0;
	double first = 0, v[20];
	for (int r = 0; r <= 20; r++) {
		double c0 = cpu_ms();
		vm_fleet_scan(&fl, err, sizeof(err));
		const struct vm_totals **list;
		size_t n = vm_fleet_totals(&fl, &list);
		struct om_buf b = {0};
		om_write(&b, OM_OPENMETRICS, (const struct vm_totals *const *)list, n, &cfg, &ex);
		bytes = b.len;
		om_buf_free(&b);
		free(list);
		vm_fleet_release(&fl);
		double ms = cpu_ms() - c0;
		if (r == 0)
			first = ms;
		else
			v[r - 1] = ms;
	}
	vm_fleet_free(&fl);
	double scrape = bu_median(v, 20);
	char c1[64], c2[128], c3[32];
	bu_row("export: one scrape of 100 producers, 20 keys each (ms of CPU)",
	       bu_fmt(c1, sizeof(c1), "%.2f", scrape),
	       bu_fmt(c2, sizeof(c2), "first scrape, attaching all: %.2f", first),
	       bu_fmt(c3, sizeof(c3), "%.2f", scrape / first), "-");
	bu_note("export: 100 processes with one timed type and 20 keys (RINGMON_RECORDS=256, "
		"SHARDS=1, KEYS=64); read and formatted as OpenMetrics in this process (%zu bytes), "
		"median CPU time of 20 scrapes after the first", bytes);

	/* 2. the real exporter: CPU per scrape and at rest */
	int port = start_exporter(argv[0]);
	if (port <= 0 || get(port) < 0) {
		bu_note("export: exporter CPU not measured: `ringmon export` did not start");
	} else {
		uint64_t a = proc_cpu_ns(exporter);
		for (int i = 0; i < 10; i++)
			get(port);
		uint64_t b = proc_cpu_ns(exporter);
		struct timespec rest = {5, 0};
		nanosleep(&rest, NULL);
		uint64_t c = proc_cpu_ns(exporter);
		double per_scrape_s = (double)(b - a) / 10 / 1e9, rest_s = (double)(c - b) / 5 / 1e9;
		double pct = 100 * (per_scrape_s + 15 * rest_s) / 15;
		bu_row("export: `ringmon export` CPU at a 15 s scrape interval, 100 producers (% of a core)",
		       bu_fmt(c1, sizeof(c1), "%.4f", pct), "-", "-",
		       pct <= 0.1 ? "<= 0.1%: met" : "<= 0.1%: NOT met");
		bu_note("export: the exporter's CPU per GET /metrics (%.2f ms, over 10) plus its CPU at "
			"rest (%.4f%% of a core, over 5 s), as one scrape every 15 s; /proc/PID/task/*/schedstat",
			per_scrape_s * 1e3, 100 * rest_s);

		/* 3. a producer's emit cost, scraped 10 times a second or not */
		port_g = port;
		static const char *f[] = {"n"};
		bench_type = bu_type("bench.exported", f, 1);
		bench_key = ringmon_key(bench_type, "k");
		pthread_t th;
		pthread_create(&th, NULL, scraper, NULL);
		emit_plain(); /* page the ring in */
		struct bu_variant vs[] = {{emit_plain}, {emit_scraped}};
		bu_rounds(vs, 2, 9);
		stop_scraper = 1;
		pthread_join(th, NULL);
		bu_row("export: emit while scraped 10 times a second (ns/event)",
		       bu_fmt(c1, sizeof(c1), "%.1f", vs[1].best),
		       bu_fmt(c2, sizeof(c2), "not scraped: %.1f", vs[0].best),
		       bu_fmt(c3, sizeof(c3), "%.2f", vs[1].best / vs[0].best), "unchanged");
		bu_note("export: this process emits 2M events per round on one thread while a thread "
			"of its own GETs /metrics from the exporter every 100 ms or not; 9 rounds each, "
			"alternated, best of each");
	}
	close(hold[1]); /* the producers exit */
	return 0;
}
