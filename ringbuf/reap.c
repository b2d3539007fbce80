/* reap.c - a producer starting up removes the segments of its own user whose
 * processes are gone, beyond the newest few kept for post-mortem reading. */
#define _GNU_SOURCE
#include "segment.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int rb_fd_unstarted(int fd, uint64_t size)
{
	unsigned char b[64];
	size_t n = size < sizeof(b) ? (size_t)size : sizeof(b);
	if (n && pread(fd, b, n, 0) != (ssize_t)n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return 0;
	return 1;
}

int rb_segment_gone(int dfd, const char *name, struct rb_gone *out)
{
	memset(out, 0, sizeof(*out));
	int pid = rb_path_pid(name);
	if (pid < 0)
		return 0;
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return 0;
	struct stat st;
	/* the header's first fields are the same in every layout version */
	struct rb_header h;
	memset(&h, 0, sizeof(h));
	int file = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid();
	int ours = file && pread(fd, &h, 64, 0) == 64 && h.magic == RB_MAGIC;
	/* published: the header names its process; never published (its maker
	 * died while creating it, version 0): the header's pid if written yet,
	 * else the file name's; no magic yet (empty or zeros, the maker killed
	 * before writing it): the file name's. The liveness rule is the readers'. */
	int gone = ours ? (h.version != 0 ? (int)h.pid == pid && h.uid == st.st_uid &&
						    !rb_proc_alive(pid, h.start_time)
					  : !rb_segment_maker_alive(h.pid, h.start_time, pid, &st) &&
						    !rb_segment_maker_alive(0, 0, pid, &st))
			: file && rb_fd_unstarted(fd, (uint64_t)st.st_size) &&
				  !rb_segment_maker_alive(0, 0, pid, &st);
	if (!ours)
		memset(&h, 0, sizeof(h)); /* created_realtime_ns 0: the oldest */
	close(fd);
	if (!gone)
		return 0;
	snprintf(out->name, sizeof(out->name), "%s", name);
	out->created_realtime_ns = h.created_realtime_ns;
	out->bytes = (uint64_t)st.st_blocks * 512;
	out->ino = st.st_ino;
	out->dev = st.st_dev;
	return 1;
}

static int newest_first(const void *a, const void *b)
{
	const struct rb_gone *x = a, *y = b;
	return (x->created_realtime_ns < y->created_realtime_ns) -
	       (x->created_realtime_ns > y->created_realtime_ns);
}

int rb_reap(const char *dir, unsigned keep, uint64_t *freed)
{
	*freed = 0;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return -ENOMEM;
	}
	size_t n = 0, cap = 0;
	struct rb_gone *list = NULL;
	struct dirent *de;
	while ((de = readdir(d))) {
		struct rb_gone g;
		if (!rb_segment_gone(dfd, de->d_name, &g))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			struct rb_gone *nl = realloc(list, cap * sizeof(*list));
			if (!nl)
				break;
			list = nl;
		}
		list[n++] = g;
	}
	int removed = 0;
	if (n > keep) {
		qsort(list, n, sizeof(*list), newest_first);
		for (size_t i = keep; i < n; i++) {
			/* still the file we checked (not replaced meanwhile) */
			struct stat st;
			if (fstatat(dfd, list[i].name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
			    st.st_ino != list[i].ino || st.st_dev != list[i].dev ||
			    st.st_uid != geteuid())
				continue;
			if (unlinkat(dfd, list[i].name, 0) == 0) {
				removed++;
				*freed += list[i].bytes;
			}
		}
	}
	free(list);
	closedir(d);
	return removed;
}
