build/obj/viewer/model.o: viewer/model.c viewer/model.h ringbuf/cursor.h \
 ringbuf/layout.h ringbuf/segment.h ringbuf/hist.h ringbuf/layout.h \
 ringbuf/segment.h
viewer/model.h:
ringbuf/cursor.h:
ringbuf/layout.h:
ringbuf/segment.h:
ringbuf/hist.h:
ringbuf/layout.h:
ringbuf/segment.h:
