#!/bin/sh
# bench/callgrind.sh - W6's instruction counts: instructions per free+alloc
# pair inside the allocator (analloc_alloc + analloc_free, or tb_alloc +
# tb_free for the textbook buddy), counted by callgrind, for W1 and W2 from
# 2^10 to 2^24 pages (the textbook buddy up to 2^18: it needs real memory).
#
# usage: sh bench/callgrind.sh [--quick] [BIN [OUTDIR]]
#   BIN     the suite, built with valgrind/callgrind.h (default build/bench/bench)
#   OUTDIR  where callgrind.csv goes (default build/bench); bench reads it there
# Environment: PAIRS (pairs counted per run; 200000, quick 20000), SIZES (log2
# of the arena sizes; quick: 24 10), JOBS (parallel valgrind runs; 2).
#
# Each run is `BIN --callgrind ALLOCATOR W LOG2 PAIRS` under
#   valgrind --tool=callgrind --instr-atstart=no --collect-atstart=no
#            --toggle-collect=<alloc> --toggle-collect=<free>
# The worker builds the workload, fills the arena and warms up (PAIRS / 2)
# uninstrumented, then brackets the PAIRS measured pairs with
# CALLGRIND_START/STOP_INSTRUMENTATION; the toggles keep the harness out.
# Instruction counts do not depend on the machine's load, so the runs can go
# in parallel.
set -eu

if [ "${1:-}" = --job ]; then
    bin=$2 pairs=$3 dir=$4 alloc=$5 w=$6 n=$7
    case $alloc in
    analloc) fn=analloc ;;
    textbook) fn=tb ;;
    *) echo "callgrind.sh: unknown allocator $alloc" >&2; exit 255 ;;
    esac
    if ! out=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null --instr-atstart=no \
        --collect-atstart=no --toggle-collect="${fn}_alloc" --toggle-collect="${fn}_free" \
        "$bin" --callgrind "$alloc" "$w" "$n" "$pairs" 2>&1); then
        printf '%s\n' "$out" >&2
        exit 255
    fi
    ir=$(printf '%s\n' "$out" | sed -n 's/.*Collected : \([0-9]*\).*/\1/p')
    [ -n "$ir" ] || { printf '%s\n' "$out" >&2; exit 255; }
    awk -v a="$alloc" -v w="$w" -v n="$n" -v p="$pairs" -v ir="$ir" \
        'BEGIN { printf "%s,%s,%d,%d,%d,%.1f\n", a, w, n, p, ir, ir / p }' > "$dir/$alloc-$w-$n"
    exit 0
fi

quick=
if [ "${1:-}" = --quick ]; then
    quick=1
    shift
fi
BIN=${1:-build/bench/bench}
OUT=${2:-build/bench}
mkdir -p "$OUT"
csv=$OUT/callgrind.csv
if ! command -v valgrind > /dev/null 2>&1; then
    echo "callgrind: valgrind is not installed (Debian: apt-get install valgrind);" \
         "W6's instruction counts are skipped"
    rm -f "$csv"
    exit 0
fi
if [ -n "$quick" ]; then
    PAIRS=${PAIRS:-20000}
    SIZES=${SIZES:-"24 10"}
else
    PAIRS=${PAIRS:-200000}
    SIZES=${SIZES:-"24 22 20 18 16 14 12 10"}
fi
JOBS=${JOBS:-2}
if ! "$BIN" --callgrind analloc w1 10 10 | grep -q 'callgrind yes'; then
    echo "callgrind: $BIN was built without valgrind/callgrind.h; W6's instruction counts are skipped"
    rm -f "$csv"
    exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
for n in $SIZES; do # the largest first: they take longest
    for w in w1 w2; do
        echo "analloc $w $n"
        if [ "$n" -le 18 ]; then echo "textbook $w $n"; fi
    done
done > "$tmp/jobs"

start=$(date +%s)
echo "callgrind: $(wc -l < "$tmp/jobs") runs of $PAIRS pairs, $JOBS at a time (sizes 2^: $SIZES)"
if ! xargs -P "$JOBS" -L 1 sh "$0" --job "$BIN" "$PAIRS" "$tmp" < "$tmp/jobs"; then
    echo "callgrind: a run failed" >&2
    exit 1
fi
{
    echo "allocator,workload,log2_pages,pairs,instructions,instructions_per_pair"
    cat "$tmp"/*-w* | sort -t, -k1,1 -k2,2 -k3,3n
} > "$csv.tmp"
mv "$csv.tmp" "$csv"
printf '%-10s %-4s %6s %16s\n' allocator load pages "instr/pair"
tail -n +2 "$csv" | awk -F, '{ printf "%-10s %-4s %4s^%-2s %16s\n", $1, $2, "2", $3, $6 }'
echo "callgrind: wrote $csv in $(( $(date +%s) - start )) s"
