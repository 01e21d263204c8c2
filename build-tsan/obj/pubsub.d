build-tsan/obj/pubsub.o: src/pubsub.c src/pubsub.h src/client.h \
 src/resp.h src/commands.h src/commands.def src/config.h src/networking.h \
 src/util.h
src/pubsub.h:
src/client.h:
src/resp.h:
src/commands.h:
src/commands.def:
src/config.h:
src/networking.h:
src/util.h:
