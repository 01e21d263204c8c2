build-tsan/obj/bloom.o: src/bloom.c src/bloom.h
src/bloom.h:
