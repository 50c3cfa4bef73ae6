# examples/sqlite/sqlite.mk: SQLite (examples/sqlite/README.md)
# Included by the top-level Makefile (run make from the repository root);
# uses its variables: BUILD, CC, CSTD, OPT and WARN.
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
SQLITE_EXDEPS  := $(SQLITE_EXSRCS) $(wildcard $(SQLITE_EX)/*.h) $(BUILD)/libanalloc.a tools/trace/trace_format.h
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
