build/obj/producer/loadgen.o: producer/loadgen.c producer/ringmon.h \
 producer/loadgen.h
producer/ringmon.h:
producer/loadgen.h:
