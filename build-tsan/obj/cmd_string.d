build-tsan/obj/cmd_string.o: src/cmd_string.c src/client.h src/resp.h \
 src/commands.h src/commands.def src/config.h src/keyspace.h src/util.h
src/client.h:
src/resp.h:
src/commands.h:
src/commands.def:
src/config.h:
src/keyspace.h:
src/util.h:
