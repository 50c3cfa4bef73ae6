# analloc - build, tests and checks.
#
#   make            build/libanalloc.a and build/libanalloc.so
#   make demo       build and run the demo (examples/demo.c) on built-in defaults
#   make vram       the GPU example (examples/vram.c) and its negative control;
#                   make vram32: the same built -m32
#   make test       the unit and model tests (gcc), then every example
#   make quick      the fast inner loop (well under two minutes from clean): the
#                   unit and model tests under ASan+UBSan with assertions,
#                   short randomized runs
#   make test-lto   the unit suite built -O3 -flto, 64-bit and 32-bit
#   make check      every test: unit and model tests (gcc), the same under
#                   ASan+UBSan, clang, -O3 -flto (64- and 32-bit),
#                   ThreadSanitizer and valgrind, the sanitizer annotations,
#                   coverage, fuzzing, other CPUs, the freestanding and symbol
#                   checks, install and uninstall, the single-file build, the
#                   test kernel, the malloc and SQLite clients, the trace
#                   tool (make trace-test), a benchmark smoke run
#   make install, make uninstall   PREFIX (/usr/local), LIBDIR, DESTDIR: the
#                   headers, both libraries, pkg-config and CMake files, manual
#                   pages; make test-install proves them in a temporary prefix
#   make man        the manual pages, from the headers, in $(BUILD)/man/man3
#                   (read them with MANPATH=$(BUILD)/man man analloc)
#   make single     $(BUILD)/single/analloc.h, the library as one file (a
#                   single-header library); make test-single tests it
#   make clean
# The clients', benchmarks' and trace tool's targets (kernel, malloc-test,
# sqlite-test, bench, bench-quick, trace-test, ...) are in the makefiles
# included below.
#
# Variables: CC (default gcc), BUILD (default build).
# Environment for the randomized tests: ANALLOC_SEED=n replays a seed,
# ANALLOC_OPS=n sets the number of operations, ANALLOC_QUICK=1 runs fewer
# (set for make quick and the sanitizer runs).

ifeq ($(origin CC),default)
CC      := gcc
endif
CLANG   ?= clang
BUILD   ?= build
AR      ?= ar

# Warnings are errors in the project's own builds and in CI (-Werror stays
# here): src/ is warning-clean under gcc and clang with -Wall -Wextra
# -Wpedantic and the extras below.  A kernel or other project that compiles
# src/ with its own flags may drop -Werror or add warnings of its own; please
# report any warning it finds upstream.
WARN    := -Wall -Wextra -Wpedantic -Werror -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wcast-qual -Wpointer-arith
CSTD    := -std=c11
OPT     ?= -O2 -g
# The core is freestanding C11: it is always compiled so.
CORE_FLAGS := $(CSTD) $(OPT) $(WARN) -ffreestanding -Iinclude
TEST_FLAGS := $(CSTD) $(OPT) $(WARN) -D_GNU_SOURCE $(if $(SINGLE),-I$(SINGLE)) -Iinclude -Isrc -Itests
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

.PHONY: all deps demo examples coverage lint cross fuzz check test-bins test-valgrind test-clang-asan test test-asan test-clang freestanding symbols clean \
        test-units quick test-lto

all: $(BUILD)/libanalloc.a $(BUILD)/libanalloc.so

# ---- library ------------------------------------------------------------
$(BUILD)/obj/%.o: src/%.c $(HDRS) | $(BUILD)/obj
	$(CC) $(CORE_FLAGS) -c $< -o $@
$(BUILD)/pic/%.o: src/%.c $(HDRS) | $(BUILD)/pic
	$(CC) $(CORE_FLAGS) -fPIC -c $< -o $@
# With SINGLE=dir (make test-single), the static library is the object of
# the amalgamation dir/analloc.h instead (one file, ANALLOC_IMPLEMENTATION),
# and the tests include that analloc.h in place of include/analloc.h.
ifdef SINGLE
LIB_OBJS := $(BUILD)/obj/single.o
$(BUILD)/obj/single.o: $(SINGLE)/impl.c $(SINGLE)/analloc.h | $(BUILD)/obj
	$(CC) $(CORE_FLAGS) -c $< -o $@
else
LIB_OBJS := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(SRCS))
endif
$(BUILD)/libanalloc.a: $(LIB_OBJS)
	rm -f $@ && $(AR) rcs $@ $^
# The SONAME carries the major version (ANALLOC_VERSION_MAJOR in the header),
# which changes whenever struct analloc or a signature does.
version_part = $(shell sed -n 's/^\#define ANALLOC_VERSION_$(1) \([0-9]*\).*/\1/p' include/analloc.h)
SOVERSION := $(call version_part,MAJOR)
VERSION   := $(SOVERSION).$(call version_part,MINOR).$(call version_part,PATCH)
$(BUILD)/libanalloc.so.$(VERSION): $(patsubst src/%.c,$(BUILD)/pic/%.o,$(SRCS))
	$(CC) -shared -Wl,-soname,libanalloc.so.$(SOVERSION) -o $@ $^
$(BUILD)/libanalloc.so: $(BUILD)/libanalloc.so.$(VERSION)
	ln -sf libanalloc.so.$(VERSION) $(BUILD)/libanalloc.so.$(SOVERSION)
	ln -sf libanalloc.so.$(VERSION) $@
$(BUILD)/obj $(BUILD)/pic $(BUILD)/tests $(BUILD)/examples:
	mkdir -p $@

# ---- examples -----------------------------------------------------------
$(BUILD)/examples/%: examples/%.c $(BUILD)/libanalloc.a | $(BUILD)/examples
	$(CC) $(TEST_FLAGS) $< $(BUILD)/libanalloc.a -o $@
examples: $(addprefix $(BUILD)/examples/,$(EXAMPLES))
demo: $(BUILD)/examples/demo
	./$(BUILD)/examples/demo

# examples/vram.c, a GPU driver's 16 GiB of VRAM by offset: make test runs
# it with the other examples; make vram runs it, then its negative control
# (--control-overlap records one buffer at another's offset), which must
# fail in the overlap check; make vram32 does both with the library and the
# example built -m32 in $(BUILD)/m32: a 32-bit target managing 16 GiB.
define vram_run
	./$(1)
	@./$(1) --control-overlap > $(1).control 2>&1; rc=$$?; \
	  if [ $$rc -eq 1 ] && grep -q '^vram: FAILED .*: overlap: ' $(1).control; then \
	    echo "negative control $(1) --control-overlap: caught by the overlap check, as it must be"; \
	    sed 's/^/  /' $(1).control; \
	  else \
	    cat $(1).control; \
	    echo "vram: negative control $(1) --control-overlap exited $$rc without an overlap report"; \
	    exit 1; \
	  fi
endef
.PHONY: vram vram32
vram: $(BUILD)/examples/vram
	$(call vram_run,$<)
vram32:
	$(MAKE) --no-print-directory BUILD=$(BUILD)/m32 CC="$(CC) $(M32)" $(BUILD)/m32/examples/vram
	$(call vram_run,$(BUILD)/m32/examples/vram)

# ---- install ------------------------------------------------------------
# make install [PREFIX=/usr/local] [LIBDIR=$(PREFIX)/lib] [DESTDIR=staging]:
# the headers (include/analloc.h, include/analloc/), the static library, the
# shared one with its SONAME and symlinks (libanalloc.so ->
# libanalloc.so.$(SOVERSION) -> libanalloc.so.$(VERSION)), a pkg-config file
# (analloc.pc), a CMake package (find_package(analloc CONFIG): the imported
# targets analloc::analloc and analloc::analloc_static, and a version file)
# and the manual pages (man3, generated from the headers by tools/man.py).
# The pkg-config and CMake files name PREFIX's paths; DESTDIR only stages
# them.  make uninstall, with the same variables, removes every file that
# make install wrote, and the directories of its own if they are empty.
# make test-install proves both (tools/check-install.sh).
PREFIX     ?= /usr/local
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BINDIR     ?= $(PREFIX)/bin
MANDIR     ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
CMAKEDIR   ?= $(LIBDIR)/cmake/analloc
PYTHON     ?= python3
INSTALL    ?= install
PUBLIC_HDRS := include/analloc/bitvector.h include/analloc/buddy.h
SIZEOF_VOID_P = $(shell $(CC) -dM -E -x c /dev/null | sed -n 's/^\#define __SIZEOF_POINTER__ //p')
# The pages tools/man.py writes (one per function family, the overview
# analloc(3), and a .so link per other function), from the public headers.
MAN_SRCS  := include/analloc.h include/analloc/buddy.h include/analloc/bitvector.h
MAN_PAGES  = $(shell $(PYTHON) tools/man.py --list $(MAN_SRCS))
PKG_SED = sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
              -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(VERSION)|g' \
              -e 's|@SOVERSION@|$(SOVERSION)|g' -e 's|@SIZEOF_VOID_P@|$(SIZEOF_VOID_P)|g'

.PHONY: install uninstall man test-install
$(BUILD)/man/man3/analloc.3: tools/man.py $(MAN_SRCS)
	@mkdir -p $(@D)
	$(PYTHON) tools/man.py --out $(@D) $(MAN_SRCS)
man: $(BUILD)/man/man3/analloc.3

install: all $(BUILD)/man/man3/analloc.3 $(BUILD)/analloc-trace
	$(INSTALL) -d $(DESTDIR)$(INCLUDEDIR)/analloc $(DESTDIR)$(LIBDIR) $(DESTDIR)$(BINDIR) \
	  $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(CMAKEDIR) $(DESTDIR)$(MANDIR)/man3
	$(INSTALL) -m 644 include/analloc.h $(DESTDIR)$(INCLUDEDIR)/analloc.h
	$(INSTALL) -m 644 $(PUBLIC_HDRS) $(DESTDIR)$(INCLUDEDIR)/analloc/
	$(INSTALL) -m 644 $(BUILD)/libanalloc.a $(DESTDIR)$(LIBDIR)/libanalloc.a
	$(INSTALL) -m 755 $(BUILD)/libanalloc.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libanalloc.so.$(VERSION)
	ln -sf libanalloc.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libanalloc.so.$(SOVERSION)
	ln -sf libanalloc.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libanalloc.so
	$(PKG_SED) analloc.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/analloc.pc
	$(PKG_SED) cmake/analloc-config.cmake.in > $(DESTDIR)$(CMAKEDIR)/analloc-config.cmake
	$(PKG_SED) cmake/analloc-config-version.cmake.in > $(DESTDIR)$(CMAKEDIR)/analloc-config-version.cmake
	$(INSTALL) -m 644 $(addprefix $(BUILD)/man/man3/,$(MAN_PAGES)) $(DESTDIR)$(MANDIR)/man3/
	$(INSTALL) -m 755 $(BUILD)/analloc-trace $(DESTDIR)$(BINDIR)/analloc-trace

uninstall:
	rm -f $(DESTDIR)$(INCLUDEDIR)/analloc.h \
	  $(addprefix $(DESTDIR)$(INCLUDEDIR)/analloc/,$(notdir $(PUBLIC_HDRS))) \
	  $(addprefix $(DESTDIR)$(LIBDIR)/,libanalloc.a libanalloc.so libanalloc.so.$(SOVERSION) \
	    libanalloc.so.$(VERSION)) \
	  $(DESTDIR)$(PKGCONFIGDIR)/analloc.pc \
	  $(DESTDIR)$(CMAKEDIR)/analloc-config.cmake $(DESTDIR)$(CMAKEDIR)/analloc-config-version.cmake \
	  $(addprefix $(DESTDIR)$(MANDIR)/man3/,$(MAN_PAGES)) $(DESTDIR)$(BINDIR)/analloc-trace
	rmdir $(DESTDIR)$(INCLUDEDIR)/analloc $(DESTDIR)$(CMAKEDIR) 2>/dev/null || true

# Install into a temporary prefix, build tests/consumer five ways against it
# (pkg-config shared and static, find_package shared and static,
# add_subdirectory) and run each, refuse find_package of another major
# version, render every page, then uninstall: no file may be left; then the
# same staged with DESTDIR (tools/check-install.sh says each step).
test-install: all
	@BUILD="$(BUILD)" sh tools/check-install.sh $(BUILD)/install-test "$(CC)"

# ---- single file ----------------------------------------------------------
# make single: $(BUILD)/single/analloc.h, the whole library as one file (a
# single-header library: the implementation under ANALLOC_IMPLEMENTATION,
# the vectormaps front under ANALLOC_BUDDY_IMPLEMENTATION), generated from
# include/ and src/ by tools/amalgamate.py.  make test-single generates it
# twice and compares the bytes, checks it freestanding (nm -u empty, as make
# freestanding, on every target that make freestanding covers), and builds
# the unit and model tests (every tests/test_*.c but the bit vector's, and
# the fuzz corpus replay) with the amalgamation in place of the headers and
# the library, in $(BUILD)/single-test, and runs them (ANALLOC_QUICK=1); then
# tests/consumer with the implementation in the same file, the declarations
# as C++ (clang), and, as a negative control, an implementation file that
# includes analloc/bitvector.h first, which must be refused.
SINGLE_DIR := $(BUILD)/single
.PHONY: single test-single
$(SINGLE_DIR)/analloc.h: tools/amalgamate.py $(SRCS) $(HDRS) LICENSE
	@mkdir -p $(@D)
	$(PYTHON) tools/amalgamate.py $@
$(SINGLE_DIR)/impl.c:
	@mkdir -p $(@D)
	printf '#define ANALLOC_IMPLEMENTATION\n#define ANALLOC_BUDDY_IMPLEMENTATION\n#include "analloc.h"\n' > $@
single: $(SINGLE_DIR)/analloc.h
SINGLE_TESTS := $(addprefix $(BUILD)/single-test/tests/,$(TESTS) fuzz_replay)
test-single: $(SINGLE_DIR)/analloc.h $(SINGLE_DIR)/impl.c
	$(PYTHON) tools/amalgamate.py $(SINGLE_DIR)/analloc.h.again
	cmp $(SINGLE_DIR)/analloc.h $(SINGLE_DIR)/analloc.h.again
	@echo "test-single: $(SINGLE_DIR)/analloc.h, $$(wc -c < $(SINGLE_DIR)/analloc.h) bytes, generated twice: identical"
	@FREESTANDING_SRCS=$(SINGLE_DIR)/impl.c FREESTANDING_NAME=test-single \
	  sh tools/check-freestanding.sh $(CC)
	@find $(BUILD)/single-test -name counts -delete 2>/dev/null || true
	ANALLOC_QUICK=1 $(MAKE) --no-print-directory BUILD=$(BUILD)/single-test \
	  SINGLE=$(SINGLE_DIR) $(SINGLE_TESTS)
	@$(CC) $(CSTD) -D_GNU_SOURCE -I$(SINGLE_DIR) -Iinclude -Isrc -Itests -MM tests/test_engine.c \
	  > $(BUILD)/single-test/deps
	@grep -q '$(SINGLE_DIR)/analloc.h' $(BUILD)/single-test/deps && \
	  ! grep -q 'include/analloc.h' $(BUILD)/single-test/deps || \
	  { cat $(BUILD)/single-test/deps; echo "test-single: the tests do not include the amalgamation"; exit 1; }
	@nm $(BUILD)/single-test/libanalloc.a | grep -q ' T analloc_alloc$$' && \
	  [ "$$(ar t $(BUILD)/single-test/libanalloc.a)" = single.o ] || \
	  { echo "test-single: the library is not the amalgamation's object"; exit 1; }
	@ANALLOC_QUICK=1 sh tools/run-tests.sh $(BUILD)/single-test/counts $(SINGLE_TESTS)
	$(CC) $(CSTD) $(WARN) -DANALLOC_IMPLEMENTATION -I$(SINGLE_DIR) tests/consumer/consumer.c \
	  -o $(BUILD)/single-test/consumer
	./$(BUILD)/single-test/consumer
	printf '#include "analloc.h"\nint f(void);\nint f(void) { return analloc_version() == ANALLOC_VERSION; }\n' | \
	  $(CLANG) -x c++ -std=c++11 -Wall -Wextra -Werror -fsyntax-only -I$(SINGLE_DIR) -
	@printf '#include <analloc/bitvector.h>\n#define ANALLOC_IMPLEMENTATION\n#include "analloc.h"\n' | \
	  $(CC) $(CSTD) -I$(SINGLE_DIR) -Iinclude -x c -fsyntax-only - 2>&1 | \
	  grep -q 'error: #error "analloc: define ANALLOC_IMPLEMENTATION in a file that does not include' || \
	  { echo "test-single: the implementation compiled after analloc/bitvector.h"; exit 1; }
	@echo "test-single: one hosted file with the implementation runs; the declarations compile as" \
	  "C++; the implementation after analloc/bitvector.h is refused, as it must be"

# ---- clients and benchmarks ---------------------------------------------
# Each lives beside its code, with the comments on its targets:
#   examples/kernel/kernel.mk  kernel: the multiboot i386 test kernel under QEMU
#   examples/riscv/riscv.mk    riscv: the riscv64 SMP test kernel under QEMU
#   examples/malloc/malloc.mk  malloc-test, malloc-bench: the LD_PRELOAD malloc
#   examples/sqlite/sqlite.mk  sqlite-test, sqlite-bench: the SQLite adapter
#   bench/bench.mk             bench, scaling, opcost, bench-quick
#   tools/trace/trace.mk       analloc-trace, trace-test: record, replay, draw traces
include examples/kernel/kernel.mk
include examples/riscv/riscv.mk
include examples/malloc/malloc.mk
include examples/sqlite/sqlite.mk
include bench/bench.mk
include tools/trace/trace.mk

# ---- tests --------------------------------------------------------------
$(BUILD)/tests/%: tests/%.c $(BUILD)/libanalloc.a $(wildcard tests/*.h) | $(BUILD)/tests
	$(CC) $(TEST_FLAGS) $< $(BUILD)/libanalloc.a $(TEST_LIBS) -o $@
define bv_variant
$(BUILD)/tests/test_bitvector_$(word 1,$(subst :, ,$(1))): tests/test_bitvector.c $(HDRS) tests/testutil.h | $(BUILD)/tests
	$$(CC) $$(TEST_FLAGS) $(subst $(comma),$(space),$(word 2,$(subst :, ,$(1)))) $$< $$(TEST_LIBS) -o $$@
endef
$(foreach v,$(BV_VARIANTS),$(eval $(call bv_variant,$(v))))
BV_BINS := $(foreach v,$(BV_VARIANTS),$(BUILD)/tests/test_bitvector_$(word 1,$(subst :, ,$(v))))
# A program built with other values of the tunables than the library (they
# only matter when compiling src/): its struct analloc is the library's.
$(BUILD)/tests/test_abi: TEST_FLAGS += -DANALLOC_RESERVE_MAX=4 -DANALLOC_CACHE_MAX=2 \
                                       -DANALLOC_CACHE_ORDERS=1
# The model engine, tests/model.c (tests/model.h), is linked into these.
MODEL_TESTS := test_model test_engine test_placement test_ranges test_exhaustive
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

# The test binaries alone, no examples (make quick).
test-units: $(TEST_BINS)
	@sh tools/run-tests.sh $(BUILD)/counts $(TEST_BINS)

# The developers' fast inner loop: the unit and model tests (every
# tests/test_*.c, the bit vector variants, the fuzz corpus replay; no
# examples) under ASan+UBSan with ANALLOC_DEBUG, as test-asan, in
# $(BUILD)/quick, built QUICK_JOBS (2) at a time unless make already runs
# parallel jobs, and run with ANALLOC_QUICK=1.  About half a minute from a
# clean $(BUILD)/quick on two idle cores.  make check runs all of it
# (test-asan).
QUICK_JOBS ?= 2
quick:
	ANALLOC_QUICK=1 $(MAKE) --no-print-directory \
	  $(if $(findstring jobserver,$(MAKEFLAGS)),,-j$(QUICK_JOBS)) BUILD=$(BUILD)/quick \
	  OPT="-O1 -g $(SAN) -DANALLOC_DEBUG" TEST_LIBS="$(TEST_LIBS) $(SAN)" test-units

# The suite of make test (examples included), library and tests built with
# -O3 -flto, where whole-program inlining can expose strict-aliasing and
# other undefined behaviour that separate compilation hides: 64-bit in
# $(BUILD)/lto, then 32-bit (-m32) in $(BUILD)/lto32, linked with cmocka
# compiled for i386 from its source (tools/build-cmocka.sh; make deps fetches
# it into CMOCKA_SRC).
LTO_OPT    := -O3 -flto=auto -g
LTO_AR     := $(if $(findstring clang,$(CC)),llvm-ar,gcc-ar)
M32        := -m32 -idirafter /usr/include/x86_64-linux-gnu
CMOCKA_SRC ?= build/cmocka-src
test-lto:
	$(MAKE) --no-print-directory BUILD=$(BUILD)/lto OPT="$(LTO_OPT)" AR=$(LTO_AR) test
	CMOCKA_SRC=$(CMOCKA_SRC) sh tools/build-cmocka.sh $(BUILD)/lto32/cmocka.o $(CC) $(M32)
	$(MAKE) --no-print-directory BUILD=$(BUILD)/lto32 CC="$(CC) $(M32) -I$(CMOCKA_SRC)/include" \
	  OPT="$(LTO_OPT)" AR=$(LTO_AR) TEST_LIBS="$(BUILD)/lto32/cmocka.o -lpthread" test

# Lock sections do metadata work only: tests/test_lock_sections.c (in every
# build) proves that no section touches managed memory; this target measures
# the instructions between the lock and unlock hooks of one call for blocks
# of 1 to 1024 pages under callgrind and fails if they grow with the block
# size (tests/lock_sections/run.sh).
$(BUILD)/lock/measure: tests/lock_sections/measure.c $(BUILD)/libanalloc.a
	@mkdir -p $(@D)
	$(CC) $(TEST_FLAGS) $< $(BUILD)/libanalloc.a -o $@
.PHONY: test-lock-sections
test-lock-sections: $(BUILD)/lock/measure
	sh tests/lock_sections/run.sh $< $(BUILD)/lock

# tests/test_threads.c and the library under ThreadSanitizer (clang), in
# $(BUILD)/tsan.  The suite (lock hook accounting, four threads hammering one
# allocator behind a mutex) must pass without a report; then the negative
# controls, the same hammer without lock hooks with the threads running
# freely (ANALLOC_RACE=1) and taking turns (ANALLOC_RACE=turns), must each
# end in a data race report in a file of src/, or the target fails.
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
	@set -u; for mode in 1 turns stores; do \
	  log=$(BUILD)/tsan/race-$$mode.log; \
	  $(TSAN_ENV) ANALLOC_RACE=$$mode ./$(BUILD)/tsan/test_threads > $$log 2>&1; rc=$$?; \
	  if [ $$rc -eq 66 ] && grep -q '^SUMMARY: ThreadSanitizer: data race .*src/[^/ :]*\.c' $$log; then \
	    echo "negative control ANALLOC_RACE=$$mode (no lock hooks): race reported, as it must be"; \
	    grep '^SUMMARY: ThreadSanitizer' $$log | sed 's/^/  /'; \
	  else \
	    tail -n 40 $$log; \
	    echo "test-tsan: negative control ANALLOC_RACE=$$mode (no lock hooks) exited $$rc" \
	         "without a data race report in src/ (log: $$log)"; \
	    exit 1; \
	  fi; done
	@$(TSAN_ENV) ANALLOC_RACE=set_debug ./$(BUILD)/tsan/test_threads > $(BUILD)/tsan/set_debug.log 2>&1 || \
	  { cat $(BUILD)/tsan/set_debug.log; echo "test-tsan: analloc_set_debug raced"; exit 1; }
	@echo "test-tsan: clean with the lock hooks (set_debug from two threads too); the three unlocked controls reported"

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
# -fprofile-update=atomic: test_threads runs four threads through the
# library, and plain counters race (gcovr then sees negative counts).  The
# randomized tests run their short form (ANALLOC_QUICK=1, as make quick):
# the counters make -O0 code 20 to 50 times slower (the model test alone
# took 20 minutes in full), the short runs reach every line the full ones
# do, and make test runs them in full.
COV_FLAGS := -O0 -g --coverage -fprofile-update=atomic -DANALLOC_COVERAGE
coverage:
	rm -rf $(BUILD)/cov
	ANALLOC_QUICK=1 $(MAKE) --no-print-directory BUILD=$(BUILD)/cov OPT="$(COV_FLAGS)" \
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

# Everything: the suite built seven ways (gcc; gcc and clang with ASan, UBSan
# and assertions; clang; gcc -O3 -flto, 64- and 32-bit; valgrind), the GPU
# example 64- and 32-bit with its negative control, coverage,
# a minute of fuzzing, the suite on four other CPUs, static analysis, the
# freestanding and symbol checks, install and uninstall (test-install), the
# single-file build and the suite on it (test-single), the test kernel, the
# malloc and SQLite clients, the trace tool's replays and its report in a
# headless browser, and a smoke run of the benchmarks (no timing is checked).
check: deps all
	@find $(BUILD) -name counts -delete
	$(MAKE) --no-print-directory test
	$(MAKE) --no-print-directory vram
	$(MAKE) --no-print-directory vram32
	$(MAKE) --no-print-directory test-asan
	$(MAKE) --no-print-directory test-clang
	$(MAKE) --no-print-directory test-clang-asan
	$(MAKE) --no-print-directory test-lto
	$(MAKE) --no-print-directory test-tsan
	$(MAKE) --no-print-directory test-lock-sections
	$(MAKE) --no-print-directory test-annotate
	$(MAKE) --no-print-directory test-valgrind
	$(MAKE) --no-print-directory coverage
	$(MAKE) --no-print-directory fuzz
	$(MAKE) --no-print-directory cross
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory freestanding
	$(MAKE) --no-print-directory symbols
	$(MAKE) --no-print-directory test-install
	$(MAKE) --no-print-directory test-single
	$(MAKE) --no-print-directory kernel
	$(MAKE) --no-print-directory riscv
	$(MAKE) --no-print-directory malloc-test
	$(MAKE) --no-print-directory sqlite-test
	$(MAKE) --no-print-directory trace-test
	$(MAKE) --no-print-directory bench-quick > $(BUILD)/bench-quick.log 2>&1 || \
	  { tail -n 40 $(BUILD)/bench-quick.log; exit 1; }
	@echo "bench-quick: the benchmark suite runs (log: $(BUILD)/bench-quick.log)"
	@find $(BUILD) -name counts -exec cat {} + | \
	  awk '{ p += $$1; f += $$2 } END { print "check: " p " passed, " f " failed" }'

clean:
	rm -rf $(BUILD)
