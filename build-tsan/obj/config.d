build-tsan/obj/config.o: src/config.c src/config.h src/acl.h src/client.h \
 src/resp.h src/log.h src/server.h src/util.h
src/config.h:
src/acl.h:
src/client.h:
src/resp.h:
src/log.h:
src/server.h:
src/util.h:
