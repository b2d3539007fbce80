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
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <dirent.h>

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

/* The start of /proc/PID/NAME into buf (NUL-terminated); 0, or -1 if gone. */
static int read_proc(int pid, const char *name, char *buf, size_t len)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", pid, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return 0;
}

/* field 22 of /proc/PID/stat (0 if gone), its state (field 3) in *state */
static uint64_t proc_stat(int pid, char *state)
{
	char buf[1024];
	*state = 0;
	if (read_proc(pid, "stat", buf, sizeof(buf)) != 0)
		return 0;
	/* the command name may hold spaces and parentheses: fields start after the last ')' */
	char *p = strrchr(buf, ')');
	if (!p)
		return 0;
	p++;
	if (p[0] == ' ')
		*state = p[1];
	/* p is before field 3; start time is field 22 */
	for (int field = 3; field < 22; field++) {
		p = strchr(p + 1, ' ');
		if (!p)
			return 0;
	}
	return strtoull(p + 1, NULL, 10);
}

uint64_t rb_proc_start_time(int pid)
{
	char state;
	return proc_stat(pid, &state);
}

/* 1 when a process whose leader is a zombie has no thread left: it ended and
 * waits to be reaped. A leader that called pthread_exit is a zombie too while
 * its other threads run: /proc/PID/status counts them (Threads: 2 and more). */
static int zombie_gone(int pid)
{
	char buf[2048];
	if (read_proc(pid, "status", buf, sizeof(buf)) != 0)
		return 1;
	const char *t = strstr(buf, "\nThreads:");
	return t && strtol(t + 9, NULL, 10) <= 1;
}

int rb_proc_alive(int pid, uint64_t start_time)
{
	if (pid <= 0)
		return 0;
	if (kill(pid, 0) != 0 && errno != EPERM)
		return 0;
	char state;
	uint64_t st = proc_stat(pid, &state);
	if (st == 0 || st != start_time)
		return 0;
	/* killed or exited, not yet reaped by its parent: it writes no more */
	return !((state == 'Z' || state == 'X') && zombie_gone(pid));
}

/* 1 if process pid has the file (dev, ino) open or mapped, 0 if not; -1 if
 * /proc does not say (not ours to read). Not on any emit path. */
static int proc_holds(int pid, dev_t dev, ino_t ino)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	DIR *d = opendir(path);
	if (!d)
		return -1;
	struct dirent *e;
	struct stat st;
	int held = 0;
	while (!held && (e = readdir(d)) != NULL)
		held = e->d_name[0] != '.' && fstatat(dirfd(d), e->d_name, &st, 0) == 0 &&
		       st.st_dev == dev && st.st_ino == ino;
	closedir(d);
	if (held)
		return 1;
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	char line[512];
	unsigned maj, mnr;
	unsigned long long i;
	while (!held && fgets(line, sizeof(line), f)) {
		/* address perms offset dev inode path; a long path spans more reads */
		held = sscanf(line, "%*s %*s %*s %x:%x %llu", &maj, &mnr, &i) == 3 && i == (unsigned long long)ino &&
		       maj == major(dev) && mnr == minor(dev);
	}
	fclose(f);
	return held;
}

int rb_segment_maker_alive(uint32_t hpid, uint64_t hstart, int name_pid, const struct stat *file)
{
	/* the header is written with plain stores while it is unpublished: a
	 * pid without its start time yet says nothing; then the process with
	 * the file name's pid may be its maker, if it holds the file: a maker
	 * holds it open or mapped from its creation (O_EXCL) on, and a process
	 * that does not (the pid reused since the maker died) never will */
	if (hpid && hstart)
		return rb_proc_alive((int)hpid, hstart);
	if (name_pid <= 0 || rb_proc_start_time(name_pid) == 0)
		return 0;
	return !file || proc_holds(name_pid, file->st_dev, file->st_ino) != 0;
}
