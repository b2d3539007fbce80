build/obj/producer/ringmon.o: producer/ringmon.c producer/ringmon.h \
 producer/../ringbuf/hist.h producer/../ringbuf/layout.h \
 producer/../ringbuf/segment.h
producer/ringmon.h:
producer/../ringbuf/hist.h:
producer/../ringbuf/layout.h:
producer/../ringbuf/segment.h:
