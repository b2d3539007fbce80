/* control.c - changing a running producer's event set: the owner maps the
 * segment's control page read-write (readers otherwise map read-only). */
#define _GNU_SOURCE
#include "segment.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errmsg.h"

int rb_control_map(const struct rb_view *v, struct rb_control **ctl, char *errbuf, size_t errlen)
{
	*ctl = NULL;
	int fd = open(v->path, O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return rb_errf(errbuf, errlen, -errno, "cannot open %s to change its event set: %s "
			    "(only the segment's owner can)", v->path, strerror(errno));
	struct stat st;
	int rc = 0;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    st.st_dev != v->dev || st.st_ino != v->ino) {
		rc = rb_errf(errbuf, errlen, -EPERM, "%s changed or is not yours: not changing it",
			  v->path);
		goto out;
	}
	void *p = mmap(NULL, RB_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		       (off_t)v->g.sec_off[RB_SEC_CONTROL]);
	if (p == MAP_FAILED) {
		rc = rb_errf(errbuf, errlen, -errno, "cannot map the control area of %s: %s", v->path,
			  strerror(errno));
		goto out;
	}
	*ctl = p;
out:
	close(fd);
	return rc;
}

void rb_control_unmap(struct rb_control *ctl)
{
	if (ctl)
		munmap(ctl, RB_PAGE);
}

uint64_t rb_control_update(struct rb_control *ctl, uint64_t mask, int on)
{
	mask &= ~(1ull << RB_TYPE_NONE);
	uint64_t now;
	if (on)
		now = __atomic_or_fetch(&ctl->enabled, mask, __ATOMIC_RELAXED);
	else
		now = __atomic_and_fetch(&ctl->enabled, ~mask, __ATOMIC_RELAXED);
	__atomic_fetch_add(&ctl->changes, 1, __ATOMIC_RELAXED);
	return now;
}
