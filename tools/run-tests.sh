#!/bin/sh
# Run test binaries, show their output, and count cmocka's results.
# usage: run-tests.sh COUNT-FILE BINARY...
# Appends "passed failed" to COUNT-FILE; exits 1 if anything failed.
# RUNNER, if set, prefixes each command (qemu-aarch64, valgrind, ...).
set -u
count_file=$1
shift
passed=0 failed=0
for t in "$@"; do
    echo "== $t"
    out=$(${RUNNER:-} "$t" 2>&1)
    rc=$?
    printf '%s\n' "$out"
    p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -n 1)
    f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -n 1)
    passed=$((passed + ${p:-0}))
    if [ "$rc" -ne 0 ]; then
        failed=$((failed + ${f:-1}))
        echo "!! $t exited with status $rc"
    fi
done
echo "$passed $failed" >> "$count_file"
echo "$(basename "$(dirname "$count_file")"): $passed passed, $failed failed"
[ "$failed" -eq 0 ]
