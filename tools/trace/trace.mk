# tools/trace/trace.mk: analloc-trace (tools/trace/README.md)
# Included by the top-level Makefile (run make from the repository root);
# uses its variables: BUILD, CC, CLANG, CSTD, OPT and WARN.
# $(BUILD)/analloc-trace: text, replay, draw and report of traces that the
# malloc replacement and the SQLite adapter record (ANALLOC_TRACE=file).
# trace-test: a recording from each client replayed; the traces in
# tests/traces replayed, their summaries compared
# with the .expected files next to them; text and draw run; the HTML report
# loaded in headless chromium, its slider moved (tools/trace/test.sh).
TRACE_SRCS := tools/trace/trace.c tools/trace/raster.c bench/textbook_buddy.c bench/svg.c
$(BUILD)/analloc-trace: $(TRACE_SRCS) tools/trace/trace_format.h tools/trace/raster.h bench/textbook_buddy.h bench/svg.h \
                        $(BUILD)/libanalloc.a
	$(CC) $(CSTD) $(OPT) $(WARN) -D_GNU_SOURCE -Iinclude -Ibench -Itools/trace $(TRACE_SRCS) \
	  $(BUILD)/libanalloc.a -lpng -lm -o $@
# The tool built by clang too, warnings as errors (make trace-test).
$(BUILD)/trace/analloc-trace-clang: $(TRACE_SRCS) tools/trace/trace_format.h tools/trace/raster.h bench/textbook_buddy.h \
                                    bench/svg.h $(BUILD)/libanalloc.a
	@mkdir -p $(@D)
	$(CLANG) $(CSTD) $(OPT) $(WARN) -D_GNU_SOURCE -Iinclude -Ibench -Itools/trace $(TRACE_SRCS) \
	  $(BUILD)/libanalloc.a -lpng -lm -o $@
.PHONY: trace-test
trace-test: $(BUILD)/analloc-trace $(BUILD)/trace/analloc-trace-clang $(MALLOC_SO) $(BUILD)/sqlite/sqlite_test \
            $(MALLOC_DIR)/stress
	@sh tools/trace/test.sh $(BUILD)/analloc-trace $(BUILD)/trace $(MALLOC_SO) $(BUILD)/sqlite/sqlite_test \
	  $(MALLOC_DIR)/stress
