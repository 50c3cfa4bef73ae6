# examples/malloc/malloc.mk: malloc replacement (examples/malloc/README.md)
# Included by the top-level Makefile (run make from the repository root);
# uses its variables: BUILD, CC, CSTD, OPT, WARN, SRCS and HDRS.
# libanalloc-malloc.so: malloc and friends on analloc, for LD_PRELOAD.
# malloc-test: python3, sqlite3, sort, gcc, xz and a threaded stress program
# under the preload, their output compared with a glibc run (about 30 s);
# malloc-bench: wall time and peak RSS of the same against glibc (about 1 min).
MALLOC_SO  := $(BUILD)/libanalloc-malloc.so
MALLOC_DIR := $(BUILD)/malloc
$(MALLOC_SO): examples/malloc/analloc_malloc.c examples/malloc/exports.map tools/trace/trace_format.h \
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
