build/obj/ringbuf/segment.o: ringbuf/segment.c ringbuf/segment.h \
 ringbuf/layout.h ringbuf/hist.h
ringbuf/segment.h:
ringbuf/layout.h:
ringbuf/hist.h:
