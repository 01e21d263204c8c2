build-tsan/obj/acl.o: src/acl.c src/acl.h src/client.h src/resp.h \
 src/commands.h src/commands.def src/config.h src/log.h src/networking.h \
 src/server.h src/util.h
src/acl.h:
src/client.h:
src/resp.h:
src/commands.h:
src/commands.def:
src/config.h:
src/log.h:
src/networking.h:
src/server.h:
src/util.h:
