build-tsan/obj/lsm.o: src/lsm.c src/lsm.h src/bloom.h src/lsm_coding.h \
 src/manifest.h src/memory.h src/sstable.h
src/lsm.h:
src/bloom.h:
src/lsm_coding.h:
src/manifest.h:
src/memory.h:
src/sstable.h:
