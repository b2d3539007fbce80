build/obj/ringbuf/hist.o: ringbuf/hist.c ringbuf/hist.h ringbuf/layout.h
ringbuf/hist.h:
ringbuf/layout.h:
