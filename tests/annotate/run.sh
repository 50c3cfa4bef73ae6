#!/bin/sh
# run.sh - the checks of `make test-annotate` (see uaf.c).
# usage: run.sh DIR   with DIR/uaf-asan-gcc, DIR/uaf-asan-clang, DIR/uaf-valgrind
#
# For each build and each setup (analloc_with_chunk, analloc_init):
#  - every use after free of a block analloc handed out (a 16-page block,
#    blocks in the block cache, the tail of a shrink, the block a moving
#    realloc left, blocks freed before the annotations were turned on,
#    released pages) is reported by the tool, at the very address the driver
#    touched, as a read or a write as it was, and the run fails;
#  - the controls (blocks used only while live; cached blocks handed out
#    again; realloc growing in place and moving; annotations turned off
#    again; pages reserved while annotating, released with the annotations
#    off, then handed out) exit 0 with no report;
#  - the same use after free with the annotations off is seen by neither
#    tool: the reports come from analloc's annotations alone.
# Finally the checker must itself fail when a report is missing or extra.
set -u
dir=$1
out=$dir/out
mkdir -p "$out"
fails=0 runs=0

# run TOOL MODE SETUP: the driver under TOOL; sets rc, $o (stdout), $e (stderr).
run() {
    o=$out/$1-$2-$3.out e=$out/$1-$2-$3.err
    case $1 in
    asan-*) ASAN_OPTIONS=exitcode=66:detect_leaks=0 "$dir/uaf-$1" "$2" "$3" > "$o" 2> "$e" ;;
    valgrind) valgrind -q --error-exitcode=99 --leak-check=no "$dir/uaf-valgrind" "$2" "$3" \
                  > "$o" 2> "$e" ;;
    esac
    rc=$?
    runs=$((runs + 1))
}

bad() {
    echo "test-annotate: FAIL: $*"
    echo "  --- stdout ($o)"; sed 's/^/  /' "$o" | head -n 5
    echo "  --- stderr ($e)"; sed 's/^/  /' "$e" | head -n 12
    return 1
}

# expect_report TOOL MODE SETUP read|write
expect_report() {
    run "$1" "$2" "$3"
    a=$(sed -n 's/^touch \(0x[0-9a-f]*\) .*/\1/p' "$o")
    [ -n "$a" ] || { bad "$1 $2 $3: the driver never reached the bad access (rc $rc)"; return 1; }
    case $1 in
    asan-*)
        [ "$rc" -eq 66 ] || { bad "$1 $2 $3: exit status $rc, expected 66 (an ASan report)"; return 1; }
        grep -q "ERROR: AddressSanitizer: use-after-poison on address $a " "$e" ||
            { bad "$1 $2 $3: no use-after-poison report at $a"; return 1; }
        w=$(echo "$4" | tr a-z A-Z)
        grep -q "^$w of size 1 at $a " "$e" || { bad "$1 $2 $3: not reported as a $4 at $a"; return 1; }
        ;;
    valgrind)
        [ "$rc" -eq 99 ] || { bad "$1 $2 $3: exit status $rc, expected 99 (memcheck errors)"; return 1; }
        grep -q "Invalid $4 of size 1\$" "$e" || { bad "$1 $2 $3: no invalid $4 reported"; return 1; }
        grep -q "Address $a is" "$e" || { bad "$1 $2 $3: the report is not about $a"; return 1; }
        [ "$(grep -c 'Invalid' "$e")" -eq 1 ] || { bad "$1 $2 $3: more than the one bad access reported"; return 1; }
        ;;
    esac
    return 0
}

# expect_clean TOOL MODE SETUP
expect_clean() {
    run "$1" "$2" "$3"
    [ "$rc" -eq 0 ] || { bad "$1 $2 $3: exit status $rc, expected 0"; return 1; }
    [ "$(tail -n 1 "$o")" = clean ] || { bad "$1 $2 $3: the driver did not finish"; return 1; }
    [ ! -s "$e" ] || { bad "$1 $2 $3: the tool reported something"; return 1; }
    return 0
}

# expect_unseen TOOL MODE SETUP: the access happens and nobody notices.
expect_unseen() {
    run "$1" "$2" "$3"
    [ "$rc" -eq 3 ] || { bad "$1 $2 $3: exit status $rc, expected 3 (unseen)"; return 1; }
    grep -q '^NOT DETECTED$' "$o" || { bad "$1 $2 $3: the driver did not finish"; return 1; }
    [ ! -s "$e" ] || { bad "$1 $2 $3: the tool reported something"; return 1; }
    return 0
}

for tool in asan-gcc asan-clang valgrind; do
    for setup in chunk init; do
        for m in uaf-read:read uaf-write:write cache-read:read cache-write:write \
                 shrink-tail:read move-old:write late-on:read released:read; do
            expect_report $tool "${m%%:*}" $setup "${m##*:}" || fails=$((fails + 1))
        done
        for m in control cache-again grow-move off-again reserve-off; do
            expect_clean $tool $m $setup || fails=$((fails + 1))
        done
        expect_unseen $tool uaf-off $setup || fails=$((fails + 1))
    done
done

# The checker can fail: a report where none is expected, none where one is.
for tool in asan-gcc valgrind; do
    if expect_report $tool control chunk read > /dev/null; then
        echo "test-annotate: FAIL: the checker accepted a run without a report ($tool)"
        fails=$((fails + 1))
    fi
    if expect_clean $tool uaf-read chunk > /dev/null; then
        echo "test-annotate: FAIL: the checker accepted a run with a report ($tool)"
        fails=$((fails + 1))
    fi
    if expect_report $tool uaf-off chunk read > /dev/null; then
        echo "test-annotate: FAIL: the checker accepted an unreported use after free ($tool)"
        fails=$((fails + 1))
    fi
done

if [ "$fails" -ne 0 ]; then
    echo "test-annotate: $fails of $runs runs FAILED (logs in $out)"
    exit 1
fi
echo "test-annotate: $runs runs: every use after free reported (ASan gcc and clang, valgrind), controls clean"
