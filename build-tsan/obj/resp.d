build-tsan/obj/resp.o: src/resp.c src/resp.h src/util.h
src/resp.h:
src/util.h:
