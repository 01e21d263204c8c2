build-tsan/obj/server.o: src/server.c src/server.h src/acl.h src/client.h \
 src/resp.h src/commands.h src/commands.def src/config.h src/keyspace.h \
 src/latency.h src/log.h src/memory.h src/multi.h src/networking.h \
 src/pubsub.h src/slowlog.h src/util.h
src/server.h:
src/acl.h:
src/client.h:
src/resp.h:
src/commands.h:
src/commands.def:
src/config.h:
src/keyspace.h:
src/latency.h:
src/log.h:
src/memory.h:
src/multi.h:
src/networking.h:
src/pubsub.h:
src/slowlog.h:
src/util.h:
