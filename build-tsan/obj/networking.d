build-tsan/obj/networking.o: src/networking.c src/networking.h \
 src/client.h src/resp.h src/acl.h src/commands.h src/commands.def \
 src/config.h src/evict.h src/keyspace.h src/latency.h src/log.h \
 src/memory.h src/multi.h src/pubsub.h src/server.h src/util.h
src/networking.h:
src/client.h:
src/resp.h:
src/acl.h:
src/commands.h:
src/commands.def:
src/config.h:
src/evict.h:
src/keyspace.h:
src/latency.h:
src/log.h:
src/memory.h:
src/multi.h:
src/pubsub.h:
src/server.h:
src/util.h:
