build-tsan/obj/cmd_keys.o: src/cmd_keys.c src/client.h src/resp.h \
 src/commands.h src/commands.def src/config.h src/keyspace.h src/util.h
src/client.h:
src/resp.h:
src/commands.h:
src/commands.def:
src/config.h:
src/keyspace.h:
src/util.h:
