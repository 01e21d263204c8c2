build-tsan/obj/latency.o: src/latency.c src/latency.h src/client.h \
 src/resp.h src/commands.h src/commands.def src/config.h src/util.h
src/latency.h:
src/client.h:
src/resp.h:
src/commands.h:
src/commands.def:
src/config.h:
src/util.h:
