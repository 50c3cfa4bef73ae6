#!/bin/sh
# bench/opcost.sh - instructions per call of each operation (bench/opcost.c)
# under callgrind, counting only inside the library's public functions.
# usage: sh bench/opcost.sh [BIN]   (default build/bench/opcost)
set -eu
bin=${1:-build/bench/opcost}
command -v valgrind >/dev/null || { echo "opcost: valgrind is not installed" >&2; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
valgrind --tool=callgrind --callgrind-out-file="$dir/cg.out" --collect-atstart=yes \
    --toggle-collect='analloc_*' "$bin" > "$dir/calls.txt" 2> "$dir/vg.log" ||
    { cat "$dir/vg.log" >&2; exit 1; }
# Each CALLGRIND_DUMP_STATS_AT writes cg.out.N with "desc: Trigger: Client
# Request: NAME" and "summary: IR" (or "totals:").
printf '%-52s %10s %14s\n' operation calls 'instr/call'
grep -v '^  ' "$dir/calls.txt" | while read -r name calls; do
    f=$(grep -l "Client Request: $name\$" "$dir"/cg.out.* 2>/dev/null | head -n 1 || true)
    [ -n "$f" ] || { echo "opcost: no dump for $name" >&2; exit 1; }
    ir=$(sed -n 's/^summary: \([0-9]*\).*/\1/p; s/^totals: \([0-9]*\).*/\1/p' "$f" | head -n 1)
    awk -v n="$name" -v c="$calls" -v ir="$ir" 'BEGIN { printf "%-52s %10d %14.1f\n", n, c, ir / c }'
done
grep '^  ' "$dir/calls.txt" || true
