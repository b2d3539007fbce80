/* process.c - where segments live ($RINGMON_DIR, /dev/shm) and whether the
 * process that made one still runs (pid and start time). */
#define _GNU_SOURCE
#include "segment.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *rb_dir(void)
{
	const char *d = getenv("RINGMON_DIR");
	return d && *d ? d : "/dev/shm";
}

void rb_path(char *buf, size_t len, int pid)
{
	snprintf(buf, len, "%s/ringmon.%d", rb_dir(), pid);
}

int rb_path_pid(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (strncmp(base, "ringmon.", 8) != 0 || !base[8])
		return -1;
	long pid = 0;
	for (const char *p = base + 8; *p; p++) {
		if (*p < '0' || *p > '9' || pid > 1 << 30)
			return -1;
		pid = pid * 10 + (*p - '0');
	}
	return pid > 0 ? (int)pid : -1;
}

uint64_t rb_proc_start_time(int pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	/* the command name may hold spaces and parentheses: fields start after the last ')' */
	char *p = strrchr(buf, ')');
	if (!p)
		return 0;
	p++;
	/* p is before field 3; start time is field 22 */
	for (int field = 3; field < 22; field++) {
		p = strchr(p + 1, ' ');
		if (!p)
			return 0;
	}
	return strtoull(p + 1, NULL, 10);
}

int rb_proc_alive(int pid, uint64_t start_time)
{
	if (pid <= 0)
		return 0;
	if (kill(pid, 0) != 0 && errno != EPERM)
		return 0;
	uint64_t st = rb_proc_start_time(pid);
	return st != 0 && st == start_time;
}

int rb_segment_maker_alive(uint32_t hpid, uint64_t hstart, int name_pid)
{
	/* the header is written with plain stores while it is unpublished: a
	 * pid without its start time yet says nothing; then any process with
	 * the file name's pid may be its maker */
	if (hpid && hstart)
		return rb_proc_alive((int)hpid, hstart);
	return name_pid > 0 && rb_proc_start_time(name_pid) != 0;
}
