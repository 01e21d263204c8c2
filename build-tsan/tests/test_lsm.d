build-tsan/tests/test_lsm: tests/unit/test_lsm.c src/lsm.h src/manifest.h \
 src/lsm.h tests/unit/unit.h tests/unit/../../tools/check/check_lsm.c \
 src/lsm_coding.h src/sstable.h
src/lsm.h:
src/manifest.h:
src/lsm.h:
tests/unit/unit.h:
tests/unit/../../tools/check/check_lsm.c:
src/lsm_coding.h:
src/sstable.h:
