build-tsan/obj/manifest.o: src/manifest.c src/manifest.h src/lsm.h \
 src/lsm_coding.h
src/manifest.h:
src/lsm.h:
src/lsm_coding.h:
