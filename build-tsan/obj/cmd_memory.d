build-tsan/obj/cmd_memory.o: src/cmd_memory.c src/client.h src/resp.h \
 src/commands.h src/commands.def src/keyspace.h src/networking.h \
 src/server.h src/memory.h src/util.h
src/client.h:
src/resp.h:
src/commands.h:
src/commands.def:
src/keyspace.h:
src/networking.h:
src/server.h:
src/memory.h:
src/util.h:
