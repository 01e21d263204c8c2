# strata: a plain Makefile. `make run`, `make test`, `make asan`, `make bench`,
# `make docs`, `make fuzz`, `make tsan`.
# Every target first runs deps/install.sh, which installs only what is
# missing (a no-op when everything is there).

MALLOC ?= jemalloc
BUILD  ?= build
CC     ?= cc
OPT    ?= -O2
SAN    ?=

CFLAGS_BASE := -std=gnu11 $(OPT) -g -Wall -Wextra -Wno-unused-parameter \
               -pthread -MMD -MP -D_GNU_SOURCE $(shell pkg-config --cflags libevent 2>/dev/null)
LIBS := -levent -levent_pthreads -lxxhash -llz4 -lssl -lcrypto -lm -pthread

ifeq ($(MALLOC),jemalloc)
  CFLAGS_BASE += -DUSE_JEMALLOC
  LIBS += -ljemalloc
endif
ifeq ($(SAN),1)
  CFLAGS_BASE += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
  LDFLAGS += -fsanitize=address,undefined
endif

CFLAGS := $(CFLAGS_BASE) $(CFLAGS_EXTRA)

SRC      := $(filter-out src/main.c,$(wildcard src/*.c))
OBJ      := $(SRC:src/%.c=$(BUILD)/obj/%.o)
MAIN_OBJ := $(BUILD)/obj/main.o
SERVER   := $(BUILD)/strata-server

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
INT_SRC  := $(wildcard tests/integration/*.c)
INT_OBJ  := $(INT_SRC:tests/integration/%.c=$(BUILD)/obj/integration/%.o)
INT_BIN  := $(BUILD)/tests/integration
# Fuzz targets (tests/fuzz/fuzz.h): each is also a replay unit test.
FUZZ_SRC    := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_NAMES  := $(FUZZ_SRC:tests/fuzz/fuzz_%.c=%)
FUZZ_REPLAY := $(FUZZ_NAMES:%=$(BUILD)/tests/test_fuzz_%)
FUZZ_BIN    := $(FUZZ_NAMES:%=$(BUILD)/fuzz/fuzz_%)
# strata-check: tools/check/main.c dispatches subcommands (wal here; sst and
# manifest come from tools/check/check_lsm.c), linked with the server's
# objects so each subcommand reads files with the server's own code.
CHECK_SRC := $(wildcard tools/check/*.c)
CHECK_OBJ := $(CHECK_SRC:tools/check/%.c=$(BUILD)/obj/check/%.o)
CHECK    := $(BUILD)/strata-check

# Generated documentation: from committed inputs only, never a live server.
DOCS     := docs/commands.md

.PHONY: all deps run test asan tsan fuzz fuzz-build soak bench bench-quick clean tests-build compat-long docs
all: deps $(SERVER) $(CHECK) $(DOCS)

deps:
	@./deps/install.sh

$(BUILD)/obj/%.o: src/%.c | $(BUILD)/obj
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/obj/integration/%.o: tests/integration/%.c | $(BUILD)/obj/integration
	$(CC) $(CFLAGS) -Isrc -c $< -o $@

$(BUILD)/obj/check/%.o: tools/check/%.c | $(BUILD)/obj/check
	$(CC) $(CFLAGS) -Isrc -c $< -o $@

$(CHECK): $(CHECK_OBJ) $(OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(SERVER): $(OBJ) $(MAIN_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)
	@ln -sf $(abspath $@) strata-server 2>/dev/null || true

$(BUILD)/tests/test_%: tests/unit/test_%.c $(OBJ) | $(BUILD)/tests
	$(CC) $(CFLAGS) -Isrc -Itests/unit $(LDFLAGS) -o $@ $< $(OBJ) $(LIBS)

# The replay test of a fuzz target: its committed corpus and regressions.
$(BUILD)/tests/test_fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c tests/fuzz/fuzz.h $(OBJ) | $(BUILD)/tests
	$(CC) $(CFLAGS) -Isrc -Itests/fuzz -DFUZZ_NAME='"$*"' $(LDFLAGS) -o $@ $< tests/fuzz/replay.c $(OBJ) $(LIBS)

# The libFuzzer binary of a fuzz target (only in `make fuzz`'s build).
$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Isrc -Itests/fuzz -fsanitize=fuzzer,address,undefined -o $@ $< $(OBJ) $(LIBS)

$(INT_BIN): $(INT_OBJ) | $(BUILD)/tests
	$(CC) $(LDFLAGS) -o $@ $^ -lhiredis -lssl -lcrypto -pthread

$(BUILD)/obj $(BUILD)/obj/integration $(BUILD)/obj/check $(BUILD)/tests:
	@mkdir -p $@

# The command coverage table; tests/docs-check.sh fails when the committed
# file is not what this rule makes.
docs: $(DOCS)
$(DOCS): tools/gen_commands_doc.py tools/redis-7.0-commands.tsv src/commands.def
	python3 tools/gen_commands_doc.py >$@.tmp && mv $@.tmp $@

tests-build: $(SERVER) $(CHECK) $(UNIT_BIN) $(FUZZ_REPLAY) $(if $(INT_SRC),$(INT_BIN))
fuzz-build: $(FUZZ_BIN)

run: deps $(SERVER)
	./$(SERVER) conf/strata.conf

test: deps
	@$(MAKE) --no-print-directory tests-build
	@BUILD=$(BUILD) ./tests/run-all.sh

# The long randomized differential run (issue #3 asks for 1,000,000
# commands without a difference): `make compat-long SEED=7 COUNT=1000000`.
SEED ?= 20261125
COUNT ?= 1000000
compat-long: deps $(SERVER)
	@STRATA_SERVER=$(SERVER) ./redis-compat/run.sh --random --seed $(SEED) --count $(COUNT)

# The whole suite under AddressSanitizer + UndefinedBehaviorSanitizer.
asan: deps
	@$(MAKE) --no-print-directory BUILD=build-asan SAN=1 MALLOC=libc OPT=-O1 tests-build
	@BUILD=build-asan ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 STRATA_SLOW=1 ./tests/run-all.sh

# The whole suite against a ThreadSanitizer build (gcc's; its own build
# dir). Suppressions, third-party code only, in tests/tsan.supp.
# detect_deadlocks=0: EXEC, FLUSHALL and SWAPDB hold every keyspace shard
# lock at once (64 by default), past the 64 locks TSan's lock-order
# detector can track per thread (it aborts with a CHECK failure there);
# data-race detection is unaffected. docs/threads.md has the lock order.
tsan: deps
	@./deps/install.sh tsan
	@$(MAKE) --no-print-directory BUILD=build-tsan MALLOC=libc OPT=-O1 \
	  CFLAGS_EXTRA="-fsanitize=thread -fno-omit-frame-pointer" LDFLAGS=-fsanitize=thread tests-build
	@BUILD=build-tsan STRATA_SLOW=1 \
	  TSAN_OPTIONS="halt_on_error=1 exitcode=66 detect_deadlocks=0 suppressions=$(CURDIR)/tests/tsan.supp" \
	  ./tests/run-all.sh

# libFuzzer: each target in tests/fuzz/ for FUZZ_SECONDS over its seed
# corpus (tests/fuzz/run.sh); `make fuzz FUZZ_TARGETS=resp` for one.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=
fuzz: deps
	@./deps/install.sh fuzz
	@$(MAKE) --no-print-directory BUILD=build-fuzz CC=clang MALLOC=libc OPT=-O1 \
	  CFLAGS_EXTRA="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer" \
	  fuzz-build
	@BUILD=build-fuzz FUZZ_SECONDS=$(FUZZ_SECONDS) ./tests/fuzz/run.sh $(FUZZ_TARGETS)

# A bounded soak (tests/soak/soak.py): mixed load from several clients with
# short TTLs and spill, kill -9 and clean restarts, a model checked at the
# end. `make soak SOAK_SECONDS=600` for a longer run.
SOAK_SECONDS ?= 180
soak: deps $(SERVER)
	@python3 tests/soak/soak.py --server $(SERVER) --seconds $(SOAK_SECONDS)

bench: deps $(SERVER)
	./bench/run.sh

bench-quick: deps $(SERVER)
	./bench/run.sh --quick

clean:
	rm -rf build build-asan build-tsan build-fuzz strata-server

-include $(OBJ:.o=.d) $(MAIN_OBJ:.o=.d) $(INT_OBJ:.o=.d) $(CHECK_OBJ:.o=.d)
