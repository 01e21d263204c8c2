build-tsan/obj/commands.o: src/commands.c src/commands.h src/client.h \
 src/resp.h src/commands.def src/multi.h src/keyspace.h src/acl.h \
 src/config.h src/evict.h src/latency.h src/pubsub.h src/server.h \
 src/slowlog.h src/util.h
src/commands.h:
src/client.h:
src/resp.h:
src/commands.def:
src/multi.h:
src/keyspace.h:
src/acl.h:
src/config.h:
src/evict.h:
src/latency.h:
src/pubsub.h:
src/server.h:
src/slowlog.h:
src/util.h:
