build-tsan/obj/sstable.o: src/sstable.c src/sstable.h src/lsm.h \
 src/bloom.h src/lsm_coding.h
src/sstable.h:
src/lsm.h:
src/bloom.h:
src/lsm_coding.h:
