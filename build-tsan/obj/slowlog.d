build-tsan/obj/slowlog.o: src/slowlog.c src/slowlog.h src/client.h \
 src/resp.h src/commands.h src/commands.def src/config.h src/util.h
src/slowlog.h:
src/client.h:
src/resp.h:
src/commands.h:
src/commands.def:
src/config.h:
src/util.h:
