build-tsan/obj/cmd_server.o: src/cmd_server.c src/acl.h src/client.h \
 src/resp.h src/commands.h src/commands.def src/config.h src/evict.h \
 src/keyspace.h src/memory.h src/multi.h src/networking.h src/pubsub.h \
 src/server.h src/slowlog.h src/util.h
src/acl.h:
src/client.h:
src/resp.h:
src/commands.h:
src/commands.def:
src/config.h:
src/evict.h:
src/keyspace.h:
src/memory.h:
src/multi.h:
src/networking.h:
src/pubsub.h:
src/server.h:
src/slowlog.h:
src/util.h:
