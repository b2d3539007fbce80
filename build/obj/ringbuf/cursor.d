build/obj/ringbuf/cursor.o: ringbuf/cursor.c ringbuf/cursor.h \
 ringbuf/layout.h ringbuf/segment.h
ringbuf/cursor.h:
ringbuf/layout.h:
ringbuf/segment.h:
