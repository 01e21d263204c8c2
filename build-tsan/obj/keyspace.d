build-tsan/obj/keyspace.o: src/keyspace.c src/keyspace.h src/config.h \
 src/multi.h src/client.h src/resp.h src/util.h
src/keyspace.h:
src/config.h:
src/multi.h:
src/client.h:
src/resp.h:
src/util.h:
