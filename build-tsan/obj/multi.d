build-tsan/obj/multi.o: src/multi.c src/acl.h src/client.h src/resp.h \
 src/commands.h src/commands.def src/keyspace.h src/multi.h src/util.h
src/acl.h:
src/client.h:
src/resp.h:
src/commands.h:
src/commands.def:
src/keyspace.h:
src/multi.h:
src/util.h:
