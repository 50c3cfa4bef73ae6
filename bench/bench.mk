# bench/bench.mk: benchmarks (bench/README.md)
# Included by the top-level Makefile (run make from the repository root);
# uses its variables: BUILD, CC, CSTD, OPT, WARN and CORE_FLAGS.
.PHONY: bench scaling opcost bench-quick bench-threads

# The general allocators are dlopen'd at run time: no -l flags.
BENCH_SRCS  := bench/bench.c bench/textbook_buddy.c bench/svg.c
BENCH_FLAGS := $(CSTD) $(OPT) $(WARN) -D_GNU_SOURCE -Iinclude
$(BUILD)/bench/bench: $(BENCH_SRCS) bench/textbook_buddy.h bench/svg.h $(BUILD)/libanalloc.a
	@mkdir -p $(BUILD)/bench
	$(CC) $(BENCH_FLAGS) -DBENCH_CFLAGS='"$(BENCH_FLAGS)"' -DBENCH_LIB_CFLAGS='"$(CORE_FLAGS)"' \
	  $(BENCH_SRCS) $(BUILD)/libanalloc.a -ldl -lm -o $@
# The full suite (about 3 minutes): table, results.csv, bench.svg in $(BUILD)/bench.
bench: $(BUILD)/bench/bench $(BUILD)/bench/opcost $(BUILD)/bench/threads
	@sh tools/install-deps.sh --bench
	sh bench/callgrind.sh $(BUILD)/bench/bench $(BUILD)/bench
	sh bench/opcost.sh $(BUILD)/bench/opcost > $(BUILD)/bench/opcost.txt
	./$(BUILD)/bench/bench --out $(BUILD)/bench
	./$(BUILD)/bench/threads --out $(BUILD)/bench
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
bench-quick: $(BUILD)/bench/bench $(BUILD)/bench/opcost $(BUILD)/bench/threads
	@mkdir -p $(BUILD)/bench/quick
	sh bench/callgrind.sh --quick $(BUILD)/bench/bench $(BUILD)/bench/quick
	sh bench/opcost.sh $(BUILD)/bench/opcost > $(BUILD)/bench/quick/opcost.txt
	./$(BUILD)/bench/bench --quick --out $(BUILD)/bench/quick
	./$(BUILD)/bench/threads --quick --out $(BUILD)/bench/quick

# Throughput under threads (bench/threads.c; bench/README.md, "Threads"):
# W1, W2 and producer/consumer at 1, 2, 4 and 8 threads, analloc with one
# lock and with per-CPU stores against glibc, jemalloc and mimalloc.
# `make bench-threads` writes $(BUILD)/bench/threads.txt and threads.csv;
# bench runs it too, bench-quick a smoke run into $(BUILD)/bench/quick.
THREADS_SRCS := bench/threads.c
$(BUILD)/bench/threads: $(THREADS_SRCS) $(BUILD)/libanalloc.a
	@mkdir -p $(BUILD)/bench
	$(CC) $(BENCH_FLAGS) -pthread -DBENCH_CFLAGS='"$(BENCH_FLAGS) -pthread"' \
	  -DBENCH_LIB_CFLAGS='"$(CORE_FLAGS)"' $(THREADS_SRCS) $(BUILD)/libanalloc.a -ldl -o $@
bench-threads: $(BUILD)/bench/threads
	@sh tools/install-deps.sh --bench
	./$(BUILD)/bench/threads --out $(BUILD)/bench
