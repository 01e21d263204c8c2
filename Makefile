# strata: a plain Makefile. `make run`, `make test`, `make asan`, `make bench`,
# `make docs`.
# Every target first runs deps/install.sh, which installs only what is
# missing (a no-op when everything is there).

MALLOC ?= jemalloc
BUILD  ?= build
CC     ?= cc
OPT    ?= -O2
SAN    ?=

CFLAGS_BASE := -std=gnu11 $(OPT) -g -Wall -Wextra -Wno-unused-parameter \
               -pthread -MMD -MP -D_GNU_SOURCE $(shell pkg-config --cflags libevent 2>/dev/null)
LIBS := -levent -levent_pthreads -lxxhash -llz4 -lcrypto -lm -pthread

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
# strata-check: tools/check/main.c dispatches subcommands (wal here; sst and
# manifest come from tools/check/check_lsm.c), linked with the server's
# objects so each subcommand reads files with the server's own code.
CHECK_SRC := $(wildcard tools/check/*.c)
CHECK_OBJ := $(CHECK_SRC:tools/check/%.c=$(BUILD)/obj/check/%.o)
CHECK    := $(BUILD)/strata-check

# Generated documentation: from committed inputs only, never a live server.
DOCS     := docs/commands.md

.PHONY: all deps run test asan bench bench-quick clean tests-build compat-long docs
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

# TEMPORARY (lsm branch): a standalone driver for tools/check/check_lsm.c
# until tools/check/main.c (strata-check, WAL branch) dispatches to
# check_lsm_main(); the lead drops this rule at the merge.
LSM_CHECK := $(BUILD)/lsm-check
$(LSM_CHECK): tools/check/check_lsm.c $(OBJ) | $(BUILD)/tests
	$(CC) $(CFLAGS) -DCHECK_LSM_STANDALONE -Isrc $(LDFLAGS) -o $@ $< $(OBJ) $(LIBS)

$(INT_BIN): $(INT_OBJ) | $(BUILD)/tests
	$(CC) $(LDFLAGS) -o $@ $^ -lhiredis -pthread

$(BUILD)/obj $(BUILD)/obj/integration $(BUILD)/obj/check $(BUILD)/tests:
	@mkdir -p $@

# The command coverage table; tests/docs-check.sh fails when the committed
# file is not what this rule makes.
docs: $(DOCS)
$(DOCS): tools/gen_commands_doc.py tools/redis-7.0-commands.tsv src/commands.def
	python3 tools/gen_commands_doc.py >$@.tmp && mv $@.tmp $@

tests-build: $(SERVER) $(CHECK) $(UNIT_BIN) $(if $(INT_SRC),$(INT_BIN)) $(LSM_CHECK)

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

bench: deps $(SERVER)
	./bench/run.sh

bench-quick: deps $(SERVER)
	./bench/run.sh --quick

clean:
	rm -rf build build-asan strata-server

-include $(OBJ:.o=.d) $(MAIN_OBJ:.o=.d) $(INT_OBJ:.o=.d) $(CHECK_OBJ:.o=.d)
