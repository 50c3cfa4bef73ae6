#!/bin/sh
# Record the traces of tests/traces again (tools/trace/README.md), then write
# their expected summaries: sh tools/trace/record.sh [BUILD]  (after
# make $BUILD/libanalloc-malloc.so $BUILD/sqlite/sqlite_test $BUILD/analloc-trace).
# The recordings differ from run to run (addresses, times, and what the
# programs do); the replay of a given recording does not.
set -eu
build=${1:-build}
lib=$(realpath "$build/libanalloc-malloc.so")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out=tests/traces

# python3: a short script, CPython's own small-object allocator on (the default).
ANALLOC_TRACE="$tmp/python.%p" LD_PRELOAD="$lib" PYTHONHASHSEED=0 /usr/bin/python3 -S -E -c \
    'import json; d = {str(i): [i] * i for i in range(300)}; print(len(json.loads(json.dumps(d))))' >/dev/null
# gcc compiling a small file: the driver, cc1 and as each write a trace; cc1's is kept.
printf 'int f(int x) { return x * x + 1; }\nint main(void) { return f(3); }\n' > "$tmp/small.c"
ANALLOC_TRACE="$tmp/gcc.%p" LD_PRELOAD="$lib" gcc -O2 -c "$tmp/small.c" -o "$tmp/small.o"
# SQLite: examples/sqlite's workload (sqlite_test's analloc child).
ANALLOC_TRACE="$tmp/sqlite.%p" "$build/sqlite/sqlite_test" --scale 1000 >/dev/null

for name in python gcc sqlite; do
    # (the largest file of the program: cc1's for gcc)
    f=$(ls -S "$tmp/$name".* | head -n 1)
    xz -9e -c "$f" > "$out/$name.trace.xz"
done
sh tools/trace/test.sh "$build/analloc-trace" "$build/trace" --update
