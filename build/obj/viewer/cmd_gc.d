build/obj/viewer/cmd_gc.o: viewer/cmd_gc.c viewer/cli.h viewer/model.h \
 ringbuf/cursor.h ringbuf/layout.h ringbuf/segment.h ringbuf/hist.h \
 ringbuf/layout.h ringbuf/segment.h
viewer/cli.h:
viewer/model.h:
ringbuf/cursor.h:
ringbuf/layout.h:
ringbuf/segment.h:
ringbuf/hist.h:
ringbuf/layout.h:
ringbuf/segment.h:
