#!/bin/sh
# Run every test binary and example of a build under valgrind memcheck.
# usage: valgrind-tests.sh BUILD_DIR
#
# Runs BUILD_DIR/tests/* and BUILD_DIR/examples/* (executables only) with
# ANALLOC_QUICK=1 (and shorter exhaustive sequences); the model test also gets ANALLOC_OPS=100000 (set
# VALGRIND_MODEL_OPS to change it).  A binary fails if valgrind reports an
# error (invalid access, uninitialised value, definite leak...) or the
# program itself fails.  Valgrind's log and the program's output are kept in
# BUILD_DIR/valgrind/.  One line per binary, then "valgrind: N passed,
# M failed" (binaries); exits 1 if any failed.
#
# BUILD_DIR must be a plain build: not build/asan (sanitizer binaries do not
# run under valgrind), and preferably linked -no-pie.  Valgrind loads a PIE
# executable at a fixed base without honouring segment alignments above a
# page, so the vectormaps front's static area (16 MiB, aligned to its size
# in .bss) ends up misaligned and test_buddy and examples/vectormaps fail
# their layout checks.  Build one with:
#   make BUILD=build/valgrind OPT="-O2 -g -no-pie" <the test binaries and examples>
set -u
if [ $# -ne 1 ] || [ ! -d "$1" ]; then
    echo "usage: $0 BUILD_DIR" >&2
    exit 2
fi
build=$1
if ! command -v valgrind >/dev/null 2>&1; then
    echo "valgrind-tests: valgrind is not installed (apt-get install valgrind)" >&2
    exit 2
fi
logs=$build/valgrind
mkdir -p "$logs"
ANALLOC_QUICK=1
# The bounded-exhaustive test runs 20 to 50 times slower under valgrind:
# sequences of 4 operations (3 through the stores), not 5 (4).
ANALLOC_EXHAUSTIVE_N=${ANALLOC_EXHAUSTIVE_N:-4}
ANALLOC_EXHAUSTIVE_STORES_N=${ANALLOC_EXHAUSTIVE_STORES_N:-3}
export ANALLOC_QUICK ANALLOC_EXHAUSTIVE_N ANALLOC_EXHAUSTIVE_STORES_N
model_ops=${VALGRIND_MODEL_OPS:-100000}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
# ELF type: 2 executable, 3 shared object (a PIE executable)
elf_type() { od -An -tu2 -j16 -N2 "$1" 2>/dev/null | tr -d ' '; }

passed=0 failed=0 found=0 pie=
t_all=$(now)
for t in "$build"/tests/* "$build"/examples/*; do
    if [ ! -f "$t" ] || [ ! -x "$t" ]; then continue; fi
    found=$((found + 1))
    name=$(basename "$(dirname "$t")")/$(basename "$t")
    vg=$logs/$(echo "$name" | tr / .).vg
    out=$logs/$(echo "$name" | tr / .).out
    if nm "$t" 2>/dev/null | grep -q '__asan_init'; then
        echo "FAIL $name: built with AddressSanitizer, cannot run under valgrind"
        failed=$((failed + 1))
        continue
    fi
    [ "$(elf_type "$t")" = 3 ] && pie="$pie $name"
    t0=$(now)
    case $name in
    tests/test_model*)
        ANALLOC_OPS=$model_ops valgrind --error-exitcode=1 --leak-check=full \
            --errors-for-leak-kinds=definite --log-file="$vg" "$t" > "$out" 2>&1 ;;
    *)
        valgrind --error-exitcode=1 --leak-check=full \
            --errors-for-leak-kinds=definite --log-file="$vg" "$t" > "$out" 2>&1 ;;
    esac
    rc=$?
    t1=$(now)
    # every process's summary (forked children log to the same file)
    errors=$(sed -n 's/^==[0-9]*== ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$vg" |
        awk '{ n++; s += $1 } END { if (n) print s }')
    cases=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -n 1)
    if [ "$rc" -eq 0 ] && [ "${errors:-1}" -eq 0 ]; then
        passed=$((passed + 1))
        echo "ok   $name ($(elapsed "$t0" "$t1") s${cases:+, $cases test cases})"
    else
        failed=$((failed + 1))
        echo "FAIL $name ($(elapsed "$t0" "$t1") s): exit status $rc," \
            "valgrind errors ${errors:-unknown}"
        grep -E '^==[0-9]+== (Invalid|Conditional|Use of|Syscall param|Mismatched|Source and)' \
            "$vg" | head -n 5
        grep -E '^==[0-9]+== .* definitely lost' "$vg" | head -n 3
        grep -E '^\[  (ERROR|FAILED)  \]' "$out" | head -n 5
        # valgrind itself gave up (e.g. posix_memalign alignment above 16 MiB)
        grep -h -E "the 'impossible' happened|^VG_|bad alignment value" "$vg" "$out" | head -n 3 |
            sed 's/^/     valgrind aborted: /'
        echo "     logs: $vg $out"
    fi
done
if [ "$found" -eq 0 ]; then
    echo "valgrind-tests: no binaries in $build/tests or $build/examples" >&2
    exit 2
fi
if [ -n "$pie" ] && [ "$failed" -ne 0 ]; then
    echo "note: PIE binaries (valgrind ignores their 16 MiB .bss alignment; link with -no-pie):$pie"
fi
echo "valgrind: total $(elapsed "$t_all" "$(now)") s"
echo "valgrind: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
