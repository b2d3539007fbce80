build/obj/viewer/main.o: viewer/main.c viewer/cli.h producer/ringmon.h
viewer/cli.h:
producer/ringmon.h:
