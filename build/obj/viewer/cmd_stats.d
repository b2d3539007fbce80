build/obj/viewer/cmd_stats.o: viewer/cmd_stats.c viewer/cli.h \
 viewer/model.h ringbuf/cursor.h ringbuf/layout.h ringbuf/segment.h \
 ringbuf/hist.h ringbuf/layout.h ringbuf/segment.h
viewer/cli.h:
viewer/model.h:
ringbuf/cursor.h:
ringbuf/layout.h:
ringbuf/segment.h:
ringbuf/hist.h:
ringbuf/layout.h:
ringbuf/segment.h:
