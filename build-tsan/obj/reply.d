build-tsan/obj/reply.o: src/reply.c src/client.h src/resp.h src/server.h \
 src/util.h
src/client.h:
src/resp.h:
src/server.h:
src/util.h:
