build-tsan/obj/debug.o: src/debug.c src/client.h src/resp.h \
 src/commands.h src/commands.def src/config.h
src/client.h:
src/resp.h:
src/commands.h:
src/commands.def:
src/config.h:
