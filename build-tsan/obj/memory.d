build-tsan/obj/memory.o: src/memory.c src/memory.h
src/memory.h:
