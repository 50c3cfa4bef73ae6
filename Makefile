# analloc - build, tests and checks.
#
#   make            build/libanalloc.a and build/libanalloc.so
#   make demo       build and run the demo (examples/demo.c) on built-in defaults
#   make check      every test: unit and model tests (gcc), the same under
#                   ASan+UBSan, clang, ThreadSanitizer and valgrind, the
#                   sanitizer annotations, coverage, fuzzing, other CPUs, the
#                   freestanding and symbol checks, a benchmark smoke run
#   make clean
#
# Variables: CC (default gcc), BUILD (default build).
# Environment for the randomized tests: ANALLOC_SEED=n replays a seed,
# ANALLOC_OPS=n sets the number of operations, ANALLOC_QUICK=1 runs fewer
# (set for the sanitizer run).

ifeq ($(origin CC),default)
CC      := gcc
endif
CLANG   ?= clang
BUILD   ?= build
AR      ?= ar

WARN    := -Wall -Wextra -Wpedantic -Werror -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wcast-qual -Wpointer-arith
CSTD    := -std=c11
OPT     ?= -O2 -g
# The core is freestanding C11: it is always compiled so.
CORE_FLAGS := $(CSTD) $(OPT) $(WARN) -ffreestanding -Iinclude
TEST_FLAGS := $(CSTD) $(OPT) $(WARN) -D_GNU_SOURCE -Iinclude -Isrc -Itests
TEST_LIBS  := -lcmocka -lpthread

SRCS    := $(wildcard src/*.c)
HDRS    := $(wildcard include/*.h include/analloc/*.h src/*.h)
TESTS   := $(patsubst tests/%.c,%,$(filter-out tests/test_bitvector.c,$(wildcard tests/test_*.c)))
# The bit vector tests run once per word type, and once without builtins.
# Each entry is name:flags, flags separated by commas.
BV_VARIANTS := u32:-DBV_TYPE=uint32_t u64:-DBV_TYPE=uint64_t u8:-DBV_TYPE=uint8_t \
               u16:-DBV_TYPE=uint16_t u64_portable:-DBV_TYPE=uint64_t,-DBV_NO_BUILTINS
comma := ,
empty :=
space := $(empty) $(empty)
EXAMPLES := $(patsubst examples/%.c,%,$(wildcard examples/*.c))

.PHONY: all deps demo examples scaling opcost coverage lint cross fuzz bench bench-quick check test-bins test-valgrind test-clang-asan test test-asan test-clang freestanding symbols clean

all: $(BUILD)/libanalloc.a $(BUILD)/libanalloc.so

# ---- library ------------------------------------------------------------
$(BUILD)/obj/%.o: src/%.c $(HDRS) | $(BUILD)/obj
	$(CC) $(CORE_FLAGS) -c $< -o $@
$(BUILD)/pic/%.o: src/%.c $(HDRS) | $(BUILD)/pic
	$(CC) $(CORE_FLAGS) -fPIC -c $< -o $@
$(BUILD)/libanalloc.a: $(patsubst src/%.c,$(BUILD)/obj/%.o,$(SRCS))
	rm -f $@ && $(AR) rcs $@ $^
$(BUILD)/libanalloc.so: $(patsubst src/%.c,$(BUILD)/pic/%.o,$(SRCS))
	$(CC) -shared -o $@ $^
$(BUILD)/obj $(BUILD)/pic $(BUILD)/tests $(BUILD)/examples:
	mkdir -p $@

# ---- examples -----------------------------------------------------------
$(BUILD)/examples/%: examples/%.c $(BUILD)/libanalloc.a | $(BUILD)/examples
	$(CC) $(TEST_FLAGS) $< $(BUILD)/libanalloc.a -o $@
examples: $(addprefix $(BUILD)/examples/,$(EXAMPLES))
demo: $(BUILD)/examples/demo
	./$(BUILD)/examples/demo

# ---- test kernel (examples/kernel/README.md) -------------------------------
# A multiboot i386 kernel that gives QEMU's RAM to analloc (struct and
# metadata inside the managed memory) and self-tests on real memory, booted
# with 8M, 128M, 3G and 4G of RAM, a map with holes, the mem_upper fallback,
# and negative controls that must fail.  Logs in $(BUILD)/kernel/*.log.
# Needs qemu-system-i386 (Debian: qemu-system-x86).
KERNEL_CC      ?= gcc
KERNEL_TIMEOUT ?= 60
KERNEL_CFLAGS  := $(CSTD) -m32 -O2 -g $(WARN) -ffreestanding -nostdlib -fno-builtin \
                  -fno-stack-protector -fno-pic -fno-pie -mno-sse -mno-mmx \
                  -DBUDDY_NO_STATIC_AREA -Iinclude
KERNEL_OBJS    := $(addprefix $(BUILD)/kernel/obj/,boot.o kernel.o $(notdir $(SRCS:.c=.o)))
$(BUILD)/kernel/obj/%.o: src/%.c $(HDRS)
	@mkdir -p $(@D)
	$(KERNEL_CC) $(KERNEL_CFLAGS) -c $< -o $@
$(BUILD)/kernel/obj/kernel.o: examples/kernel/kernel.c $(HDRS)
	@mkdir -p $(@D)
	$(KERNEL_CC) $(KERNEL_CFLAGS) -c $< -o $@
$(BUILD)/kernel/obj/boot.o: examples/kernel/boot.S
	@mkdir -p $(@D)
	$(KERNEL_CC) -m32 -c $< -o $@
$(BUILD)/kernel/analloc-kernel.elf: $(KERNEL_OBJS) examples/kernel/linker.ld
	ld -m elf_i386 -z noexecstack -T examples/kernel/linker.ld -o $@ $(KERNEL_OBJS)
.PHONY: kernel
kernel: $(BUILD)/kernel/analloc-kernel.elf
	@sh examples/kernel/run.sh $< $(BUILD)/kernel $(KERNEL_TIMEOUT)

# ---- malloc replacement (examples/malloc/README.md) ------------------------
# libanalloc-malloc.so: malloc and friends on analloc, for LD_PRELOAD.
# malloc-test: python3, sqlite3, sort, gcc, xz and a threaded stress program
# under the preload, their output compared with a glibc run (about 30 s);
# malloc-bench: wall time and peak RSS of the same against glibc (about 1 min).
MALLOC_SO  := $(BUILD)/libanalloc-malloc.so
MALLOC_DIR := $(BUILD)/malloc
$(MALLOC_SO): examples/malloc/analloc_malloc.c examples/malloc/exports.map \
              $(patsubst src/%.c,$(BUILD)/pic/%.o,$(SRCS)) $(HDRS)
	$(CC) $(CSTD) $(OPT) $(WARN) -Iinclude -fPIC -shared \
	  -Wl,--version-script=examples/malloc/exports.map examples/malloc/analloc_malloc.c \
	  $(patsubst src/%.c,$(BUILD)/pic/%.o,$(SRCS)) -lpthread -o $@
$(MALLOC_DIR)/stress: examples/malloc/stress.c
	@mkdir -p $(MALLOC_DIR)
	$(CC) $(CSTD) $(OPT) $(WARN) $< -lpthread -o $@
.PHONY: malloc-test malloc-bench
malloc-test: $(MALLOC_SO) $(MALLOC_DIR)/stress
	@sh examples/malloc/run.sh test $(MALLOC_SO) $(MALLOC_DIR) $(MALLOC_DIR)/stress
malloc-bench: $(MALLOC_SO) $(MALLOC_DIR)/stress
	@sh examples/malloc/run.sh bench $(MALLOC_SO) $(MALLOC_DIR) $(MALLOC_DIR)/stress

# ---- SQLite (examples/sqlite/README.md) ----------------------------------
# sqlite-test: the workload of examples/sqlite/workload.c on the system
# libsqlite3 (libsqlite3-dev) with malloc and with the analloc adapter, in two
# child processes: the same checksum over every result row, and the heap whole
# again after sqlite3_shutdown; then two broken adapters (a realloc that copies
# one byte too few, a free that leaks) must each make it fail.
# sqlite-bench: the same workload on SQLite's amalgamation built with
# SQLITE_ENABLE_MEMSYS5 (from the npm package better-sqlite3, fetched once
# into $(BUILD)/sqlite/npm): malloc, memsys5 and analloc over the same heap;
# median times, peaks and the smallest heap that works (about 2.5 minutes,
# half a minute of it compiling sqlite3.c).
SQLITE_EX      := examples/sqlite
SQLITE_BSQL    := 12.9.0
SQLITE_AMALG   := $(BUILD)/sqlite/npm/node_modules/better-sqlite3/deps/sqlite3
SQLITE_EXFLAGS := $(CSTD) $(OPT) $(WARN) -D_GNU_SOURCE -Iinclude -I$(SQLITE_EX)
SQLITE_EXSRCS  := $(SQLITE_EX)/workload.c $(SQLITE_EX)/sqlite_analloc.c
SQLITE_EXDEPS  := $(SQLITE_EXSRCS) $(wildcard $(SQLITE_EX)/*.h) $(BUILD)/libanalloc.a
SQLITE_BREAKS  := 1 2
$(BUILD)/sqlite/sqlite_test: $(SQLITE_EX)/sqlite_test.c $(SQLITE_EXDEPS)
	@mkdir -p $(@D)
	$(CC) $(SQLITE_EXFLAGS) $< $(SQLITE_EXSRCS) $(BUILD)/libanalloc.a -lsqlite3 -o $@
$(BUILD)/sqlite/sqlite_test_break%: $(SQLITE_EX)/sqlite_test.c $(SQLITE_EXDEPS)
	@mkdir -p $(@D)
	$(CC) $(SQLITE_EXFLAGS) -DSQLITE_ANALLOC_BREAK=$* $< $(SQLITE_EXSRCS) $(BUILD)/libanalloc.a \
	  -lsqlite3 -o $@
.PHONY: sqlite-test sqlite-bench
sqlite-test: $(BUILD)/sqlite/sqlite_test $(addprefix $(BUILD)/sqlite/sqlite_test_break,$(SQLITE_BREAKS))
	./$(BUILD)/sqlite/sqlite_test
	@set -u; for b in $(SQLITE_BREAKS); do \
	  log=$(BUILD)/sqlite/break$$b.log; \
	  case $$b in 1) want='different results|workload failed';; *) want='in use|live blocks|bytes free';; esac; \
	  if ./$(BUILD)/sqlite/sqlite_test_break$$b --scale 50000 > $$log 2>&1 || \
	     ! grep -qE "^  failure: .*($$want)" $$log; then \
	    cat $$log; echo "sqlite-test: the broken adapter SQLITE_ANALLOC_BREAK=$$b was not caught" \
	      "as expected (log: $$log)"; exit 1; \
	  fi; \
	  echo "negative control SQLITE_ANALLOC_BREAK=$$b: failed, as it must:" \
	       "$$(sed -n 's/^  failure: //p' $$log)"; \
	done
$(SQLITE_AMALG)/sqlite3.c:
	@mkdir -p $(BUILD)/sqlite/npm
	cd $(BUILD)/sqlite/npm && echo '{"private": true}' > package.json && \
	  npm install --no-save --no-package-lock --ignore-scripts --no-audit --no-fund \
	    better-sqlite3@$(SQLITE_BSQL)
	@test -f $@ || { echo "sqlite-bench: better-sqlite3@$(SQLITE_BSQL) has no $@"; exit 1; }
# The amalgamation is not ours: built without the project's warnings.
$(BUILD)/sqlite/sqlite3.o: $(SQLITE_AMALG)/sqlite3.c
	$(CC) -O2 -DSQLITE_ENABLE_MEMSYS5 -DSQLITE_OMIT_LOAD_EXTENSION -c $< -o $@
$(BUILD)/sqlite/sqlite_bench: $(SQLITE_EX)/sqlite_bench.c $(SQLITE_EXDEPS) $(BUILD)/sqlite/sqlite3.o
	$(CC) $(SQLITE_EXFLAGS) -I$(SQLITE_AMALG) $< $(SQLITE_EXSRCS) $(BUILD)/sqlite/sqlite3.o \
	  $(BUILD)/libanalloc.a -lpthread -lm -o $@
sqlite-bench: $(BUILD)/sqlite/sqlite_bench
	@echo "sqlite-bench: about 2 minutes; the table also goes to $(BUILD)/sqlite/bench.txt"
	@./$(BUILD)/sqlite/sqlite_bench > $(BUILD)/sqlite/bench.txt; rc=$$?; \
	  cat $(BUILD)/sqlite/bench.txt; exit $$rc

# ---- benchmarks (bench/README.md) ----------------------------------------
# The general allocators are dlopen'd at run time: no -l flags.
BENCH_SRCS  := bench/bench.c bench/textbook_buddy.c bench/svg.c
BENCH_FLAGS := $(CSTD) $(OPT) $(WARN) -D_GNU_SOURCE -Iinclude
$(BUILD)/bench/bench: $(BENCH_SRCS) bench/textbook_buddy.h bench/svg.h $(BUILD)/libanalloc.a
	@mkdir -p $(BUILD)/bench
	$(CC) $(BENCH_FLAGS) -DBENCH_CFLAGS='"$(BENCH_FLAGS)"' -DBENCH_LIB_CFLAGS='"$(CORE_FLAGS)"' \
	  $(BENCH_SRCS) $(BUILD)/libanalloc.a -ldl -lm -o $@
# The full suite (about 2 minutes): table, results.csv, bench.svg in $(BUILD)/bench.
bench: $(BUILD)/bench/bench
	@sh tools/install-deps.sh --bench
	sh bench/callgrind.sh $(BUILD)/bench/bench $(BUILD)/bench
	./$(BUILD)/bench/bench --out $(BUILD)/bench
	$(MAKE) --no-print-directory malloc-bench
	$(MAKE) --no-print-directory sqlite-bench
# Instructions per free + alloc pair from 2^10 to 2^24 pages (callgrind).
scaling: $(BUILD)/bench/bench
	sh bench/callgrind.sh $(BUILD)/bench/bench $(BUILD)/bench
	@cat $(BUILD)/bench/callgrind.csv
# Instructions per call of each operation (callgrind), bench/opcost.c.
$(BUILD)/bench/opcost: bench/opcost.c $(BUILD)/libanalloc.a
	@mkdir -p $(BUILD)/bench
	$(CC) $(BENCH_FLAGS) $< $(BUILD)/libanalloc.a -o $@
opcost: $(BUILD)/bench/opcost
	sh bench/opcost.sh $(BUILD)/bench/opcost
# A smoke run (about 15 s), into $(BUILD)/bench/quick; make check runs it.
bench-quick: $(BUILD)/bench/bench
	@mkdir -p $(BUILD)/bench/quick
	sh bench/callgrind.sh --quick $(BUILD)/bench/bench $(BUILD)/bench/quick
	./$(BUILD)/bench/bench --quick --out $(BUILD)/bench/quick

# ---- tests --------------------------------------------------------------
$(BUILD)/tests/%: tests/%.c $(BUILD)/libanalloc.a $(wildcard tests/*.h) | $(BUILD)/tests
	$(CC) $(TEST_FLAGS) $< $(BUILD)/libanalloc.a $(TEST_LIBS) -o $@
define bv_variant
$(BUILD)/tests/test_bitvector_$(word 1,$(subst :, ,$(1))): tests/test_bitvector.c $(HDRS) tests/testutil.h | $(BUILD)/tests
	$$(CC) $$(TEST_FLAGS) $(subst $(comma),$(space),$(word 2,$(subst :, ,$(1)))) $$< $$(TEST_LIBS) -o $$@
endef
$(foreach v,$(BV_VARIANTS),$(eval $(call bv_variant,$(v))))
BV_BINS := $(foreach v,$(BV_VARIANTS),$(BUILD)/tests/test_bitvector_$(word 1,$(subst :, ,$(v))))
# The model engine, tests/model.c (tests/model.h), is linked into these.
MODEL_TESTS := test_model test_engine test_placement test_ranges
$(BUILD)/tests/model.o: tests/model.c $(HDRS) $(wildcard tests/*.h) | $(BUILD)/tests
	$(CC) $(TEST_FLAGS) -c $< -o $@
$(addprefix $(BUILD)/tests/,$(MODEL_TESTS)): $(BUILD)/tests/%: tests/%.c $(BUILD)/tests/model.o \
  $(BUILD)/libanalloc.a $(wildcard tests/*.h) | $(BUILD)/tests
	$(CC) $(TEST_FLAGS) $< $(BUILD)/tests/model.o $(BUILD)/libanalloc.a $(TEST_LIBS) -o $@
# The fuzz harness without libFuzzer replays tests/corpus as a regression test.
$(BUILD)/tests/fuzz_replay: tests/fuzz_analloc.c $(BUILD)/tests/model.o $(BUILD)/libanalloc.a \
  $(wildcard tests/*.h) | $(BUILD)/tests
	$(CC) $(TEST_FLAGS) -DANALLOC_FUZZ_REPLAY $< $(BUILD)/tests/model.o $(BUILD)/libanalloc.a $(TEST_LIBS) -o $@
TEST_BINS := $(BV_BINS) $(addprefix $(BUILD)/tests/,$(TESTS)) $(BUILD)/tests/fuzz_replay

# Run every test binary (cmocka reports on stderr), then every example.
# Counts go to $(BUILD)/counts for the summary that closes `make check`.
test: $(TEST_BINS) examples
	@sh tools/run-tests.sh $(BUILD)/counts $(TEST_BINS)
	@set -e; for e in $(addprefix $(BUILD)/examples/,$(EXAMPLES)); do \
	  $$e > $(BUILD)/examples/$$(basename $$e).out; echo "example $$e: ok"; done

test-bins: $(TEST_BINS) examples

# The same suite under AddressSanitizer and UndefinedBehaviorSanitizer, with
# the engine's internal assertions on (ANALLOC_DEBUG), built by gcc and by
# clang; and a plain clang build.
SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
test-asan:
	ANALLOC_QUICK=1 $(MAKE) --no-print-directory BUILD=$(BUILD)/asan \
	  OPT="-O1 -g $(SAN) -DANALLOC_DEBUG" TEST_LIBS="$(TEST_LIBS) $(SAN)" test
test-clang:
	$(MAKE) --no-print-directory BUILD=$(BUILD)/clang CC=$(CLANG) test
test-clang-asan:
	ANALLOC_QUICK=1 $(MAKE) --no-print-directory BUILD=$(BUILD)/clang-asan CC=$(CLANG) \
	  OPT="-O1 -g $(SAN) -DANALLOC_DEBUG" TEST_LIBS="$(TEST_LIBS) $(SAN)" test

# tests/test_threads.c and the library under ThreadSanitizer (clang), in
# $(BUILD)/tsan.  The suite (lock hook accounting, four threads hammering one
# allocator behind a mutex) must pass without a report; then the negative
# controls, the same hammer without lock hooks with the threads running
# freely (ANALLOC_RACE=1) and taking turns (ANALLOC_RACE=turns), must each
# end in a data race report in src/analloc.c, or the target fails.
TSAN_FLAGS := $(CSTD) -O1 -g $(WARN) -fsanitize=thread -fno-omit-frame-pointer
TSAN_ENV   := TSAN_OPTIONS="halt_on_error=1 exitcode=66"
.PHONY: test-tsan
test-tsan:
	@mkdir -p $(BUILD)/tsan/obj
	@set -e; for s in $(SRCS); do \
	  echo "$(CLANG) $(TSAN_FLAGS) -ffreestanding -Iinclude -c $$s"; \
	  $(CLANG) $(TSAN_FLAGS) -ffreestanding -Iinclude -c $$s \
	    -o $(BUILD)/tsan/obj/$$(basename $$s .c).o; done
	rm -f $(BUILD)/tsan/libanalloc.a && $(AR) rcs $(BUILD)/tsan/libanalloc.a $(BUILD)/tsan/obj/*.o
	$(CLANG) $(TSAN_FLAGS) -D_GNU_SOURCE -Iinclude -Isrc -Itests tests/test_threads.c \
	  $(BUILD)/tsan/libanalloc.a -lcmocka -lpthread -o $(BUILD)/tsan/test_threads
	@echo "== $(BUILD)/tsan/test_threads (ThreadSanitizer; a report fails the run)"
	@$(TSAN_ENV) ./$(BUILD)/tsan/test_threads
	@set -u; for mode in 1 turns; do \
	  log=$(BUILD)/tsan/race-$$mode.log; \
	  $(TSAN_ENV) ANALLOC_RACE=$$mode ./$(BUILD)/tsan/test_threads > $$log 2>&1; rc=$$?; \
	  if [ $$rc -eq 66 ] && grep -q '^SUMMARY: ThreadSanitizer: data race .*src/analloc\.c' $$log; then \
	    echo "negative control ANALLOC_RACE=$$mode (no lock hooks): race reported, as it must be"; \
	    grep '^SUMMARY: ThreadSanitizer' $$log | sed 's/^/  /'; \
	  else \
	    tail -n 40 $$log; \
	    echo "test-tsan: negative control ANALLOC_RACE=$$mode (no lock hooks) exited $$rc" \
	         "without a data race report in src/analloc.c (log: $$log)"; \
	    exit 1; \
	  fi; done
	@$(TSAN_ENV) ANALLOC_RACE=set_debug ./$(BUILD)/tsan/test_threads > $(BUILD)/tsan/set_debug.log 2>&1 || \
	  { cat $(BUILD)/tsan/set_debug.log; echo "test-tsan: analloc_set_debug raced"; exit 1; }
	@echo "test-tsan: clean with the lock hooks (set_debug from two threads too); both unlocked controls reported"

# ANALLOC_DEBUG_ANNOTATE at work: the driver tests/annotate/uaf.c, built with
# every src/ file and -DANALLOC_ANNOTATE under AddressSanitizer (gcc, clang)
# and plain for valgrind (-no-pie, as test-valgrind), must have each use after
# free of a block analloc handed out (the block cache too) reported, and its
# controls run clean (tests/annotate/run.sh).
ANNOTATE_FLAGS := $(CSTD) -O1 -g $(WARN) -DANALLOC_ANNOTATE -D_GNU_SOURCE -Iinclude -Isrc
ANNOTATE_ASAN := -fsanitize=address -fno-omit-frame-pointer
.PHONY: test-annotate
test-annotate: tests/annotate/uaf.c tests/annotate/run.sh $(SRCS) $(HDRS)
	@mkdir -p $(BUILD)/annotate
	$(CC) $(ANNOTATE_FLAGS) $(ANNOTATE_ASAN) tests/annotate/uaf.c $(SRCS) -o $(BUILD)/annotate/uaf-asan-gcc
	$(CLANG) $(ANNOTATE_FLAGS) $(ANNOTATE_ASAN) tests/annotate/uaf.c $(SRCS) -o $(BUILD)/annotate/uaf-asan-clang
	$(CC) $(ANNOTATE_FLAGS) -gdwarf-4 -no-pie tests/annotate/uaf.c $(SRCS) -o $(BUILD)/annotate/uaf-valgrind
	sh tests/annotate/run.sh $(BUILD)/annotate

# Every test binary and example under valgrind memcheck.  Linked -no-pie:
# valgrind does not honour the 16 MiB alignment of the vectormaps front's
# static area in a position-independent executable.
test-valgrind:
	$(MAKE) --no-print-directory BUILD=$(BUILD)/valgrind OPT="-O2 -g -no-pie" test-bins
	sh tools/valgrind-tests.sh $(BUILD)/valgrind

# The objects of src/, compiled freestanding and linked with ld -r, must need
# no symbol at all, on x86-64 and i386.
freestanding:
	@sh tools/check-freestanding.sh $(CC)

# Only the public prefixes are exported by the library.
symbols: $(BUILD)/libanalloc.a $(BUILD)/libanalloc.so
	@sh tools/check-symbols.sh $(BUILD)/libanalloc.a $(BUILD)/libanalloc.so

# Line and branch coverage of src/ by the test suite (gcovr).  Defensive
# branches that no input can reach are wrapped in ANALLOC_NEVER/ALWAYS and
# compiled out here (src/host.h).  Fails below 100% lines or 95% branches.
COV_FLAGS := -O0 -g --coverage -DANALLOC_COVERAGE
coverage:
	rm -rf $(BUILD)/cov
	$(MAKE) --no-print-directory BUILD=$(BUILD)/cov OPT="$(COV_FLAGS)" \
	  TEST_LIBS="$(TEST_LIBS) --coverage" test > $(BUILD)/coverage-tests.log 2>&1 || \
	  { tail -n 30 $(BUILD)/coverage-tests.log; exit 1; }
	gcovr -r . --object-directory $(BUILD)/cov/obj --filter 'src/' --txt \
	  --fail-under-line 100
	gcovr -r . --object-directory $(BUILD)/cov/obj --filter 'src/' --txt --branches \
	  --fail-under-branch 95

# Static analysis of src/ and the public headers: cppcheck and clang-tidy
# (checks and the reasons for the two disabled ones in .clang-tidy).
lint:
	cppcheck --enable=warning,style,performance,portability --std=c11 --error-exitcode=1 \
	  --inline-suppr -q -Iinclude src/ include/
	clang-tidy --quiet src/*.c -- -std=c11 -Iinclude -ffreestanding
	@echo "lint: cppcheck and clang-tidy clean"

# The suite on other CPUs: i386 natively, aarch64, riscv64 and s390x (big
# endian) under qemu-user, with cmocka built from Debian's source.
cross:
	@sh tools/cross-test.sh

# Coverage-guided fuzzing with libFuzzer (clang), for FUZZ_SECONDS (default
# 60), from tests/corpus; new inputs collect in $(BUILD)/fuzz/corpus, failing
# ones in $(BUILD)/fuzz/crash-* (replay one: $(BUILD)/tests/fuzz_replay FILE).
# Minimise new finds into tests/corpus with
#   $(BUILD)/fuzz/fuzz_analloc -merge=1 -use_counters=0 tests/corpus $(BUILD)/fuzz/corpus
FUZZ_SECONDS ?= 60
FUZZ_SAN := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
$(BUILD)/fuzz/fuzz_analloc: tests/fuzz_analloc.c tests/model.c $(wildcard tests/*.h) $(SRCS) $(HDRS)
	@mkdir -p $(BUILD)/fuzz/corpus
	$(CLANG) $(CSTD) -g -O1 $(WARN) $(FUZZ_SAN) -DANALLOC_DEBUG -D_GNU_SOURCE -Iinclude -Isrc \
	  -Itests tests/fuzz_analloc.c tests/model.c $(SRCS) -o $@
fuzz: $(BUILD)/fuzz/fuzz_analloc
	@echo "fuzzing for $(FUZZ_SECONDS) s (log: $(BUILD)/fuzz/fuzz.log)"
	@./$(BUILD)/fuzz/fuzz_analloc -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
	  -artifact_prefix=$(BUILD)/fuzz/ -print_final_stats=1 $(BUILD)/fuzz/corpus tests/corpus > $(BUILD)/fuzz/fuzz.log 2>&1; \
	  rc=$$?; grep -E '^(INFO: Seed|#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss)' \
	  $(BUILD)/fuzz/fuzz.log; \
	  if [ $$rc -ne 0 ]; then tail -n 60 $(BUILD)/fuzz/fuzz.log; echo "fuzz: FAILED"; exit 1; fi; \
	  echo "fuzz: no failure in $(FUZZ_SECONDS) s"

# Installs missing test dependencies first (Debian), so that `make check`
# works on a fresh machine.
deps:
	@sh tools/install-deps.sh

# Everything: the suite built five ways (gcc; gcc and clang with ASan, UBSan
# and assertions; clang; valgrind), coverage, a minute of fuzzing, the suite
# on four other CPUs, static analysis, the freestanding and symbol checks,
# and a smoke run of the benchmarks (no timing is checked).
check: deps all
	@find $(BUILD) -name counts -delete
	$(MAKE) --no-print-directory test
	$(MAKE) --no-print-directory test-asan
	$(MAKE) --no-print-directory test-clang
	$(MAKE) --no-print-directory test-clang-asan
	$(MAKE) --no-print-directory test-tsan
	$(MAKE) --no-print-directory test-annotate
	$(MAKE) --no-print-directory test-valgrind
	$(MAKE) --no-print-directory coverage
	$(MAKE) --no-print-directory fuzz
	$(MAKE) --no-print-directory cross
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory freestanding
	$(MAKE) --no-print-directory symbols
	$(MAKE) --no-print-directory kernel
	$(MAKE) --no-print-directory malloc-test
	$(MAKE) --no-print-directory sqlite-test
	$(MAKE) --no-print-directory bench-quick > $(BUILD)/bench-quick.log 2>&1 || \
	  { tail -n 40 $(BUILD)/bench-quick.log; exit 1; }
	@echo "bench-quick: the benchmark suite runs (log: $(BUILD)/bench-quick.log)"
	@find $(BUILD) -name counts -exec cat {} + | \
	  awk '{ p += $$1; f += $$2 } END { print "check: " p " passed, " f " failed" }'

clean:
	rm -rf $(BUILD)
