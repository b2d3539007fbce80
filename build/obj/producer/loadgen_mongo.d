build/obj/producer/loadgen_mongo.o: producer/loadgen_mongo.c \
 producer/loadgen.h
producer/loadgen.h:
