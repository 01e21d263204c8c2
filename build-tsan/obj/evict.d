build-tsan/obj/evict.o: src/evict.c src/evict.h src/client.h src/resp.h \
 src/commands.h src/commands.def src/config.h src/keyspace.h src/log.h \
 src/memory.h src/multi.h src/util.h
src/evict.h:
src/client.h:
src/resp.h:
src/commands.h:
src/commands.def:
src/config.h:
src/keyspace.h:
src/log.h:
src/memory.h:
src/multi.h:
src/util.h:
