build/obj/viewer/cmd_tail.o: viewer/cmd_tail.c viewer/cli.h \
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
